"""Server-side checks of everything the explorer's page sends, before any of it reaches the library.

A Dash callback receives whatever JSON a client posts, not only what the widgets can produce, so
every value is checked here for its type, its range and its size. A bad one raises
:class:`ControlError` with one line that names the control and what it allows; the page shows
that line and the server goes on serving.

Every optimizer of the registry (plugins included, read when the page is built and at every
request, never at import) gets one control per hyper-parameter, derived from its
:class:`~descentlab.optimizers.Hyper` (:func:`control`):

* a real number with a search range: a slider over it; on a log scale the slider sends the
  exponent (the value is ``10**position``, the range widened by a decade each way), on a linear
  scale the value itself;
* a choice: a dropdown;
* an integer, or a real number without a search range: a number box.

Each value is then checked by the hyper-parameter's own :meth:`~descentlab.optimizers.Hyper.check`.
Values from log sliders are rounded to three significant digits (and those from linear sliders
to two digits below their step), so the legend reads α=0.0501 and equal settings share one cache
entry. κ's slider sends log10 κ.

An uploaded CSV is base64-decoded and parsed in memory by :func:`descentlab.datasets.parse_csv`;
it is never written to disk, and its file name is only ever shown, never used as a path.

Your own problem takes the command line's configuration keys (:func:`problem_fields`), so a state
of the page is a ``descentlab run`` configuration:

* ``problem = "expression"``: a loss typed in the safe expression language, ``Config.loss``
  (``descentlab run --loss "x**2 + 3*y**2"``);
* ``problem = "upload"``: the uploaded CSV's columns ``Config.x`` and ``Config.y`` (a column picker;
  by default the two the command line picks) fitted by a model: a line ŷ = φ0 + φ1·x
  (``Config.problem = "line-fit"``), the book's Gabor model (``"gabor"``), or a model expression of x
  with parameters p0, p1, … (``Config.model``), each by the sum of squared errors L = Σ (ŷ_i − y_i)².

An expression is text of at most :data:`~descentlab.problems.expression.MAX_LENGTH` characters,
parsed by the library's own parser (never evaluated as Python); what is wrong with it raises the
library's :class:`~descentlab.problems.ExpressionError`, whose message is the command line's and
whose ``str`` puts a caret line under the offending part (:func:`expression_error`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Integral, Real

from descentlab import optimizers as optim
from descentlab.catalogue import NAMES
from descentlab.config import Config, OptimizerSpec
from descentlab.datasets import MODELS, DataError, XYData, parse_csv
from descentlab.errors import InputError
from descentlab.optimizers import Hyper, Method
from descentlab.problems import ExpressionError
from descentlab.problems.expression import names_in

UPLOAD = "upload"
"""The problem value for a model fitted to the uploaded CSV (a line unless ``fit`` says otherwise)."""
PROBLEMS = (*NAMES, UPLOAD)
"""The problems a page shows without typing anything: the built-in ones and an uploaded CSV."""
EXPRESSION = "expression"
"""The problem value for your own loss expression (``Config.loss``), and the ``fit`` value for your
own model expression of an upload (``Config.model``)."""
CHOICES = (*NAMES, EXPRESSION, UPLOAD)
"""Every value of the page's problem dropdown."""
FITS = (*MODELS, EXPRESSION)
"""What an upload is fitted with: a line, the Gabor model, or a model expression."""
LOSS_EXAMPLE = "x**2 + 3*y**2"
MODEL_EXAMPLE = "p0 + p1*x + p2*x**2"

LOG_KAPPA = (0.0, 3.0)       # κ = 10**v: 1 … 1000
LOG_STEP = 0.01              # the step of a log slider, in log10 units
LINEAR_POSITIONS = 50        # a linear slider has at least this many steps (a power of ten each)
MAX_STEPS = 2000
MAX_SEED = 2**32 - 1
MAX_START = 1e6              # |φ0|, |φ1| of a clicked start point
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 1000
"""The most columns an upload may have: choosing x and y looks at each column (~40 µs a column),
so a 4 MB file of a million one-letter columns would take the server ~40 s."""
MAX_FILENAME = 255
HYPER = "hyper"
"""The ``type`` of a hyper-parameter control's pattern-matching id:
``{"type": "hyper", "method": "nesterov", "hyper": "lr"}``."""


