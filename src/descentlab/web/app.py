"""The interactive explorer: Figure 6.1 as a Dash app whose every view follows the controls.

    descentlab serve                 # http://127.0.0.1:8050, opens a browser
    python -m descentlab.web.app     # the same

Controls (problem, κ, the optimizers to show, each one's hyper-parameters, steps, batch size,
seed, the start point set by clicking the contour map, and your own problem: a loss expression, or
an uploaded CSV's x and y columns fitted by a line, the Gabor model or a model expression) are
checked by :mod:`descentlab.web.controls` and become a :class:`~descentlab.config.Config` (a bad
expression: the command line's message and a caret line under its fault). The optimizers
and their controls come from the registry (:mod:`descentlab.optimizers`, plugins included), read
each time the page is served and at every request: a method registered after this module was
imported appears on the next page load. The first selection is ``optimizers.featured()``, and
each control starts at what ``Config.resolved`` gives for the problem (its suggested α, β).
The runs are what its ``run()`` makes, by the same library calls as the command line
(``Config.resolved`` and ``run_many``, one optimizer at a time so each run is cached on its own),
and the views are :func:`descentlab.web.figures.views` of a :func:`descentlab.scene.build` scene.

Three caches, keyed by TOML text: the problem, each run, and the runs and scene of a state of the
controls. So moving one method's control runs that method alone. The iteration scrubber, its play
button and the keyboard make no request at all: once per new scene the page gets every iterate's
moving traces (:mod:`descentlab.web.motion`) and moves them itself, at the browser's frame rate. The
server still answers a scrub (:meth:`Explorer.update` with the scene shown) with a patch of only the
traces that the iterate moves, for clients other than this page, and a new state of the controls with
a patch of the traces that differ from the scene the page shows (each scene's static traces are made
once: :class:`descentlab.web.figures.separate.Views`). Updates compute one at a time, first come first
served: threads that share one interpreter lock gain nothing by interleaving, and taking turns made
every request wait for all the others.

:class:`Explorer` holds the server side as plain methods (tested without a browser:
``values = explorer.page_values(optimizers=[...])`` is what the page sends,
``explorer.update(values, None, None, None)`` what it gets back); :func:`create_app` wires them to
the page, and :func:`update_request` is the HTTP body of an update, for driving a served app.
The server binds to 127.0.0.1 unless told otherwise, answers only requests that name it (a
loopback name or the host it was given), refuses a malformed callback body with HTTP 400 and one
line, logging nothing (:mod:`descentlab.web.guard`), and shows no software versions. Every
message on the page is one line of at most 400 characters (:func:`say`); the upload box says at
once why it will not send a file (:mod:`descentlab.web.upload_check`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import logging
import math
import threading
import webbrowser
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

try:
    import dash
    from dash import ALL, Input, Output, State, dcc, html
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("the explorer needs Dash and Plotly: pip install 'descentlab[web]'") from err

from descentlab import datasets
from descentlab import optimizers as optim
from descentlab import scene as scene_mod
from descentlab.config import Config, OptimizerSpec
from descentlab.errors import InputError, one_line
from descentlab.problems import ExpressionError, Problem, from_expression
from descentlab.problems.expression import MAX_LENGTH
from descentlab.runner import run_many
from descentlab.trajectory import Trajectory
from descentlab.web import controls as ctl
from descentlab.web import guard, motion, upload_check
from descentlab.web.figures import lookahead as lookahead_view
from descentlab.web.figures.separate import Views

log = logging.getLogger(__name__)

PROBLEM_LABELS = {"line-fit": "line fit (12 points, Figure 6.1)", "gabor": "Gabor model (Figure 6.2)",
                  "quadratic": "quadratic bowl (κ slider)", "rosenbrock": "Rosenbrock",
                  "beale": "Beale", "himmelblau": "Himmelblau",
                  ctl.EXPRESSION: "your loss expression L(x, y)",
                  ctl.UPLOAD: "line fit to an uploaded CSV (or Gabor, or your model)"}
FIT_LABELS = {"line-fit": "line ŷ = φ0 + φ1·x", "gabor": "Gabor model (Figure 6.2)",
              ctl.EXPRESSION: "your model expression of x"}
OWN_IDS = {"loss": "loss", "fit": "fit", "model": "model", "x": "x-column", "y": "y-column"}
"""Your own problem's controls (keys of :meth:`Explorer.update`'s values, as
:func:`descentlab.web.controls.problem_fields` takes them) and their ids."""
MAX_EXPRESSION = MAX_LENGTH
"""The longest expression a box takes (the parser's limit; the server checks it again)."""
OWN_DEFAULTS = {"loss": ctl.LOSS_EXAMPLE, "fit": "line-fit", "model": ctl.MODEL_EXAMPLE, "x": None, "y": None}
"""What your own problem's controls hold when the page loads (x, y: the columns the command line picks)."""
DATA_PROBLEMS = ("line-fit", "gabor", ctl.UPLOAD)
VIEWS = ("data", "surface", "contour", "lookahead", "loss")
MAX_REQUEST_BYTES = 4 * ctl.MAX_UPLOAD_BYTES
"""No request body may be larger (an upload arrives as base64 text, 4/3 of the file, twice)."""
MAX_UPLOADS = 8
"""Parsed uploads kept in memory (the browser holds only their key); the oldest is dropped first."""
DEFAULT = {"problem": "line-fit", "kappa": 1.0, "batch_size": None, "seed": 0}
"""The first state of the page; the optimizers shown first are ``optimizers.featured()``."""
NUMBER_BOX = {"flex": "1 1 40%"}
HYPER_ALL = {"type": ctl.HYPER, "method": ALL, "hyper": ALL}
HYPER_VALUE_ALL = {"type": "hyper-value", "method": ALL, "hyper": ALL}
HYPER_SLOT = "hyper-slot"
HYPER_SLOT_ALL = {"type": HYPER_SLOT, "method": ALL, "hyper": ALL}
"""The Div around each hyper-parameter control: a problem that moves a log slider's decades (an
uploaded CSV's α) puts a new slider there."""
METHOD_BOX_ALL = {"type": "method-box", "method": ALL}

ERROR_STYLE = {"color": "#b00020", "fontWeight": "600"}
MONOSPACE = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
DETAIL_STYLE = {"fontFamily": MONOSPACE, "fontSize": "12px", "color": "#b00020", "background": "#fdf3f4",
                "border": "1px solid #f1c6cc", "borderRadius": "4px", "padding": "4px 6px",
                "margin": "0 0 10px 0"}
"""The block under the expression boxes that shows a bad expression's message, the expression and a
caret line under its fault."""
CARET_STYLE = {"whiteSpace": "pre", "overflowX": "auto", "margin": "2px 0 0 0", "font": "inherit"}
"""The expression and its caret line keep their columns (no wrapping; scrolled when long)."""
NOTE_STYLE = {"color": "#555"}
UPLOAD_ACCEPT = ".csv,text/csv,text/plain"
UPLOAD_MESSAGE_STYLE = {"fontSize": "12px", "margin": "4px 0 10px 0"}


@dataclass(frozen=True, eq=False)
class Outcome:
    """The runs of one state of the controls and the scene that draws them."""

    problem: Problem
    trajectories: list[Trajectory]
    scene: scene_mod.Scene
    start: tuple[float, ...]
    key: str
    motion: dict = field(default_factory=dict)  # every iterate's moving traces, for the page (made once)
    lookahead: lookahead_view.Panel | None = None  # every step of the first Nesterov run (eq. 6.12 vs 6.11)
    render: Views | None = None  # the views, their static traces made once (see _compute)

    @property
    def last(self) -> int:
        """The largest iterate index of any run (runs that diverged are shorter)."""
        return max(len(t.params) for t in self.trajectories) - 1


class Explorer:
    """The server side of the page: validated controls in, figures and one-line messages out.

    Each public method is one callback; none raises for bad input: it answers with a message.
    """

    def __init__(self, resolution: int = 150, cache_size: int = 24):
        """``cache_size``: states of the controls kept (runs, scene; a few MB each, up to ~16 MB at
        2000 steps × 5 optimizers on data): one per concurrent user is enough to scrub without
        running anything again; five times as many single runs are kept."""
        self.resolution = resolution
        self._uploads: OrderedDict[str, ctl.Upload] = OrderedDict()
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # one update computes at a time (see update)
        # three caches: a problem per problem setting, a run per (setting, optimizer), and the runs and
        # scene per state of the controls (so that the scrubber only renders, and moving one method's
        # slider runs that method alone)
        self.problem = functools.lru_cache(maxsize=16)(self._problem)
        self.trajectory = functools.lru_cache(maxsize=5 * cache_size)(self._trajectory)
        self.outcome = functools.lru_cache(maxsize=cache_size)(self._compute)
        self._moved = functools.lru_cache(maxsize=MAX_UPLOADS)(self._moved_for)
        self._panels: OrderedDict[tuple, tuple] = OrderedDict()  # look-ahead panels, see _panel
        self._shown: OrderedDict[str, Outcome] = OrderedDict()  # scenes sent whole, by key (see update)
        self._cache_size = cache_size

    # ---- uploads ---------------------------------------------------------------------------------

    def upload(self, contents: object, filename: object,
               current: object = None) -> tuple[dict | None, str, bool]:
        """Parse an upload: (the browser's store value or None, a message, whether it failed).

        ``current`` is the store of the data in use, named in the message when the new file fails.
        """
        if contents is None:
            return None, "", False
        try:
            up = ctl.parse_upload(contents, filename)
        except ctl.ControlError as err:
            name = current.get("name") if isinstance(current, dict) else None
            still = f" (still using {ctl.display_name(name)})" if isinstance(name, str) else ""
            return None, say(f"{err}{still}"), True
        with self._lock:
            self._uploads[up.key] = up
            self._uploads.move_to_end(up.key)
            while len(self._uploads) > MAX_UPLOADS:
                self._uploads.popitem(last=False)
        return ({"key": up.key, "name": up.name, "rows": up.rows},
                say(f"{up.name}: {up.rows} rows, x = {up.table.x_name}, y = {up.table.y_name}"), False)

    def uploaded(self, store: object) -> ctl.Upload | None:
        """The parsed upload a browser's store value names, or None when there is none."""
        if store is None:
            return None
        key = store.get("key") if isinstance(store, dict) else None
        if not isinstance(key, str):
            raise ctl.ControlError("the upload store is malformed; upload the file again")
        with self._lock:
            up = self._uploads.get(key)
        if up is None:
            raise ctl.ControlError("the uploaded file is no longer in the server's memory; upload it again")
        return up

    # ---- the start point ------------------------------------------------------------------------

    @staticmethod
    def start(trigger: object, click: object) -> list[float] | dash.NoUpdate | None:
        """The start point after ``trigger``: a click on the contour map moves it there, anything
        else (a new problem, new data, "reset") goes back to the suggested one (None). A click that
        does not carry a usable point changes nothing (``dash.no_update``)."""
        if trigger != "view-contour":
            return None
        try:
            return list(ctl.clicked_point(click))
        except ctl.ControlError:
            return dash.no_update

    # ---- the suggested settings of a problem -----------------------------------------------------

    def defaults(self, problem: object, kappa: object, upload_store: object = None, **own: object) -> dict:
        """The controls' positions that show ``problem`` well: what ``descentlab compare`` would use.

        ``{"hyper": {method: {hyper: position}}, "steps": n, "moved": {method: {hyper: [low,
        high]}}}`` for every registered method: each hyper-parameter as ``Config.resolved`` fills it
        for the problem (its suggestion, else its default), as its control shows it (an exponent on a
        log slider; see :meth:`descentlab.web.controls.Control.position`). An uploaded CSV (named by
        ``upload_store``) suggests settings from its own data (its columns and model: ``own``, see
        :func:`descentlab.web.controls.problem_fields`), as ``descentlab --data`` does, and your own
        loss expression from its own curvature, as ``descentlab --loss`` does; a log slider whose
        suggestion lies outside its decades is moved to hold it (``moved``).
        """
        name = ctl.choice("problem", problem, ctl.CHOICES)
        if name == ctl.UPLOAD and upload_store is None:  # no file yet: the line fit's settings meanwhile
            name = "line-fit"
        prob = self.problem(*self.problem_setting(name, kappa, upload_store, **own))
        methods = optim.methods()
        full = _every_method(prob)
        chosen = {s.name: s.hyperparams for s in full.optimizers}
        moved = ctl.windows(chosen)

        def position(n: str, m: optim.Method, h: optim.Hyper) -> object:
            return ctl.control(m, h, moved.get((n, h.name))).position(chosen[n].get(h.name))

        # exact exponents, not rounded to the slider's step: the suggested α itself is what runs
        return {"hyper": {n: {h.name: position(n, m, h) for h in m.hypers} for n, m in methods.items()},
                "steps": full.steps,
                "moved": {n: {h: list(w) for (m, h), w in moved.items() if m == n} for n in methods}}

    def upload_problem(self, key: str) -> Problem:
        """The line fit to an upload in memory (what ``descentlab --data FILE`` builds)."""
        return self.problem(_problem_part(Config()), key)

    def problem_setting(self, problem: object, kappa: object = None, upload_store: object = None,
                        **own: object) -> tuple[str, str | None]:
        """The checked settings that choose the problem (the TOML of :func:`_problem_part`) and the
        upload's key: the arguments of :attr:`problem`. ``own``: ``loss``, ``fit``, ``model``, ``x``,
        ``y`` (:func:`descentlab.web.controls.problem_fields`)."""
        upload = self.uploaded(upload_store) if problem == ctl.UPLOAD else None
        fields = ctl.problem_fields(problem, kappa=kappa, upload=upload, **own)
        return _problem_part(Config(**fields)), None if upload is None else upload.key

    def moved(self, upload: ctl.Upload | None) -> dict[tuple[str, str], tuple[float, float]]:
        """The log sliders that an upload's suggestions move (:func:`descentlab.web.controls.windows`)."""
        if upload is None:
            return {}
        return self._moved(_problem_part(Config()), upload.key)

    def moved_for(self, values: dict, upload_store: object) -> dict[tuple[str, str], tuple[float, float]]:
        """The log sliders that the suggestions of your own problem move (an uploaded CSV's, or a loss
        expression's): ``values`` as :meth:`update` takes them; {} for the built-in problems."""
        problem = values.get("problem")
        if problem not in (ctl.EXPRESSION, ctl.UPLOAD) or (problem == ctl.UPLOAD and upload_store is None):
            return {}
        own = {k: values.get(k) for k in OWN_IDS}
        return self._moved(*self.problem_setting(problem, values.get("kappa"), upload_store, **own))

    def _moved_for(self, setting: str, key: str | None) -> dict[tuple[str, str], tuple[float, float]]:
        full = _every_method(self.problem(setting, key))
        return ctl.windows({s.name: s.hyperparams for s in full.optimizers})

    def page_values(self, problem: str = DEFAULT["problem"], *, kappa: object = DEFAULT["kappa"],
                    optimizers: list[str] | None = None, upload_store: object = None, **over) -> dict:
        """The controls as the page sends them once ``problem`` is chosen: its suggested settings
        (an upload's own with ``upload_store``), the ``optimizers`` shown (default:
        ``optimizers.featured()``), the controls of every registered method. ``over`` replaces any of
        them (``steps=30``, ``hyper=…``); pass the result to :meth:`update`, or to
        :func:`update_request` for a served app."""
        own = {k: over.get(k, v) for k, v in OWN_DEFAULTS.items()}
        d = self.defaults(problem, kappa, upload_store, **own)
        values = {"problem": problem, "kappa": kappa, **own,
                  "optimizers": list(optim.featured() if optimizers is None else optimizers),
                  "hyper": d["hyper"], "steps": d["steps"], "batch_size": DEFAULT["batch_size"],
                  "seed": DEFAULT["seed"], "start": None}
        return values | over

    # ---- runs and views --------------------------------------------------------------------------

    def request(self, values: dict, upload_store: object) -> ctl.Request:
        """Validate a state of the controls (ControlError with one line when it cannot be used)."""
        upload = self.uploaded(upload_store) if values.get("problem") == ctl.UPLOAD else None
        return ctl.request(**values, upload=upload, moved=self.moved_for(values, upload_store))

    def _compute(self, toml: str, upload_key: str | None) -> Outcome:
        """The runs and the scene of a validated config, each run taken from the cache of runs."""
        config = Config.from_toml(toml, "controls")
        if config.start is not None:  # a click gives two numbers: a model may have more parameters
            unstarted = self.problem(_problem_part(dataclasses.replace(config, start=None)), upload_key)
            if len(config.start) != unstarted.n_params:
                names = ", ".join(unstarted.param_names)
                raise ctl.ControlError(f"a click on the contour map sets the start of a 2-parameter problem; "
                                       f"{unstarted.name} has {unstarted.n_params} ({names}): press reset")
        problem = self.problem(_problem_part(config), upload_key)
        full = config.resolved(problem)
        setting = dataclasses.replace(full, optimizers=()).to_toml()
        trajectories = [self.trajectory(setting, upload_key, spec.name, spec.method,
                                        tuple(spec.hyperparams.items())) for spec in full.optimizers]
        # a model of more than two parameters is drawn through the 2-D slice the command line draws
        view, shown, full_params = scene_mod.drawable(problem, trajectories)
        scene = scene_mod.build(view, shown, resolution=self.resolution, full_params=full_params)
        key = hashlib.sha256(f"{toml}\0{upload_key}".encode()).hexdigest()[:20]
        panel = self._panel(view, shown, scene)
        return Outcome(problem, trajectories, scene, tuple(full.start), key, lookahead=panel,
                       render=Views(scene, lookahead=panel))

    def _panel(self, problem: Problem, trajectories: list[Trajectory],
               scene: scene_mod.Scene) -> lookahead_view.Panel:
        """The look-ahead panel (:func:`descentlab.web.figures.lookahead.prepare`), made again only
        when what it draws changed: the problem, the Nesterov run it explains (the same object while
        the run cache holds it: moving another method's slider keeps it) and the scene's framing
        and levels. The cached objects are kept with the panel and compared by identity."""
        i = lookahead_view.chosen(list(trajectories))
        run = None if i is None else trajectories[i]
        key = (id(problem), id(run), scene.bounds, np.asarray(scene.levels).tobytes(), len(scene.grid_x),
               scene.title, tuple(scene.param_names))
        with self._lock:
            hit = self._panels.get(key)
        if hit is not None and hit[0] is problem and hit[1] is run:
            return hit[2]
        panel = lookahead_view.prepare(problem, trajectories, scene)
        with self._lock:
            self._panels[key] = (problem, run, panel)
            while len(self._panels) > self._cache_size:
                self._panels.popitem(last=False)
        return panel

    def _problem(self, toml: str, upload_key: str | None) -> Problem:
        if upload_key is None:
            return Config.from_toml(toml, "controls").build_problem()
        with self._lock:
            up = self._uploads.get(upload_key)
        if up is None:
            raise ctl.ControlError("the uploaded file is no longer in the server's memory; upload it again")
        # what Config.build_problem does for a CSV file (datasets.from_csv, or problems.from_expression
        # for a model), from the text in memory (never a path)
        config = Config.from_toml(toml, "controls")
        table = up.columns_of(config.x or up.table.x_name, config.y or up.table.y_name)
        if config.model is not None:
            return from_expression(config.model, data=table, start=config.start, params=config.params)
        return datasets.fit(table, config.problem or "line-fit", up.name)

    def _trajectory(self, setting: str, upload_key: str | None, name: str, method: str,
                    hyperparams: tuple[tuple[str, float], ...]) -> Trajectory:
        """One optimizer's run, as :meth:`Config.run` makes it: ``run_many`` draws the batch
        sequence from the seed alone, so a run alone equals the same run among others."""
        full = Config.from_toml(setting, "controls")
        problem = self.problem(_problem_part(full), upload_key)
        spec = OptimizerSpec(name, method, dict(hyperparams))
        # its own batch size, as Config.run gives it (sgd's default batch is for sgd alone)
        (trajectory,) = run_many([spec.build()], problem, full.start, full.steps,
                                 batch_size=[full.batch_for(spec, problem)], seed=full.seed)
        if full.default_batch(spec, problem):
            trajectory = dataclasses.replace(trajectory, meta={**trajectory.meta, "default_batch": True})
        return trajectory

    def views(self, outcome: Outcome, selected: int | None) -> dict[str, dict]:
        """The figure dicts of every view at iterate ``selected`` (None: the last); their static
        traces are the scene's own, shared with other calls (read, not edited)."""
        return outcome.render.figures(selected)

    def update(self, values: dict, upload_store: object, iterate: object, previous_max: object,
               shown: object = None) -> dict:
        """Everything the page shows for one state of the controls and of the scrubber.

        ``shown`` is the key of the scene the page shows now. Returns a dict with ``figures``
        (None when the controls are bad: the page keeps the last good figures), ``changes`` (when
        the page shows a scene that this server sent: per view that a patch can bring to this one,
        the traces that differ by index (``index``, ``data``) and the layout; views left out are
        sent whole; None when the page's scene is unknown), ``key`` (this scene's), ``message``
        and ``error`` (one line), ``last`` (the scrubber's max), ``selected`` (the iterate shown;
        None when the scrubber sits at the end and follows it), ``start`` (the start point used)
        and ``summary`` (one line per run). On the scene shown, every view is a patch of the traces
        the iterate moves; on a new scene whose surface and contours equal the shown one's (a slider
        that keeps the view), a patch of the paths that changed and the moving traces. A bad
        expression's message is its one line (the command line's), with ``detail``: that line, the
        expression and a caret line under the offending part.
        """
        try:
            with self._turn:
                req = self.request(values, upload_store)
                outcome = self.outcome(*req.cache_key)
                selected = self._selected(iterate, previous_max, outcome.last)
                figures = self.views(outcome, selected)
                changes = self._changes(outcome, figures, shown)
        except ExpressionError as err:
            summary, detail = ctl.expression_error(err)
            return {"figures": None, "message": say(summary), "detail": detail, "error": True}
        except (ctl.ControlError, ValueError, TypeError) as err:
            return {"figures": None, "message": _one_line(err), "error": True}
        except Exception as err:  # a bug must not take the page down: say so and keep serving
            log.exception("explorer update failed")
            message = say(f"internal error ({type(err).__name__}): {_one_line(err)}")
            return {"figures": None, "message": message, "error": True}
        notes = [f"{t.optimizer} diverged at step {t.diverged_at} (try a smaller α); showing the "
                 f"{t.steps} finite steps before it" for t in outcome.trajectories if t.diverged_at]
        return {"figures": figures, "changes": changes, "key": outcome.key, "same": shown == outcome.key,
                "message": say("; ".join(notes)),
                "error": False, "last": outcome.last, "selected": selected, "start": outcome.start,
                "summary": _summary(outcome, selected)}

    def _changes(self, outcome: Outcome, figures: dict[str, dict], shown: object) -> dict | None:
        """The patches of :meth:`update` (None: the page's scene is not one this server knows)."""
        if shown == outcome.key:
            return outcome.render.changes(figures, outcome.render)
        with self._lock:
            before = self._shown.get(shown) if isinstance(shown, str) else None
            self._shown[outcome.key] = outcome
            self._shown.move_to_end(outcome.key)
            while len(self._shown) > self._cache_size:
                self._shown.popitem(last=False)
        return None if before is None else outcome.render.changes(figures, before.render)

    def motion(self, values: dict, upload_store: object) -> dict | None:
        """What the page needs to scrub and play this state of the controls alone, or None when the
        controls are bad: ``{"key", "last", "views", "summary"}`` — every iterate's moving traces
        (:func:`descentlab.web.motion.frames`) and the summary's lines at every iterate. Made once
        per state (kept with its runs), sent once: the scrubber then makes no request."""
        try:
            outcome = self.outcome(*self.request(values, upload_store).cache_key)
        except (ctl.ControlError, ValueError, TypeError):
            return None
        if not outcome.motion:
            packed = motion.frames(outcome.scene, outcome.lookahead)
            outcome.motion.update(key=outcome.key, last=outcome.last, views=packed["views"],
                                  summary=[_summary(outcome, t) for t in range(outcome.last + 1)])
        return outcome.motion

    @staticmethod
    def _selected(iterate: object, previous_max: object, last: int) -> int | None:
        """The iterate to show: None (the last, following it) when the scrubber was at its end."""
        if iterate is None:
            return None
        t = ctl.whole("iterate", iterate, 0, ctl.MAX_STEPS)
        at_end = not isinstance(previous_max, int) or isinstance(previous_max, bool) or t >= previous_max
        return None if at_end or t >= last else t


def _every_method(problem: Problem) -> Config:
    """A config of every registered method on ``problem``, resolved (its suggestions filled in)."""
    return Config(optimizers=tuple(OptimizerSpec(n, n) for n in optim.methods())).resolved(problem)


def _problem_part(config: Config) -> str:
    """The TOML of the settings that choose the problem (not the runs): your own expression's start
    too, from which its suggestions are made (as ``descentlab --loss … --start …`` makes them)."""
    own = config.loss is not None or config.model is not None
    return Config(problem=config.problem, kappa=config.kappa, angle=config.angle, loss=config.loss,
                  model=config.model, params=config.params, x=config.x, y=config.y,
                  start=config.start if own else None).to_toml()


def say(text: object) -> str:
    """A message for the page: one line (line breaks become spaces), control characters escaped,
    at most :data:`descentlab.errors.MESSAGE_LIMIT` characters (:func:`descentlab.errors.one_line`),
    however long the value it names (a 10⁶-column CSV's header, a huge expression)."""
    return one_line(" ".join(part.strip() for part in str(text).splitlines() if part.strip()))


def _one_line(err: Exception) -> str:
    """An exception's message for the page (:func:`say`), or its type's name when it has none."""
    return say(err) or type(err).__name__


def _summary(outcome: Outcome, selected: int | None) -> list[str]:
    lines = []
    floor = outcome.problem.min_loss
    for t in outcome.trajectories:
        k = len(t.params) - 1 if selected is None else min(selected, len(t.params) - 1)
        gap = f", L − L_min = {t.losses[k] - floor:.3g}" if floor is not None else ""
        lines.append(f"{t.label}: t = {k}, L = {t.losses[k]:.6g}{gap}")
    note = outcome.problem.suggested.note  # an uploaded CSV too ill-conditioned for its suggested steps
    return [say(line) for line in lines + ([f"note: {note}"] if note else [])]


# ---- the page -------------------------------------------------------------------------------------

def _log_marks(low: int, high: int) -> dict:
    return {v: {"label": f"1e{v}" if v not in (0, 1) else str(10**v)} for v in range(low, high + 1)}


def _row(label_id: str | dict, label: str, control, row_id: str | None = None, title: str | None = None,
         ) -> html.Div:
    name = html.Span(label, className="label", title=title) if title else html.Span(label, className="label")
    kids = [html.Div([name, html.Span(id=label_id, className="value")],
                     style={"display": "flex", "justifyContent": "space-between", "gap": "8px",
                            "fontSize": "13px"}),
            control]
    return html.Div(kids, id=row_id or f"{label_id}-row", style={"marginBottom": "10px"})


def _slider(id_: str | dict, low: float, high: float, step: float, value: float, marks: dict) -> dcc.Slider:
    return dcc.Slider(id=id_, min=low, max=high, step=step, value=value, marks=marks, updatemode="drag",
                      included=False, tooltip=None, allow_direct_input=False)


def _number(id_: str | dict, value, low: float | None, high: float | None, placeholder: str = "",
            step: float | str = 1) -> dcc.Input:
    bounds = {k: v for k, v in (("min", low), ("max", high)) if v is not None and math.isfinite(v)}
    return dcc.Input(id=id_, type="number", value=value, step=step, debounce=0.4, placeholder=placeholder,
                     style={"width": "100%"}, **bounds)


def row_id(method: str, hyper: str) -> str:
    """The plain id of the row that holds a hyper-parameter's control (``hyper-nesterov-lr-row``):
    the control itself has a pattern-matching id, which CSS selectors cannot name simply."""
    return f"hyper-{method}-{hyper}-row"


def hyper_control(c: ctl.Control, position: object):
    """The widget of one hyper-parameter control, at ``position``."""
    if c.kind in ("log", "linear"):
        return _slider(c.id, c.low, c.high, c.step, position, c.marks())
    if c.kind == "choice":
        return dcc.Dropdown(id=c.id, value=position, clearable=False, searchable=False,
                            options=[{"label": v, "value": v} for v in c.hyper.choices])
    return _number(c.id, position, c.low, c.high, step=1 if c.kind == "int" else "any")


def method_box(method: optim.Method, positions: dict, shown: bool) -> html.Div:
    """A method's heading and one row per hyper-parameter; hidden while the method is not shown."""
    rows = []
    for h in method.hypers:
        c = ctl.control(method, h)
        slot = html.Div(hyper_control(c, positions.get(h.name)),
                        id={"type": HYPER_SLOT, "method": method.name, "hyper": h.name})
        rows.append(_row({"type": "hyper-value", "method": method.name, "hyper": h.name}, h.name, slot,
                         row_id(method.name, h.name), title=h.help or None))
    head = html.Div([html.Span(method.name, style={"fontWeight": "600"}),
                     html.Span(method.summary, style={"color": "#666", "fontSize": "11px",
                                                      "marginLeft": "6px"})],
                    style={"fontSize": "13px", "marginBottom": "4px", "overflow": "hidden",
                           "textOverflow": "ellipsis", "whiteSpace": "nowrap"}, title=method.summary)
    return html.Div([head, *rows], id={"type": "method-box", "method": method.name},
                    style=_box_style(shown))


def _box_style(shown: bool) -> dict:
    return ({"borderTop": "1px solid #e3e3e3", "paddingTop": "6px", "marginBottom": "4px"} if shown
            else {"display": "none"})


def layout(explorer: Explorer) -> html.Div:
    """The page: controls on the left, the four linked views and the iteration scrubber on the right.

    Built from the registry each time it is served (``app.layout`` is this function)."""
    d = explorer.defaults(DEFAULT["problem"], DEFAULT["kappa"])
    methods = optim.methods()
    chosen = list(optim.featured()) or list(methods)[:1]
    controls = html.Div([
        html.H2("descentlab", style={"margin": "0 0 2px 0"}),
        html.Div("Understanding Deep Learning, ch. 6 — Figure 6.1, live", style={"color": "#666",
                                                                                   "marginBottom": "12px"}),
        _row("problem-label", "problem", dcc.Dropdown(
            id="problem", value=DEFAULT["problem"], clearable=False, searchable=False,
            options=[{"label": PROBLEM_LABELS.get(p, p), "value": p} for p in ctl.CHOICES])),
        loss_row(),
        _row("kappa-label", "κ (condition number)", _slider("kappa", *ctl.LOG_KAPPA, 0.01, DEFAULT["kappa"],
                                                            _log_marks(0, 3))),
        # the browser drops a file over the limit, and upload_check says so at once; the server
        # refuses one over the limit too (a client other than this page)
        dcc.Upload(id="upload", max_size=ctl.MAX_UPLOAD_BYTES, accept=UPLOAD_ACCEPT,
                   children=html.Div(["upload a CSV of x, y (", html.A("choose a file"),
                                      f"; ≤ {ctl.MAX_UPLOAD_BYTES // 2**20} MB, {ctl.MAX_ROWS:,} rows)"]),
                   style={"border": "1px dashed #999", "borderRadius": "6px", "padding": "8px",
                          "textAlign": "center", "fontSize": "13px", "cursor": "pointer"}),
        html.Div(id="upload-message", style=UPLOAD_MESSAGE_STYLE),
        fit_box(),
        # a bad expression: the message and a caret line under its fault, right under the boxes
        html.Div(id="message-detail", role="alert", style={"display": "none"}),
        _row("optimizers-label", "optimizers", dcc.Checklist(
            id="optimizers", value=chosen, inline=True,
            options=[{"label": n, "value": n, "title": m.summary} for n, m in methods.items()],
            labelStyle={"marginRight": "10px", "fontSize": "14px"})),
        html.Div([method_box(m, d["hyper"][n], n in chosen) for n, m in methods.items()], id="method-boxes"),
        html.Div([
            html.Div([html.Div("steps", style={"fontSize": "13px"}),
                      _number("steps", d["steps"], None, None)], style=NUMBER_BOX),
            html.Div([html.Div("seed", style={"fontSize": "13px"}),
                      _number("seed", DEFAULT["seed"], None, None)], style=NUMBER_BOX),
            html.Div([html.Div("batch size (data only; empty: all)", style={"fontSize": "13px"}),
                      _number("batch-size", DEFAULT["batch_size"], None, None, "all")],
                     id="batch-size-row", style=NUMBER_BOX),
        ], style={"display": "flex", "flexWrap": "wrap", "gap": "6px 10px", "margin": "6px 0 10px 0"}),
        html.Div([html.Span(id="start-label", style={"fontSize": "13px"}),
                  html.Button("reset", id="start-reset", n_clicks=0,
                              style={"marginLeft": "8px", "fontSize": "12px"})]),
        html.Div(id="message", role="status", style={"fontSize": "13px", "marginTop": "12px"}),
        html.Ul(id="summary", style={"fontSize": "12px", "paddingLeft": "16px", "color": "#333"}),
    ], style={"width": "320px", "flex": "none", "padding": "14px 24px 14px 14px",
              "borderRight": "1px solid #ddd", "overflowY": "auto", "fontFamily": "system-ui, sans-serif"})

    def view(name: str) -> html.Div:
        return html.Div(dcc.Graph(id=f"view-{name}", config={"displaylogo": False},
                                  style={"height": "calc((100vh - 76px) / 2)", "minHeight": "400px"}),
                        id=f"{name}-box", style={"minWidth": "0"})

    scrubber = html.Div([
        html.Button("▶ play", id="play", n_clicks=0, title="play the iterates (the views move in the page)",
                    style={"fontSize": "12px", "width": "78px", "flex": "none"}),
        html.Div(id="iterate-label", style={"fontSize": "13px", "fontWeight": "600", "whiteSpace": "nowrap",
                                            "width": "150px"}),
        html.Div(dcc.Slider(id="iterate", min=0, max=d["steps"], step=1, value=d["steps"], updatemode="drag",
                            marks=None, allow_direct_input=False),
                 style={"flex": "1"}),
    ], style={"display": "flex", "alignItems": "center", "gap": "12px", "padding": "4px 16px 10px 8px"})
    views = html.Div([
        scrubber,
        html.Div([view(n) for n in VIEWS], style={"display": "grid", "gridTemplateColumns": "1fr 1fr",
                                                  "gap": "4px 10px"}),
    ], style={"flex": "1", "minWidth": "0", "padding": "8px 12px", "overflowY": "auto",
              "fontFamily": "system-ui, sans-serif"})

    stores = [dcc.Store(id="upload-store"), dcc.Store(id="start-store"), dcc.Store(id="shown-store"),
              dcc.Store(id="motion-store")]
    return html.Div([controls, views, *stores],
                    style={"display": "flex", "height": "100vh"})


def _text(id_: str, value: str, placeholder: str) -> dcc.Input:
    """A box for an expression: sent on Enter or when it loses focus, at most the parser's length."""
    return dcc.Input(id=id_, type="text", value=value, debounce=True, placeholder=placeholder,
                     maxLength=MAX_EXPRESSION, spellCheck=False, autoComplete="off",
                     style={"width": "100%", "boxSizing": "border-box", "fontFamily": MONOSPACE,
                            "fontSize": "13px"})


def loss_row() -> html.Div:
    """Your own loss L(x, y) (``descentlab --loss``), shown for the problem "your loss expression"."""
    return _row("loss-label", "loss L(x, y) =", _text("loss", ctl.LOSS_EXAMPLE, ctl.LOSS_EXAMPLE), "loss-row",
                title="x, y (and z): + - * / ** ( ), numbers, pi, e, sin cos tan exp log sqrt abs tanh "
                      "sigmoid …; press Enter to run it")


def fit_box() -> html.Div:
    """The columns of an upload and the model fitted to them (``--x``, ``--y``, ``--problem line-fit |
    gabor`` or ``--model``), shown for the problem "your CSV"; filled when a file is uploaded."""
    def pick(id_: str, label: str) -> html.Div:
        box = dcc.Dropdown(id=id_, options=[], value=None, clearable=False, placeholder="upload first",
                           style={"fontSize": "13px"})
        return html.Div([html.Div(label, style={"fontSize": "13px"}), box],
                        style={"flex": "1 1 45%", "minWidth": "0"})

    model = dcc.Dropdown(id="fit", value=OWN_DEFAULTS["fit"], clearable=False, searchable=False,
                         options=[{"label": FIT_LABELS[f], "value": f} for f in ctl.FITS],
                         style={"fontSize": "13px"})
    return html.Div([
        html.Div([pick("x-column", "x column"), pick("y-column", "y column")],
                 style={"display": "flex", "gap": "8px", "marginBottom": "8px"}),
        _row("fit-label", "model fitted (sum of squared errors)", model, "fit-row"),
        _row("model-label", "model ŷ(x) =", _text("model", ctl.MODEL_EXAMPLE, ctl.MODEL_EXAMPLE), "model-row",
             title="x and the parameters p0, p1, … in the loss language; press Enter to fit it"),
    ], id="fit-box", style={"display": "none"})


def own_visibility(problem: object, fit: object) -> tuple[dict, dict, dict]:
    """Show the loss box for your loss expression, the columns and model for an upload, and the model
    box when the model is your expression (in :data:`OWN_TOGGLED` order)."""
    off = {"display": "none"}
    return ({"marginBottom": "10px"} if problem == ctl.EXPRESSION else off,
            {"marginBottom": "4px"} if problem == ctl.UPLOAD else off,
            {"marginBottom": "10px"} if fit == ctl.EXPRESSION else off)


def column_options(upload: ctl.Upload) -> list[dict]:
    """The picker's choices: the upload's numeric columns, each shown in one short printable line."""
    return [{"label": say(c)[:60] or "(unnamed)", "value": c} for c in upload.columns]


CONTROL_IDS = {"problem": "problem", "kappa": "kappa", "optimizers": "optimizers", "steps": "steps",
               "batch_size": "batch-size", "seed": "seed"}
"""The page's plain controls (keys of :meth:`Explorer.update`'s values) and their ids; the
hyper-parameters' controls have pattern-matching ids (:data:`HYPER_ALL`) under the key ``hyper``."""
TOGGLED = ("kappa-label-row", "batch-size-row", "data-box", "loss-box")
"""What :func:`visibility` shows or hides, in its order (each method's box aside)."""
OWN_TOGGLED = ("loss-row", "fit-box", "model-row")
"""What :func:`own_visibility` shows or hides, in its order."""


def create_app(explorer: Explorer | None = None, *, resolution: int = 150) -> dash.Dash:
    """The Dash app of the explorer (serve ``app.server`` with any WSGI server, or call :func:`run`)."""
    explorer = explorer or Explorer(resolution=resolution)
    app = dash.Dash(__name__, title="descentlab explorer", update_title=None, serve_locally=True)
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # larger request bodies get HTTP 413
    app.layout = functools.partial(layout, explorer)  # the registry as it is when the page is served
    app.explorer = explorer  # type: ignore[attr-defined]
    guard.install(app)  # host allow-list, callback bodies checked, plain-text errors, no version banner
    upload_check.install(app, upload_check.script(
        ctl.MAX_UPLOAD_BYTES, UPLOAD_ACCEPT, "upload", "upload-message",
        UPLOAD_MESSAGE_STYLE | ERROR_STYLE, UPLOAD_MESSAGE_STYLE | NOTE_STYLE))
    upload_check.install(app, motion.SCRIPT)  # the page's own scrubbing and playing

    own_inputs = [Input(OWN_IDS[k], "value") for k in OWN_IDS]
    own_states = [State(OWN_IDS[k], "value") for k in OWN_IDS]

    @app.callback(Output("upload-store", "data"), Output("upload-message", "children"),
                  Output("upload-message", "style"), Output("problem", "value"),
                  Output("x-column", "options"), Output("x-column", "value"),
                  Output("y-column", "options"), Output("y-column", "value"),
                  Input("upload", "contents"), State("upload", "filename"), State("upload-store", "data"),
                  prevent_initial_call=True)
    def on_upload(contents, filename, current):
        if contents is None:  # the page's upload check cleared the box: its message stays
            raise dash.exceptions.PreventUpdate
        store, message, failed = explorer.upload(contents, filename, current)
        style = UPLOAD_MESSAGE_STYLE | (ERROR_STYLE if failed else NOTE_STYLE)
        if failed or store is None:
            return dash.no_update, message, style, *(dash.no_update,) * 5
        up = explorer.uploaded(store)
        options = column_options(up)  # the columns the command line picks, until others are chosen
        return store, message, style, ctl.UPLOAD, options, up.table.x_name, options, up.table.y_name

    @app.callback(*[Output(box, "style") for box in OWN_TOGGLED], Input("problem", "value"),
                  Input("fit", "value"))
    def on_own(problem, fit):
        return own_visibility(problem, fit)

    @app.callback(Output("start-store", "data"), Input("view-contour", "clickData"),
                  Input("start-reset", "n_clicks"), Input("problem", "value"), Input("upload-store", "data"),
                  *own_inputs, prevent_initial_call=True)
    def on_start(click, _reset, _problem, _upload, *_own):
        start = explorer.start(dash.ctx.triggered_id, click)
        if start is dash.no_update:
            raise dash.exceptions.PreventUpdate
        return start

    @app.callback(Output(HYPER_ALL, "value"), Output("steps", "value"), Output(HYPER_SLOT_ALL, "children"),
                  Input("problem", "value"), Input("upload-store", "data"), *own_inputs,
                  State("kappa", "value"), State(HYPER_ALL, "id"), State(HYPER_SLOT_ALL, "id"),
                  prevent_initial_call=True)
    def on_problem(problem, upload, *args):
        *own, kappa, ids, slots = args
        try:  # a bad expression: the sliders stay, and the update says what is wrong
            d = explorer.defaults(problem, kappa, upload if problem == ctl.UPLOAD else None,
                                  **dict(zip(OWN_IDS, own, strict=True)))
        except (ctl.ControlError, ValueError, TypeError):
            raise dash.exceptions.PreventUpdate from None
        fresh = log_sliders(d, slots)
        values = [dash.no_update if key in fresh else v
                  for key, v in zip(_keys(ids), problem_positions(d, ids), strict=True)]
        return values, d["steps"], [fresh.get(key, dash.no_update) for key in _keys(slots)]

    @app.callback(Output(HYPER_VALUE_ALL, "children"), Output("kappa-label", "children"),
                  Output(METHOD_BOX_ALL, "style"), *[Output(box, "style") for box in TOGGLED],
                  Input(HYPER_ALL, "value"), Input("kappa", "value"), Input("problem", "value"),
                  Input("optimizers", "value"), State(HYPER_ALL, "id"), State(METHOD_BOX_ALL, "id"),
                  State("upload-store", "data"), *own_states)
    def on_labels(values, kappa, problem, chosen, ids, boxes, upload, *own):
        try:
            sent = {"problem": problem, "kappa": kappa, **dict(zip(OWN_IDS, own, strict=True))}
            moved = explorer.moved_for(sent, upload)
        except (ctl.ControlError, ValueError, TypeError):
            moved = {}
        shown = hyper_labels(ids, values, moved)
        label_ids = [o["id"] for o in dash.ctx.outputs_list[0]]
        return ([shown.get((i.get("method"), i.get("hyper")), "?") for i in label_ids], kappa_label(kappa),
                method_styles(boxes, chosen), *visibility(problem, chosen))

    inputs = [Input(CONTROL_IDS[k], "value") for k in CONTROL_IDS]
    figure_outputs = [Output(f"view-{n}", "figure") for n in VIEWS]

    @app.callback(*figure_outputs, Output("message", "children"), Output("message", "style"),
                  Output("message-detail", "children"), Output("message-detail", "style"),
                  Output("summary", "children"), Output("start-label", "children"),
                  Output("iterate", "max"), Output("iterate", "value"), Output("iterate-label", "children"),
                  Output("shown-store", "data"),
                  *inputs, Input(HYPER_ALL, "value"), Input("start-store", "data"),
                  Input("upload-store", "data"), *own_inputs, State("iterate", "value"),
                  State("iterate", "max"), State("shown-store", "data"), State(HYPER_ALL, "id"))
    def on_update(*args):
        values, (hyper, start, upload), rest = args[:len(CONTROL_IDS)], args[len(CONTROL_IDS):][:3], \
            args[len(CONTROL_IDS) + 3:]
        own, (iterate, previous_max, shown, ids) = rest[:len(OWN_IDS)], rest[len(OWN_IDS):]
        try:
            mapping = ctl.hyper_mapping(ids, hyper)
        except ctl.ControlError as err:
            return page_outputs({"figures": None, "message": _one_line(err), "error": True})
        controls = dict(zip(CONTROL_IDS, values, strict=True)) | {"hyper": mapping, "start": start} | \
            dict(zip(OWN_IDS, own, strict=True))
        return page_outputs(explorer.update(controls, upload, iterate, previous_max, shown))

    # the scrubber is the page's own: once per new scene the server sends every iterate's moving
    # traces, and the slider, the keyboard and play move them in the browser (no request per frame)
    @app.callback(Output("motion-store", "data"), Input("shown-store", "data"),
                  *[State(CONTROL_IDS[k], "value") for k in CONTROL_IDS], State(HYPER_ALL, "value"),
                  State("start-store", "data"), State("upload-store", "data"), State(HYPER_ALL, "id"),
                  *own_states, prevent_initial_call=True)
    def on_motion(key, *args):
        *values, hyper, start, upload, ids = args[:-len(OWN_IDS)]
        try:
            mapping = ctl.hyper_mapping(ids, hyper)
        except ctl.ControlError:
            return None
        controls = dict(zip(CONTROL_IDS, values, strict=True)) | {"hyper": mapping, "start": start} | \
            dict(zip(OWN_IDS, args[-len(OWN_IDS):], strict=True))
        found = explorer.motion(controls, upload)
        return found if found is not None and found["key"] == key else None

    app.clientside_callback(dash.ClientsideFunction("descentlab", "scrub"),
                            Output("iterate-label", "children", allow_duplicate=True),
                            Output("summary", "children", allow_duplicate=True),
                            Input("iterate", "value"), Input("motion-store", "data"),
                            State("shown-store", "data"), prevent_initial_call=True)
    app.clientside_callback(dash.ClientsideFunction("descentlab", "play"),
                            Output("play", "children"), Output("iterate", "value", allow_duplicate=True),
                            Input("play", "n_clicks"), State("iterate", "value"),
                            State("motion-store", "data"), State("shown-store", "data"),
                            prevent_initial_call=True)
    return app


def _keys(ids: list) -> list[tuple[str | None, str | None]]:
    """(method, hyper-parameter) of each pattern-matching id."""
    return [(i.get("method"), i.get("hyper")) if isinstance(i, dict) else (None, None) for i in ids]


def log_sliders(defaults: dict, slots: list) -> dict:
    """A new log slider for each log control in ``slots``, by (method, hyper-parameter), at a
    problem's ``defaults``: its decades moved to hold an uploaded CSV's α (``defaults["moved"]``),
    or the registry's."""
    methods = optim.methods()
    out = {}
    for method_name, hyper_name in _keys(slots):
        method = methods.get(method_name)
        if method is None or hyper_name not in method.hyper_names:
            continue
        window = defaults.get("moved", {}).get(method_name, {}).get(hyper_name)
        c = ctl.control(method, method.hyper(hyper_name), None if window is None else tuple(window))
        if c.kind == "log":
            out[(method_name, hyper_name)] = hyper_control(c, defaults["hyper"][method_name][hyper_name])
    return out


def problem_positions(defaults: dict, ids: list) -> list:
    """The positions of the controls ``ids`` (in the page's order) for a problem's ``defaults``."""
    hyper = defaults["hyper"]
    out = []
    for i in ids:
        method, name = (i.get("method"), i.get("hyper")) if isinstance(i, dict) else (None, None)
        out.append(hyper[method][name] if name in hyper.get(method, {}) else dash.no_update)
    return out


def page_outputs(result: dict) -> tuple:
    """:meth:`Explorer.update`'s answer as the values of the page's outputs, in the callback's order.

    When the page already shows the scene, each figure is a :class:`dash.Patch` of the traces the
    iterate moves and of the layout, so the browser keeps the surface, the contours and the paths
    and redraws only the markers (and the key of the scene shown stays as it is); a new scene that
    keeps the shown one's surface and contours is a patch of the traces that differ. The two after the
    message and its style are the monospace block under the expression boxes (a bad expression's
    message, the expression and a caret line under its fault).
    """
    style = {"fontSize": "13px", "marginTop": "12px", **(ERROR_STYLE if result["error"] else NOTE_STYLE)}
    keep = dash.no_update
    detail = result.get("detail") or ""
    below = (detail_block(detail), DETAIL_STYLE if detail else {"display": "none"})
    if result["figures"] is None:
        return (*(keep,) * len(VIEWS), result["message"], style, *below, keep, keep, keep, keep, keep, keep)
    blank = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}}}
    changes = result["changes"] or {}
    figures = tuple(_patch(changes[n]) if n in changes else result["figures"].get(n, blank) for n in VIEWS)
    key = keep if result.get("same") else result["key"]
    last, selected = result["last"], result["selected"]
    shown = last if selected is None else selected
    start = ", ".join(f"{v:.3g}" for v in result["start"])
    return (*figures, result["message"], style, *below, [html.Li(line) for line in result["summary"]],
            f"start φ₀ = ({start}); click the contour map to move it", last,
            last if selected is None else keep, f"iterate t = {shown} of {last}", key)


