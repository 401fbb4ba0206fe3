r"""How a Python function is called on many points and differentiated: JAX, PyTorch or
central differences (the backends of :func:`~descentlab.problems.from_function` and
:func:`~descentlab.problems.from_model`).

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
plain-arithmetic function (``lambda p: (1 - p[0])**2 + 100*(p[1] - p[0]**2)**2``) runs on any
array type, and gets autodiff when torch or JAX happens to be imported. The autodiff gradient
must agree with finite differences at a few test points; one that does not (a function that
leaves the library, e.g. through ``np.sin`` on a tensor, breaks the chain of derivatives) falls
back to finite differences. ``gradient="torch"``, ``"jax"`` or ``"finite differences"``
(``"fd"``) forces a method, importing the library if needed, and raises ``ValueError`` when the
function does not work with it. Finite differences of torch or JAX code evaluate it in that
library (float64).

**Many parameters.** Finite differences evaluate the shifted points in blocks of bounded size
(:func:`_fd`: never the P × P identity, never 2P·N points at once above
:data:`DIRECTIONAL_CHECK_PARAMS` parameters), so memory stays O(P) per point whatever P; their cost
stays 2P calls per gradient — at P = 10⁴ that is the function's cost times 2·10⁴, so give such
problems torch or JAX code. Above :data:`DIRECTIONAL_CHECK_PARAMS` parameters an autodiff
derivative is checked against differences along a few random directions (2 calls each, instead of
2P), :func:`probe_count` test points are used instead of P + 2, a model's Jacobian with more
parameters than inputs is taken in reverse mode (:func:`reverse_mode`), and the gradient of a
model's squared error is one backward pass (``Calls.squared_error_grad``) instead of 2·Jᵀr.

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
"""

from __future__ import annotations

import contextlib
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from descentlab.errors import InputError, InputTypeError

_EPS = np.finfo(np.float64).eps
_FD_STEP = float(np.cbrt(_EPS))        # ≈ 6.1e-6: central differences of a float64 function
_FD_ELEMENTS = 1 << 21                 # numbers per block of shifted points (or of their values)
_FD_LARGE = 1 << 19                    # … and above DIRECTIONAL_CHECK_PARAMS parameters (4 MB)
DIRECTIONAL_CHECK_PARAMS = 64          # above this P, autodiff is checked along directions
_DIRECTIONS = 3                        # random directions per probe point in that check

# Internally every batched function takes (points (N, P), x): x is None for a loss, whose values
# have shape (N,) and derivatives (N, P); a model's have (N, M) and (N, M, P) for M inputs x.
_Batched = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class Calls:
    method: str        # "jax", "torch", "finite differences"
    calling: str       # "first axis", "last axis", "vmap", "loop"
    value: _Batched
    derivative: _Batched
    # a model's ∇Σ(f − y)² of (points (N, P), x, y) in one backward pass (autodiff only), else None
    squared_error_grad: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    # the same pass returning (predictions (N, M), ∇Σ(f − y)² (N, P)): the forward's values come with it
    predict_and_grad: Callable[[np.ndarray, np.ndarray, np.ndarray],
                               tuple[np.ndarray, np.ndarray]] | None = None


