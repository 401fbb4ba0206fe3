"""Sweeps: every cell equals a single run; ranges, memory limits and determinism."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab import optimizers
from descentlab.sweep import parse_range, sweep


def suggested_lr(problem, method: str) -> float:
    """The α the configuration suggests for ``method`` on ``problem`` (the registry's family)."""
    spec = optimizers.get(method).hyper("lr")
    return problem.suggested.value(spec.suggest)


def _first_below(traj, floor, tol):
    gap = traj.losses - floor
    hit = np.flatnonzero(gap <= tol)
    return int(hit[0]) if hit.size else -1


@pytest.mark.parametrize(("name", "method"), [("line-fit", "nesterov"), ("line-fit", "momentum"),
                                              ("quadratic", "gd"), ("gabor", "nesterov"),
                                              ("rosenbrock", "adam"), ("himmelblau", "momentum")])
def test_every_cell_equals_a_single_run(name, method):
    problem = dl.catalogue.by_name(name)
    base = suggested_lr(problem, method)
    lrs = np.geomspace(base / 30, base * 3, 7)
    grid = {"lr": lrs} | ({"beta": np.linspace(0, 0.95, 5)} if method != "gd" else {})
    result = sweep(problem, method, grid, steps=120)
    floor = problem.min_loss or 0.0
    for index in np.ndindex(result.shape[:-1]):
        hyper = {k: float(v[i]) for (k, v), i in zip(result.axes.items(), index, strict=True)}
        traj = dl.run(dl.optimizers.make(method, **hyper), problem, steps=120)
        assert result.diverged_at[index][0] == (traj.diverged_at or -1)
        assert result.steps_to_tol[index][0] == _first_below(traj, floor, result.tol)
        if traj.diverged_at is None:
            assert result.final_loss[index][0] == pytest.approx(traj.losses[-1], rel=1e-9, abs=1e-14)
        else:
            assert np.isnan(result.final_loss[index][0])


def test_minibatch_seeds_share_batches_across_configurations():
    problem = dl.datasets.line_fit()
    result = sweep(problem, "nesterov", {"lr": [0.02, 0.05], "beta": [0.5, 0.8]}, steps=30, seeds=(3, 4),
                   batch_size=4)
    for s, seed in enumerate((3, 4)):
        traj = dl.run(dl.optimizers.nesterov(0.05, 0.5), problem, steps=30, batch_size=4, seed=seed)
        assert result.final_loss[1, 0, s] == pytest.approx(traj.losses[-1], rel=1e-12)
    assert result.final_loss[1, 0, 0] != result.final_loss[1, 0, 1]


def test_same_seeds_same_numbers():
    problem = dl.datasets.gabor()
    kw = dict(steps=40, seeds=(0, 1), batch_size=5)
    a = sweep(problem, "momentum", {"lr": [0.1, 0.5], "beta": [0.8]}, **kw)
    b = sweep(problem, "momentum", {"lr": [0.1, 0.5], "beta": [0.8]}, **kw)
    np.testing.assert_array_equal(a.final_loss, b.final_loss)
    np.testing.assert_array_equal(a.steps_to_tol, b.steps_to_tol)


def test_list_mode_and_chunks_give_the_same_answers():
    problem = dl.datasets.line_fit()
    lrs, betas = np.geomspace(1e-3, 0.1, 20), np.linspace(0, 0.9, 20)
    whole = sweep(problem, "nesterov", {"lr": lrs, "beta": betas}, steps=200, mesh=False)
    parts = sweep(problem, "nesterov", {"lr": lrs, "beta": betas}, steps=200, mesh=False, chunk=7)
    assert whole.shape == (20, 1)
    np.testing.assert_array_equal(whole.steps_to_tol, parts.steps_to_tol)
    np.testing.assert_allclose(whole.final_loss, parts.final_loss, rtol=1e-12)


def test_best_is_the_fastest_converging_cell():
    problem = dl.datasets.line_fit()
    result = sweep(problem, "momentum", {"lr": np.geomspace(1e-3, 0.1, 12), "beta": np.linspace(0, 0.9, 10)},
                   steps=300)
    best = result.best()
    i = int(np.argmin(np.abs(result.axes["lr"] - best["lr"])))
    j = int(np.argmin(np.abs(result.axes["beta"] - best["beta"])))
    steps = np.where(result.steps_to_tol[..., 0] >= 0, result.steps_to_tol[..., 0], 10**9)
    assert steps[i, j] == steps.min()


@pytest.mark.parametrize(("text", "expected"), [
    ("1e-4:1e-1:4:log", np.geomspace(1e-4, 1e-1, 4)), ("0:0.99:3", np.linspace(0, 0.99, 3)),
    ("0.1,0.5, 0.9", np.array([0.1, 0.5, 0.9])), ("2:2:1", np.array([2.0])),
])
def test_parse_range(text, expected):
    np.testing.assert_allclose(parse_range(text), expected)


@pytest.mark.parametrize("text", ["1e-4:1e-1:0", "1:2", "a:b:3", "0:1:3:cubic", "-1:1:5:log", "", "x,y",
                                  "nan:1:3", "1,inf"])
def test_malformed_ranges(text):
    with pytest.raises(ValueError):
        parse_range(text)


def test_bad_sweeps_are_refused_with_a_reason():
    problem = dl.datasets.line_fit()
    with pytest.raises(ValueError, match="too many"):
        sweep(problem, "nesterov", {"lr": np.geomspace(1e-4, 1, 5000), "beta": np.linspace(0, 0.9, 5000)},
              steps=10)
    with pytest.raises(ValueError, match="beta"):
        sweep(problem, "nesterov", {"lr": [0.1], "beta": [1.0]}, steps=10)
    with pytest.raises(ValueError, match="no hyper-parameter 'beta'"):
        sweep(problem, "gd", {"lr": [0.1], "beta": [0.5]}, steps=10)
    with pytest.raises(ValueError, match="same length"):
        sweep(problem, "nesterov", {"lr": [0.1, 0.2], "beta": [0.5]}, steps=10, mesh=False)
    with pytest.raises(ValueError, match="no data"):
        sweep(dl.problems.rosenbrock(), "nesterov", {"lr": [1e-3]}, steps=10, batch_size=2)


@pytest.mark.parametrize("method", ["gd", "sgd", "momentum", "nesterov"])
@pytest.mark.parametrize("name", ["line-fit", "quadratic"])
def test_compiled_kernel_matches_the_numpy_path(method, name):
    problem = dl.problems.quadratic(kappa=40.0, angle=25.0, dim=3) if name == "quadratic" else \
        dl.datasets.line_fit()
    base = suggested_lr(problem, method)
    grid = {"lr": np.geomspace(base / 100, base * 20, 24)}
    if method in ("momentum", "nesterov"):
        grid["beta"] = np.linspace(0, 0.98, 17)
    for steps in (0, 1, 150):
        fast = sweep(problem, method, grid, steps=steps, engine="numba")
        plain = sweep(problem, method, grid, steps=steps, engine="numpy")
        np.testing.assert_array_equal(fast.steps_to_tol, plain.steps_to_tol)
        np.testing.assert_array_equal(fast.diverged_at, plain.diverged_at)
        np.testing.assert_allclose(fast.final_loss, plain.final_loss, rtol=1e-9, atol=1e-14)
    assert plain.diverged.any() and (plain.steps_to_tol >= 0).any()  # both regimes were exercised


def test_numba_engine_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="numba engine"):
        sweep(dl.datasets.gabor(), "nesterov", {"lr": [0.1]}, steps=5, engine="numba")
    with pytest.raises(ValueError, match="engine must be"):
        sweep(dl.datasets.line_fit(), "nesterov", {"lr": [0.1]}, steps=5, engine="cuda")
