"""The block-vectorised quadratic sweep kernel (descentlab.sweep_kernel) against the numpy path, cell by cell.

The numpy path (engine="numpy") runs the optimizers themselves in parameter space; the kernel runs the
registry's iteration matrices in the Hessian's eigenbasis, 64 configurations per SIMD block. Steps to
tolerance and divergence must be identical, final losses equal to rounding (1e-12 relative, or 1e-12 of
the start's gap where the loss itself is at the rounding level of a zero minimum).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import descentlab as dl
from descentlab import optimizers, sweep_kernel
from descentlab.sweep import sweep

LINEAR = [m for m in optimizers.names() if optimizers.get(m).linear is not None]


def problem_named(name: str):
    if name == "line-fit":
        return dl.datasets.line_fit()
    kappa, dim = name.split("/")
    return dl.problems.quadratic(kappa=float(kappa), angle=25.0, dim=int(dim))


def grid_for(problem, method: str, n_lr: int, n_beta: int) -> dict[str, np.ndarray]:
    """α from 1/1000 of the suggested one to 30 × it (the top diverges), β over [0, 0.99]: stable, slow,
    oscillating (β near 1) and diverging cells in one grid, with sizes that leave a partial block."""
    base = problem.suggested.value(optimizers.get(method).hyper("lr").suggest)
    grid = {"lr": np.geomspace(base / 1000, base * 30, n_lr)}
    if "beta" in optimizers.get(method).hyper_names:
        grid["beta"] = np.linspace(0.0, 0.99, n_beta)
    return grid


def assert_same(fast, plain):
    np.testing.assert_array_equal(fast.diverged_at, plain.diverged_at)
    np.testing.assert_array_equal(fast.steps_to_tol, plain.steps_to_tol)
    np.testing.assert_array_equal(np.isnan(fast.final_loss), np.isnan(plain.final_loss))
    np.testing.assert_allclose(fast.final_loss, plain.final_loss, rtol=1e-12,
                               atol=1e-12 * max(plain.start_gap, 1e-300))


def test_every_linear_method_of_the_registry_is_covered():
    assert {"gd", "momentum", "nesterov"} <= set(LINEAR)


@pytest.mark.parametrize("method", LINEAR)
@pytest.mark.parametrize("name", ["line-fit", "1/2", "10/2", "1e4/2", "10/3", "1e4/5"])
def test_kernel_equals_the_numpy_path(method, name):
    problem = problem_named(name)
    grid = grid_for(problem, method, 37, 11)
    gap = problem.loss(problem.suggested.start) - problem.min_loss
    regimes = {"converged": False, "diverged": False, "above": False}
    for tol in (None, gap * 1e-13, gap * 0.3):  # the default (1e-6 of the gap), tiny, large
        for steps in (0, 1, 7, 8, 9, 250):  # around the housekeeping period (8 steps)
            fast = sweep(problem, method, grid, steps=steps, tol=tol, engine="numba")
            plain = sweep(problem, method, grid, steps=steps, tol=tol, engine="numpy")
            assert_same(fast, plain)
            regimes["converged"] |= bool((plain.steps_to_tol > 0).any())
            regimes["diverged"] |= bool(plain.diverged.any())
            regimes["above"] |= bool(((plain.steps_to_tol < 0) & ~plain.diverged).any())
    assert all(regimes.values()), regimes  # every kind of cell was compared


def test_oscillating_cells_that_dip_below_and_rise_again():
    """β near 1 on the line fit: gaps that cross the tolerance several times before they stay below, so
    "steps to tolerance" is not the first dip; the kernel must count the last entry like the numpy path."""
    problem = dl.datasets.line_fit()
    grid = {"lr": np.geomspace(problem.suggested.lr / 10, problem.suggested.lr * 3, 50),
            "beta": np.linspace(0.9, 0.995, 30)}
    gap = problem.loss(problem.suggested.start) - problem.min_loss
    fast = sweep(problem, "momentum", grid, steps=600, tol=gap * 1e-3, engine="numba")
    plain = sweep(problem, "momentum", grid, steps=600, tol=gap * 1e-3, engine="numpy")
    assert_same(fast, plain)
    assert (plain.steps_to_tol > 0).sum() > 100


def test_many_blocks_and_a_partial_one_on_both_finishes():
    """More than a few blocks (and 2 threads), the matrix-power finish on and off: the same outputs."""
    problem = dl.datasets.line_fit()
    lrs, betas = np.geomspace(1e-4, 1e-1, 45), np.linspace(0.0, 0.99, 41)  # 1845 = 28 blocks + 53
    plain = sweep(problem, "nesterov", {"lr": lrs, "beta": betas}, steps=400, engine="numpy")
    fast = sweep(problem, "nesterov", {"lr": lrs, "beta": betas}, steps=400, engine="numba")
    assert_same(fast, plain)
    # the kernel alone, with the finish off (no configuration is stable enough to jump): equal too
    from descentlab.sweep import SAFETY, _Engine

    runner = _Engine(problem, "nesterov", problem.suggested.start, 400, plain.tol, problem.min_loss,
                     dl.divergence.limits(float(problem.loss(problem.suggested.start))))
    a, b = (v.ravel() for v in np.meshgrid(lrs, betas, indexing="ij"))
    hyper = {"lr": a, "beta": b}
    stable, forms = runner._envelopes(hyper)
    lam, vectors, centre = runner.quadratic
    e0 = (problem.suggested.start - centre) @ vectors
    bound = runner.bound
    left = np.empty(a.size, dtype=np.int64)
    mats, safe = runner._matrices(hyper), plain.tol * (1 - SAFETY)
    on = sweep_kernel.run_quadratic(mats, lam, e0, 400, safe, plain.tol, problem.min_loss, bound, stable,
                                    forms, left=left)
    jumped = (left < 400) & (on[2] < 0)
    assert jumped.sum() > 100  # the finish was exercised
    off = sweep_kernel.run_quadratic(mats, lam, e0, 400, safe, plain.tol, problem.min_loss, bound,
                                     np.zeros_like(stable), forms)
    np.testing.assert_array_equal(on[1], off[1])
    np.testing.assert_array_equal(on[2], off[2])
    np.testing.assert_allclose(on[0], off[0], rtol=1e-12)
    np.testing.assert_array_equal(on[1].reshape(plain.shape[:-1]), plain.steps_to_tol[..., 0])
    np.testing.assert_array_equal(left[on[2] >= 0], on[2][on[2] >= 0])  # diverged: left where it diverged


def test_importing_the_kernel_module_does_not_import_numba():
    code = "import sys, descentlab.sweep_kernel; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