def _scalar(value) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise InputTypeError(f"the function must return one number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _close(a, b, rtol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)))
    return bool(np.allclose(a, b, rtol=rtol, atol=1e-12 * scale, equal_nan=True))


def probe_count(p: int) -> int:
    """How many test points choose the calling convention and check the derivative: P + 2 (never
    P, so a first-axis and a last-axis reading differ) up to :data:`DIRECTIONAL_CHECK_PARAMS`
    parameters, else 8 (P + 2 points of P numbers would be P² numbers)."""
    return p + 2 if p <= DIRECTIONAL_CHECK_PARAMS else 8


def probe_points(base: np.ndarray, k: int) -> np.ndarray:
    """k test points near ``base``, the same on every call."""
    rng = np.random.default_rng(20240613)
    spread = np.maximum(1.0, np.abs(base))
    return base + 0.5 * spread * rng.uniform(-1.0, 1.0, size=(k, len(base)))


def _fd(value: _Batched, pts: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    """Central differences with h = ∛ε·max(1, |φ_i|), in blocks of (parameter, point) pairs: each
    call of ``value`` gets at most 2·:data:`_FD_ELEMENTS` numbers of shifted points and of values,
    above :data:`DIRECTIONAL_CHECK_PARAMS` parameters 2·:data:`_FD_LARGE` (so memory stays
    O(P + M) per point, never P × P, the function's own arrays included), the pairs
    taken parameter by parameter (all N points for φ_0, then for φ_1, …), up-shifted copies before
    down-shifted ones — one call when everything fits, as for every small problem."""
    n, p = pts.shape
    h = _FD_STEP * np.maximum(1.0, np.abs(pts))                 # (N, P)
    pairs = n * p
    width = 1
    out_d = None
    done = 0
    while done < pairs or out_d is None:
        size = max(1, (_FD_ELEMENTS if p <= DIRECTIONAL_CHECK_PARAMS else _FD_LARGE) // max(p, width))
        k = np.arange(done, min(done + size, pairs))
        i, j = k // n, k % n                                   # parameter i of point j
        shifted = pts[np.concatenate([j, j])]                  # up-shifted rows, then down-shifted
        rows = np.arange(len(k))
        shifted[rows, i] += h[j, i]
        shifted[rows + len(k), i] -= h[j, i]
        up, down = shifted[rows, i], shifted[rows + len(k), i]
        out = np.asarray(value(shifted, x), dtype=np.float64)
        rest = out.shape[1:]
        if out_d is None:
            out_d = np.empty((p, n, *rest))    # parameter first: the layout callers' sums expect
            width = max(1, math.prod(rest))
        step = up - down                                        # the representable 2h
        out_d[i, j] = (out[:len(k)] - out[len(k):]) / step.reshape(-1, *([1] * len(rest)))
        done += len(k)
    return np.moveaxis(out_d, 0, -1)


def reverse_mode(p: int, m: int) -> bool:
    """Whether a model's Jacobian (M outputs × P parameters) is taken in reverse mode (jacrev: M
    backward passes) rather than forward (jacfwd: P tangents, the P × P identity pushed through
    the model): where P > M, above :data:`DIRECTIONAL_CHECK_PARAMS` parameters."""
    return p > DIRECTIONAL_CHECK_PARAMS and p > m


def _describe_call(f: Callable, model: bool) -> str:
    fname = getattr(f, "__name__", "the function")
    return f"{fname}(p, x)" if model else f"{fname}(p)"


def _numpy_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> Calls:
    """Value by calling ``f`` (vectorised when a convention checks out), derivative by differences."""
    model = x is not None

    def one(row: np.ndarray, xs: np.ndarray | None):
        try:
            if model:
                return np.broadcast_to(np.asarray(f(row.copy(), xs.copy()), dtype=np.float64), xs.shape)
            return _scalar(f(row.copy()))
        except InputError:  # the function's own mistake (not one number): say so
            raise
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
        raise InputTypeError(f"calling {_describe_call(f, model)} on one point p (a float64 array of "
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
        raise InputError(f"vectorized={vectorized!r} does not give the point-by-point values")
    return Calls("finite differences", calling, batched, lambda pts, xs: _fd(batched, pts, xs))


def _torch_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> Calls | None:
    """torch.func derivatives of a torch function, or None if ``f`` is not torch code."""
    import torch
    from torch import func as tf

    model = x is not None

    def tensor(a) -> torch.Tensor:
        return torch.from_numpy(np.array(a, dtype=np.float64))

    def value(t, xt):
        out = f(t, xt) if model else f(t)
        if not isinstance(out, torch.Tensor):
            raise InputTypeError(f"the function returned {type(out).__name__}, not a torch tensor")
        out = out.to(torch.float64)
        return out.broadcast_to(xt.shape) if model else out.reshape(())

    dummy = torch.zeros(1, dtype=torch.float64)
    try:
        first = value(tensor(probes[0]), tensor(x) if model else dummy)
    except Exception:
        return None
    if not isinstance(first, torch.Tensor):  # pragma: no cover - value() raises instead
        return None
    forward = tf.jacfwd(value, argnums=0) if model else tf.grad(value, argnums=0)
    reverse = tf.jacrev(value, argnums=0) if model else forward

    def derivative(t, xt):
        return (reverse if reverse_mode(t.shape[-1], xt.shape[0]) else forward)(t, xt)

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

    def squared_error(t, xt, yt):
        return torch.sum((value(t, xt) - yt) ** 2)

    sse_grad = tf.grad(squared_error, argnums=0)

    def loop_sse_grad(pts, xs, ys):
        xt, yt = tensor(xs), tensor(ys)
        rows = [sse_grad(tensor(row), xt, yt).detach().numpy() for row in pts]
        return np.array(rows, dtype=np.float64).reshape(pts.shape)

    def vmap_sse_grad(pts, xs, ys):
        if len(pts) == 0:
            return np.empty(pts.shape)
        mapped = tf.vmap(sse_grad, in_dims=(0, None, None))
        return mapped(tensor(pts), tensor(xs), tensor(ys)).detach().numpy()

    def squared_error_and_prediction(t, xt, yt):
        out = value(t, xt)
        return torch.sum((out - yt) ** 2), out.detach()

    both = tf.grad_and_value(squared_error_and_prediction, argnums=0, has_aux=True)

    def vmap_predict_and_grad(pts, xs, ys):
        grad, (_, out) = tf.vmap(both, in_dims=(0, None, None))(tensor(pts), tensor(xs), tensor(ys))
        return out.numpy(), grad.detach().numpy()

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
                    fused = model and ref_d is not None
                    return Calls("torch", "vmap", vmap_value, None if ref_d is None else vmap_derivative,
                                 vmap_sse_grad if fused else None, vmap_predict_and_grad if fused else None)
            except Exception:
                pass
    return Calls("torch", "loop", loop_value, None if ref_d is None else loop_derivative,
                 loop_sse_grad if model and ref_d is not None else None)


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


def _jax_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, vectorized) -> Calls | None:
    """jax.grad / jax.jacfwd of a JAX function (float64, jit-compiled), or None if ``f`` is not
    JAX code."""
    import jax
    import jax.numpy as jnp

    model = x is not None

    def value(t, xj):
        out = f(t, xj) if model else f(t)
        if not isinstance(out, jax.Array):
            raise InputTypeError(f"the function returned {type(out).__name__}, not a jax.Array")
        out = out.astype(jnp.float64)
        return jnp.broadcast_to(out, xj.shape) if model else out.reshape(())

    def xj_of(xs):
        return jnp.asarray(xs, dtype=jnp.float64) if model else jnp.zeros(1)

    with _jax_x64():
        try:
            value(jnp.asarray(probes[0], dtype=jnp.float64), xj_of(x))
        except Exception:
            return None
        forward = jax.jacfwd(value) if model else jax.grad(value)
        sse_grad = jax.grad(lambda t, xj, yj: jnp.sum((value(t, xj) - yj) ** 2))
        sse_ways = {"vmap": jax.jit(jax.vmap(sse_grad, in_axes=(0, None, None))), "loop": jax.jit(sse_grad)}
        reverse = jax.jacrev(value) if model else forward
        def mapped(fn):
            return jax.jit(jax.vmap(fn, in_axes=(0, None)))

        ways = [("vmap", mapped(value), (mapped(forward), mapped(reverse)), False),
                ("loop", jax.jit(value), (jax.jit(forward), jax.jit(reverse)), True),
                ("loop", value, (forward, reverse), True)]
    if vectorized in (False, "loop"):
        ways = ways[1:]

    def runner(fn, per_point: bool, extra: tuple):
        if isinstance(fn, tuple):           # (forward, reverse) mode: pick by the shape of each call
            fns = fn

            def pick(pts, xs):
                return fns[reverse_mode(pts.shape[-1], len(xs) if model else 1)]
        else:
            def pick(pts, xs):
                return fn

        def run(pts, xs):
            call = pick(pts, xs)
            shape = (len(pts), *((len(xs),) if model else ()), *extra)
            if len(pts) == 0:
                return np.empty(shape)
            with _jax_x64():
                xj = xj_of(xs)
                if per_point:
                    rows = [np.asarray(call(jnp.asarray(row, dtype=jnp.float64), xj)) for row in pts]
                    return np.array(rows, dtype=np.float64).reshape(shape)
                out = call(jnp.asarray(pts, dtype=jnp.float64), xj)
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
                values_only = values_only or Calls("jax", calling, value_of, None)
                continue
        return Calls("jax", calling, value_of, derivative_of,
                     _jax_squared_error(sse_ways[calling], calling == "loop") if model else None)
    return values_only


def _jax_squared_error(fn: Callable, per_point: bool) -> Callable:
    """∇Σ(f − y)² of many points by a jit-compiled ``jax.grad`` (vmapped unless ``per_point``)."""
    import jax.numpy as jnp

    def run(pts: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        if len(pts) == 0:
            return np.empty(pts.shape)
        with _jax_x64():
            xj, yj = jnp.asarray(xs, dtype=jnp.float64), jnp.asarray(ys, dtype=jnp.float64)
            if per_point:
                rows = [np.asarray(fn(jnp.asarray(row, dtype=jnp.float64), xj, yj)) for row in pts]
                return np.array(rows, dtype=np.float64).reshape(pts.shape)
            return np.asarray(fn(jnp.asarray(pts, dtype=jnp.float64), xj, yj), dtype=np.float64)
    return run


def choose_calls(f: Callable, probes: np.ndarray, x: np.ndarray | None, gradient: str, vectorized) -> Calls:
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
                    raise InputError(f"gradient={method!r} needs {method} installed") from None
                continue
            if found is None:
                if gradient == method:
                    raise InputError(f"gradient={method!r}: the function does not return a {method} "
                                     f"value when called on {method} arrays")
                continue
            if gradient != "finite differences":
                if found.derivative is not None and _agrees_with_fd(found, probes, x):
                    return found
                if gradient == method:
                    why = ("cannot differentiate the function" if found.derivative is None else
                           "gives a derivative that disagrees with finite differences")
                    raise InputError(f"gradient={method!r}: {method} {why} (does the function leave "
                                     f"{method}, e.g. through numpy or .item()?)")
            fallback = fallback or found
        # JAX code also runs on numpy arrays, but then in float32: keep evaluating it in JAX
        if fallback is None or fallback.method != "jax" or not _returns_jax(f, probes[0], x):
            try:
                return _numpy_calls(f, probes, x, vectorized)
            except TypeError:
                if fallback is None:
                    raise
    return Calls("finite differences", fallback.calling, fallback.value,
                  lambda pts, xs, v=fallback.value: _fd(v, pts, xs))


def _returns_jax(f: Callable, point: np.ndarray, x: np.ndarray | None) -> bool:
    import jax

    try:
        out = f(point.copy(), x.copy()) if x is not None else f(point.copy())
    except Exception:
        return False
    return isinstance(out, jax.Array)


def _agrees_with_fd(calls: Calls, probes: np.ndarray, x: np.ndarray | None) -> bool:
    """The autodiff derivative agrees with central differences at the probes: every component up
    to :data:`DIRECTIONAL_CHECK_PARAMS` parameters, else along :data:`_DIRECTIONS` random unit
    directions v per probe (∇f·v against (f(φ + hv) − f(φ − hv))/2h: 2 calls per direction
    instead of 2P, and a wrong component shows in every direction with probability 1)."""
    n, p = probes.shape
    if p <= DIRECTIONAL_CHECK_PARAMS:
        with np.errstate(all="ignore"):
            auto = calls.derivative(probes, x)
            numeric = _fd(calls.value, probes, x)
            size = np.abs(calls.value(probes, x))[..., None]
        ok = np.isfinite(auto) & np.isfinite(numeric)
        tol = 1e-5 * (np.abs(auto) + 1.0) + 1e-8 * size
        return bool(np.all((np.abs(auto - numeric) <= tol)[ok]))
    v = np.random.default_rng(7).standard_normal((_DIRECTIONS, p))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    h = _FD_STEP * np.maximum(1.0, np.max(np.abs(probes), axis=1))             # (N,)
    shifted = probes[:, None, :] + np.stack([h, -h])[:, :, None, None] * v[None, None]  # (2, N, D, P)
    with np.errstate(all="ignore"):
        auto = np.asarray(calls.derivative(probes, x), dtype=np.float64)       # (N, [M,] P)
        along = np.einsum("n...p,dp->nd...", auto, v)
        values = np.asarray(calls.value(shifted.reshape(-1, p), x), dtype=np.float64)
        values = values.reshape(2, n, _DIRECTIONS, *values.shape[1:])
        numeric = (values[0] - values[1]) / (2.0 * h).reshape(n, 1, *([1] * (values.ndim - 3)))
        size = np.abs(np.asarray(calls.value(probes, x), dtype=np.float64))[:, None]
        spread = np.einsum("n...p,dp->nd...", np.abs(auto), np.abs(v))
    ok = np.isfinite(along) & np.isfinite(numeric)
    tol = 1e-5 * (spread + 1.0) + 1e-8 * size
    return bool(np.all((np.abs(along - numeric) <= tol)[ok]))


__all__ = ["DIRECTIONAL_CHECK_PARAMS", "Calls", "choose_calls", "probe_count", "probe_points"]
