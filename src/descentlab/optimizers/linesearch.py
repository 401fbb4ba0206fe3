r"""Gradient descent with line search (book §6.1, Figure 6.1; notebooks 6.1 and 6.2).

"Move in the steepest downhill direction until we can improve no further": every step goes
along −∇L by the distance that (approximately) minimises the loss on that line,

.. math::
    \alpha_t = \operatorname*{argmin}_{\alpha \ge 0} L\Big[\phi_t - \alpha \cdot
        \frac{\partial L}{\partial \phi}[\phi_t]\Big], \qquad
    \phi_{t+1} \leftarrow \phi_t - \alpha_t \cdot \frac{\partial L}{\partial \phi}[\phi_t]

and records the α_t it chose (buffer ``alpha``: ``alpha[t+1]`` is the step that led to φ_{t+1}).

Two modes:

* ``bracket`` (default; the book notebook's search): four points 0 = a < b < c < d = max_dist
  (b, c at 0.33 and 0.66 of d) on the line φ_t − s·g. While |b − c| > thresh and fewer than
  ``max_iter`` rounds were made: if a is lowest, halve the bracket toward a (b, c, d ← a + (· − a)/2);
  else if L(b) < L(c), d ← c; else a ← b; then b, c ← a + (d − a)/3, a + 2(d − a)/3.
  α_t = (b + c)/2. Works on any problem.
* ``exact``: where the Hessian H is constant (linear regression, quadratics) the line's minimum is
  α_t = gᵀg / gᵀHg; consecutive gradients are then orthogonal.

Line search always uses all the data (it is gradient descent's step length that it chooses).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from descentlab.errors import InputError
from descentlab.optimizers.registry import Hyper, Probe, Rule, positive, register


class LineSearchState(NamedTuple):
    """φ_t and α_{t−1}, the step length chosen by the last update (0 before the first)."""

    params: np.ndarray
    alpha: np.ndarray


def init(params: Any) -> LineSearchState:
    p = np.array(params, dtype=np.float64)
    return LineSearchState(p, np.zeros(p.shape[:-1]))


def _per_row(value, shape: tuple[int, ...]) -> np.ndarray:
    """A hyper-parameter (a number, or a column of shape ``(..., 1)`` as sweeps pass them) per row."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (*shape, 1))[..., 0]


def bracket(loss, phi: np.ndarray, grad: np.ndarray, max_dist, tol, max_iter) -> np.ndarray:
    """The notebook's four-point bracketing search for argmin_s L[φ − s·g], row by row.

    ``max_dist``, ``tol`` and ``max_iter`` are numbers or, for a batch of configurations
    (``phi`` of shape ``(n, P)``), columns of shape ``(n, 1)``.
    """
    shape = phi.shape[:-1]
    max_dist, tol, max_iter = (_per_row(v, shape) for v in (max_dist, tol, max_iter))
    a = np.zeros(shape)
    b, c, d = (f * max_dist for f in (0.33, 0.66, 1.0))
    for n_iter in range(int(np.max(max_iter, initial=0))):
        active = (np.abs(b - c) > tol) & (n_iter < max_iter)
        if not active.any():
            break
        s = np.stack([a, b, c, d])
        la, lb, lc, ld = loss(phi - s[..., None] * grad)
        first = active & (la <= lb) & (la <= lc) & (la <= ld)  # np.argmin's tie rule: a wins
        left = active & ~first & (lb < lc)
        right = active & ~first & ~left
        b, c, d = (np.where(first, a + (v - a) / 2.0, v) for v in (b, c, d))
        d = np.where(left, c, d)
        a = np.where(right, b, a)
        moved = left | right
        third = (d - a) / 3.0
        b, c = np.where(moved, a + third, b), np.where(moved, a + 2.0 * third, c)
    return (b + c) / 2.0


def exact(hessian: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """gᵀg / gᵀHg, the minimum of a quadratic along −g (0 where g = 0)."""
    gg = np.sum(grad * grad, axis=-1)
    curv = np.einsum("...i,ij,...j->...", grad, hessian, grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gg > 0, gg / curv, 0.0)


@register("linesearch",
          Hyper("mode", "mode", default="bracket", kind="choice", choices=("bracket", "exact"),
                help="bracket (the book notebook's search) or exact (gᵀg/gᵀHg, constant Hessians only)"),
          *(dataclasses.replace(h, applies_when=("mode", "bracket")) for h in (
              dataclasses.replace(positive("max_dist", "d", 0.1, search=(1e-3, 10.0), help="largest step s "
                                           "of the bracket, along −g (default: 4/L for your own data and "
                                           "losses, else 0.1, the notebook's)"), suggest="max_dist"),
              dataclasses.replace(positive("thresh", "τ", 1e-5, help="stop the bracket when |b − c| ≤ τ "
                                           "(default: 1e-4·d for your own data and losses, else 1e-5, the "
                                           "notebook's thresh)"), suggest="thresh"),
              Hyper("max_iter", "n", default=15, kind="int", low=1, high=10_000,
                    help="at most this many rounds of the bracket (default 15)"))),
          full_batch=True, needs_loss=True, color="#17becf", marker="p")
def linesearch(mode="bracket", max_dist=0.1, thresh=1e-5, max_iter=15):
    r"""Gradient descent with line search (book §6.1): the step length that minimises L along −∇L.

    Args:
        mode: ``"bracket"`` (the notebook's four-point search) or ``"exact"`` (gᵀg / gᵀHg).
        max_dist: the far end d of the initial bracket, in multiples of the gradient.
        thresh: the bracket stops once |b − c| ≤ thresh.
        max_iter: at most this many rounds of the bracket.
    """
    def update(state: LineSearchState, grad: np.ndarray, probe: Probe) -> LineSearchState:
        if mode == "exact":
            if probe.hessian is None:
                raise InputError(f"linesearch mode 'exact' needs a constant Hessian (linear regression, a "
                                 f"quadratic); {probe.problem} has none: use mode bracket")
            alpha = exact(probe.hessian, grad)
        else:
            alpha = bracket(probe.loss, state.params, grad, max_dist, thresh, max_iter)
        alpha = np.asarray(alpha, dtype=np.float64)
        return LineSearchState(state.params - alpha[..., None] * grad, alpha)

    return Rule(init, update)
