r"""Problems from Python functions: a loss ``f(p)`` of one point, or a model ``f(p, x)`` (the
function runs, so it must be your own code)::

    from descentlab.problems import from_function, from_model

    rosen = from_function(lambda p: (1 - p[0])**2 + 100*(p[1] - p[0]**2)**2, n_params=2)
    rosen.gradient_method            # "finite differences", or "torch"/"jax" (see autodiff)

    import torch
    f = from_function(lambda p: torch.sin(p[0]) * p[1]**2, n_params=2)   # gradient by torch

    gabor = from_model(lambda p, x: np.sin(p[0] + 0.06*p[1]*x) * np.exp(-(p[0] + 0.06*p[1]*x)**2 / 32),
                       x, y, n_params=2)

The gradient (``gradient="auto"``: JAX, else PyTorch, else central differences) and the calling
convention on many points are chosen by :mod:`descentlab.problems.autodiff`, whose docstring
gives the rules; ``problem.gradient_method`` and ``problem.calling`` record the choice.
Suggested settings come from :func:`~descentlab.problems.suggestions.suggest`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.errors import InputError, InputTypeError
from descentlab.problems.autodiff import DIRECTIONAL_CHECK_PARAMS, choose_calls, probe_count, probe_points
from descentlab.problems.base import Problem, check_batch
from descentlab.problems.custom import ChunkedFit, Described, minima_array, split_names
from descentlab.problems.data import check_xy
from descentlab.problems.suggestions import (
    DEFAULT_BETA,
    DEFAULT_STEPS,
    PLACEHOLDER,
    candidates,
    with_suggestion,
)


@dataclass(frozen=True, eq=False, repr=False)
class FunctionProblem(Described, Problem):
    """A loss given as a Python function of one point (see :mod:`descentlab.problems.autodiff`).

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
class FunctionModel(Described, ChunkedFit):
    """A model f[x, φ] given as a Python function ``f(p, x)``, fitted by the sum of squared errors.

    Attributes as for :class:`FunctionProblem`, with ``batched_predict(points (N, P), x (M,))``
    of shape (N, M) and ``batched_jacobian`` of shape (N, M, P).
    """

    function: Callable = None  # type: ignore[assignment]
    gradient_method: str = "finite differences"
    calling: str = "loop"
    batched_predict: Callable[[np.ndarray, np.ndarray], np.ndarray] = None  # type: ignore[assignment]
    batched_jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray] = None  # type: ignore[assignment]
    batched_squared_error_grad: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    batched_predict_and_grad: Callable[[np.ndarray, np.ndarray, np.ndarray],
                                       tuple[np.ndarray, np.ndarray]] | None = None

    def _residual_grad(self, block: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∇Σ(f − y)²: above :data:`~descentlab.problems.autodiff.DIRECTIONAL_CHECK_PARAMS`
        parameters, one backward pass of torch or JAX where the gradient is theirs (never the
        M × P Jacobian); else 2·Jᵀr."""
        if self.batched_squared_error_grad is not None and self.n_params > DIRECTIONAL_CHECK_PARAMS:
            flat = np.asarray(block, dtype=np.float64).reshape(-1, self.n_params)
            with np.errstate(all="ignore"):
                out = self.batched_squared_error_grad(flat, x, y)
            return np.asarray(out, dtype=np.float64).reshape(block.shape)
        return super()._residual_grad(block, x, y)

    def loss_and_grad_one(self, point: np.ndarray) -> tuple[float, np.ndarray] | None:
        """L and ∇L at one point from one forward and one backward pass of torch, where the gradient
        is that pass already (:meth:`_residual_grad`) and the data is one block; L is summed here
        from the pass's predictions exactly as :meth:`loss` sums them."""
        x, y = self._data(None)
        if self.batched_predict_and_grad is None or self.n_params <= DIRECTIONAL_CHECK_PARAMS or \
                len(x) > self._slice_rows():  # the gradient's data in one slice
            return None
        one = np.asarray(point, dtype=np.float64).reshape(1, -1)
        with np.errstate(all="ignore"):
            out, grad = self.batched_predict_and_grad(one, x, y)
            loss = np.sum((np.asarray(out, dtype=np.float64).reshape(1, len(x)) - y) ** 2, axis=-1)
        return float(loss[0]), np.asarray(grad, dtype=np.float64).reshape(self.n_params)

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


_VECTORIZED = ("auto", True, False, "loop", "first axis", "last axis")


def _vectorized_choice(vectorized) -> object:
    if not any(vectorized is v or (isinstance(v, str) and vectorized == v) for v in _VECTORIZED):
        raise InputError(f"vectorized must be one of {', '.join(map(repr, _VECTORIZED))}, got {vectorized!r}")
    return vectorized


def _gradient_choice(gradient: str) -> str:
    choices = ("auto", "jax", "torch", "finite differences")
    g = {"fd": "finite differences", "finite-differences": "finite differences"}.get(gradient, gradient)
    if g not in choices:
        raise InputError(f"gradient must be one of {', '.join(map(repr, choices))}, got {gradient!r}")
    return g


def _names(n_params, params, start, kind: str) -> tuple[str, ...]:
    names = split_names(params)
    n = None
    if n_params is not None:
        n = validation.integer("n_params", n_params, 1)
    elif names is not None:
        n = len(names)
    elif start is not None:
        n = np.atleast_1d(np.asarray(start, dtype=np.float64)).size
    if n is None:
        raise InputTypeError(f"give n_params (the number of parameters of the {kind}), params or start")
    if names is None:
        names = ("x", "y", "z")[:n] if kind == "loss" and n <= 3 else tuple(f"p{i}" for i in range(n))
    if len(names) != n:
        raise InputError(f"params gives {len(names)} names but n_params is {n}")
    if len(set(names)) != n or not all(isinstance(s, str) and s for s in names):
        raise InputError(f"params must be {n} distinct non-empty names, got {names!r}")
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
        function: the loss; numpy, PyTorch or JAX code (see :mod:`descentlab.problems.autodiff`).
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
        raise InputTypeError(f"function must be callable, got {type(function).__name__}")
    names = _names(n_params, params, start, "loss")
    p = len(names)
    base = candidates(p)[0] if start is None else validation.point("start", start, p)
    calls = choose_calls(function, probe_points(base, probe_count(p)), None, _gradient_choice(gradient),
                   _vectorized_choice(vectorized))
    problem = FunctionProblem(
        name=name or _function_name(function, calls.method), param_names=names,
        minima=minima_array(minima, p), suggested=PLACEHOLDER, log_levels=bool(log_levels),
        function=function, gradient_method=calls.method, calling=calls.calling,
        batched_loss=lambda pts: calls.value(pts, None),
        batched_grad=lambda pts: calls.derivative(pts, None))
    return with_suggestion(problem, start, steps, beta, view)


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
    if not callable(function):
        raise InputTypeError(f"function must be callable, got {type(function).__name__}")
    xs, ys = check_xy(x, y)
    names = _names(n_params, params, start, "model")
    p = len(names)
    base = candidates(p)[0] if start is None else validation.point("start", start, p)
    sample = xs[np.unique(np.linspace(0, len(xs) - 1, min(len(xs), 7)).astype(int))]
    calls = choose_calls(function, probe_points(base, probe_count(p)), sample, _gradient_choice(gradient),
                   _vectorized_choice(vectorized))
    problem = FunctionModel(
        name=name or _function_name(function, calls.method), param_names=names,
        minima=minima_array(minima, p), suggested=PLACEHOLDER, log_levels=bool(log_levels), x=xs, y=ys,
        x_label=x_label, y_label=y_label, function=function, gradient_method=calls.method,
        calling=calls.calling, batched_predict=calls.value, batched_jacobian=calls.derivative,
        batched_squared_error_grad=calls.squared_error_grad, batched_predict_and_grad=calls.predict_and_grad)
    return with_suggestion(problem, start, steps, beta, view)


__all__ = ["FunctionModel", "FunctionProblem", "from_function", "from_model"]