def detail_block(text: str) -> list:
    """The block under the expression boxes: its first line (the message, wrapped to the panel),
    then the expression and the caret line under its fault, in their columns."""
    first, _, rest = text.partition("\n")
    return [html.Div(first)] + ([html.Pre(rest, style=CARET_STYLE)] if rest else []) if text else []


def _patch(change: dict) -> dash.Patch:
    patch = dash.Patch()
    for i, trace in zip(change["index"], change["data"], strict=True):
        patch["data"][i] = trace
    patch["layout"] = change["layout"]
    return patch


def hyper_labels(ids: object, values: object, moved: dict | None = None) -> dict[tuple[str, str], str]:
    """The value beside each hyper-parameter control, as the server reads it (``"α = 0.0316"``, or
    ``"α = ?"``), by (method, hyper-parameter); controls of unknown methods are left out;
    ``moved``: the log sliders a problem moved (:func:`descentlab.web.controls.windows`)."""
    try:
        sent = ctl.hyper_mapping(ids, values)
    except ctl.ControlError:
        return {}
    methods = optim.methods()
    out = {}
    for name, given in sent.items():
        method = methods.get(name)
        for h in method.hypers if method is not None else ():
            if h.name in given:
                c = ctl.control(method, h, (moved or {}).get((name, h.name)))
                out[(name, h.name)] = c.shown(given[h.name])
    return out


