r"""The registry of update rules: the one place the rest of descentlab learns what an optimizer is.

An optimizer module defines a factory whose keyword arguments are its hyper-parameters and
registers it with one :class:`Hyper` spec per hyper-parameter and its declared capabilities::

    @register("polyak", Hyper("eta", "η", low=0.0, search=(1e-4, 1.0)), Hyper("mu", "μ", ...))
    def polyak(eta, mu):
        ...
        return Rule(init, update)

Everything else — the CLI options and ``--set`` keys, TOML configs, labels in the book's symbols,
``compare``, ``sweep``, ``tune``, ``animate``, ``html`` and the explorer's sliders — reads the
registry. Capabilities are declared, never guessed from names:

* ``full_batch``: always uses all the data (gradient descent, line search); refuses minibatches;
* ``stochastic``: defined on minibatches (SGD), so a comparison that lists it draws them;
* ``lookahead``: takes its gradient somewhere other than φ_t (Nesterov), so ``lookahead`` can
  explain it;
* ``linear``: on a quadratic, acts on each Hessian eigen-direction by a 2×2 iteration matrix
  M(α, β, λ) — this drives :mod:`descentlab.theory` and the compiled quadratic sweep kernel;
* ``needs_loss``: the update also needs the loss (line search), passed as a :class:`Probe`.

Plugins: a distribution that declares an entry point in the group ``descentlab.optimizers``
(pointing at a module that calls :func:`register`, or at a registered factory) is loaded the
first time the registry is read, and its optimizer appears everywhere like a built-in.
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from descentlab import validation
from descentlab.errors import InputError, InputTypeError

ENTRY_POINT_GROUP = "descentlab.optimizers"
DEFAULT_METHOD = "nesterov"
STOCHASTIC_BATCH = 3
"""The minibatch size a stochastic method (sgd) draws on data when no batch size is given: for itself
only (sgd on all the data would be gd); every other method keeps all the data unless given one."""
"""The method a single-run command uses when none is named: the book's eq. 6.12."""

