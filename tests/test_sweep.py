"""Sweeps: every cell equals a single run; ranges, memory limits and determinism."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab import optimizers
from descentlab import sweep as sweep_mod
from descentlab.sweep import envelope_forms, parse_range, sweep


def suggested_lr(problem, method: str) -> float:
    """The α the configuration suggests for ``method`` on ``problem`` (the registry's family)."""
    spec = optimizers.get(method).hyper("lr")
    return problem.suggested.value(spec.suggest)


def stays_below_from(traj, floor, tol):
    """The oracle, by a plain loop from the end: the first step t after which L − L_min ≤ tol at
    every step to the end of the run; −1 when the run ends above it or diverged."""
    if traj.diverged_at is not None:
        return -1
    gap = traj.losses - floor
    t = len(gap)
    while t > 0 and gap[t - 1] <= tol:
        t -= 1
    return -1 if t == len(gap) else t


def first_dip(traj, floor, tol):
    hit = np.flatnonzero(traj.losses - floor <= tol)
    return int(hit[0]) if hit.size else -1


def _check_cells(result, problem, method, steps, start=None):
    """Every cell of ``result`` against a direct run; returns how many cells dipped below the
    tolerance before they stayed there (the cells where the two definitions differ)."""
    floor = problem.min_loss or 0.0
    overshoots = 0
    for index in np.ndindex(result.shape[:-1]):
        hyper = {k: float(v[i]) for (k, v), i in zip(result.axes.items(), index, strict=True)}
        traj = dl.run(dl.optimizers.make(method, **hyper), problem, start=start, steps=steps)
        assert result.diverged_at[index][0] == (traj.diverged_at or -1), hyper
        assert result.steps_to_tol[index][0] == stays_below_from(traj, floor, result.tol), hyper
        if traj.diverged_at is None:
            assert result.final_loss[index][0] == pytest.approx(traj.losses[-1], rel=1e-9, abs=1e-14)
            assert result.nearest_minimum[index][0] == np.argmin(np.linalg.norm(problem.minima - traj.final,
                                                                                 axis=1))
        else:
            assert np.isnan(result.final_loss[index][0])
        stays = stays_below_from(traj, floor, result.tol)
        overshoots += first_dip(traj, floor, result.tol) not in (-1, stays)
    return overshoots


@pytest.mark.parametrize(("name", "method"), [("line-fit", "nesterov"), ("line-fit", "momentum"),
                                              ("quadratic", "gd"), ("gabor", "nesterov"),
                                              ("rosenbrock", "adam"), ("himmelblau", "momentum")])
def test_every_cell_equals_a_single_run(name, method):
    problem = dl.catalogue.by_name(name)
    base = suggested_lr(problem, method)
    lrs = np.geomspace(base / 30, base * 3, 7)
    grid = {"lr": lrs} | ({"beta": np.linspace(0, 0.95, 5)} if method != "gd" else {})
    result = sweep(problem, method, grid, steps=120)
    _check_cells(result, problem, method, 120)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(("name", "method"), [("quadratic", "momentum"), ("quadratic", "nesterov"),
                                              ("line-fit", "nesterov"), ("line-fit", "momentum"),
                                              ("line-fit", "gd")])
def test_steps_to_tolerance_counts_from_where_the_gap_stays_below(name, method, engine, monkeypatch):
    """Oscillating cells (β up to 0.995) dip below the tolerance and rise again; the sweep counts
    the step from which they stay below, in the numpy path, the compiled kernel and the matrix-power
    finish alike (the budget is long, so most cells are finished by the jump)."""
    jumped = []
    jump = sweep_mod._Engine._jump
    monkeypatch.setattr(sweep_mod._Engine, "_jump", lambda self, state, idx, rows, *a: (
        jumped.append(int(rows.sum())), jump(self, state, idx, rows, *a))[1])
    problem = dl.catalogue.by_name(name)
    base = suggested_lr(problem, method)
    grid = {"lr": np.geomspace(base / 10, base * 3, 6)}
    if method != "gd":
        grid["beta"] = np.array([0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.995])
    result = sweep(problem, method, grid, steps=1500, engine=engine)
    overshoots = _check_cells(result, problem, method, 1500)
    if method != "gd":
        assert overshoots >= 3  # the first dip would have been wrong on these cells
    assert (result.steps_to_tol >= 0).sum() >= result.steps_to_tol.size // 3
    if engine == "numpy":
        assert sum(jumped) >= (result.steps_to_tol >= 0).sum() // 2  # the matrix-power finish was exercised


def test_the_star_is_not_a_cell_that_rises_again():
    """The issue's case: on line-fit, Nesterov's best cell by first dip rises above the tolerance
    again; the best cell now stays below from the step it reports."""
    problem = dl.datasets.line_fit()
    spec = dl.optimizers.get("nesterov")
    grid = {"lr": spec.hyper("lr").grid(32), "beta": spec.hyper("beta").grid(32)}
    result = sweep(problem, "nesterov", grid, steps=500)
    best = result.best()
    traj = dl.run(dl.optimizers.nesterov(**best), problem, steps=500)
    t = stays_below_from(traj, problem.min_loss, result.tol)
    assert t > 0 and np.all(traj.losses[t:] - problem.min_loss <= result.tol)
    assert traj.losses[t - 1] - problem.min_loss > result.tol


def test_envelope_bounds_every_later_error():
    """The monotone envelope of a stable 2×2 map: e² at every later step is below xᵀBx, and the
    Lyapunov function it comes from never increases (random matrices, including nearly defective and
    nearly unstable ones)."""
    rng = np.random.default_rng(4)
    mats = []
    for _ in range(400):
        m = rng.normal(size=(2, 2)) * rng.choice([0.3, 1.0, 3.0])
        radius = dl.theory.matrix_radius(m)
        mats.append(m / radius * rng.uniform(0.2, 0.999))
    mats.append(np.array([[0.9, 1.0], [0.0, 0.9]]))                 # defective: transient growth
    mats.append(np.array([[0.5, 0.0], [0.0, 0.0]]))                 # gradient descent's diag(q, 0)
    mats = np.array(mats)
    forms, ok = envelope_forms(mats)
    assert ok.all()
    for m, b in zip(mats, forms, strict=True):
        for x in rng.normal(size=(5, 2)):
            bound = x @ b @ x
            state, peak = x.copy(), 0.0
            for _ in range(600):
                peak = max(peak, state[0] ** 2)
                state = m @ state
            assert peak <= bound * (1 + 1e-9) + 1e-300
    # gradient descent's bound is exact: e_t² itself (the map is monotone)
    assert forms[-1][0, 0] == pytest.approx(1.0) and forms[-1][1, 0] == pytest.approx(0.0)


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
        sweep(dl.datasets.gabor(), "adam", {"lr": [0.1]}, steps=5, engine="numba")
    with pytest.raises(ValueError, match="engine must be"):
        sweep(dl.datasets.line_fit(), "nesterov", {"lr": [0.1]}, steps=5, engine="cuda")


def test_gabor_cells_at_another_minimum_are_told_apart():
    """From near Gabor's local minimum #1, cells that settle there are "another minimum", not "not
    within N steps": not below the tolerance of the global minimum, nearest to #1, and there (loss
    within the tolerance of its loss) or stationary; each checked against a direct run."""
    problem = dl.datasets.gabor()
    start = (6.0, 12.5)
    result = sweep(problem, "gd", {"lr": np.geomspace(0.01, 1, 8)}, steps=300, start=start)
    _check_cells(result, problem, "gd", 300, start=start)
    other = result.other_minimum[:, 0]
    assert other[3:6].all() and not other[:3].any()  # small steps have not arrived yet
    assert list(result.global_minima) == [0]
    for i in np.flatnonzero(other):
        traj = dl.run(dl.optimizers.gd(lr=float(result.axes["lr"][i])), problem, start=start, steps=300)
        assert traj.losses[-1] - problem.min_loss > result.tol
        near = int(np.argmin(np.linalg.norm(problem.minima - traj.final, axis=1)))
        assert near == result.nearest_minimum[i, 0] and near != 0
        at_minimum = abs(traj.losses[-1] - float(problem.loss(problem.minima[near]))) <= result.tol
        stationary = np.linalg.norm(problem.grad(traj.final)) <= result.grad_tol
        assert at_minimum or stationary


def test_a_run_crawling_to_the_global_minimum_is_not_another_minimum():
    problem = dl.datasets.gabor()
    spec = optimizers.get("nesterov")
    grid = {"lr": spec.hyper("lr").grid(24), "beta": spec.hyper("beta").grid(24)}
    result = sweep(problem, "nesterov", grid, steps=300)
    other = result.other_minimum
    assert other.any()
    assert not np.isin(result.nearest_minimum[other], result.global_minima).any()
    assert not (other & (result.steps_to_tol >= 0)).any() and not (other & result.diverged).any()
    # one minimum known (a quadratic, line-fit): never "another minimum"
    line = sweep(dl.datasets.line_fit(), "nesterov", {"lr": np.geomspace(1e-3, 0.1, 8), "beta": [0.5, 0.9]},
                 steps=50)
    assert not line.other_minimum.any() and (line.nearest_minimum[~line.diverged] == 0).all()


def test_compiled_results_carry_the_same_records():
    problem = dl.problems.quadratic(kappa=20.0)
    grid = {"lr": np.geomspace(0.01, 0.5, 9), "beta": [0.0, 0.9]}
    fast = sweep(problem, "momentum", grid, steps=200, engine="numba")
    plain = sweep(problem, "momentum", grid, steps=200, engine="numpy")
    np.testing.assert_array_equal(fast.nearest_minimum, plain.nearest_minimum)
    assert fast.start_gap == plain.start_gap > 0