def kappa_label(value: object) -> str:
    try:
        return f"κ = {ctl.log_value('κ', value, ctl.LOG_KAPPA):g}"
    except ctl.ControlError:
        return "κ = ?"


def method_styles(boxes: object, chosen: object) -> list[dict]:
    """The style of each method's box (``boxes``: their ids, in the page's order): shown when the
    method is."""
    chosen = set(chosen) if isinstance(chosen, list) and all(isinstance(c, str) for c in chosen) else set()
    return [_box_style(isinstance(b, dict) and b.get("method") in chosen) for b in boxes or []]


def visibility(problem, chosen) -> tuple[dict, ...]:
    """Show only what applies (in :data:`TOGGLED` order): κ for the quadratic, the batch size and the
    data view for data problems. With the data view the five views fill two rows of two and the loss
    per step takes the whole third row; without it the four views are two rows of two. (Each
    method's controls follow ``chosen``: :func:`method_styles`.)"""
    off = {"display": "none"}
    data = problem in DATA_PROBLEMS
    return ({"marginBottom": "10px"} if problem == "quadratic" else off,
            NUMBER_BOX if data else off,
            {"minWidth": "0"} if data else off,
            {"minWidth": "0", "gridColumn": "1 / -1"} if data else {"minWidth": "0"})


