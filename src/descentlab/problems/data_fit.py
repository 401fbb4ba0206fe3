r"""Problems that fit a model f[x, φ] to data {x_i, y_i} by the sum of squared errors (book eq. 2.5).

.. math::
    L[\phi] = \sum_{i=1}^{N} \ell_i = \sum_{i=1}^{N} (f[x_i, \phi] - y_i)^2, \qquad
    \frac{\partial L}{\partial \phi} = \sum_{i=1}^{N} 2\,(f[x_i, \phi] - y_i)\,
        \frac{\partial f[x_i, \phi]}{\partial \phi}

:func:`with_reduction` gives the same fit with the mean over the examples instead (:class:`MeanFit`).

Where both are needed at one point (a sweep's loss at φ_{t+1} and the gradient taken there next),
:meth:`DataFit.value_and_grad` gives them from one pass: one prediction, the residuals r_i reused
for the sum Σ r_i² and for Σ 2 r_i ∂f/∂φ. A model may fuse further (:class:`~descentlab.problems.gabor.Gabor`
computes its transcendental functions once per point, with no stacked Jacobian).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from descentlab.errors import InputError
from descentlab.problems.base import Problem, check_batch


@dataclass(frozen=True, eq=False, repr=False)
class DataFit(Problem):
    """A model fitted to x, y data. Subclasses give ``predict`` and ``jacobian``."""

    x: np.ndarray = None  # type: ignore[assignment]
    y: np.ndarray = None  # type: ignore[assignment]
    x_label: str = "x"
    y_label: str = "y"

    @property
    def n_examples(self) -> int:
        return len(self.x)

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        """f[x, φ] for ``points`` (..., P) and inputs ``x`` (M,): shape (..., M)."""
        raise NotImplementedError

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        """∂f[x, φ]/∂φ: shape (..., M, P)."""
        raise NotImplementedError

    def _data(self, batch: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        idx = check_batch(batch, self.n_examples, self.name)
        return (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        r = self.predict(self._points(points), x) - y
        return np.sum(r * r, axis=-1)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        p = self._points(points)
        r = self.predict(p, x) - y
        return 2.0 * np.einsum("...n,...np->...p", r, self.jacobian(p, x))

    def value_and_grad(self, points: np.ndarray,
                       batch: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(L, ∂L/∂φ) at the same ``points``, shapes (...) and (..., P), from one pass over the data.

        Equal to ``(loss(points, batch), grad(points, batch))`` up to rounding. A subclass that
        computes its loss or gradient its own way (a closed form, blocks of points) gets exactly
        those two; one that gives only ``predict`` and ``jacobian`` shares the residuals."""
        own = type(self)
        if own.loss is not DataFit.loss or (own.grad is not DataFit.grad and own._fused is DataFit._fused):
            return self.loss(points, batch), self.grad(points, batch)
        x, y = self._data(batch)
        return self._fused(self._points(points), x, y)

    def _fused(self, p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(L, ∂L/∂φ) at checked points ``p`` on data ``x``, ``y``: one prediction, one Jacobian."""
        r = self.predict(p, x) - y
        return np.sum(r * r, axis=-1), 2.0 * np.einsum("...n,...np->...p", r, self.jacobian(p, x))


REDUCTIONS = ("sum", "mean")
"""How a data loss adds its examples up: the book's sum (the default), or their mean."""


@dataclass(frozen=True, eq=False, repr=False)
class MeanFit(DataFit):
    r"""A data problem whose loss is the **mean** over the examples instead of the book's sum:

    .. math::
        L_{\text{mean}}[\phi] = \frac{1}{N}\sum_{i=1}^{N} \ell_i, \qquad
        \text{on a minibatch } \mathcal{B}_t:\ \frac{1}{|\mathcal{B}_t|}\sum_{i \in \mathcal{B}_t} \ell_i

    (and the same for the gradients): divided by N on all the data, by the batch's own size on a
    minibatch, as PyTorch's ``reduction="mean"`` does. The book keeps the sum (eqs. 2.5, 6.9), and so
    does descentlab unless asked. The curvature is divided by N, so the suggested gradient and
    momentum steps are N times larger and a full-data run is the same run as the sum's with
    α·N; adaptive methods, whose steps do not scale with the gradient, keep theirs.
    """

    base: DataFit = None  # type: ignore[assignment]

    @property
    def reduction(self) -> str:
        return "mean"

    @property
    def examples_per_loss(self) -> int:
        """As the base problem (the mean reads what the sum reads)."""
        return self.base.examples_per_loss

    @property
    def hessian(self) -> np.ndarray | None:
        """The base problem's constant Hessian divided by N (None where it has none)."""
        h = self.base.constant_hessian
        return None if h is None else h / self.n_examples

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.predict(points, x)

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.jacobian(points, x)

    def _count(self, batch: np.ndarray | None) -> int:
        idx = check_batch(batch, self.n_examples, self.name)
        return self.n_examples if idx is None else len(idx)

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.loss(points, batch) / self._count(batch)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.grad(points, batch) / self._count(batch)

    def value_and_grad(self, points: np.ndarray,
                       batch: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The base problem's fused (L, ∂L/∂φ), both divided by the examples counted."""
        value, grad = self.base.value_and_grad(points, batch)
        count = self._count(batch)
        return value / count, grad / count


def with_reduction(problem: DataFit, reduction: str = "sum") -> DataFit:
    """``problem`` with its loss summed over the examples (``"sum"``, the book's; the problem as it
    is) or averaged (``"mean"``: a :class:`MeanFit`, named ``"… (mean)"``, whose suggested settings
    are the sum's with every gradient and momentum α multiplied by N — the same full-data run)."""
    if reduction not in REDUCTIONS:
        raise InputError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    if not isinstance(problem, DataFit):
        raise InputError(f"reduction applies to problems with data; {problem.name!r} has none")
    if reduction == "sum" or isinstance(problem, MeanFit):
        return problem
    n = problem.n_examples
    s = problem.suggested

    def times_n(value: float | None) -> float | None:
        return None if value is None else float(f"{value * n:.12g}")

    suggested = dataclasses.replace(
        s, lr=times_n(s.lr), gd_lr=times_n(s.gd_lr), max_dist=times_n(s.max_dist), thresh=times_n(s.thresh),
        curvature=None if s.curvature is None else s.curvature / n, reduction="mean")
    return MeanFit(name=f"{problem.name} (mean)", param_names=problem.param_names, minima=problem.minima,
                   suggested=suggested, log_levels=problem.log_levels, x=problem.x, y=problem.y,
                   x_label=problem.x_label, y_label=problem.y_label, base=problem)