FAMILIES = {"gd": "gd_lr", "momentum": "lr", "adaptive": "adam_lr"}
"""How α is suggested for a problem (a field of :class:`~descentlab.problems.base.Suggested`):
plain gradient steps (α·g), the book's momentum form (α with the (1−β) factor), or adaptive
methods whose step is α in parameter units (Adam, AdaGrad, RMSProp)."""


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter of an update rule.

    Attributes:
        name: the factory's keyword (``"lr"``), also the CLI option ``--lr``, the ``--set`` key and
            the TOML key.
        symbol: the book's symbol (``"α"``), used in labels and messages.
        default: the value when none is given; None means "suggested by the problem" (``suggest``).
        suggest: the field of the problem's ``Suggested`` that gives the default (``"lr"``,
            ``"gd_lr"``, ``"adam_lr"``, ``"beta"``), or None.
        low, high, low_open, high_open: the allowed interval; ``low_open`` excludes ``low``.
        kind: ``"real"``, ``"int"`` or ``"choice"`` (one of ``choices``).
        search: the (low, high) range that ``tune``, ``sweep`` and the explorer's sliders span,
            or None when the value is not searched.
        tuned: whether ``tune`` samples it from ``search`` (False: it stays at its default there,
            like Adam's γ, while sweeps and sliders still span ``search``).
        applies_when: ``(other, value)`` when it matters only while the hyper-parameter ``other``
            has that value (a line search's bracket settings in mode ``bracket``); labels then
            leave it out otherwise.
        scale: ``"log"`` or ``"linear"`` spacing of the search range.
        help: one line for the CLI help and the explorer.
    """

    name: str
    symbol: str
    default: float | int | str | None = None
    suggest: str | None = None
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = True
    kind: str = "real"
    choices: tuple[str, ...] = ()
    search: tuple[float, float] | None = None
    scale: str = "linear"
    help: str = ""
    tuned: bool = True
    applies_when: tuple[str, Any] | None = None

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"a hyper-parameter name must be an identifier, got {self.name!r}")
        if self.kind not in ("real", "int", "choice"):
            raise ValueError(f"{self.name}: kind must be real, int or choice, got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a choice needs choices")
        if self.scale not in ("log", "linear"):
            raise ValueError(f"{self.name}: scale must be log or linear, got {self.scale!r}")
        if self.search is not None and self.scale == "log" and min(self.search) <= 0:
            raise ValueError(f"{self.name}: a log search range needs positive ends")

    @property
    def label(self) -> str:
        """``"beta (β)"``: how messages name it."""
        return f"{self.name} ({self.symbol})" if self.symbol and self.symbol != self.name else self.name

    @property
    def allowed(self) -> str:
        """The allowed values in words: ``"finite and > 0"``, ``"in [0, 1)"``, ``"one of a, b"``."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.low_open and self.low == 0 and self.high == math.inf:
            return "finite and > 0"
        if self.high == math.inf:
            return f"finite and {'>' if self.low_open else '>='} {self.low:g}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"

    def check(self, value: Any) -> Any:
        """The value, validated (a float, int or str; arrays of reals for sweeps), or InputError."""
        if self.kind == "choice":
            if not isinstance(value, str):
                raise InputTypeError(f"{self.label} must be {self.allowed}, got {value!r}")
            if value not in self.choices:
                raise InputError(f"{self.label} must be {self.allowed}, got {value!r}")
            return value
        if self.kind == "int" and isinstance(value, np.ndarray):  # one per configuration of a sweep
            try:
                v = validation.reals(self.label, value)
            except TypeError as err:
                raise InputTypeError(str(err)) from None
            ok = self._inside(v) & (v == np.round(v))
            if not ok.all():
                bad = float(v[~ok].flat[0])
                raise InputError(f"{self.label} must be an integer {self.allowed}, got {bad!r}")
            return v.astype(np.int64)
        if self.kind == "int":
            try:
                return validation.integer(self.label, value, int(max(self.low, -2**62)),
                                          None if self.high == math.inf else int(self.high))
            except TypeError as err:
                raise InputTypeError(str(err)) from None
            except ValueError as err:
                raise InputError(str(err)) from None
        if isinstance(value, np.ndarray):
            try:
                v = validation.reals(self.label, value)
            except TypeError as err:
                raise InputTypeError(str(err)) from None
            ok = self._inside(v)
            if not ok.all():
                raise InputError(f"{self.label} must be {self.allowed}, got {float(v[~ok].flat[0])!r}")
            return v
        try:
            v = validation.real(self.label, value)
        except TypeError as err:
            raise InputTypeError(str(err)) from None
        if not bool(self._inside(np.float64(v))):
            raise InputError(f"{self.label} must be {self.allowed}, got {value!r}")
        return v

    def _inside(self, v):
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return np.isfinite(v) & above & below

    def parse(self, text: str) -> float | int | str:
        """A value from text (a CLI option, ``--set``, a web field), validated."""
        text = text.strip()
        if self.kind == "choice":
            return self.check(text)
        try:
            number = int(text) if self.kind == "int" else float(text)
        except ValueError:
            kind = "an integer" if self.kind == "int" else "a number"
            raise InputError(f"{self.label} must be {kind}, got {text!r}") from None
        return self.check(number)

    def grid(self, n: int) -> np.ndarray:
        """``n`` values spanning the search range (geometric when ``scale == "log"``)."""
        if self.search is None:
            raise InputError(f"{self.label} has no search range")
        lo, hi = self.search
        return np.geomspace(lo, hi, n) if self.scale == "log" else np.linspace(lo, hi, n)

    def sample(self, u: np.ndarray) -> np.ndarray:
        """Values of the search range at uniform quantiles ``u`` in [0, 1) (log-uniform on a log scale)."""
        if self.search is None:
            raise InputError(f"{self.label} has no search range")
        lo, hi = self.search
        if self.scale == "log":
            return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        return lo + u * (hi - lo)


def learning_rate(family: str, search: tuple[float, float] = (1e-4, 1.0)) -> Hyper:
    """The learning rate α > 0, its default suggested per problem for the method's ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    return Hyper("lr", "α", suggest=FAMILIES[family], low=0.0, low_open=True, search=search, scale="log",
                 help="learning rate α > 0 (default: suggested for the problem)")


def unit(name: str, symbol: str, default: float | None, *, suggest: str | None = None,
         search: tuple[float, float] | None = (0.0, 0.99), help: str = "") -> Hyper:
    """A coefficient in [0, 1) (β, γ)."""
    return Hyper(name, symbol, default=default, suggest=suggest, low=0.0, high=1.0, search=search,
                 help=help)


def positive(name: str, symbol: str, default: float, *, search: tuple[float, float] | None = None,
             help: str = "") -> Hyper:
    """A finite number > 0 (ε, a tolerance)."""
    return Hyper(name, symbol, default=default, low=0.0, low_open=True, search=search,
                 scale="log" if search else "linear", help=help)


class Probe(NamedTuple):
    """What an update that declares ``needs_loss`` gets besides the gradient.

    ``loss(points)`` is the loss on the step's examples, vectorised over points (``(..., P)``);
    ``hessian`` is the problem's constant Hessian of that loss, or None where it has none.
    """

    loss: Callable[[np.ndarray], np.ndarray]
    hessian: np.ndarray | None = None
    problem: str = "the problem"


def buffers(state: NamedTuple) -> dict[str, np.ndarray]:
    """The state's buffers by name: every array field but ``params`` (counters are not recorded)."""
    return {k: v for k, v in zip(state._fields, state, strict=True)
            if k != "params" and isinstance(v, np.ndarray | np.floating)}


def zero_buffers(state_type: type) -> Callable[[Any], NamedTuple]:
    """An ``init`` for ``state_type``: φ_0 as float64 and every other field without a default zero
    (m_0 = v_0 = 0, as the book starts its moments)."""
    buffered = [f for f in state_type._fields[1:] if f not in state_type._field_defaults]

    def init(params: Any) -> NamedTuple:
        p = np.array(params, dtype=np.float64)
        return state_type(p, **{f: np.zeros_like(p) for f in buffered})

    return init


def at_params(state: NamedTuple) -> np.ndarray:
    """Where most methods take their gradient: φ_t itself."""
    return state.params


class Rule(NamedTuple):
    """What a factory returns: the pure functions of one update rule.

    ``init(φ_0) -> state`` (a NamedTuple with ``params`` and the method's own buffers),
    ``update(state, grad) -> state`` (``update(state, grad, probe)`` when ``needs_loss``), and
    ``gradient_point(state) -> point``, where the next gradient is taken (default φ_t).
    Every array field of the state but ``params`` is a buffer that ``run()`` records by name.
    """

    init: Callable[[np.ndarray], NamedTuple]
    update: Callable[..., NamedTuple]
    gradient_point: Callable[[NamedTuple], np.ndarray] = at_params


@dataclass(frozen=True)
class Linear:
    """A method that is linear on quadratics: its 2×2 map of (e_t, m_t) per eigenvalue λ.

    ``matrix(hyper, lam)`` returns M with shape ``(..., 2, 2)``, broadcast over the arrays in
    ``hyper`` (α, β …) and ``lam``; a method without momentum uses only M[0, 0] (m stays 0).
    ``stability_limit(hyper, L)`` is the largest stable α for the other hyper-parameters (optional);
    ``tunings`` names closed-form tunings on eigenvalues in [μ, L]: label → ``f(μ, L) -> hyper``;
    ``momentum`` names the state's buffer that is m in the map (None: the method keeps none).
    """

    matrix: Callable[[Mapping[str, Any], Any], np.ndarray]
    stability_limit: Callable[[Mapping[str, Any], float], np.ndarray] | None = None
    tunings: Mapping[str, Callable[[float, float], dict[str, float]]] = field(default_factory=dict)
    momentum: str | None = "momentum"


@dataclass(frozen=True, eq=False)
class Method:
    """A registered update rule: its factory, hyper-parameters and capabilities."""

    name: str
    factory: Callable[..., Rule]
    hypers: tuple[Hyper, ...]
    full_batch: bool = False
    stochastic: bool = False
    lookahead: bool = False
    needs_loss: bool = False
    linear: Linear | None = None
    featured: bool = False
    color: str | None = None
    marker: str | None = None
    summary: str = ""

    @property
    def hyper_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hypers)

    def hyper(self, name: str) -> Hyper:
        for h in self.hypers:
            if h.name == name:
                return h
        raise InputError(f"{self.name} has no hyper-parameter {name!r}; "
                         f"it takes {', '.join(self.hyper_names)}")

    def defaults(self) -> dict[str, Any]:
        """The fixed defaults (those not suggested by the problem)."""
        return {h.name: h.default for h in self.hypers if h.default is not None}

    def check(self, hyperparams: Mapping[str, Any]) -> dict[str, Any]:
        """Every hyper-parameter validated, defaults filled in; unknown or missing ones refused."""
        for key in hyperparams:
            self.hyper(key)
        out = {}
        for h in self.hypers:
            if h.name in hyperparams:
                out[h.name] = h.check(hyperparams[h.name])
            elif h.default is not None:
                out[h.name] = h.default
            else:
                raise InputError(f"{self.name} needs {h.label}")
        return out

    def build(self, **hyperparams: Any) -> Optimizer:
        hyper = self.check(hyperparams)
        rule = self.factory(**hyper)
        if not isinstance(rule, Rule):
            raise TypeError(f"the factory of {self.name!r} must return a descentlab.optimizers.Rule, "
                            f"got {type(rule).__name__}")
        return Optimizer(self.name, hyper, rule.init, rule.gradient_point, rule.update, self)


class Optimizer(NamedTuple):
    """An update rule with its hyper-parameters: ``init``, ``gradient_point``, ``update``.

    ``run()`` does, at every step, ``x = gradient_point(s); g = problem.grad(x, batch);
    s = update(s, g)`` and records x, g and the state's buffers itself.
    """

    name: str
    hyperparams: dict[str, Any]
    init: Callable[[Any], NamedTuple]
    gradient_point: Callable[[NamedTuple], np.ndarray]
    update: Callable[..., NamedTuple]
    method: Method

    @property
    def label(self) -> str:
        """``"nesterov (α=0.01, β=0.9)"``: the name with its hyper-parameters in the book's symbols."""
        return describe(self.name, self.hyperparams)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{self.name}({args})"


_METHODS: dict[str, Method] = {}
_PLUGINS = {"loaded": False, "errors": []}


def register(name: str, *hypers: Hyper, full_batch: bool = False, stochastic: bool = False,
             lookahead: bool = False, needs_loss: bool = False, linear: Linear | None = None,
             featured: bool = False, color: str | None = None, marker: str | None = None):
    """Register the decorated factory as the update rule ``name`` (see the module docstring).

    The factory's keyword arguments must be exactly the hyper-parameters given, with the same
    defaults; it returns a :class:`Rule`. The decorator returns a function that validates its
    keywords against the specs and gives an :class:`Optimizer`.
    """
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"an optimizer name is letters, digits, - and _, got {name!r}")

    def decorate(factory: Callable[..., Rule]) -> Callable[..., Optimizer]:
        params = inspect.signature(factory).parameters
        names = [h.name for h in hypers]
        if list(params) != names:
            raise ValueError(f"{name}: the factory takes {list(params)} but the hyper-parameters are {names}")
        for h in hypers:
            default = params[h.name].default
            expected = inspect.Parameter.empty if h.default is None else h.default
            if default != expected:
                raise ValueError(f"{name}: {h.name} defaults to {default!r} in the factory but "
                                 f"{h.default!r} in its Hyper")
        previous = _METHODS.get(name)
        where = f"{factory.__module__}.{factory.__qualname__}"
        if previous is not None and f"{previous.factory.__module__}.{previous.factory.__qualname__}" != where:
            raise ValueError(f"an optimizer named {name!r} is already registered (by "
                             f"{previous.factory.__module__}); choose another name")
        doc = inspect.getdoc(factory) or ""
        method = Method(name, factory, tuple(hypers), full_batch=full_batch, stochastic=stochastic,
                        lookahead=lookahead, needs_loss=needs_loss, linear=linear, featured=featured,
                        color=color, marker=marker, summary=doc.splitlines()[0] if doc else name)
        _METHODS[name] = method

        @functools.wraps(factory)
        def build(*args: Any, **hyperparams: Any) -> Optimizer:
            if len(args) > len(names):
                raise InputTypeError(f"{name} takes at most {len(names)} hyper-parameters "
                                     f"({', '.join(names)}), got {len(args)} positional values")
            for key, value in zip(names, args, strict=False):
                if key in hyperparams:
                    raise InputTypeError(f"{name} got {key} twice")
                hyperparams[key] = value
            return method.build(**hyperparams)

        build.method = method  # type: ignore[attr-defined]
        return build

    return decorate


