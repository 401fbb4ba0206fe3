"""The explorer from Python: inline in a Jupyter notebook, or in the browser from a plain session.

    import descentlab as dl
    ex = dl.explore("quadratic", ["momentum", "nesterov"])   # in Jupyter: the explorer in the cell
    ex.url                                                    # 'http://127.0.0.1:40123/'
    ex.stop()                                                 # the port is free again

:func:`explore` serves the explorer of :mod:`descentlab.web.app` (the same page, checks and
caches as ``descentlab serve``) on 127.0.0.1 and a port the system picks, from a thread, so the
call returns at once with a :class:`Served` handle. Inside a Jupyter kernel it shows the page in
the cell as an ``<iframe>`` pointing at that address (what Dash's ``jupyter_mode="inline"`` shows,
``IPython.display.IFrame``); in any other session it opens the browser there (unless
``open_browser=False``). It never listens on anything but 127.0.0.1: the notebook's browser must
run on the kernel's machine, as with Dash's own inline mode.

The page starts on the given problem and optimizers, at the settings the explorer suggests for
that problem (:meth:`~descentlab.web.app.Explorer.page_values`), or at a
:class:`~descentlab.config.Config`'s own (problem, κ, steps, seed, batch size, start and each
optimizer's hyper-parameters). A :class:`~descentlab.problems.Problem` is shown when the explorer
can build the very same loss: a problem of the catalogue by name (a quadratic by its κ), or a
line fit to x, y data, which is handed to the page as an uploaded CSV. Either way the loss the
page runs is checked against the given problem's at a few points before anything is served.

Why not ``app.run(jupyter_mode="inline")`` itself: Dash's runner takes a fixed port (8050: a second
notebook collides), serves without the explorer's request handler (:mod:`descentlab.web.guard`
hides the server's versions), and keeps no handle to stop the server. Its inline display is an
``IFrame`` of the server's address, which is what :func:`explore` shows.
"""

from __future__ import annotations

import base64
import copy
import logging
import math
import re
import sys
import threading
import webbrowser
from collections.abc import Mapping, Sequence

import numpy as np

try:
    import dash
    from dash.development.base_component import Component
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("the explorer needs Dash and Plotly: pip install 'descentlab[web]'") from err

from descentlab import optimizers as optim
from descentlab.catalogue import NAMES, by_name
from descentlab.config import Config
from descentlab.errors import InputError, escaped, one_line
from descentlab.problems import Problem
from descentlab.problems.linear_regression import LinearRegression
from descentlab.problems.surfaces import Quadratic
from descentlab.web import app as web
from descentlab.web import controls as ctl

HOST = "127.0.0.1"
"""The only address :func:`explore` listens on."""
HEIGHT = 900
"""The iframe's height in pixels: the page's two rows of views are at least 400 px each."""
SAME_LOSS_RTOL = 1e-12
"""How closely the page's loss must equal a given problem's at the check points."""

_served: dict[int, Served] = {}
"""The explorers this process serves, by port (a new one on a taken port stops the old one)."""


class Served:
    """A running explorer: ``url``, ``port``, the Dash ``app``, the controls it starts with
    (``values``: what :meth:`~descentlab.web.app.Explorer.page_values` gives), and :meth:`stop`.

    Also a context manager: ``with dl.explore(..., open_browser=False) as ex: ...`` stops it."""

    def __init__(self, app: dash.Dash, server, values: dict):
        self.app = app
        self.values = values
        self._server = server
        self.port: int = server.server_port
        self.url: str = web.url(HOST, self.port)
        self._thread = threading.Thread(target=server.serve_forever, name=f"descentlab-explore-{self.port}",
                                        daemon=True)
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free when this returns). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        if _served.get(self.port) is self:
            del _served[self.port]

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<descentlab explorer on {self.url} ({state}; .stop() stops it)>"


