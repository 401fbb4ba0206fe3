"""Server-side checks of everything the explorer's page sends, before any of it reaches the library.

A Dash callback receives whatever JSON a client posts, not only what the widgets can produce, so
every value is checked here for its type, its range and its size. A bad one raises
:class:`ControlError` with one line that names the control and what it allows; the page shows
that line and the server goes on serving.

The sliders send exponents: α, κ and ε are ``10**value`` (log sliders) and γ is
``1 − 10**−value`` (0.9, 0.99, 0.999, 0.9999 evenly spaced). Values are rounded to three
significant digits, so the legend reads α=0.0501 and equal settings share one cache entry.

An uploaded CSV is base64-decoded and parsed in memory by :func:`descentlab.datasets.parse_csv`;
it is never written to disk, and its file name is only ever shown, never used as a path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import unicodedata
from dataclasses import dataclass
from numbers import Integral, Real

from descentlab import optimizers as optim
from descentlab.config import Config, OptimizerSpec
from descentlab.datasets import DataError, XYData, parse_csv
from descentlab.problems import NAMES

UPLOAD = "upload"
"""The problem value for a line fitted to the uploaded CSV."""
PROBLEMS = (*NAMES, UPLOAD)
OPTIMIZERS = tuple(optim.OPTIMIZERS)

LOG_LR = (-5.0, 1.0)         # α = 10**v: 1e-5 … 10
LOG_KAPPA = (0.0, 3.0)       # κ = 10**v: 1 … 1000
BETA = (0.0, 0.99)
GAMMA_NINES = (1.0, 4.0)     # γ = 1 − 10**−v: 0.9 … 0.9999
LOG_EPS = (-12.0, -1.0)      # ε = 10**v
MAX_STEPS = 2000
MAX_SEED = 2**32 - 1
MAX_START = 1e6              # |φ0|, |φ1| of a clicked start point
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
MAX_FILENAME = 255


class ControlError(ValueError):
    """A control value the explorer cannot use; the message is one line for the page."""


@dataclass(frozen=True)
class Upload:
    """A parsed CSV upload: ``key`` (a digest of its bytes) names it in the browser's store."""

    key: str
    name: str
    table: XYData

    @property
    def rows(self) -> int:
        return len(self.table.x)


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

def number(label: str, value: object, low: float, high: float) -> float:
    """A finite real number in [low, high] (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ControlError(f"{label} must be a number, got {_show(value)}")
    v = float(value)
    if not (math.isfinite(v) and low <= v <= high):
        raise ControlError(f"{label} must be between {low:g} and {high:g}, got {_show(value)}")
    return v


def whole(label: str, value: object, low: int, high: int) -> int:
    """An integer in [low, high]; a float is accepted only when it is whole (number inputs send 3.0)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ControlError(f"{label} must be a whole number, got {_show(value)}")
    v = int(value)
    if not low <= v <= high:
        raise ControlError(f"{label} must be a whole number from {low} to {high}, got {v}")
    return v


