r"""The one gap rule of every sweep engine: how far a loss is above the floor, and the smallest
tolerance on it that float64 can decide.

A sweep counts a configuration as converged from the step after which the **gap**

.. math:: \mathrm{gap}_t = \max(L[\phi_t] - L_{\min},\ 0)

stays at or below the tolerance (L_min, the *floor*, is 0 when the minimum is unknown). Every
engine decides on this very quantity, computed by :func:`gap` from a loss value:

* the numpy path evaluates L[φ_t] (for the line fit N·a² + S_xx·d² + L_min, see
  :mod:`descentlab.problems.linear_regression`) and takes :func:`gap` of it;
* the quadratic kernel (:mod:`descentlab.sweep_kernel`) holds the gap itself, g = ½ Σ λ_k e_k² in
  the Hessian's eigenbasis, and first forms the loss L_min + g, as the numpy path's loss is formed,
  then takes :func:`gap` of that (:func:`loss_gap`);
* the compiled data-model kernel (:mod:`descentlab.sweep_general`) sums the loss over the data and
  compares loss − L_min, the same decision for every positive tolerance. Its sum runs in another
  order than numpy's (sequential against pairwise), so its loss differs from the numpy path's by a
  few eps·L·log N; the :func:`resolution` below covers the floor's rounding, not that.

Why the kernel does not compare g itself: L_min + g rounds to the float64 grid near L_min, whose
spacing is ulp(L_min) ≈ 2.2e-16·|L_min|, so a loss-based gap moves in steps of that size and is
exactly 0 once g < ½ ulp(L_min), while g computed in the eigenbasis keeps falling (1e-30, 1e-60, …).
Compared on different quantities, the engines disagreed for every tolerance below the rounding
level (a tolerance of 1e-320 was "reached" by thousands of numpy cells — a gap of exactly 0 — and
by no kernel cell), and near it by one or more steps (the rounded and the unrounded gap straddle
the tolerance at different steps). Compared on the same rounded quantity, they differ only where
the two engines' g, equal to some 1e-15 relative, straddle a rounding boundary.

**The resolution.** Two things bound the gap a tolerance can ask for:

* the rounding of the floor: L − L_min moves in steps of ulp(L_min) and is known to about
  :data:`FLOOR_ULPS` · eps · |L_min| (the rounding of L and of L_min); below that, "converged to
  the tolerance" could never be told from "converged to the rounding level". Both engines round
  alike (above), so this part is about honesty, not agreement;
* the rounding of the iterate, on a quadratic with largest curvature λ_max and minimum φ*: the
  numpy path steps φ_t in float64, which is known to about eps‖φ*‖ near φ*, so its gap
  carries an error of G_φ = ½ λ_max (eps‖φ*‖)² and more; the eigenbasis recurrence steps
  e = φ − φ* itself and has no such error. At a gap of size tol, e ≈ √(2 tol / λ), so the two
  differ by about 2√(G_φ / tol) relative: the tolerance is decided alike (to :data:`RELATIVE`)
  from tol ≥ 4 G_φ / RELATIVE² up.

:func:`resolution` is the larger of the two, and :func:`tolerance` raises a tolerance below it to
it, up front, with a note that says so.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

EPS = float(np.finfo(np.float64).eps)
"""The float64 machine epsilon, 2⁻⁵² ≈ 2.2e-16."""

FLOOR_ULPS = 4.0
"""The rounding level of L − L_min is FLOOR_ULPS · eps · |L_min|: a few roundings of numbers of
L_min's size (the loss, the floor)."""

RELATIVE = 1e-6
"""The relative precision to which every engine's gap must be known at the tolerance (the
parameter-space rounding of the numpy path, see the module docstring); the same margin as the
envelope test of the matrix-power finish (:data:`descentlab.sweep.SAFETY`)."""


def gap(loss, floor):
    """max(loss − floor, 0): the gap of a loss value (a number or an array) above the floor.

    Compiles under numba as it stands (the quadratic kernel calls it inside its SIMD loop)."""
    return np.maximum(loss - floor, 0.0)


def loss_gap(g, floor):
    """The gap of the loss floor + g, as an engine that evaluates the loss would find it: g
    rounded to the float64 grid near the floor (0 below half its spacing), then :func:`gap`."""
    return gap(floor + g, floor)


def resolution(floor: float | None, curvature: float | None = None,
               minimum: np.ndarray | None = None) -> float:
    """The smallest tolerance on the gap that float64 decides alike in every engine near the floor
    (see the module docstring): FLOOR_ULPS · eps · |floor| or, where the largest curvature λ_max of
    a quadratic (``curvature``) and its minimum φ* are given, 4 G_φ / RELATIVE² with
    G_φ = ½ λ_max (eps ‖φ*‖)², whichever is larger."""
    level = FLOOR_ULPS * EPS * abs(float(floor or 0.0))
    if curvature is not None and minimum is not None:
        size = EPS * float(np.linalg.norm(np.asarray(minimum, dtype=np.float64)))
        level = max(level, 4.0 * 0.5 * abs(float(curvature)) * size * size / (RELATIVE * RELATIVE))
    return level if math.isfinite(level) else math.inf


class Tolerance(NamedTuple):
    """The tolerance a sweep uses, what was asked for, and why they differ (None when they do not)."""

    value: float
    requested: float
    note: str | None = None


def tolerance(tol: float, floor: float | None, curvature: float | None = None,
              minimum: np.ndarray | None = None) -> Tolerance:
    """``tol`` raised to :func:`resolution` where it is below it, with a note saying so.

    Both engines then decide "gap ≤ tolerance" on :func:`gap` of a loss, a quantity they compute
    alike (to some 1e-15 relative) at every tolerance this returns."""
    tol = float(tol)
    level = resolution(floor, curvature, minimum)
    if not tol < level:
        return Tolerance(tol, tol)
    where = "L_min = 0" if not floor else f"L_min = {float(floor):.6g}"
    note = (f"tolerance {tol:.3g} is below the float64 resolution of L − L_min near {where} "
            f"({level:.3g}); sweeping to {level:.3g} instead")
    return Tolerance(level, tol, note)


def stays_below(tol: float, floor: float | None, safety: float) -> float:
    """The level a proven upper bound on the unrounded gap g must reach for :func:`loss_gap` to stay
    ≤ ``tol`` at every later step: ``tol`` less its relative ``safety`` margin and less the
    rounding of floor + g (at most half a spacing of the float64 grid near the floor, ≤ ½ eps·|floor|,
    taken as a whole eps·|floor| to cover the floor's own rounding)."""
    return float(tol) * (1.0 - safety) - EPS * abs(float(floor or 0.0))


def tolerance_for(problem, tol: float) -> Tolerance:
    """:func:`tolerance` for a problem: its floor (``min_loss``) and, where its Hessian is constant
    (``constant_hessian``, a quadratic) and a minimum is known, the largest curvature and the
    minimum."""
    floor = problem.min_loss
    hessian = problem.constant_hessian
    minima = problem.minima
    if hessian is None or len(minima) == 0:
        return tolerance(tol, floor)
    return tolerance(tol, floor, float(np.max(np.abs(np.linalg.eigvalsh(hessian)))), minima[0])