def _discover() -> None:
    """Load the plugins of the ``descentlab.optimizers`` entry-point group, once."""
    if _PLUGINS["loaded"]:
        return
    _PLUGINS["loaded"] = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as err:  # a broken plugin must not break descentlab: say so once
            _PLUGINS["errors"].append(f"{ep.name}: {type(err).__name__}: {err}")
            print(f"descentlab: warning: optimizer plugin {ep.name!r} ({ep.value}) failed to load: "
                  f"{type(err).__name__}: {err}", file=sys.stderr)


def methods() -> dict[str, Method]:
    """Every registered method by name, built-ins first, then plugins."""
    _discover()
    return dict(_METHODS)


def names() -> tuple[str, ...]:
    return tuple(methods())


def get(name: str) -> Method:
    """The registered method ``name``, or InputError listing the known ones."""
    known = methods()
    if not isinstance(name, str) or name not in known:
        raise InputError(f"unknown optimizer {name!r}; choose one of {', '.join(known)}")
    return known[name]


def featured() -> tuple[str, ...]:
    """The methods a comparison shows when none are named."""
    return tuple(n for n, m in methods().items() if m.featured)


def symbol(key: str) -> str:
    """The book's symbol of a hyper-parameter name (the first method that declares it), else the name."""
    for m in methods().values():
        for h in m.hypers:
            if h.name == key:
                return h.symbol
    return key