class ControlError(InputError):
    """A control value the explorer cannot use; the message is one line for the page."""


@dataclass(frozen=True, eq=False)
class Upload:
    """A parsed CSV upload: ``key`` (a digest of its bytes) names it in the browser's store;
    ``table`` holds the columns the command line would pick, ``text`` the decoded file (kept in
    memory to read other columns, :meth:`columns_of`)."""

    key: str
    name: str
    table: XYData
    text: str = ""

    @property
    def rows(self) -> int:
        return len(self.table.x)

    @property
    def columns(self) -> tuple[str, ...]:
        """The numeric columns, which x and y may name (the picker's choices)."""
        return self.table.columns or (self.table.x_name, self.table.y_name)

    def columns_of(self, x: str, y: str) -> XYData:
        """The columns ``x`` and ``y``, read as ``descentlab --data FILE --x X --y Y`` reads them
        (the message of :func:`~descentlab.datasets.parse_csv` when they cannot be used)."""
        if (x, y) == (self.table.x_name, self.table.y_name) or not self.text:
            return self.table
        try:
            return parse_csv(self.text, self.name, x, y)
        except DataError as err:
            raise ControlError(str(err)) from None


@dataclass(frozen=True)
class Request:
    """One validated state of the controls: the run's Config and, for ``upload``, the data's key."""

    config: Config
    upload_key: str | None = None

    @property
    def cache_key(self) -> tuple[str, str | None]:
        """The TOML text of the config (every value explicit) and the uploaded data's digest."""
        return self.config.to_toml(), self.upload_key


# ---- single values -----------------------------------------------------------------------------

