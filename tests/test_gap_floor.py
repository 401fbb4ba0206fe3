"""One gap rule for every sweep engine (descentlab.gap): the numpy path and the compiled quadratic kernel
decide "gap ≤ tol" on the same rounded quantity, and a tolerance below float64's resolution is raised to it
up front, so the engines agree cell by cell at every tolerance, 1e-320 included.

The numpy path (engine="numpy") evaluates L[φ_t] = N·a² + S_xx·d² + L_min in parameter space; the kernel
(engine="numba") holds g = ½ Σ λ_k e_k² in the eigenbasis. Before this rule the kernel compared g itself and
the numpy path L − L_min, which is exactly 0 once g < ½ ulp(L_min): thousands of numpy cells "reached"
1e-320 and no kernel cell did.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import descentlab as dl
from descentlab import gap, sweep_kernel
from descentlab.sweep import SAFETY, compiled_available, envelope_forms, sweep

EPS = float(np.finfo(np.float64).eps)
needs_numba = pytest.mark.skipif(not compiled_available(), reason="the compiled engine needs numba")


def exact_line():
    """y exactly on a line, minimum away from 0: L_min is rounding (~1e-31) and the gap of an iterate one
    rounding from φ* is what limits the numpy path (the second part of the resolution)."""
    x = np.linspace(0.0, 2.0, 12)
    return dl.problems.linear_regression(x, 1.5 + 0.7 * x, name="exact-line")


def grid(problem, n_lr=48, n_beta=40):
    base = problem.suggested.lr
    return {"lr": np.geomspace(base / 1000, base * 30, n_lr), "beta": np.linspace(0.0, 0.99, n_beta)}


# ---- the rule itself --------------------------------------------------------------------------

def test_gap_is_loss_minus_floor_never_negative():
    loss = np.array([1.0, 0.5, 0.25 - 1e-17, np.nan, np.inf])
    got = gap.gap(loss, 0.25)
    np.testing.assert_array_equal(got[:3], [0.75, 0.25, 0.0])
    assert np.isnan(got[3]) and got[4] == np.inf  # a diverged loss stays above every tolerance
    assert gap.gap(3.0, 1.0) == 2.0


def test_loss_gap_rounds_like_an_evaluated_loss():
    floor = 0.17221749286529964
    ulp = math.ulp(floor)
    assert gap.loss_gap(0.49 * ulp, floor) == 0.0           # below half a spacing: the loss is L_min
    assert gap.loss_gap(0.51 * ulp, floor) == ulp           # rounded to the grid near the floor
    for g in (3.3e-16, 1e-12, 0.7):
        assert gap.loss_gap(g, floor) == (floor + g) - floor  # the same operations as the numpy path
    assert gap.loss_gap(1e-300, 0.0) == 1e-300             # a zero floor rounds nothing


def test_resolution_is_the_larger_of_the_floor_rounding_and_the_iterate_rounding():
    assert gap.resolution(None) == 0.0 == gap.resolution(0.0)
    assert gap.resolution(-2.0) == gap.resolution(2.0) == 4 * EPS * 2.0
    lam, phi = 30.0, np.array([3.0, -4.0])                  # ‖φ*‖ = 5
    iterate = 4 * 0.5 * lam * (EPS * 5.0) ** 2 / gap.RELATIVE ** 2
    assert gap.resolution(1e-30, lam, phi) == pytest.approx(iterate, rel=1e-12)
    assert gap.resolution(1.0, lam, phi) == 4 * EPS      # there the floor's rounding is larger


def test_a_tolerance_below_the_resolution_is_raised_with_a_note():
    kept = gap.tolerance(1e-3, 0.5)
    assert kept == (1e-3, 1e-3, None)
    raised = gap.tolerance(1e-320, 0.5)
    assert raised.value == 2 * EPS and raised.requested == 1e-320
    assert "1e-320" in raised.note and "resolution" in raised.note and f"{2 * EPS:.3g}" in raised.note
    at = gap.tolerance(2 * EPS, 0.5)                         # exactly at it: kept
    assert at.note is None and at.value == 2 * EPS


def test_tolerance_for_a_problem_uses_its_hessian_and_minimum():
    problem = exact_line()
    lam = np.linalg.eigvalsh(problem.constant_hessian)[-1]
    want = gap.resolution(problem.min_loss, lam, problem.minima[0])
    assert gap.tolerance_for(problem, 1e-320).value == pytest.approx(want, rel=1e-12)
    assert want > 1e3 * gap.resolution(problem.min_loss)    # the iterate's rounding is what matters here
    gabor = dl.datasets.gabor()                              # no constant Hessian: the floor alone
    assert gap.tolerance_for(gabor, 1e-320).value == gap.resolution(gabor.min_loss)


def test_stays_below_leaves_room_for_the_rounding_of_the_floor():
    floor = 0.17221749286529964
    tol = gap.resolution(floor)
    level = gap.stays_below(tol, floor, SAFETY)
    assert gap.loss_gap(tol * (1 - SAFETY), floor) > tol    # the relative margin alone is not enough here
    # any g at or below the level, rounded as a loss, is still at or below tol
    for g in np.linspace(0.0, level, 2001):
        assert gap.loss_gap(g, floor) <= tol


# ---- the engines, cell by cell ----------------------------------------------------------------

def assert_same(fast, plain):
    np.testing.assert_array_equal(fast.diverged_at, plain.diverged_at)
    np.testing.assert_array_equal(fast.steps_to_tol, plain.steps_to_tol)
    np.testing.assert_allclose(fast.final_loss, plain.final_loss, rtol=1e-12,
                               atol=1e-12 * max(plain.start_gap, 1e-300))


@needs_numba
@pytest.mark.parametrize("method", ["nesterov", "momentum"])
def test_engines_agree_at_every_tolerance_on_the_line_fit(method):
    problem = dl.datasets.line_fit()
    floor = problem.min_loss
    resolution = gap.tolerance_for(problem, 1e-320).value
    reached = []
    for tol in (1e-3, 1e-12, 1e-16 * floor, 1e-320):
        plain = sweep(problem, method, grid(problem), steps=1000, tol=tol, engine="numpy")
        fast = sweep(problem, method, grid(problem), steps=1000, tol=tol, engine="numba")
        assert_same(fast, plain)
        assert fast.tol == plain.tol == max(tol, resolution)
        assert (plain.tol_note is None) == (tol >= resolution) and fast.tol_note == plain.tol_note
        reached.append(int((plain.steps_to_tol >= 0).sum()))
    # every tolerance was reached by some cells, and fewer as it falls; the last two are both the resolution
    assert reached[0] > reached[1] > reached[2] > 0 and reached[2] == reached[3]


@needs_numba
def test_engines_agree_where_the_iterate_rounding_sets_the_floor():
    """L_min ≈ 0 and φ* away from 0: the numpy path's iterates stall near φ* at a gap of ~1e-31 while the
    eigenbasis gap keeps falling, so a tolerance below the iterate part of the resolution would split the
    engines (304 of these 1920 cells did at 1e-320: 75 numpy cells reached it, 296 kernel cells);
    raised to it, they agree."""
    problem = exact_line()
    for tol in (1e-12, 1e-320):
        plain = sweep(problem, "nesterov", grid(problem), steps=1000, tol=tol, engine="numpy")
        fast = sweep(problem, "nesterov", grid(problem), steps=1000, tol=tol, engine="numba")
        assert_same(fast, plain)
        assert (plain.steps_to_tol >= 0).sum() > 100


@needs_numba
def test_the_finish_keeps_every_cell_below_the_tolerance_at_the_resolution():
    """The matrix-power finish freezes a cell once its envelope is ≤ gap.stays_below (the rounding of
    L_min + g is a fifth of the tolerance at the resolution). Finish on and off: the same steps to
    tolerance."""
    problem = dl.datasets.line_fit()
    floor = problem.min_loss
    tol = gap.tolerance_for(problem, 1e-320).value
    lam, vectors = np.linalg.eigh(problem.constant_hessian)
    e0 = (np.asarray(problem.suggested.start) - problem.minima[0]) @ vectors
    lr, beta = (v.ravel() for v in np.meshgrid(*grid(problem, 40, 40).values(), indexing="ij"))
    spec = dl.optimizers.get("nesterov")
    mats = spec.linear.matrix({"lr": lr[:, None], "beta": beta[:, None]}, lam[None, :])
    stable = np.max(dl.theory.matrix_radius(mats), axis=1) < 1 - 1e-9
    forms, ok = envelope_forms(np.where(stable[:, None, None, None], mats, 0.0))
    stable &= ok.all(axis=1)
    bound = dl.divergence.limits(float(problem.loss(problem.suggested.start)))
    left = np.empty(lr.size, dtype=np.int64)
    safe = gap.stays_below(tol, floor, SAFETY)
    on = sweep_kernel.run_quadratic(mats, lam, e0, 1000, safe, tol, floor, bound, stable, forms, left=left)
    still = np.zeros_like(stable)
    off = sweep_kernel.run_quadratic(mats, lam, e0, 1000, safe, tol, floor, bound, still, forms)
    assert ((left < 1000) & (on[2] < 0)).sum() > 100         # the finish was exercised
    np.testing.assert_array_equal(on[1], off[1])
    np.testing.assert_array_equal(on[2], off[2])