def update_request(app: dash.Dash, controls: dict, iterate: int | None = None,
                   previous_max: int | None = None, changed: str = "steps.value",
                   shown: str | None = None) -> dict:
    """The JSON body the page POSTs to ``/_dash-update-component`` for a full update.

    ``controls`` maps the keys of :data:`CONTROL_IDS` to the values the widgets would send, plus
    ``hyper`` (``{method: {hyper: position}}``, the hyper-parameter controls on the page, as
    :meth:`Explorer.page_values` gives them), ``start`` and ``upload`` (the stores) and the keys of
    :data:`OWN_IDS` (your own problem's boxes; missing ones hold :data:`OWN_DEFAULTS`); ``shown``
    is the key of the scene the page shows (the answer is then a patch when the scene is the
    same). Benchmarks and tests use it to drive a running server exactly as a browser does.

    The page scrubs by itself (:mod:`descentlab.web.motion`), so the scrubber is a State of the
    update, not an Input; ``changed="iterate.value"`` (a client asking the server for iterate t of
    the scene it shows: a patch) is sent as a change of the steps box, which the update does not
    read, since the server refuses a body naming a changed property that is not an input.
    """
    key = next(k for k in app.callback_map if "view-contour.figure" in k)
    spec = app.callback_map[key]
    by_id = {CONTROL_IDS[k]: v for k, v in controls.items() if k in CONTROL_IDS}
    by_id |= {OWN_IDS[k]: controls.get(k, OWN_DEFAULTS[k]) for k in OWN_IDS}
    by_id |= {"start-store": controls.get("start"), "upload-store": controls.get("upload"),
              "iterate": iterate, "shown-store": shown}
    hyper = [({"type": ctl.HYPER, "method": m, "hyper": h}, v)
             for m, given in controls.get("hyper", {}).items() for h, v in given.items()]

    def entry(item: dict, state_value: object = None) -> dict | list:
        if item["id"].startswith("{"):  # the hyper-parameters' pattern-matching id: one entry each
            return [{"id": i, "property": item["property"], "value": i if item["property"] == "id" else v}
                    for i, v in hyper]
        return {**item, "value": by_id[item["id"]] if state_value is None else state_value}

    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
               for o in key.strip(".").split("...")]
    states = [entry(s, previous_max) if (s["id"], s["property"]) == ("iterate", "max") else entry(s)
              for s in spec["state"]]
    return {"output": key, "outputs": outputs, "inputs": [entry(i) for i in spec["inputs"]],
            "state": states, "changedPropIds": ["steps.value" if changed == "iterate.value" else changed]}