def explore(problem: str | Problem | Config | Mapping | None = None,
            optimizers: str | Sequence[str] | None = None, *, port: int | None = None,
            height: int = HEIGHT, width: str | int = "100%", open_browser: bool = True,
            block: bool = False, resolution: int = 150) -> Served:
    """Serve the explorer on 127.0.0.1 and show it: inline in Jupyter, else in the browser.

    Args:
        problem: a catalogue name (``"line-fit"``, ``"gabor"``, ``"quadratic"``, ``"rosenbrock"``,
            ``"beale"``, ``"himmelblau"``; default the book's line fit), a
            :class:`~descentlab.problems.Problem` the explorer can rebuild (see the module
            docstring), or a :class:`~descentlab.config.Config` (or its mapping) whose problem,
            κ, optimizers, hyper-parameters, steps, seed, batch size and start the page takes.
        optimizers: the registered methods to show (a name or names; default the config's, else
            ``optimizers.featured()``).
        port: the port on 127.0.0.1 (default: a free one the system picks).
        height, width: the size of the inline frame in Jupyter (pixels, or a CSS width).
        open_browser: outside Jupyter, open the page in the default browser.
        block: serve until Ctrl+C, then stop (the handle returned is stopped).
        resolution: grid points per axis of the surfaces.

    Returns:
        A :class:`Served` handle (``.url``, ``.stop()``); the server runs in a daemon thread.

    Raises:
        InputError: a problem, optimizer or setting the explorer cannot show, or a taken port;
            one line naming the value.
    """
    ctl.whole("height", height, 100, 10_000)
    _check_width(width)
    if port is not None:
        ctl.whole("port", port, 1, 65535)
    explorer = web.Explorer(resolution=ctl.whole("resolution", resolution, 2, 2000))
    values = start_values(explorer, problem, optimizers)
    app = web.create_app(explorer)
    page = app.layout  # a function of no arguments (the registry as it is when served), or a tree

    def starting_page():
        return starting_at(page() if callable(page) else copy.deepcopy(page), explorer, values)

    app.layout = starting_page
    if port is not None and port in _served:
        _served[port].stop()  # as Dash does: a new explorer on a port replaces the old one
    served = Served(app, web.make_server(app, HOST, 0 if port is None else port), values)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the notebook
    served._start()
    _served[served.port] = served
    if in_kernel():
        from IPython.display import IFrame, display

        display(IFrame(served.url, width=width, height=height))
    else:
        print(f"descentlab explorer on {served.url} (.stop() stops it)", flush=True)
        if open_browser:
            webbrowser.open(served.url)
    if block:
        try:
            served._thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            served.stop()
    return served


def _check_width(width: object) -> None:
    """The iframe's width goes into its HTML: pixels, or a plain CSS length (``"100%"``)."""
    pixels = isinstance(width, int) and not isinstance(width, bool) and 100 <= width <= 10_000
    css = isinstance(width, str) and re.fullmatch(r"\d{1,5}(\.\d+)?(px|%|em|rem|vw)?", width) is not None
    if not (pixels or css):
        raise InputError(f"width must be pixels (100..10000) or a CSS width like '100%', got "
                         f"{escaped(repr(width))}")


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter (IPython) kernel: ``get_ipython()`` has a kernel.

    IPython is not imported here when the session has not imported it (a plain Python session)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


# ---- what the page starts with --------------------------------------------------------------------

def start_values(explorer: web.Explorer, problem: object = None, optimizers: object = None) -> dict:
    """The page's first controls (:meth:`~descentlab.web.app.Explorer.page_values`) for ``problem``
    and ``optimizers`` as :func:`explore` takes them, with ``"upload"``: the upload store of a
    line fit handed over as data (else None). InputError (one line) for what the page cannot show."""
    config = _config(problem)
    if config is not None:
        return _config_values(explorer, config, optimizers)
    shown = _optimizer_names(optimizers)
    if problem is None or isinstance(problem, str):
        name = "line-fit" if problem is None else problem
        if name not in NAMES:
            raise InputError(f"unknown problem {escaped(repr(name))}; the explorer shows "
                             f"{', '.join(NAMES)}, a line-fit Problem of your data, or a Config")
        return _values(explorer, name, web.DEFAULT["kappa"], shown, None)
    if isinstance(problem, Problem):
        name, kappa, store = _page_problem(explorer, problem)
        return _values(explorer, name, kappa, shown, store)
    raise InputError(f"problem must be a name, a Problem or a Config, got {type(problem).__name__}")


def _values(explorer: web.Explorer, name: str, kappa: float, shown: tuple[str, ...] | None,
            store: dict | None, **over) -> dict:
    values = explorer.page_values(name, kappa=kappa, optimizers=None if shown is None else list(shown),
                                  upload_store=store, **over)
    return values | {"upload": store}


def _optimizer_names(optimizers: object) -> tuple[str, ...] | None:
    if optimizers is None:
        return None
    names = [optimizers] if isinstance(optimizers, str) else optimizers
    if not isinstance(names, Sequence) or isinstance(names, bytes):
        raise InputError(f"optimizers must be a name or a list of names, got {type(optimizers).__name__}")
    for name in names:
        if not isinstance(name, str) or name not in optim.names():
            raise InputError(f"unknown optimizer {escaped(repr(name))}; "
                             f"choose among {', '.join(optim.names())}")
    if len(set(names)) != len(names):
        raise InputError(f"optimizers name a method twice: {escaped(repr(list(names)))}")
    return ctl.optimizer_list(list(names))


