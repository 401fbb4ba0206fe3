r"""Your own problems: a loss or a model from a safe expression, or from a Python function.

From an expression (never run as code; see :mod:`descentlab.problems.expression` for the
language, its limits and its errors)::

    import descentlab as dl
    from descentlab.problems import from_expression

    bowl = from_expression("x**2 + 10*y**2 + 3*sin(x*y)")            # a surface over x, y
    banana = from_expression("(1 - x)**2 + 100*(y - x**2)**2", start=(-1.5, 2))
    traj = dl.run(dl.optimizers.nesterov(lr=banana.suggested.lr), banana)

    quad = from_expression("p0 + p1*x + p2*x**2", data=(x, y))       # a model of x, three parameters
    named = from_expression("a * exp(-b*x)", data=(x, y), params="a,b")

* A **surface** (no ``data``) has the parameters x and y (P = 2, even when one does not appear:
  it is then a flat direction), or x, y, z (P = 3) when z appears. An expression in p0, p1, …
  alone has those parameters instead. ``params=`` names them explicitly, in order (any number).
* A **model** (``data=(x, y)`` or a :class:`~descentlab.datasets.XYData`) predicts y from the data
  variable ``x``; its parameters are the p0, p1, … it uses, ordered by number (gaps allowed), or
  ``params=``. The loss is the book's sum of squared errors L[φ] = Σᵢ (f[xᵢ, φ] − yᵢ)², so
  minibatches and the model lines of the figures work as for the built-in line fit.
* Gradients are exact (reverse-mode differentiation of the parsed expression).

From Python (the function runs, so it must be your own code)::

    from descentlab.problems import from_function, from_model

    rosen = from_function(lambda p: (1 - p[0])**2 + 100*(p[1] - p[0]**2)**2, n_params=2)
    rosen.gradient_method            # "finite differences", or "torch"/"jax" (see below)

    import torch
    f = from_function(lambda p: torch.sin(p[0]) * p[1]**2, n_params=2)   # gradient by torch

    gabor = from_model(lambda p, x: np.sin(p[0] + 0.06*p[1]*x) * np.exp(-(p[0] + 0.06*p[1]*x)**2 / 32),
                       x, y, n_params=2)

**How the gradient is found** (``gradient="auto"``), recorded in ``problem.gradient_method``
and shown in ``repr(problem)`` and the default name:

1. ``"jax"`` if JAX is already imported (``"jax" in sys.modules``) and the function, called on a
   ``jax.Array``, returns a ``jax.Array``: ``jax.grad`` (``jax.jacfwd`` for models), evaluated
   in float64 (``jax.enable_x64``);
2. else ``"torch"`` if PyTorch is already imported and the function, called on a float64
   ``torch.Tensor``, returns a tensor: ``torch.func.grad`` (``torch.func.jacfwd`` for models);
3. else ``"finite differences"``: central differences on the function itself in float64, with the
   step h = ∛ε · max(1, |φᵢ|) that balances truncation (O(h²)) and rounding (O(ε/h)) errors:
   errors of order ε^(2/3) ≈ 4e-11 times the function's scale, for 2P calls per point.

A library is only tried when it is already imported (a function that uses it needs it imported),
so ``"auto"`` never imports torch or JAX (each takes a second or more) for a numpy function; a
plain-arithmetic function such as the ``rosen`` lambda above runs on any array type, and gets
autodiff when torch or JAX happens to be imported. The autodiff gradient must agree with finite
differences at a few test points; one that does not (a function that leaves the library, e.g.
through ``np.sin`` on a tensor, breaks the chain of derivatives) falls back to finite
differences. ``gradient="torch"``, ``"jax"`` or ``"finite differences"`` (``"fd"``) forces a
method, importing the library if needed, and raises ``ValueError`` when the function does not
work with it. Finite differences of torch or JAX code evaluate it in that library (float64).

**Vectorisation.** The function receives ONE point: a 1-D array of P numbers (``p[0]``, ``p[1]``,
…), and returns a number; a model's function receives the point and the inputs ``x`` (1-D) and
returns one prediction per input. descentlab first tries calling it once on many points, with
the parameters along the first axis (``p[0]`` is then the array of every point's first
parameter), then along the last axis (``p[..., 0]``), and uses the first way that gives the same
values as point-by-point calls at a few test points; torch and JAX functions are vectorised with
``vmap``. When none works it loops in Python, one call per point: a 150×150 loss surface is then
22,500 calls (about 0.03 s for a one-line ``math`` function, more for heavier code or eager JAX;
a finite-difference gradient costs 2P calls per point). ``problem.calling`` says which way was
chosen; ``vectorized=False`` forces the loop.
Under the loop, ``ArithmeticError`` and ``ValueError`` raised by the function (``math.log(-1)``,
``math.exp(1000)``) become ``nan``, so :func:`descentlab.run` reports divergence instead of
crashing; every evaluation runs under ``np.errstate(all="ignore")``.

**Suggested settings** (:func:`suggest`, used by every constructor here): ``minima`` is empty
unless given; the start is the one given or :func:`default_start`; ``steps`` = 100; and the
learning rates come from the curvature at the start: with L the largest |eigenvalue| of the
finite-difference Hessian there (when L cannot be estimated, not finite or numerically zero,
L = ‖g‖∞ / (0.1·max(1, ‖φ‖∞)), the curvature that makes the first step 10 % of the scale, or 1
when the gradient is zero too),

* ``gd_lr`` = 1/L (gradient descent and SGD; stable on a quadratic up to 2/L);
* ``lr`` = 1/(2L(1 − β)) for momentum and Nesterov in the book's form, whose steps carry the
  factor (1 − β): α(1 − β)·L = ½, safely inside both methods' stability limits;
* ``adam_lr`` = 0.1·s, where s is a length scale: the largest of 1, ‖φ‖∞ and the length ‖H⁻¹g‖∞
  of the Newton step when the Hessian is positive definite (at most 100·max(1, ‖φ‖∞)), since
  Adam moves each parameter by about α per step;

each rounded to two significant digits. ``view`` (the parameter box to draw, for P = 2) is None
unless given: the figures then frame the paths.

**More than two parameters** run everywhere (:func:`descentlab.run`, minibatches, trajectories);
contour figures draw two at a time: :func:`slice_problem` gives the loss over two of them with
the others held fixed (at the end of a run, say), as a problem that draws like any other
(model lines included), and :func:`slice_trajectory` cuts a run down to the same two::

    run = dl.run(dl.optimizers.nesterov(lr=quad.suggested.lr), quad)
    fig = dl.plot.figure_6_1(slice_problem(quad, "p0,p2", at=run.final), slice_trajectory(run, "p0,p2"))

**Classes.** :class:`ExpressionSurface` and :class:`FunctionProblem` are surfaces (no data);
:class:`ExpressionModel` and :class:`FunctionModel` are :class:`~descentlab.problems.DataFit`
models. Each has ``gradient_method`` (one of :data:`GRADIENT_METHODS`); the expression ones have
``expression`` (an :class:`~descentlab.problems.expression.Expression`), the function ones
``function`` and ``calling``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.problems.base import Problem, Suggested, check_batch
from descentlab.problems.data_fit import DataFit
from descentlab.problems.expression import (
    CONSTANTS,
    FUNCTIONS,
    Expression,
    ExpressionError,
    names_in,
    numbered_parameters,
    parse,
)

DEFAULT_STEPS = 100
DEFAULT_BETA = 0.9
GRADIENT_METHODS = ("expression", "jax", "torch", "finite differences")
"""The values of ``problem.gradient_method``: exact on an expression, by JAX or PyTorch
automatic differentiation, or by central finite differences."""

_EPS = np.finfo(np.float64).eps
_FD_STEP = float(np.cbrt(_EPS))        # ≈ 6.1e-6: central differences of a float64 function
_HESSIAN_STEP = 1e-4                   # differences of the gradient, for the curvature estimate
_CHUNK = 1 << 20                       # array elements per block when evaluating many points × data
_PLACEHOLDER = Suggested(start=(0.0,), lr=1.0, gd_lr=1.0, adam_lr=1.0)


# ---- the problem classes -----------------------------------------------------------------------

class _Described:
    """``repr`` names the gradient method."""

    gradient_method: str

    def __repr__(self) -> str:
        n = self.n_examples  # type: ignore[attr-defined]
        data = f", N={n}" if n is not None else ""
        return (f"<{type(self).__name__} {self.name!r}: P={self.n_params}{data}, "  # type: ignore[attr-defined]
                f"gradient by {self.gradient_method}>")


@dataclass(frozen=True, eq=False, repr=False)
class ExpressionSurface(_Described, Problem):
    """A loss written as an expression of its parameters (no data); exact gradient."""

    expression: Expression = None  # type: ignore[assignment]
    gradient_method: str = "expression"

    def _env(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return {name: p[..., i] for i, name in enumerate(self.param_names)}

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        return np.array(np.broadcast_to(self.expression.evaluate(self._env(p)), p.shape[:-1]))

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        _, parts = self.expression.value_and_grad(self._env(p), self.param_names)
        return np.stack([np.broadcast_to(g, p.shape[:-1]) for g in parts], axis=-1)


class _ChunkedFit(DataFit):
    """Sum of squared errors over blocks of points, so a loss grid over many data stays small."""

    def _blocks(self, points: np.ndarray, m: int):
        p = self._points(points)
        flat = p.reshape(-1, self.n_params)
        size = max(1, _CHUNK // max(m, 1))
        return p.shape[:-1], [flat[i:i + size] for i in range(0, len(flat), size)] or [flat]

    def _residual_grad(self, block: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = self.predict(block, x) - y
        return 2.0 * np.einsum("nm,nmp->np", r, self.jacobian(block, x))

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        shape, blocks = self._blocks(points, len(x))
        with np.errstate(all="ignore"):
            out = [np.sum((self.predict(b, x) - y) ** 2, axis=-1) for b in blocks]
        return np.concatenate(out).reshape(shape)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        shape, blocks = self._blocks(points, len(x))
        with np.errstate(all="ignore"):
            out = [self._residual_grad(b, x, y) for b in blocks]
        return np.concatenate(out).reshape(*shape, self.n_params)


@dataclass(frozen=True, eq=False, repr=False)
class ExpressionModel(_Described, _ChunkedFit):
    """A model f[x, φ] written as an expression, fitted by the sum of squared errors; exact gradient."""

    expression: Expression = None  # type: ignore[assignment]
    data_variable: str = "x"
    gradient_method: str = "expression"

    def _env(self, p: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        env = {name: p[..., i, None] for i, name in enumerate(self.param_names)}
        env[self.data_variable] = x
        return env

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        return np.array(np.broadcast_to(self.expression.evaluate(self._env(p, x)), (*p.shape[:-1], len(x))))

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        _, parts = self.expression.value_and_grad(self._env(p, x), self.param_names)
        shape = (*p.shape[:-1], len(x))
        return np.stack([np.broadcast_to(g, shape) for g in parts], axis=-1)

    def _residual_grad(self, block: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # reverse mode seeded with the residuals: no (points, data, P) Jacobian is formed
        value, pullback = self.expression.vjp(self._env(block, x), self.param_names)
        seed = 2.0 * (np.broadcast_to(value, (len(block), len(x))) - y)
        return np.stack([np.sum(g, axis=-1) for g in pullback(seed)], axis=-1)


@dataclass(frozen=True, eq=False, repr=False)
class FunctionProblem(_Described, Problem):
    """A loss given as a Python function of one point (see the module docstring).

    Attributes:
        function: the user's function.
        gradient_method: ``"jax"``, ``"torch"`` or ``"finite differences"``.
        calling: how the function is called on many points: ``"first axis"``, ``"last axis"``,
            ``"vmap"`` (torch/JAX) or ``"loop"`` (one call per point).
        batched_loss, batched_grad: the loss and gradient of an (N, P) array of points.
    """

    function: Callable = None  # type: ignore[assignment]
    gradient_method: str = "finite differences"
    calling: str = "loop"
    batched_loss: Callable[[np.ndarray], np.ndarray] = None  # type: ignore[assignment]
    batched_grad: Callable[[np.ndarray], np.ndarray] = None  # type: ignore[assignment]

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        with np.errstate(all="ignore"):
            return self.batched_loss(p.reshape(-1, self.n_params)).reshape(p.shape[:-1])

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        with np.errstate(all="ignore"):
            return self.batched_grad(p.reshape(-1, self.n_params)).reshape(p.shape)


@dataclass(frozen=True, eq=False, repr=False)
class FunctionModel(_Described, _ChunkedFit):
    """A model f[x, φ] given as a Python function ``f(p, x)``, fitted by the sum of squared errors.

    Attributes as for :class:`FunctionProblem`, with ``batched_predict(points (N, P), x (M,))``
    of shape (N, M) and ``batched_jacobian`` of shape (N, M, P).
    """

    function: Callable = None  # type: ignore[assignment]
    gradient_method: str = "finite differences"
    calling: str = "loop"
    batched_predict: Callable[[np.ndarray, np.ndarray], np.ndarray] = None  # type: ignore[assignment]
    batched_jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray] = None  # type: ignore[assignment]

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = self.batched_predict(p.reshape(-1, self.n_params), x)
        return out.reshape(*p.shape[:-1], len(x))

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = self.batched_jacobian(p.reshape(-1, self.n_params), x)
        return out.reshape(*p.shape[:-1], len(x), self.n_params)


# ---- expressions -------------------------------------------------------------------------------

def _split_names(params: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if params is None:
        return None
    if isinstance(params, str):
        params = [p.strip() for p in params.split(",")]
    names = tuple(params)
    if not names:
        raise ExpressionError("give at least one parameter name")
    return names


def _surface_params(text: str) -> tuple[str, ...]:
    used = names_in(text)
    numbered = numbered_parameters(text)
    letters = [n for n in ("x", "y", "z") if n in used]
    if numbered and letters:
        raise ExpressionError(f"the expression uses both {', '.join(letters)} and {', '.join(numbered)}; "
                              f"pass params=… to say which are the parameters")
    if numbered:
        return numbered
    return ("x", "y", "z") if "z" in used else ("x", "y")


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def from_expression(expression: str, *, data=None, params: Sequence[str] | str | None = None,
                    start: Sequence[float] | None = None, name: str | None = None, minima=None,
                    steps: int = DEFAULT_STEPS, beta: float = DEFAULT_BETA, log_levels: bool = False,
                    view=None, x_label: str | None = None,
                    y_label: str | None = None) -> ExpressionSurface | ExpressionModel:
    """A problem from an expression: a surface, or a model fitted to ``data``.

    Args:
        expression: e.g. ``"x**2 + 10*y**2"`` or, with data, ``"p0 + p1*x + p2*x**2"``.
        data: ``(x, y)`` arrays or an :class:`~descentlab.datasets.XYData` (whose column names
            become the axis labels); None for a surface.
        params: the parameter names in order (a sequence or ``"a,b,c"``); default: see the
            module docstring.
        start: φ_0 (default: :func:`default_start`).
        name: the problem's name (default: the expression, shortened).
        minima: known minima (K×P), if any; default none.
        steps, beta: suggested number of steps and momentum β.
        log_levels: draw log-spaced contours (steep surfaces).
        view: ((lo, hi), (lo, hi)) to draw, for two parameters.
        x_label, y_label: axis names for the data (default: the XYData's columns, or x and y).

    Raises:
        ExpressionError: for a problem with the expression or the parameter names.
        ValueError: for bad data or settings, or a start where the loss is not finite.
    """
    names = _split_names(params)
    if data is None:
        if names is None:
            names = _surface_params(expression)
        expr = parse(expression, names)
        problem: Problem = ExpressionSurface(
            name=name or _short(expression), param_names=names, minima=_minima(minima, len(names)),
            suggested=_PLACEHOLDER, log_levels=bool(log_levels), expression=expr)
        return _with_suggestion(problem, start, steps, beta, view)

    from descentlab.datasets import check_xy

    if hasattr(data, "x") and hasattr(data, "y"):
        x_label = x_label or getattr(data, "x_name", None)
        y_label = y_label or getattr(data, "y_name", None)
        xs, ys = data.x, data.y
    else:
        try:
            xs, ys = data
        except (TypeError, ValueError):
            raise TypeError("data must be a pair (x, y) of sequences or an XYData") from None
    xs, ys = check_xy(xs, ys)
    variable = "x"
    reserved = {"y": "y is the data's target; the model predicts it from x"}
    if names is None:
        names = numbered_parameters(expression)
        if not names:
            others = [n for n in names_in(expression) if n not in (variable, "y", *CONSTANTS, *FUNCTIONS)]
            if others:
                raise ExpressionError(f"the model has no parameters p0, p1, …; to use {', '.join(others)} "
                                      f"as its parameters, pass params='{','.join(others)}'")
            raise ExpressionError("the model has no parameters: name them p0, p1, … (or pass params=…)")
    for n in names:
        if n in (variable, "y"):
            raise ExpressionError(f"{n!r} cannot be a parameter of a model: it names the data")
    expr = parse(expression, (*names, variable), reserved=reserved)
    problem = ExpressionModel(
        name=name or _short(expression), param_names=names, minima=_minima(minima, len(names)),
        suggested=_PLACEHOLDER, log_levels=bool(log_levels), x=xs, y=ys,
        x_label=x_label or "x", y_label=y_label or "y", expression=expr, data_variable=variable)
    return _with_suggestion(problem, start, steps, beta, view)


# ---- Python functions: calling conventions and gradients ---------------------------------------

# Internally every batched function takes (points (N, P), x): x is None for a loss, whose values
# have shape (N,) and derivatives (N, P); a model's have (N, M) and (N, M, P) for M inputs x.
_Batched = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class _Calls:
    method: str        # "jax", "torch", "finite differences"
    calling: str       # "first axis", "last axis", "vmap", "loop"
    value: _Batched
    derivative: _Batched


def _scalar(value) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise TypeError(f"the function must return one number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _close(a, b, rtol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)))
    return bool(np.allclose(a, b, rtol=rtol, atol=1e-12 * scale, equal_nan=True))


def _probes(base: np.ndarray, k: int) -> np.ndarray:
    """k test points near ``base``, the same on every call."""
    rng = np.random.default_rng(20240613)
    spread = np.maximum(1.0, np.abs(base))
    return base + 0.5 * spread * rng.uniform(-1.0, 1.0, size=(k, len(base)))


def _fd(value: _Batched, pts: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    """Central differences with h = ∛ε·max(1, |φ_i|): all 2P shifted copies in one batched call."""
    n, p = pts.shape
    h = _FD_STEP * np.maximum(1.0, np.abs(pts))                 # (N, P)
    shift = h.T[:, :, None] * np.eye(p)[:, None, :]            # (P, N, P): h_i along axis i
    up, down = pts[None] + shift, pts[None] - shift
    out = np.asarray(value(np.concatenate([up, down]).reshape(-1, p), x), dtype=np.float64)
    rest = out.shape[1:]
    out = out.reshape(2, p, n, *rest)
    width = (up - down)[np.arange(p), :, np.arange(p)]         # (P, N): the representable 2h
    d = (out[0] - out[1]) / width.reshape(p, n, *([1] * len(rest)))
    return np.moveaxis(d, 0, -1)


def _describe_call(f: Callable, model: bool) -> str:
    fname = getattr(f, "__name__", "the function")
    return f"{fname}(p, x)" if model else f"{fname}(p)"


def _numpy_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> _Calls:
    """Value by calling ``f`` (vectorised when a convention checks out), derivative by differences."""
    model = x is not None

    def one(row: np.ndarray, xs: np.ndarray | None):
        try:
            if model:
                return np.broadcast_to(np.asarray(f(row.copy(), xs.copy()), dtype=np.float64), xs.shape)
            return _scalar(f(row.copy()))
        except (ArithmeticError, ValueError):   # math.log(-1), math.exp(1000)…: a point outside
            return np.full(xs.shape, math.nan) if model else math.nan

    def loop(pts: np.ndarray, xs: np.ndarray | None) -> np.ndarray:
        out = np.empty((len(pts), len(xs)) if model else len(pts))
        for i, row in enumerate(pts):
            out[i] = one(row, xs)
        return out

    try:
        with np.errstate(all="ignore"):
            reference = loop(probes, x)
    except Exception as err:
        raise TypeError(f"calling {_describe_call(f, model)} on one point p (a float64 array of "
                        f"{probes.shape[1]} numbers) failed: {type(err).__name__}: {err}") from err

    if model:
        ways = {"first axis": lambda pts, xs: f(np.ascontiguousarray(pts.T)[..., None], xs.copy()),
                "last axis": lambda pts, xs: f(pts.copy(), xs.copy())}
    else:
        ways = {"first axis": lambda pts, xs: f(np.ascontiguousarray(pts.T)),
                "last axis": lambda pts, xs: f(pts.copy())}
    if vectorized in ways:
        ways = {vectorized: ways[vectorized]}
    elif vectorized not in (True, "auto"):
        ways = {}
    batched, calling = loop, "loop"
    for way, call in ways.items():
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(call(probes, x), dtype=np.float64)
        except Exception:
            continue
        if _close(out, reference):
            def batched(pts: np.ndarray, xs: np.ndarray | None, call=call) -> np.ndarray:
                shape = (len(pts), len(xs)) if model else (len(pts),)
                if len(pts) == 0:
                    return np.empty(shape)
                return np.array(np.broadcast_to(np.asarray(call(pts, xs), dtype=np.float64), shape))
            calling = way
            break
    if calling == "loop" and vectorized not in (False, "loop", True, "auto"):
        raise ValueError(f"vectorized={vectorized!r} does not give the point-by-point values")
    return _Calls("finite differences", calling, batched, lambda pts, xs: _fd(batched, pts, xs))


def _torch_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> _Calls | None:
    """torch.func derivatives of a torch function, or None if ``f`` is not torch code."""
    import torch
    from torch import func as tf

    model = x is not None

    def tensor(a) -> torch.Tensor:
        return torch.from_numpy(np.array(a, dtype=np.float64))

    def value(t, xt):
        out = f(t, xt) if model else f(t)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the function returned {type(out).__name__}, not a torch tensor")
        out = out.to(torch.float64)
        return out.broadcast_to(xt.shape) if model else out.reshape(())

    dummy = torch.zeros(1, dtype=torch.float64)
    try:
        first = value(tensor(probes[0]), tensor(x) if model else dummy)
    except Exception:
        return None
    if not isinstance(first, torch.Tensor):  # pragma: no cover - value() raises instead
        return None
    derivative = tf.jacfwd(value, argnums=0) if model else tf.grad(value, argnums=0)

    def xt_of(xs):
        return tensor(xs) if model else dummy

    def loop_value(pts, xs):
        xt = xt_of(xs)
        with torch.no_grad():
            rows = [value(tensor(row), xt).numpy() for row in pts]
        return np.array(rows, dtype=np.float64).reshape(len(pts), *((len(xs),) if model else ()))

    def loop_derivative(pts, xs):
        xt = xt_of(xs)
        rows = [derivative(tensor(row), xt).detach().numpy() for row in pts]
        shape = (len(pts), *((len(xs),) if model else ()), pts.shape[1])
        return np.array(rows, dtype=np.float64).reshape(shape)

    def vmap_value(pts, xs):
        if len(pts) == 0:
            return loop_value(pts, xs)
        with torch.no_grad():
            return tf.vmap(value, in_dims=(0, None))(tensor(pts), xt_of(xs)).numpy()

    def vmap_derivative(pts, xs):
        if len(pts) == 0:
            return loop_derivative(pts, xs)
        return tf.vmap(derivative, in_dims=(0, None))(tensor(pts), xt_of(xs)).detach().numpy()

    with np.errstate(all="ignore"):
        try:
            ref = loop_value(probes, x)
        except Exception:
            return None
        try:
            ref_d = loop_derivative(probes, x)
        except Exception:  # values work, derivatives do not (e.g. .item() or numpy inside)
            ref_d = None
        if vectorized not in (False, "loop"):
            try:
                if _close(vmap_value(probes, x), ref) and (
                        ref_d is None or _close(vmap_derivative(probes, x), ref_d)):
                    return _Calls("torch", "vmap", vmap_value, None if ref_d is None else vmap_derivative)
            except Exception:
                pass
    return _Calls("torch", "loop", loop_value, None if ref_d is None else loop_derivative)


def _jax_x64():
    """A context in which JAX computes in float64 (its default is float32)."""
    import jax

    try:
        if jax.config.read("jax_enable_x64"):
            return contextlib.nullcontext()
    except Exception:  # pragma: no cover - another configuration API
        pass
    if callable(getattr(jax, "enable_x64", None)):
        return jax.enable_x64(True)
    try:  # pragma: no cover - JAX before 0.5
        from jax.experimental import enable_x64
        return enable_x64()
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()


def _jax_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> _Calls | None:
    """jax.grad / jax.jacfwd of a JAX function (float64, jit-compiled), or None if ``f`` is not
    JAX code."""
    import jax
    import jax.numpy as jnp

    model = x is not None

    def value(t, xj):
        out = f(t, xj) if model else f(t)
        if not isinstance(out, jax.Array):
            raise TypeError(f"the function returned {type(out).__name__}, not a jax.Array")
        out = out.astype(jnp.float64)
        return jnp.broadcast_to(out, xj.shape) if model else out.reshape(())

    def xj_of(xs):
        return jnp.asarray(xs, dtype=jnp.float64) if model else jnp.zeros(1)

    with _jax_x64():
        try:
            value(jnp.asarray(probes[0], dtype=jnp.float64), xj_of(x))
        except Exception:
            return None
        derivative = jax.jacfwd(value) if model else jax.grad(value)
        ways = [("vmap", jax.jit(jax.vmap(value, in_axes=(0, None))),
                 jax.jit(jax.vmap(derivative, in_axes=(0, None))), False),
                ("loop", jax.jit(value), jax.jit(derivative), True),
                ("loop", value, derivative, True)]
    if vectorized in (False, "loop"):
        ways = ways[1:]

    def runner(fn, per_point: bool, extra: tuple):
        def run(pts, xs):
            shape = (len(pts), *((len(xs),) if model else ()), *extra)
            if len(pts) == 0:
                return np.empty(shape)
            with _jax_x64():
                xj = xj_of(xs)
                if per_point:
                    rows = [np.asarray(fn(jnp.asarray(row, dtype=jnp.float64), xj)) for row in pts]
                    return np.array(rows, dtype=np.float64).reshape(shape)
                out = fn(jnp.asarray(pts, dtype=jnp.float64), xj)
                return np.asarray(out, dtype=np.float64).reshape(shape)
        return run

    p = probes.shape[1]
    values_only = None
    for calling, fv, fd, per_point in ways:
        value_of, derivative_of = runner(fv, per_point, ()), runner(fd, per_point, (p,))
        with np.errstate(all="ignore"):
            try:
                value_of(probes, x)
            except Exception:
                continue
            try:
                derivative_of(probes, x)
            except Exception:
                values_only = values_only or _Calls("jax", calling, value_of, None)
                continue
        return _Calls("jax", calling, value_of, derivative_of)
    return values_only


def _calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, gradient: str, vectorized) -> _Calls:
    """Pick how to call and differentiate ``f`` (see the module docstring)."""
    tries = [(m, build) for m, build in (("jax", _jax_calls), ("torch", _torch_calls))
             if gradient == m or (gradient in ("auto", "finite differences") and m in sys.modules)]
    fallback = None  # library code that runs but is not (correctly) differentiable by the library
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # probing may call numpy on tensors and the like
        for method, build in tries:
            try:
                found = build(f, probes, x, vectorized)
            except ImportError:
                if gradient == method:
                    raise ValueError(f"gradient={method!r} needs {method} installed") from None
                continue
            if found is None:
                if gradient == method:
                    raise ValueError(f"gradient={method!r}: the function does not return a {method} "
                                     f"value when called on {method} arrays")
                continue
            if gradient != "finite differences":
                if found.derivative is not None and _agrees_with_fd(found, probes, x):
                    return found
                if gradient == method:
                    why = ("cannot differentiate the function" if found.derivative is None else
                           "gives a derivative that disagrees with finite differences")
                    raise ValueError(f"gradient={method!r}: {method} {why} (does the function leave "
                                     f"{method}, e.g. through numpy or .item()?)")
            fallback = fallback or found
        # JAX code also runs on numpy arrays, but then in float32: keep evaluating it in JAX
        if fallback is None or fallback.method != "jax" or not _returns_jax(f, probes[0], x):
            try:
                return _numpy_calls(f, probes, x, vectorized)
            except TypeError:
                if fallback is None:
                    raise
    return _Calls("finite differences", fallback.calling, fallback.value,
                  lambda pts, xs, v=fallback.value: _fd(v, pts, xs))


def _returns_jax(f: Callable, point: np.ndarray, x: np.ndarray | None) -> bool:
    import jax

    try:
        out = f(point.copy(), x.copy()) if x is not None else f(point.copy())
    except Exception:
        return False
    return isinstance(out, jax.Array)


def _agrees_with_fd(calls: _Calls, probes: np.ndarray, x: np.ndarray | None) -> bool:
    with np.errstate(all="ignore"):
        auto = calls.derivative(probes, x)
        numeric = _fd(calls.value, probes, x)
        size = np.abs(calls.value(probes, x))[..., None]
    ok = np.isfinite(auto) & np.isfinite(numeric)
    tol = 1e-5 * (np.abs(auto) + 1.0) + 1e-8 * size
    return bool(np.all((np.abs(auto - numeric) <= tol)[ok]))


_VECTORIZED = ("auto", True, False, "loop", "first axis", "last axis")


def _vectorized_choice(vectorized) -> object:
    if not any(vectorized is v or (isinstance(v, str) and vectorized == v) for v in _VECTORIZED):
        raise ValueError(f"vectorized must be one of {', '.join(map(repr, _VECTORIZED))}, got {vectorized!r}")
    return vectorized


def _gradient_choice(gradient: str) -> str:
    choices = ("auto", "jax", "torch", "finite differences")
    g = {"fd": "finite differences", "finite-differences": "finite differences"}.get(gradient, gradient)
    if g not in choices:
        raise ValueError(f"gradient must be one of {', '.join(map(repr, choices))}, got {gradient!r}")
    return g


def _names(n_params, params, start, kind: str) -> tuple[str, ...]:
    names = _split_names(params)
    n = None
    if n_params is not None:
        n = validation.integer("n_params", n_params, 1)
    elif names is not None:
        n = len(names)
    elif start is not None:
        n = np.atleast_1d(np.asarray(start, dtype=np.float64)).size
    if n is None:
        raise TypeError(f"give n_params (the number of parameters of the {kind}), params or start")
    if names is None:
        names = ("x", "y", "z")[:n] if kind == "loss" and n <= 3 else tuple(f"p{i}" for i in range(n))
    if len(names) != n:
        raise ValueError(f"params gives {len(names)} names but n_params is {n}")
    if len(set(names)) != n or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"params must be {n} distinct non-empty names, got {names!r}")
    return names


def _function_name(f: Callable, method: str) -> str:
    base = getattr(f, "__name__", None)
    base = "custom function" if not base or base == "<lambda>" else base
    return f"{base} ({method})"


def from_function(function: Callable, n_params: int | None = None, *,
                  params: Sequence[str] | str | None = None, start: Sequence[float] | None = None,
                  name: str | None = None, minima=None, gradient: str = "auto", vectorized="auto",
                  steps: int = DEFAULT_STEPS, beta: float = DEFAULT_BETA, log_levels: bool = False,
                  view=None) -> FunctionProblem:
    """A problem from a Python function ``function(p) -> number`` of one point ``p`` (P numbers).

    Args:
        function: the loss; numpy, PyTorch or JAX code (see the module docstring).
        n_params: P (or give ``params`` or ``start``).
        params: parameter names (default x, y, z for P ≤ 3, else p0, p1, …).
        start, name, minima, steps, beta, log_levels, view: as for :func:`from_expression`.
        gradient: ``"auto"``, ``"jax"``, ``"torch"`` or ``"finite differences"`` (or ``"fd"``).
        vectorized: ``"auto"`` (test the calling conventions), ``False`` or ``"loop"`` (one call
            per point), or ``"first axis"``/``"last axis"`` to insist on one.

    Raises:
        TypeError: when the function cannot be called on one point.
        ValueError: for bad settings, a forced gradient method that does not work, or a start
            where the loss is not finite.
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    names = _names(n_params, params, start, "loss")
    p = len(names)
    base = _candidates(p)[0] if start is None else validation.point("start", start, p)
    calls = _calls(function, _probes(base, p + 2), None, _gradient_choice(gradient),
                   _vectorized_choice(vectorized))
    problem = FunctionProblem(
        name=name or _function_name(function, calls.method), param_names=names,
        minima=_minima(minima, p), suggested=_PLACEHOLDER, log_levels=bool(log_levels),
        function=function, gradient_method=calls.method, calling=calls.calling,
        batched_loss=lambda pts: calls.value(pts, None),
        batched_grad=lambda pts: calls.derivative(pts, None))
    return _with_suggestion(problem, start, steps, beta, view)


def from_model(function: Callable, x, y, n_params: int | None = None, *,
               params: Sequence[str] | str | None = None, start: Sequence[float] | None = None,
               name: str | None = None, minima=None, gradient: str = "auto", vectorized="auto",
               steps: int = DEFAULT_STEPS, beta: float = DEFAULT_BETA, log_levels: bool = False,
               view=None, x_label: str = "x", y_label: str = "y") -> FunctionModel:
    """A model ``function(p, x) -> predictions`` fitted to ``x``, ``y`` by the sum of squared errors.

    ``p`` is one point (P numbers) and ``x`` a 1-D float64 array of inputs (a torch tensor or
    jax.Array for torch or JAX code); the function returns one prediction per input. The
    problem is a :class:`~descentlab.problems.DataFit`, so minibatches (``batch_size=`` in
    :func:`descentlab.run`) and the figures' model lines work. Parameter names default to
    p0, p1, …; the other arguments are as for :func:`from_function`. The derivative is the
    Jacobian ∂f/∂φ (``jax.jacfwd``, ``torch.func.jacfwd`` or central differences).
    """
    from descentlab.datasets import check_xy

    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    xs, ys = check_xy(x, y)
    names = _names(n_params, params, start, "model")
    p = len(names)
    base = _candidates(p)[0] if start is None else validation.point("start", start, p)
    sample = xs[np.unique(np.linspace(0, len(xs) - 1, min(len(xs), 7)).astype(int))]
    calls = _calls(function, _probes(base, p + 2), sample, _gradient_choice(gradient),
                   _vectorized_choice(vectorized))
    problem = FunctionModel(
        name=name or _function_name(function, calls.method), param_names=names,
        minima=_minima(minima, p), suggested=_PLACEHOLDER, log_levels=bool(log_levels), x=xs, y=ys,
        x_label=x_label, y_label=y_label, function=function, gradient_method=calls.method,
        calling=calls.calling, batched_predict=calls.value, batched_jacobian=calls.derivative)
    return _with_suggestion(problem, start, steps, beta, view)


# ---- starts and suggested settings -------------------------------------------------------------

def _minima(minima, p: int) -> np.ndarray:
    if minima is None:
        return np.empty((0, p))
    m = np.asarray(minima, dtype=np.float64)
    if m.size % p or not np.all(np.isfinite(m)):
        raise ValueError(f"minima must be finite points of {p} numbers each, got {minima!r}")
    return m.reshape(-1, p)


def _candidates(p: int) -> np.ndarray:
    rows = [np.resize([-1.5, 1.0, -0.5, 1.5, -1.0, 0.5], p), np.resize([1.0, -1.0], p), np.ones(p),
            np.full(p, 0.5), np.zeros(p), -np.ones(p), np.resize([2.0, -2.0], p), np.full(p, 3.0)]
    return np.array(rows, dtype=np.float64)


def default_start(problem: Problem) -> np.ndarray:
    """The first of a fixed list of points where the loss and gradient are finite and the gradient
    is not (numerically) zero: (−1.5, 1, −0.5, 1.5, −1, 0.5, …), (1, −1, …), 1, ½, 0, −1, (2, −2, …),
    3 (each cut or repeated to P numbers); else the first with a finite loss.

    Raises:
        ValueError: when the loss is not finite at any of them.
    """
    cands = _candidates(problem.n_params)
    with np.errstate(all="ignore"):
        losses = np.asarray(problem.loss(cands), dtype=np.float64)
        grads = np.asarray(problem.grad(cands), dtype=np.float64)
    finite = np.isfinite(losses) & np.all(np.isfinite(grads), axis=-1)
    moving = np.max(np.abs(grads), axis=-1) > 1e-10 * np.maximum(1.0, np.abs(losses))
    for ok in (finite & moving, np.isfinite(losses)):
        if ok.any():
            return cands[int(np.argmax(ok))]
    raise ValueError(f"the loss of {problem.name!r} is not finite at any default start; give start=…")


def hessian(problem: Problem, point: Sequence[float]) -> np.ndarray:
    """The symmetrised central-difference Hessian of ``problem`` at ``point`` (from its gradient,
    with steps 1e-4·max(1, |φ_i|)), on all the data."""
    phi = validation.point("point", point, problem.n_params)
    p = len(phi)
    h = _HESSIAN_STEP * np.maximum(1.0, np.abs(phi))
    shifts = np.diag(h)
    with np.errstate(all="ignore"):
        g = np.asarray(problem.grad(np.concatenate([phi + shifts, phi - shifts])), dtype=np.float64)
    width = (phi + h) - (phi - h)
    hess = (g[:p] - g[p:]) / width[:, None]
    return 0.5 * (hess + hess.T)


def _two_digits(v: float) -> float:
    return float(f"{v:.2g}")


def suggest(problem: Problem, start: Sequence[float] | None = None, *, steps: int = DEFAULT_STEPS,
            beta: float = DEFAULT_BETA, view=None) -> Suggested:
    """Settings for ``problem`` from its curvature at ``start`` (see the module docstring).

    Raises:
        ValueError: if the loss at the start is not finite.
    """
    steps = validation.integer("steps", steps, 1)
    beta = validation.unit_interval("beta (β)", beta)
    phi = default_start(problem) if start is None else validation.point("start", start, problem.n_params)
    with np.errstate(all="ignore"):
        loss = float(problem.loss(phi))
        g = np.asarray(problem.grad(phi), dtype=np.float64)
    if not np.isfinite(loss):
        raise ValueError(f"the loss of {problem.name!r} at the start {phi.tolist()} is {loss}; "
                         "choose a start where it is finite")
    size = max(1.0, float(np.max(np.abs(phi))))
    grad_size = float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else 0.0
    h = hessian(problem, phi)
    eig = np.linalg.eigvalsh(h) if np.all(np.isfinite(h)) else np.array([np.nan])
    curvature = float(np.max(np.abs(eig)))
    if not (np.isfinite(curvature) and curvature > 1e-9 * max(1.0, grad_size)):
        curvature = grad_size / (0.1 * size) if grad_size > 0 else 1.0
    scale = size
    if np.all(np.isfinite(eig)) and eig.min() > 1e-9 * eig.max() > 0 and grad_size > 0:
        newton = float(np.max(np.abs(np.linalg.solve(h, g))))
        if np.isfinite(newton):
            scale = max(scale, min(newton, 100.0 * size))
    view = None if view is None else tuple((float(lo), float(hi)) for lo, hi in view)
    return Suggested(start=tuple(float(v) for v in phi),
                     lr=_two_digits(1.0 / (2.0 * curvature * (1.0 - beta))),
                     gd_lr=_two_digits(1.0 / curvature), adam_lr=_two_digits(0.1 * scale), beta=beta,
                     steps=steps, view=view)


def _with_suggestion(problem: Problem, start, steps: int, beta: float, view) -> Problem:
    return dataclasses.replace(problem, suggested=suggest(problem, start, steps=steps, beta=beta, view=view))


# ---- slices: two of many parameters, for drawing ------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class Slice(Problem):
    """The loss of ``base`` over the parameters ``keep``, the others held at ``at``.

    A problem with more than two parameters runs everywhere; contour figures draw two of them.
    ``loss``/``grad`` evaluate the full problem (minibatches included), so a slice through the
    final point of a run shows the loss near the end of that run.
    """

    base: Problem = None  # type: ignore[assignment]
    keep: tuple[int, ...] = ()
    at: np.ndarray = None  # type: ignore[assignment]

    @property
    def n_examples(self) -> int | None:
        return self.base.n_examples

    def full(self, points: np.ndarray) -> np.ndarray:
        """Points of the slice (..., len(keep)) as points of the base problem (..., P)."""
        p = self._points(points)
        out = np.array(np.broadcast_to(self.at, (*p.shape[:-1], self.base.n_params)))
        out[..., list(self.keep)] = p
        return out

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.loss(self.full(points), batch)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.grad(self.full(points), batch)[..., list(self.keep)]


@dataclass(frozen=True, eq=False, repr=False)
class DataSlice(Slice, DataFit):
    """A :class:`Slice` of a model fitted to data: predictions and model lines work too."""

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.predict(self.full(points), x)  # type: ignore[attr-defined]

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.jacobian(self.full(points), x)[..., list(self.keep)]  # type: ignore[attr-defined]


def _indices(problem_names: Sequence[str], keep: Sequence[str | int] | str) -> tuple[int, ...]:
    if isinstance(keep, str):
        keep = [k.strip() for k in keep.split(",")]
    out = []
    for k in keep:
        if isinstance(k, str) and k in problem_names:
            out.append(problem_names.index(k))
        elif isinstance(k, int | np.integer) and not isinstance(k, bool) and 0 <= k < len(problem_names):
            out.append(int(k))
        else:
            raise ValueError(f"{k!r} is not a parameter; the parameters are {', '.join(problem_names)}")
    if not out or len(set(out)) != len(out):
        raise ValueError(f"give distinct parameters to keep, got {keep!r}")
    return tuple(out)


def slice_problem(problem: Problem, keep: Sequence[str | int] | str, at: Sequence[float] | None = None,
                  *, name: str | None = None) -> Slice:
    """The problem over the parameters ``keep`` (names or indices, or ``"p0,p2"``), the others
    fixed at ``at`` (default: the suggested start).

    The slice suggests the base problem's settings (its learning rates were chosen for the
    full curvature, so they are safe here) and starts at ``at``'s kept coordinates; its minima
    are the base's minima that lie in the slice.
    """
    names = tuple(problem.param_names)
    idx = _indices(names, keep)
    point = validation.point("at", problem.suggested.start if at is None else at, problem.n_params)
    others = [i for i in range(len(names)) if i not in idx]
    in_slice = [m[list(idx)] for m in problem.minima
                if np.allclose(m[others], point[others], rtol=1e-9, atol=1e-12)]
    fixed = ", ".join(f"{names[i]}={point[i]:.4g}" for i in others)
    cls = DataSlice if isinstance(problem, DataFit) else Slice
    extra = {}
    if isinstance(problem, DataFit):
        extra = dict(x=problem.x, y=problem.y, x_label=problem.x_label, y_label=problem.y_label)
    s = problem.suggested
    return cls(name=name or (f"{problem.name} — 2-D slice at {fixed}" if fixed else problem.name),
               param_names=tuple(names[i] for i in idx),
               minima=np.array(in_slice, dtype=np.float64).reshape(-1, len(idx)),
               suggested=Suggested(start=tuple(float(point[i]) for i in idx), lr=s.lr, gd_lr=s.gd_lr,
                                   adam_lr=s.adam_lr, beta=s.beta, steps=s.steps),
               log_levels=problem.log_levels, base=problem, keep=idx, at=point, **extra)


def slice_trajectory(trajectory, keep: Sequence[str | int] | str):
    """A :class:`~descentlab.trajectory.Trajectory` reduced to the parameters ``keep`` (its
    iterates, look-ahead points, gradients and moments), to draw on a :func:`slice_problem`.
    The losses stay those of the full problem."""
    idx = list(_indices(tuple(trajectory.param_names), keep))

    def cut(a):
        return None if a is None else np.asarray(a)[:, idx]

    return dataclasses.replace(
        trajectory, param_names=tuple(trajectory.param_names[i] for i in idx),
        params=cut(trajectory.params), lookahead=cut(trajectory.lookahead), grads=cut(trajectory.grads),
        buffers={k: v[:, idx] if v.ndim == 2 else v for k, v in trajectory.buffers.items()})



def drawable(problem: Problem, trajectories: Sequence, keep: Sequence[str | int] | str | None = None):
    """What a 2-D view draws: ``(problem, trajectories, full_params)``.

    A two-parameter problem with no ``keep`` is drawn as it is (``full_params`` None). Otherwise
    the view is the slice through the first run's final point in the two parameters ``keep``
    (default: the first two), the runs are cut to them, and ``full_params`` holds each run's
    iterates in all parameters (figures use them for the model lines).
    """
    if keep is None and problem.n_params == 2:
        return problem, list(trajectories), None
    if problem.n_params < 2:
        raise ValueError(f"a 2-D view needs two parameters; {problem.name!r} has {problem.n_params}")
    names = _indices(tuple(problem.param_names), keep if keep is not None else problem.param_names[:2])
    if len(names) != 2:
        raise ValueError(f"a slice keeps two parameters, e.g. {','.join(problem.param_names[:2])}; "
                         f"got {keep!r}")
    view = slice_problem(problem, names, at=trajectories[0].final)
    return view, [slice_trajectory(t, names) for t in trajectories], [t.params for t in trajectories]

__all__ = [
    "CONSTANTS", "DEFAULT_BETA", "DEFAULT_STEPS", "FUNCTIONS", "GRADIENT_METHODS", "DataSlice",
    "ExpressionError", "ExpressionModel", "ExpressionSurface", "FunctionModel", "FunctionProblem", "Slice",
    "default_start", "drawable", "from_expression", "from_function", "from_model", "hessian", "slice_problem",
    "slice_trajectory", "suggest",
]