def describe(name: str, hyperparams: Mapping[str, Any]) -> str:
    """``describe("nesterov", {"lr": 0.01, "beta": 0.9}) == "nesterov (α=0.01, β=0.9)"``."""
    def show(v: Any) -> str:
        return v if isinstance(v, str) else f"{v:g}"

    known = methods().get(name)
    specs = {h.name: h for h in known.hypers} if known else {}

    def shown(k: str) -> bool:
        when = specs[k].applies_when if k in specs else None
        return when is None or hyperparams.get(when[0]) == when[1]

    parts = ", ".join(v if isinstance(v, str) else f"{specs[k].symbol if k in specs else symbol(k)}={show(v)}"
                      for k, v in hyperparams.items() if shown(k))
    return f"{name} ({parts})"


def make(name: str, **hyperparams: Any) -> Optimizer:
    """Build an optimizer by name: ``make("nesterov", lr=0.01, beta=0.9)``."""
    return get(name).build(**hyperparams)


def hyperparameter_names(name: str) -> tuple[str, ...]:
    """The hyper-parameters a method takes, e.g. ``("lr", "beta", "gamma", "eps")`` for adam."""
    return get(name).hyper_names


def defaults(name: str) -> dict[str, Any]:
    """The fixed default hyper-parameters of a method: ``defaults("adam")["gamma"] == 0.999``."""
    return get(name).defaults()


def all_hypers() -> dict[str, Hyper]:
    """Every hyper-parameter name any method declares, with the first declaration (for CLI options)."""
    out: dict[str, Hyper] = {}
    for m in methods().values():
        for h in m.hypers:
            out.setdefault(h.name, h)
    return out