def _config(problem: object) -> Config | None:
    if isinstance(problem, Config):
        return problem
    if isinstance(problem, Mapping):
        return Config.from_dict(dict(problem), "explore")
    return None


def _config_values(explorer: web.Explorer, config: Config, optimizers: object) -> dict:
    """The page's controls at a Config's settings: its problem, κ, steps, seed, batch size, start
    and each of its optimizers' hyper-parameters (on the page's controls, without moving them)."""
    if config.loss or config.model or config.params or config.angle is not None:
        raise InputError("the explorer has no loss, model, params or angle setting yet; "
                         "run this config with descentlab's plots, or drop those keys")
    if config.data is not None:
        name, kappa, store = _page_problem(explorer, config.build_problem())
    elif config.problem == "quadratic":
        kappa = _kappa_position(10.0 if config.kappa is None else config.kappa)
        name, store = "quadratic", None
    else:
        name, kappa, store = config.problem, web.DEFAULT["kappa"], None
        if name not in NAMES:
            raise InputError(f"unknown problem {escaped(repr(name))}; choose one of {', '.join(NAMES)}")
    methods = [spec.method for spec in config.optimizers]
    if len(set(methods)) != len(methods):
        raise InputError(f"the explorer shows each method once; the config has {', '.join(methods)}")
    shown = _optimizer_names(optimizers if optimizers is not None else (methods or None))
    over: dict = {"seed": ctl.whole("seed", config.seed, 0, ctl.MAX_SEED)}
    if config.steps is not None:
        over["steps"] = ctl.whole("steps", config.steps, 1, ctl.MAX_STEPS)
    if config.batch_size is not None:
        over["batch_size"] = config.batch_size
    if config.start is not None:
        over["start"] = list(ctl.start_point(list(config.start)) or ())
    values = _values(explorer, name, kappa, shown, store, **over)
    moved = explorer.moved(explorer.uploaded(store)) if store is not None else {}
    hyper = {m: dict(v) for m, v in values["hyper"].items()}
    for spec in config.optimizers:
        method = optim.get(spec.method)
        for key, value in spec.hyperparams.items():
            h = method.hyper(key)
            c = ctl.control(method, h, moved.get((spec.method, key)))
            hyper[spec.method][key] = _position(c, value)
    values["hyper"] = hyper
    explorer.request({k: v for k, v in values.items() if k != "upload"}, store)  # the page can run it
    return values


def _position(c: ctl.Control, value: object) -> object:
    """Where control ``c`` shows ``value``; InputError when the control cannot show it."""
    position = c.position(value)
    inside = c.kind not in ("log", "linear") or (
        isinstance(value, int | float) and c.low <= (math.log10(value) if c.kind == "log" and value > 0
                                                     else value) <= c.high)
    if not inside:
        span = (f"{10 ** c.low:g} to {10 ** c.high:g}" if c.kind == "log" else f"{c.low:g} to {c.high:g}")
        raise InputError(f"{c.label} = {escaped(repr(value))} is outside the explorer's slider ({span})")
    return position


def _kappa_position(kappa: float) -> float:
    """κ's slider position (log10 κ); InputError when κ lies outside the slider."""
    low, high = (10.0 ** v for v in ctl.LOG_KAPPA)
    if not (isinstance(kappa, int | float) and low <= kappa <= high):
        raise InputError(f"the explorer's κ slider spans {low:g} to {high:g}, got κ = {escaped(repr(kappa))}")
    return math.log10(kappa)


def _page_problem(explorer: web.Explorer, problem: Problem) -> tuple[str, float, dict | None]:
    """(the page's problem, κ's position, an upload store) for a Problem the page can rebuild:
    the catalogue's problem of its name (a quadratic by its κ), else, for a line fit, its data
    handed to the page as an uploaded CSV. The rebuilt loss must equal the given one."""
    kappa = web.DEFAULT["kappa"]
    candidate: tuple[str, Problem, dict | None] | None = None
    if isinstance(problem, Quadratic):
        eig = np.asarray(problem.eigenvalues, dtype=np.float64)
        if eig.size == 2 and eig.min() > 0:
            kappa = _kappa_position(float(eig.max() / eig.min()))
            rebuilt = by_name("quadratic", kappa=ctl.log_value("κ", kappa, ctl.LOG_KAPPA))
            candidate = ("quadratic", rebuilt, None)
    elif problem.name in NAMES and problem.name not in ("quadratic",):
        candidate = (problem.name, by_name(problem.name), None)
    if (candidate is None or not same_loss(problem, candidate[1])) and type(problem) is LinearRegression:
        store = _hand_over(explorer, problem)
        candidate = (ctl.UPLOAD, explorer.upload_problem(store["key"]), store)
    if candidate is None or not same_loss(problem, candidate[1]):
        raise InputError(f"the explorer cannot show problem {escaped(repr(problem.name))}: it shows "
                         f"{', '.join(NAMES)} and line fits to x, y data")
    return candidate[0], kappa, candidate[2]