# ---- serving --------------------------------------------------------------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def make_server(app: dash.Dash, host: str = "127.0.0.1", port: int = 8050):
    """A threaded WSGI server for ``app`` (``port=0`` picks a free one: see ``server.server_port``).

    ``app`` then answers requests that name ``host`` as well as the loopback names (see
    :mod:`descentlab.web.guard`), and its responses carry no Werkzeug or Python version."""
    from werkzeug.serving import make_server as werkzeug_server

    if not isinstance(host, str) or not host:
        raise InputError(f"host must be a host name or address, got {host!r}")
    ctl.whole("port", port, 0, 65535)
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # werkzeug prints why, then exits: make it one line
            server = werkzeug_server(host, port, app.server, threaded=True,
                                     request_handler=guard.QuietHandler)
    except (SystemExit, OSError, UnicodeError, ValueError) as err:  # UnicodeError: a host name idna refuses
        reason = getattr(err, "strerror", None) or next(iter(said.getvalue().splitlines()), None) or \
            (str(err) if isinstance(err, ValueError) else "cannot bind")
        where = url(host, port)
        raise InputError(one_line(f"cannot listen on {where}: {reason} (try another --port)")) from None
    if hasattr(app, "allowed_hosts"):
        guard.allow_host(app, host)
    return server


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def run(host: str = "127.0.0.1", port: int = 8050, open_browser: bool = True) -> None:
    """Serve the explorer until Ctrl+C, on 127.0.0.1 unless ``host`` says otherwise."""
    server = make_server(create_app(), host, port)
    address = url(host, server.server_port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    if host not in LOOPBACK:
        print(f"warning: serving on {host}: the explorer can be reached from other machines")
    print(f"descentlab explorer on {address} (Ctrl+C to stop)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [address]).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    run()