def number(label: str, value: object, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite real number in [low, high] (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ControlError(f"{label} must be a number, got {_show(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ControlError(f"{label} must be a finite number, got {_show(value)}")
    if not low <= v <= high:
        raise ControlError(f"{label} must be between {low:g} and {high:g}, got {_show(value)}")
    return v


def whole(label: str, value: object, low: int, high: int) -> int:
    """An integer in [low, high]; a float is accepted only when it is whole (number inputs send 3.0).

    Each message names the control and its range: ``"steps must be a whole number from 1 to 2000,
    got 5000"``; an empty box (the browser sends null) says so, never "got None"."""
    if value is None or value == "":
        raise ControlError(f"{label} must be a whole number from {low} to {high}; the box is empty")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ControlError(f"{label} must be a whole number, got {_show(value)}")
    v = int(value)
    if not low <= v <= high:
        raise ControlError(f"{label} must be a whole number from {low} to {high}, got {_show(v)}")
    return v


def choice(label: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ControlError(f"{label} must be one of {', '.join(allowed)}, got {_show(value)}")
    return value


def three_digits(v: float) -> float:
    """``v`` rounded to three significant digits."""
    return float(f"{v:.3g}")


def log_value(label: str, exponent: object, bounds: tuple[float, float]) -> float:
    """``10**exponent`` from a log slider, rounded to three significant digits."""
    return three_digits(10.0 ** number(f"{label} (log10)", exponent, *bounds))


def optimizer_list(value: object) -> tuple[str, ...]:
    """The optimizers to show: distinct registered names, in the registry's order, at least one."""
    known = optim.names()
    if not isinstance(value, list | tuple) or len(value) > len(known):
        raise ControlError(f"optimizers must be a list of up to {len(known)} names, got {_show(value)}")
    for name in value:
        choice("optimizer", name, known)
    if not value:
        raise ControlError("choose at least one optimizer to show")
    return tuple(name for name in known if name in value)


def start_point(value: object) -> tuple[float, float] | None:
    """A start point φ0 = [φ0, φ1] (from a click on the contour map), or None for the suggested one."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ControlError(f"start must be two numbers [φ0, φ1], got {_show(value)}")
    x, y = (number(f"start φ{i}", v, -MAX_START, MAX_START) for i, v in enumerate(value))
    return (x, y)


def clicked_point(click: object) -> tuple[float, float]:
    """The (x, y) of a Plotly ``clickData`` event: ``{"points": [{"x": …, "y": …, …}]}``."""
    points = click.get("points") if isinstance(click, dict) else None
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        raise ControlError("a click on the contour map must carry a point")
    return start_point([points[0].get("x"), points[0].get("y")])  # type: ignore[return-value]


# ---- the controls of a method's hyper-parameters ----------------------------------------------------

@dataclass(frozen=True)
class Control:
    """How the page shows one hyper-parameter of one method, and how it reads what the page sends.

    ``kind`` is ``"log"`` (a slider of exponents), ``"linear"`` (a slider of values), ``"choice"``
    (a dropdown), ``"int"`` or ``"number"`` (a number box); ``low``, ``high`` and ``step`` are the
    slider's (exponents for ``"log"``), or the number box's bounds.
    """

    method: str
    hyper: Hyper
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def id(self) -> dict[str, str]:
        """The control's pattern-matching id (see :data:`HYPER`)."""
        return {"type": HYPER, "method": self.method, "hyper": self.hyper.name}

    @property
    def label(self) -> str:
        """``"nesterov: beta (β)"``: how messages name it."""
        return f"{self.method}: {self.hyper.label}"

    def position(self, value: object) -> object:
        """What the control shows for a hyper-parameter value (kept inside a slider's range)."""
        if value is None:
            return self.fallback()
        if self.kind == "log":
            if not float(value) > 0:
                return self.fallback()
            return min(max(math.log10(float(value)), self.low), self.high)
        if self.kind == "linear":
            return min(max(float(value), self.low), self.high)
        return value

    def fallback(self) -> object:
        """The position for a hyper-parameter with neither a default nor a suggestion: the
        middle of a slider, the first choice, else nothing (the page then asks for a value)."""
        if self.kind in ("log", "linear"):
            h = self.hyper
            mid = math.sqrt(h.search[0] * h.search[1]) if self.kind == "log" else sum(h.search) / 2
            return self.position(mid)
        if self.kind == "choice":
            return self.hyper.choices[0]
        return None

    def read(self, raw: object) -> float | int | str:
        """The hyper-parameter's value from what the control sent, checked by the Hyper itself."""
        h = self.hyper
        if raw is None:  # an empty number box, or one out of its bounds: the browser sends null
            empty = " (the box is empty or out of range)" if self.kind in ("int", "number") else ""
            raise ControlError(f"{self.label} needs a value: {self.expects}{empty}")
        if self.kind == "log":
            value: float | int | str = log_value(self.label, raw, (self.low, self.high))
        elif self.kind == "linear":
            digits = max(0, -math.floor(math.log10(self.step) + 1e-9)) + 2
            value = round(number(self.label, raw), digits)
        elif self.kind == "number":
            value = number(self.label, raw)
        elif self.kind == "int":
            value = whole(self.label, raw, int(self.low), int(self.high))
        else:
            value = choice(self.label, raw, h.choices)
        try:
            return h.check(value)
        except InputError as err:
            raise ControlError(f"{self.method}: {err}") from None

    @property
    def expects(self) -> str:
        """What the control takes, in words: ``"a whole number from 1 to 10000"``."""
        if self.kind == "int":
            return f"a whole number from {self.low} to {self.high}"
        if self.kind == "number":
            return f"a number, {self.hyper.allowed}"
        if self.kind == "choice":
            return self.hyper.allowed
        return f"a number from {self.low:g} to {self.high:g}" + (" (log10)" if self.kind == "log" else "")

    def shown(self, raw: object) -> str:
        """``"α = 0.0316"``: the value beside the control's name, as the server reads it (or "?")."""
        try:
            value = self.read(raw)
        except ControlError:
            return f"{self.hyper.symbol} = ?"
        return f"{self.hyper.symbol} = {value if isinstance(value, str) else format(value, 'g')}"

    def marks(self) -> dict:
        """Slider marks: a few decades (log) or the ends and the middle (linear)."""
        if self.kind == "log":
            lo, hi = math.ceil(self.low), math.floor(self.high)
            stride = max(1, math.ceil((hi - lo + 1) / 7))
            return {v: {"label": str(10**v) if 0 <= v <= 3 else f"1e{v}"} for v in range(lo, hi + 1, stride)}
        if self.kind == "linear":
            unit = 10.0 ** math.floor(math.log10((self.high - self.low) / 2))
            middle = float(f"{round((self.low + self.high) / 2 / unit) * unit:.12g}")  # a round number
            return {v: f"{v:g}" for v in (self.low, middle, self.high)}
        return {}


def control(method: Method | str, hyper: Hyper, window: tuple[float, float] | None = None) -> Control:
    """The control of ``hyper`` (a hyper-parameter of ``method``): see the module docstring.
    ``window``: the (low, high) exponents of a log slider moved for a problem (see :func:`windows`)."""
    c = _control(method, hyper)
    return c if window is None or c.kind != "log" else replace(c, low=float(window[0]), high=float(window[1]))


WINDOW = (3, 2)
"""A log slider moved to hold a problem's suggestion spans this many decades below and above it."""


def windows(suggested: Mapping[str, Mapping[str, object]]) -> dict[tuple[str, str], tuple[float, float]]:
    """The log sliders a problem's suggestions move: ``{(method, hyper): (low, high)}`` for each
    suggested value (``{method: {hyper: value}}``, as ``Config.resolved`` fills them) outside the
    decades its slider spans — the α of an uploaded CSV whose sum of squares is large — moved to
    :data:`WINDOW` decades around it. Sliders that hold their suggestion are left alone."""
    methods = optim.methods()
    out = {}
    for name, values in suggested.items():
        method = methods.get(name)
        for h in method.hypers if method is not None else ():
            value = values.get(h.name)
            c = _control(method, h)
            if c.kind != "log" or not isinstance(value, Real) or not value > 0:
                continue
            exponent = math.log10(float(value))
            if not c.low + 1 <= exponent <= c.high - 1:
                out[(name, h.name)] = (float(math.floor(exponent) - WINDOW[0]),
                                       float(math.ceil(exponent) + WINDOW[1]))
    return out


def _control(method: Method | str, hyper: Hyper) -> Control:
    name = method if isinstance(method, str) else method.name
    if hyper.kind == "choice":
        return Control(name, hyper, "choice")
    if hyper.kind == "int":
        # as Hyper.check reads an integer: both ends included
        return Control(name, hyper, "int", int(max(hyper.low, -2**62)), int(min(hyper.high, 2**62)), 1)
    if hyper.search is None:
        return Control(name, hyper, "number", hyper.low, hyper.high)
    lo, hi = (float(v) for v in hyper.search)
    if hyper.scale == "log":
        return Control(name, hyper, "log", math.floor(math.log10(lo) + 1e-9) - 1,
                       math.ceil(math.log10(hi) - 1e-9) + 1, LOG_STEP)
    step = 10.0 ** math.floor(math.log10((hi - lo) / LINEAR_POSITIONS))
    return Control(name, hyper, "linear", lo, hi, step)


def controls(names: Sequence[str] | None = None) -> list[Control]:
    """The controls of every hyper-parameter of ``names`` (default: every registered method), in
    the registry's order."""
    methods = optim.methods()
    return [control(m, h) for name, m in methods.items() if names is None or name in names
            for h in m.hypers]


def hyper_mapping(ids: object, values: object) -> dict[str, dict[str, object]]:
    """What the page's hyper-parameter controls sent (their ids and values, in one order) as
    ``{method: {hyper: value}}``."""
    if not isinstance(ids, list) or not isinstance(values, list) or len(ids) != len(values):
        raise ControlError("the hyper-parameter controls sent a malformed list")
    out: dict[str, dict[str, object]] = {}
    for id_, value in zip(ids, values, strict=True):
        method = id_.get("method") if isinstance(id_, dict) else None
        hyper = id_.get("hyper") if isinstance(id_, dict) else None
        if not (isinstance(method, str) and isinstance(hyper, str)):
            raise ControlError(f"a hyper-parameter control has a malformed id: {_show(id_)}")
        out.setdefault(method, {})[hyper] = value
    return out


def hyper_values(names: Sequence[str], hyper: object,
                 moved: Mapping[tuple[str, str], tuple[float, float]] | None = None,
                 ) -> dict[str, dict[str, float | int | str]]:
    """Every hyper-parameter of each method in ``names``, read from ``hyper`` = ``{method: {hyper:
    what its control sent}}`` (controls of methods not shown are ignored); ``moved``: the log
    sliders the problem moved (:func:`windows`)."""
    if not isinstance(hyper, Mapping):
        raise ControlError(f"hyper-parameters must be a mapping of method to values, got {_show(hyper)}")
    out = {}
    for name in names:
        method = optim.get(name)
        sent = hyper.get(name, {})
        if not isinstance(sent, Mapping):
            raise ControlError(f"{name}: hyper-parameters must be a mapping, got {_show(sent)}")
        unknown = [k for k in sent if k not in method.hyper_names]
        if unknown:
            raise ControlError(f"{name} has no hyper-parameter {_show(unknown[0])}; "
                               f"it takes {', '.join(method.hyper_names)}")
        values = {}
        for h in method.hypers:
            c = control(method, h, (moved or {}).get((name, h.name)))
            if h.name not in sent:
                raise ControlError(f"{c.label} is missing")
            values[h.name] = c.read(sent[h.name])
        out[name] = values
    return out


# ---- the whole form ----------------------------------------------------------------------------

def request(*, problem: object, kappa: object, optimizers: object, hyper: object, steps: object,
            batch_size: object, seed: object, start: object, upload: Upload | None = None,
            moved: Mapping[tuple[str, str], tuple[float, float]] | None = None, loss: object = None,
            fit: object = None, model: object = None, x: object = None, y: object = None) -> Request:
    """The validated :class:`Request` for one state of the controls.

    ``hyper`` maps each method to what its controls sent (``{"nesterov": {"lr": -1.3, "beta":
    0.8}}``: see :class:`Control`); only the methods in ``optimizers`` are read. ``kappa`` is log10 κ;
    ``batch_size`` is None (all the data; sgd draws 3) or a size 1..N and applies to data problems
    only (methods that always use all the data ignore it). ``moved``: the log sliders that the
    problem's suggestions moved (:func:`windows`; an uploaded CSV's learning rates). ``loss``, ``fit``,
    ``model``, ``x`` and ``y``: your own problem (:func:`problem_fields`).
    """
    name = choice("problem", problem, CHOICES)
    names = optimizer_list(optimizers)
    values = hyper_values(names, hyper, moved)
    specs = tuple(OptimizerSpec(n, n, values[n]) for n in names)
    fields: dict = {"steps": whole("steps", steps, 1, MAX_STEPS), "seed": whole("seed", seed, 0, MAX_SEED),
                    "start": start_point(start)}
    fields |= problem_fields(name, kappa=kappa, upload=upload, loss=loss, fit=fit, model=model, x=x, y=y)
    if name in ("line-fit", "gabor", UPLOAD) and batch_size not in (None, ""):
        n = upload.rows if upload is not None and name == UPLOAD else MAX_ROWS
        fields["batch_size"] = whole("batch size", batch_size, 1, n)
    config = Config(optimizers=specs, **fields)
    return Request(config, upload.key if name == UPLOAD and upload is not None else None)


def problem_fields(problem: object, *, kappa: object = None, upload: Upload | None = None,
                   loss: object = None, fit: object = None, model: object = None, x: object = None,
                   y: object = None) -> dict:
    """The :class:`~descentlab.config.Config` keys that choose the problem, from the controls.

    ``problem`` is a value of :data:`CHOICES`; only the controls it uses are read (and checked):
    ``kappa`` (log10 κ) for the quadratic, ``loss`` for :data:`EXPRESSION`, and for :data:`UPLOAD`
    the columns ``x`` and ``y`` (None: those the command line picks) and ``fit`` (:data:`FITS`;
    None: a line) with ``model`` when ``fit`` is :data:`EXPRESSION`. The expressions are checked
    by the library's parser (:func:`expression_text`)."""
    name = choice("problem", problem, CHOICES)
    if name == "quadratic":
        return {"problem": name, "kappa": log_value("κ", kappa, LOG_KAPPA)}
    if name == EXPRESSION:
        return {"loss": expression_text("loss", loss, LOSS_EXAMPLE)}
    if name != UPLOAD:
        return {"problem": name}
    if upload is None:
        raise ControlError("upload a CSV file of x, y data first (or choose another problem)")
    columns = {"x": column("x", x, upload, upload.table.x_name),
               "y": column("y", y, upload, upload.table.y_name)}
    how = "line-fit" if fit is None else choice("model", fit, FITS)
    if how == EXPRESSION:
        return {"model": expression_text("model", model, MODEL_EXAMPLE), **columns}
    return {"problem": how, **columns}


def column(label: str, value: object, upload: Upload, default: str) -> str:
    """A column of the upload for x or y: one of its numeric columns (None: ``default``)."""
    if value is None:
        return default
    return choice(f"{label} column of {upload.name}", value, upload.columns)


def expression_text(label: str, value: object, example: str) -> str:
    """A typed expression (``label`` is ``"loss"`` or ``"model"``), checked by the library's parser.

    Raises ControlError for an empty box or a value that is not text, and the parser's
    :class:`~descentlab.problems.ExpressionError` (the command line's message, a caret under the
    offending part) for anything it refuses, its length first
    (:data:`~descentlab.problems.expression.MAX_LENGTH` characters). Names the parser does not know
    are left to the problem's own check (a model's parameters, a loss's x and y)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ControlError(f"type a {label} expression, e.g. {example}")
    if not isinstance(value, str):
        raise ControlError(f"the {label} expression must be text, got {_show(value)}")
    names_in(value)  # its syntax, length and characters: ExpressionError with the caret
    return value


def expression_error(err: ExpressionError) -> tuple[str, str]:
    """An expression's error for the page: its one-line message (the command line's), and the block
    shown under the expression boxes: that line, then, when the error has a place, the expression
    and a caret line under the offending part (``str(err)``, at most three short lines)."""
    return err.summary, str(err)


# ---- uploads -----------------------------------------------------------------------------------

def display_name(filename: object) -> str:
    """A file name fit to show: its last path component, printable characters only, at most 80."""
    if not isinstance(filename, str) or not filename or len(filename) > MAX_FILENAME:
        return "uploaded.csv"
    last = filename.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(c for c in last if unicodedata.category(c)[0] not in "CZ" or c == " ").strip()
    return shown[:80] or "uploaded.csv"


def parse_upload(contents: object, filename: object) -> Upload:
    """Decode a ``dcc.Upload`` data URL (``data:text/csv;base64,…``) and parse it as CSV, in memory.

    Raises ControlError when it is not a base64 data URL, is larger than
    :data:`MAX_UPLOAD_BYTES`, is not UTF-8 text, has more than :data:`MAX_ROWS` rows or
    :data:`MAX_COLUMNS` columns, or is not
    usable x, y data (the message of :func:`~descentlab.datasets.parse_csv`, naming row and column).
    """
    name = display_name(filename)
    if not isinstance(contents, str):
        raise ControlError(f"{name}: the upload must be a data URL, got {_show(contents)}")
    if len(contents) > 4 * math.ceil(MAX_UPLOAD_BYTES / 3) + 256:  # before decoding anything
        raise ControlError(too_large(name, len(contents.partition(",")[2]) * 3 // 4))
    header, comma, payload = contents.partition(",")
    if not (comma and header.startswith("data:") and header.endswith(";base64")):
        raise ControlError(f"{name}: the upload must be a base64 data URL (data:…;base64,…)")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(f"{name}: the upload is not valid base64") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ControlError(too_large(name, len(raw)))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ControlError(f"{name} is not a UTF-8 text (CSV) file") from None
    lines = max(text.count("\n"), text.count("\r"))
    if lines > MAX_ROWS + 1:
        raise ControlError(f"{name} has {lines:,} lines; at most {MAX_ROWS:,} data rows are allowed")
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    columns = max(first.count(sep) for sep in ",;\t") + 1  # any separator the parser may sniff
    if columns > MAX_COLUMNS:
        raise ControlError(f"{name} has {columns:,} columns in its first line; at most "
                           f"{MAX_COLUMNS:,} are allowed (x, y and a few others)")
    try:
        table = parse_csv(text, name)
    except DataError as err:
        raise ControlError(str(err)) from None
    return Upload(hashlib.sha256(raw).hexdigest()[:24], name, table, text)


def too_large(name: str, size: int) -> str:
    """``"big.csv is 12.3 MB, larger than 5 MB, the limit for an upload"``: what the page's own
    check says too (:mod:`descentlab.web.upload_check`)."""
    limit = MAX_UPLOAD_BYTES / 2**20
    shown = f"{size / 2**20:.1f}"
    size_text = f" {shown} MB," if float(shown) > limit else ""
    return f"{name} is{size_text} larger than {limit:g} MB, the limit for an upload"


def _show(value: object) -> str:
    """``repr`` of a client's value, cut short so a huge payload never fills the page; null (an
    empty control) is "nothing", never "None"."""
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