def _hand_over(explorer: web.Explorer, problem: LinearRegression) -> dict:
    """Give a line fit's data to the explorer as the page's upload would (a CSV, in memory)."""
    labels = [lab if lab.isprintable() and not set(lab) & set(',"\n\r;\t') and lab.strip() else d
              for lab, d in ((problem.x_label, "x"), (problem.y_label, "y"))]
    if labels[0] == labels[1]:
        labels = ["x", "y"]
    rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(problem.x, problem.y, strict=True))
    text = f"{labels[0]},{labels[1]}\n{rows}".encode()
    contents = "data:text/csv;base64," + base64.b64encode(text).decode("ascii")
    store, message, failed = explorer.upload(contents, f"{problem.name}.csv")
    if failed or store is None:
        raise InputError(one_line(f"the explorer cannot take the data of {problem.name!r}: {message}"))
    return store


def same_loss(given: Problem, rebuilt: Problem) -> bool:
    """Whether two problems have the same loss (to :data:`SAME_LOSS_RTOL`) at their suggested
    starts, their minima and points around them: the page must run the problem it was given."""
    if given.n_params != rebuilt.n_params:
        return False
    centre = np.array([given.suggested.start, rebuilt.suggested.start, *given.minima[:2]], dtype=np.float64)
    offsets = np.array([[0.0, 0.0], [0.5, -0.3], [-1.1, 0.7], [2.0, 1.5]])
    points = (centre[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    with np.errstate(all="ignore"):
        a, b = np.asarray(given.loss(points)), np.asarray(rebuilt.loss(points))
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=SAME_LOSS_RTOL, atol=0.0))


# ---- the page at those controls -------------------------------------------------------------------

def starting_at(page: Component, explorer: web.Explorer, values: dict) -> Component:
    """``page`` (the explorer's layout) with its controls set to ``values`` (see :func:`start_values`).

    The page's first update then runs exactly these settings: its problem callback fires only when
    the problem changes, so the hyper-parameter positions set here stay as they are.
    """
    store = values.get("upload")
    hyper = values["hyper"]
    plain = {"problem": values["problem"], "kappa": values["kappa"], "optimizers": values["optimizers"],
             "steps": values["steps"], "seed": values["seed"], "batch-size": values["batch_size"]}
    fresh = {}
    if store is not None:  # an upload's own α may lie outside the registry's log sliders: new ones
        d = explorer.defaults(ctl.UPLOAD, values["kappa"], store)
        ids = [getattr(n, "id", None) for n in _walk(page)]
        slots = [i for i in ids if isinstance(i, dict) and i.get("type") == web.HYPER_SLOT]
        fresh = web.log_sliders({"hyper": hyper, "moved": d["moved"]}, slots)
    toggled = dict(zip(web.TOGGLED, web.visibility(values["problem"], values["optimizers"]), strict=True))
    for node in _walk(page):
        id_ = getattr(node, "id", None)
        if isinstance(id_, dict):
            key = (id_.get("method"), id_.get("hyper"))
            if id_.get("type") == web.HYPER_SLOT and key in fresh:
                node.children = fresh[key]
            elif id_.get("type") == ctl.HYPER and key[1] in hyper.get(key[0], {}):
                node.value = hyper[key[0]][key[1]]
            elif id_.get("type") == "method-box":
                node.style = web.method_styles([id_], values["optimizers"])[0]
        elif id_ in plain:
            node.value = plain[id_]
        elif id_ == "upload-store":
            node.data = store
        elif id_ == "start-store":
            node.data = values.get("start")
        elif id_ == "iterate":
            node.max = node.value = values["steps"]
        elif id_ in toggled:
            node.style = toggled[id_]
    return page


def _walk(node: object):
    """Every component under ``node`` (itself first), through ``children`` and nested slots."""
    if not isinstance(node, Component):
        return
    yield node
    kids = getattr(node, "children", None)
    for kid in kids if isinstance(kids, list | tuple) else (kids,):
        yield from _walk(kid)


__all__ = ["Served", "explore", "in_kernel", "same_loss", "start_values", "starting_at"]