def choice(label: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ControlError(f"{label} must be one of {', '.join(allowed)}, got {_show(value)}")
    return value


def three_digits(v: float) -> float:
    """``v`` rounded to three significant digits."""
    return float(f"{v:.3g}")


def log_value(label: str, exponent: object, bounds: tuple[float, float]) -> float:
    """``10**exponent`` from a log slider, rounded to three significant digits."""
    return three_digits(10.0 ** number(f"{label} (log10)", exponent, *bounds))


def gamma_value(nines: object) -> float:
    """Adam's γ = 1 − 10**−nines (nines in [1, 4]), rounded to the digits that matter."""
    v = number("γ (number of nines)", nines, *GAMMA_NINES)
    return round(1.0 - 10.0 ** -v, 6)


def optimizer_list(value: object) -> tuple[str, ...]:
    """The optimizers to show: distinct names, in the order of :data:`OPTIMIZERS`, at least one."""
    if not isinstance(value, list | tuple) or len(value) > len(OPTIMIZERS):
        raise ControlError(f"optimizers must be a list of up to {len(OPTIMIZERS)} names, got {_show(value)}")
    for name in value:
        choice("optimizer", name, OPTIMIZERS)
    if not value:
        raise ControlError("choose at least one optimizer to show")
    return tuple(name for name in OPTIMIZERS if name in value)


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


# ---- the whole form ----------------------------------------------------------------------------

def request(*, problem: object, kappa: object, optimizers: object, gd_lr: object, lr: object, beta: object,
            adam_lr: object, adam_beta: object, gamma: object, eps: object, steps: object,
            batch_size: object, seed: object, start: object, upload: Upload | None = None) -> Request:
    """The validated :class:`Request` for one state of the controls.

    Each family of methods has its own sliders, because one α does not suit them all (momentum in
    the book's form is stable far beyond gradient descent's 2/L, and Adam's step is a length in
    parameter units): ``gd_lr`` for gd and sgd, ``lr`` and ``beta`` for momentum and Nesterov,
    ``adam_lr``, ``adam_beta``, ``gamma`` and ``eps`` for Adam. ``gd_lr``, ``lr``, ``adam_lr``,
    ``kappa`` and ``eps`` are log10 exponents, ``gamma`` the number of nines; ``batch_size`` is
    None (all the data; sgd draws 3) or a size 1..N and applies to data problems only.
    """
    name = choice("problem", problem, PROBLEMS)
    names = optimizer_list(optimizers)
    alpha = log_value("α (gd, sgd)", gd_lr, LOG_LR)
    heavy = {"lr": log_value("α (momentum, Nesterov)", lr, LOG_LR),
             "beta": round(number("β", beta, *BETA), 4)}
    hyper = {"gd": {"lr": alpha}, "sgd": {"lr": alpha}, "momentum": heavy, "nesterov": heavy,
             "adam": {"lr": log_value("Adam's α", adam_lr, LOG_LR),
                      "beta": round(number("Adam's β", adam_beta, *BETA), 4), "gamma": gamma_value(gamma),
                      "eps": log_value("ε", eps, LOG_EPS)}}
    specs = tuple(OptimizerSpec(n, n, dict(hyper[n])) for n in names)
    fields: dict = {"steps": whole("steps", steps, 1, MAX_STEPS), "seed": whole("seed", seed, 0, MAX_SEED),
                    "start": start_point(start)}
    if name == "quadratic":
        fields["kappa"] = log_value("κ", kappa, LOG_KAPPA)
    if name == UPLOAD:
        if upload is None:
            raise ControlError("upload a CSV file of x, y data first (or choose another problem)")
        fields["problem"] = "line-fit"
    else:
        fields["problem"] = name
    if name in ("line-fit", "gabor", UPLOAD) and batch_size not in (None, ""):
        n = upload.rows if upload is not None and name == UPLOAD else MAX_ROWS
        fields["batch_size"] = whole("batch size", batch_size, 1, n)
    config = Config(optimizers=specs, **fields)
    return Request(config, upload.key if name == UPLOAD and upload is not None else None)


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
    :data:`MAX_UPLOAD_BYTES`, is not UTF-8 text, has more than :data:`MAX_ROWS` rows, or is not
    usable x, y data (the message of :func:`~descentlab.datasets.parse_csv`, naming row and column).
    """
    name = display_name(filename)
    limit_mb = MAX_UPLOAD_BYTES / 2**20
    if not isinstance(contents, str):
        raise ControlError(f"{name}: the upload must be a data URL, got {_show(contents)}")
    if len(contents) > 4 * math.ceil(MAX_UPLOAD_BYTES / 3) + 256:  # before decoding anything
        raise ControlError(f"{name} is larger than {limit_mb:g} MB, the limit for an upload")
    header, comma, payload = contents.partition(",")
    if not (comma and header.startswith("data:") and header.endswith(";base64")):
        raise ControlError(f"{name}: the upload must be a base64 data URL (data:…;base64,…)")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(f"{name}: the upload is not valid base64") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ControlError(f"{name} is larger than {limit_mb:g} MB, the limit for an upload")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ControlError(f"{name} is not a UTF-8 text (CSV) file") from None
    lines = max(text.count("\n"), text.count("\r"))
    if lines > MAX_ROWS + 1:
        raise ControlError(f"{name} has {lines:,} lines; at most {MAX_ROWS:,} data rows are allowed")
    try:
        table = parse_csv(text, name)
    except DataError as err:
        raise ControlError(str(err)) from None
    return Upload(hashlib.sha256(raw).hexdigest()[:24], name, table)


def _show(value: object) -> str:
    """``repr`` of a client's value, cut short so a huge payload never fills the page."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
