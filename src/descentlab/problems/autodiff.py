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

# Internally every batched function takes (points (N, P), x): x is None for a loss, whose values
# have shape (N,) and derivatives (N, P); a model's have (N, M) and (N, M, P) for M inputs x.
_Batched = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class Calls:
    method: str        # "jax", "torch", "finite differences"
    calling: str       # "first axis", "last axis", "vmap", "loop"
    value: _Batched
    derivative: _Batched


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


def probe_points(base: np.ndarray, k: int) -> np.ndarray:
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
                    return Calls("torch", "vmap", vmap_value, None if ref_d is None else vmap_derivative)
            except Exception:
                pass
    return Calls("torch", "loop", loop_value, None if ref_d is None else loop_derivative)


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
                values_only = values_only or Calls("jax", calling, value_of, None)
                continue
        return Calls("jax", calling, value_of, derivative_of)
    return values_only


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
    with np.errstate(all="ignore"):
        auto = calls.derivative(probes, x)
        numeric = _fd(calls.value, probes, x)
        size = np.abs(calls.value(probes, x))[..., None]
    ok = np.isfinite(auto) & np.isfinite(numeric)
    tol = 1e-5 * (np.abs(auto) + 1.0) + 1e-8 * size
    return bool(np.all((np.abs(auto - numeric) <= tol)[ok]))


__all__ = ["Calls", "choose_calls", "probe_points"]
