r"""Your own problems: a loss or a model from a safe expression, or from a Python function.

The pieces, one job per module (all of them re-exported by :mod:`descentlab.problems`):

* :mod:`~descentlab.problems.expression_problems` — :func:`from_expression`, a surface or a model
  written as an expression (parsed by :mod:`~descentlab.problems.expression`, never run as code);
* :mod:`~descentlab.problems.functions` — :func:`from_function` and :func:`from_model`, your
  Python code, differentiated by :mod:`~descentlab.problems.autodiff` (JAX, PyTorch or central
  differences, vectorised when a calling convention checks out);
* :mod:`~descentlab.problems.suggestions` — the start and the learning rates each of them
  suggests, from the curvature at the start (:func:`suggest`, :func:`default_start`);
* :mod:`~descentlab.problems.slices` — :func:`slice_problem`, two of many parameters with the
  others held fixed (what a 2-D view draws is chosen by :func:`descentlab.scene.drawable`).

This module holds what they share: the repr that names the gradient method, the blockwise sum
of squared errors of the models, and the checks of parameter names and minima.

**Classes.** :class:`ExpressionSurface` and :class:`FunctionProblem` are surfaces (no data);
:class:`ExpressionModel` and :class:`FunctionModel` are :class:`~descentlab.problems.DataFit`
models. Each has ``gradient_method`` (one of :data:`GRADIENT_METHODS`); the expression ones have
``expression`` (an :class:`~descentlab.problems.expression.Expression`), the function ones
``function`` and ``calling``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from descentlab.errors import InputError
from descentlab.problems.data_fit import DataFit
from descentlab.problems.expression import ExpressionError

GRADIENT_METHODS = ("expression", "jax", "torch", "finite differences")
"""The values of ``problem.gradient_method``: exact on an expression, by JAX or PyTorch
automatic differentiation, or by central finite differences."""

_CHUNK = 1 << 20                       # array elements per block when evaluating many points × data


class Described:
    """``repr`` names the gradient method."""

    gradient_method: str

    def __repr__(self) -> str:
        n = self.n_examples  # type: ignore[attr-defined]
        data = f", N={n}" if n is not None else ""
        return (f"<{type(self).__name__} {self.name!r}: P={self.n_params}{data}, "  # type: ignore[attr-defined]
                f"gradient by {self.gradient_method}>")


class ChunkedFit(DataFit):
    """Sum of squared errors over blocks of points, so a loss grid over many data stays small."""

    def _blocks(self, points: np.ndarray, m: int):
        """Blocks of points of at most _CHUNK predictions each (points × data)."""
        p = self._points(points)
        flat = p.reshape(-1, self.n_params)
        size = max(1, _CHUNK // max(m, 1))
        return p.shape[:-1], [flat[i:i + size] for i in range(0, len(flat), size)] or [flat]

    def _residual_grad(self, block: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = self.predict(block, x) - y
        return 2.0 * np.einsum("nm,nmp->np", r, self.jacobian(block, x))

    def _slice_rows(self) -> int:
        """Data per slice of one point's Jacobian in :meth:`grad`."""
        return max(1, 4 * _CHUNK // self.n_params)

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        shape, blocks = self._blocks(points, len(x))
        with np.errstate(all="ignore"):
            out = [np.sum((self.predict(b, x) - y) ** 2, axis=-1) for b in blocks]
        return np.concatenate(out).reshape(shape)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        """The gradient 2·Jᵀr, in blocks of at most _CHUNK Jacobian entries (points × data ×
        parameters), one point's data in slices of at most 4·_CHUNK entries where its Jacobian
        alone is bigger (only for P × N beyond 4·2²⁰: a million rows of a 2-parameter model stay
        one slice)."""
        x, y = self._data(batch)
        shape, blocks = self._blocks(points, len(x) * self.n_params)
        rows = self._slice_rows()
        with np.errstate(all="ignore"):
            if len(x) <= rows:
                out = [self._residual_grad(b, x, y) for b in blocks]
            else:
                out = [sum(self._residual_grad(b, x[i:i + rows], y[i:i + rows])
                           for i in range(0, len(x), rows)) for b in blocks]
        return np.concatenate(out).reshape(*shape, self.n_params)


def split_names(params: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if params is None:
        return None
    if isinstance(params, str):
        params = [p.strip() for p in params.split(",")]
    names = tuple(params)
    if not names:
        raise ExpressionError("give at least one parameter name")
    return names


def minima_array(minima, p: int) -> np.ndarray:
    if minima is None:
        return np.empty((0, p))
    m = np.asarray(minima, dtype=np.float64)
    if m.size % p or not np.all(np.isfinite(m)):
        raise InputError(f"minima must be finite points of {p} numbers each, got {minima!r}")
    return m.reshape(-1, p)


__all__ = ["GRADIENT_METHODS", "ChunkedFit", "Described", "minima_array", "split_names"]
