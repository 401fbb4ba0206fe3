r"""Gradient descent with line search (book §6.1, Figure 6.1; notebooks 6.1/6.2) against its oracles.

* ``exact`` mode on a constant Hessian: α_t = gᵀg / gᵀHg with H built here by numpy (2·XᵀX for
  linear regression, R·diag(λ)·Rᵀ for a quadratic); consecutive gradients are then orthogonal and the
  loss falls at every step.
* ``bracket`` mode: the notebook's four-point search, written out below in plain Python floats from
  its description (not descentlab's code), step by step on the line fit.
* a sweep over the bracket's settings (vectorised over configurations) equals the single runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import datasets, optimizers, problems
from descentlab.errors import InputError
from descentlab.sweep import sweep

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None)
REL = 1e-12


def design(x) -> np.ndarray:
    """X with a column of ones: ŷ = Xφ."""
    x = np.asarray(x, dtype=np.float64)
    return np.column_stack([np.ones_like(x), x])


def assert_exact_steps(traj: dl.Trajectory, hessian: np.ndarray | None = None, x=None) -> None:
    """α_t = gᵀg/gᵀHg, g_t ⟂ g_{t+1}, L falls at every step.

    For linear regression give the design ``x`` instead of H: gᵀHg = 2·‖Xg‖², a sum of squares
    that numpy evaluates without cancellation.
    """
    g = traj.grads
    alpha = traj.buffers["alpha"]
    assert alpha.shape == (len(g) + 1,) and alpha[0] == 0.0
    for t in range(len(g)):
        curvature = 2.0 * np.sum((x @ g[t]) ** 2) if x is not None else g[t] @ hessian @ g[t]
        expected = (g[t] @ g[t]) / curvature
        assert abs(alpha[t + 1] - expected) <= REL * abs(expected), (t, alpha[t + 1], expected)
        np.testing.assert_array_equal(traj.params[t + 1], traj.params[t] - alpha[t + 1] * g[t])
    for t in range(len(g) - 1):
        # g_{t+1} = g_t − α·H·g_t comes out of a subtraction: its rounding error scales with |g_t|,
        # not with the (much smaller) |g_{t+1}|, so the bound on g_t·g_{t+1} does too
        dot = abs(g[t] @ g[t + 1])
        scale = np.linalg.norm(g[t]) * max(np.linalg.norm(g[t]), np.linalg.norm(g[t + 1]))
        assert dot <= 1e-10 * scale, (t, dot)
    assert np.all(np.diff(traj.losses) < 0), traj.losses


# ---- exact mode ------------------------------------------------------------------------------------

def test_exact_mode_on_the_line_fit_is_the_closed_form_step():
    problem = datasets.line_fit()
    traj = dl.run(optimizers.linesearch(mode="exact"), problem, start=(1.6, -0.5), steps=12)
    assert traj.diverged_at is None and len(traj.grads) == 12
    x = design(problem.x)
    assert_exact_steps(traj, 2.0 * x.T @ x)
    assert_exact_steps(traj, x=x)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 60), steps=st.integers(1, 10),
       slope=st.floats(-5.0, 5.0), spread=st.floats(0.1, 10.0), offset=st.floats(-5.0, 5.0))
def test_exact_mode_on_random_linear_regressions(seed, n, steps, slope, spread, offset):
    rng = np.random.default_rng(seed)
    x = offset + spread * rng.random(n)
    y = 0.7 + slope * x + rng.normal(size=n)
    xx = design(x)
    # gᵀHg along the flat direction is only as accurate as ε·κ(H): keep κ where 1e-12 is meaningful
    assume(np.linalg.cond(xx.T @ xx) < 1e3)
    problem = problems.linear_regression(x, y)
    start = rng.normal(size=2) * 3.0
    traj = dl.run(optimizers.linesearch(mode="exact"), problem, start=start, steps=steps)
    # stop where the gradient reaches rounding noise: orthogonality is then meaningless
    g_norm = np.linalg.norm(traj.grads, axis=1)
    keep = int(np.argmax(g_norm < 1e-6 * g_norm[0])) if (g_norm < 1e-6 * g_norm[0]).any() else len(g_norm)
    if keep < len(g_norm):
        traj = dl.run(optimizers.linesearch(mode="exact"), problem, start=start, steps=keep)
    if len(traj.grads):
        assert_exact_steps(traj, x=xx)


@pytest.mark.parametrize("kappa, angle", [(1.0, 0.0), (10.0, 30.0), (100.0, -50.0), (3.5, 80.0)])
def test_exact_mode_on_quadratics(kappa, angle):
    problem = problems.quadratic(kappa=kappa, angle=angle)
    theta = math.radians(angle)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    hessian = rot @ np.diag([1.0, kappa]) @ rot.T
    steps = 1 if kappa == 1.0 else 8
    traj = dl.run(optimizers.linesearch(mode="exact"), problem, start=(-4.0, 3.0), steps=steps)
    assert_exact_steps(traj, hessian)
    if kappa == 1.0:  # a round bowl: one exact step reaches the minimum
        np.testing.assert_allclose(traj.params[-1], [0.0, 0.0], atol=1e-14)


def test_exact_mode_in_five_dimensions():
    problem = problems.quadratic(kappa=20.0, angle=15.0, dim=5)
    hessian = np.column_stack([problem.grad(e) - problem.grad(np.zeros(5)) for e in np.eye(5)])
    traj = dl.run(optimizers.linesearch(mode="exact"), problem, start=(1.0, -2.0, 0.5, 3.0, -1.0), steps=10)
    assert_exact_steps(traj, 0.5 * (hessian + hessian.T))


@pytest.mark.parametrize("make", [problems.rosenbrock, problems.beale, datasets.gabor])
def test_exact_mode_refuses_a_problem_without_a_constant_hessian(make):
    problem = make()
    with pytest.raises(InputError) as err:
        dl.run(optimizers.linesearch(mode="exact"), problem, steps=3)
    message = str(err.value)
    assert problem.name in message and "exact" in message and "bracket" in message
    assert "\n" not in message


def test_exact_mode_refuses_minibatches():
    with pytest.raises(InputError, match="all the data"):
        dl.run(optimizers.linesearch(mode="exact"), datasets.line_fit(), steps=3, batch_size=4)


# ---- bracket mode: the notebook's procedure, written out --------------------------------------------

class LineFit:
    """L[φ] = Σ (φ0 + φ1·x_i − y_i)² and its gradient, in plain Python floats."""

    def __init__(self, x, y):
        self.data = [(float(a), float(b)) for a, b in zip(x, y, strict=True)]

    def loss(self, p0: float, p1: float) -> float:
        return sum((p0 + p1 * x - y) ** 2 for x, y in self.data)

    def grad(self, p0: float, p1: float) -> tuple[float, float]:
        r = [(p0 + p1 * x - y, x) for x, y in self.data]
        return 2.0 * sum(e for e, _ in r), 2.0 * sum(e * x for e, x in r)


def notebook_line_search(f, max_dist: float, thresh: float, max_iter: int, rules: list[str]) -> float:
    """The notebook's bracket on f(s), s ≥ 0; appends the rule taken at each round to ``rules``."""
    a, b, c, d = 0.0, 0.33 * max_dist, 0.66 * max_dist, max_dist
    n_iter = 0
    while abs(b - c) > thresh and n_iter < max_iter:
        n_iter += 1
        la, lb, lc, ld = f(a), f(b), f(c), f(d)
        lowest = min(range(4), key=lambda i: ((la, lb, lc, ld)[i], i))  # first index on ties
        if lowest == 0:
            b, c, d = a + (b - a) / 2, a + (c - a) / 2, a + (d - a) / 2
            rules.append("halve")
            continue
        if lb < lc:
            d = c
            b, c = a + (d - a) / 3, a + 2 * (d - a) / 3
            rules.append("left")
            continue
        a = b
        b, c = a + (d - a) / 3, a + 2 * (d - a) / 3
        rules.append("right")
    return (b + c) / 2


def notebook_descent(fit: LineFit, start, steps, max_dist, thresh, max_iter, rules):
    """φ_{t+1} = φ_t − α_t·g_t with α_t from the bracket; returns the iterates and the α_t."""
    p0, p1 = start
    params, alphas = [(p0, p1)], []
    for _ in range(steps):
        g0, g1 = fit.grad(p0, p1)
        alpha = notebook_line_search(lambda s, p0=p0, p1=p1, g0=g0, g1=g1: fit.loss(p0 - s * g0, p1 - s * g1),
                                     max_dist, thresh, max_iter, rules)
        p0, p1 = p0 - alpha * g0, p1 - alpha * g1
        params.append((p0, p1))
        alphas.append(alpha)
    return np.array(params), np.array(alphas)


BRACKETS = [  # (max_dist, thresh, max_iter, steps): the notebook's defaults, then wider searches
    (0.1, 1e-5, 15, 10),
    (2.0, 1e-5, 40, 10),
    (0.5, 1e-3, 8, 12),
    (0.02, 1e-7, 25, 10),
    (5.0, 1e-7, 60, 6),
]


@pytest.mark.parametrize("max_dist, thresh, max_iter, steps", BRACKETS)
def test_bracket_mode_is_the_notebooks_search_step_by_step(max_dist, thresh, max_iter, steps):
    problem = datasets.line_fit()
    fit = LineFit(problem.x, problem.y)
    rules: list[str] = []
    params, alphas = notebook_descent(fit, (1.6, -0.5), steps, max_dist, thresh, max_iter, rules)
    opt = optimizers.linesearch(max_dist=max_dist, thresh=thresh, max_iter=max_iter)
    assert opt.hyperparams["mode"] == "bracket"  # the default
    traj = dl.run(opt, problem, start=(1.6, -0.5), steps=steps)
    assert traj.diverged_at is None
    np.testing.assert_allclose(traj.buffers["alpha"][1:], alphas, rtol=REL, atol=0)
    np.testing.assert_allclose(traj.params, params, rtol=REL, atol=1e-14)
    assert traj.buffers["alpha"][0] == 0.0
    if max_dist >= 2.0:  # the first bracket reaches past the minimum along the line: a is lowest
        assert {"halve", "left", "right"} <= set(rules)


def test_bracket_rules_are_all_exercised_and_stop_on_either_criterion():
    """The settings above reach every rule and both stopping criteria (the test could tell them apart)."""
    problem = datasets.line_fit()
    fit = LineFit(problem.x, problem.y)
    g = fit.grad(1.6, -0.5)

    def f(s):
        return fit.loss(1.6 - s * g[0], -0.5 - s * g[1])

    few: list[str] = []
    notebook_line_search(f, 0.1, 1e-5, 15, few)
    assert len(few) == 15  # max_iter stops it (0.033·(2/3)^15 > 1e-5)
    many: list[str] = []
    notebook_line_search(f, 2.0, 1e-5, 40, many)
    assert len(many) < 40  # the tolerance stops it
    assert {"halve", "left", "right"} <= set(many)


@pytest.mark.parametrize("start", [(1.6, -0.5), (-1.0, 2.5), (0.0, 0.0), (3.0, 3.0)])
def test_bracket_mode_from_other_starts(start):
    problem = datasets.line_fit()
    fit = LineFit(problem.x, problem.y)
    params, alphas = notebook_descent(fit, start, 8, 0.1, 1e-5, 15, [])
    traj = dl.run(optimizers.linesearch(), problem, start=start, steps=8)
    np.testing.assert_allclose(traj.buffers["alpha"][1:], alphas, rtol=REL, atol=0)
    np.testing.assert_allclose(traj.params, params, rtol=REL, atol=1e-14)


def test_bracket_mode_is_close_to_the_exact_step_with_a_fine_tolerance():
    """A converged bracket finds the line's minimum, which the exact mode gives in closed form."""
    problem = datasets.line_fit()
    fine = dl.run(optimizers.linesearch(max_dist=1.0, thresh=1e-10, max_iter=200), problem, steps=6)
    exact = dl.run(optimizers.linesearch(mode="exact"), problem, steps=6)
    np.testing.assert_allclose(fine.buffers["alpha"], exact.buffers["alpha"], rtol=1e-6)
    np.testing.assert_allclose(fine.params, exact.params, rtol=1e-6, atol=1e-9)


def test_the_books_figure_6_1_run_descends_at_every_step():
    """``descentlab figure --optimizer linesearch --steps 4``: iterates 0…4, each lower than the last."""
    traj = dl.run(optimizers.linesearch(), datasets.line_fit(), steps=4)
    assert traj.params.shape == (5, 2) and traj.diverged_at is None
    assert np.all(np.diff(traj.losses) < 0), traj.losses
    assert np.all(traj.buffers["alpha"][1:] > 0)


def test_bracket_mode_works_on_rosenbrock_and_descends():
    problem = problems.rosenbrock()
    traj = dl.run(optimizers.linesearch(max_dist=0.01, thresh=1e-9, max_iter=60), problem, steps=30)
    assert traj.diverged_at is None
    assert np.all(np.diff(traj.losses) <= 0), traj.losses


# ---- sweep: the vectorised bracket equals the per-row one ------------------------------------------

@pytest.mark.parametrize("make, steps", [(datasets.line_fit, 10), (problems.rosenbrock, 20),
                                         (lambda: problems.quadratic(kappa=30.0), 10)])
def test_sweep_over_the_bracket_equals_single_runs(make, steps):
    problem = make()
    dists = [0.001, 0.02, 0.1, 0.5, 2.0]
    result = sweep(problem, "linesearch", {"max_dist": dists}, steps=steps, engine="numpy")
    single = [dl.run(optimizers.linesearch(max_dist=m), problem, steps=steps).losses[-1] for m in dists]
    np.testing.assert_allclose(result.final_loss[:, 0], single, rtol=REL, atol=0)
    assert len(set(np.round(single, 12))) > 1  # the settings do differ


def test_sweep_over_two_bracket_settings_equals_single_runs():
    problem = datasets.line_fit()
    dists, threshes = [0.05, 0.3, 3.0], [1e-2, 1e-4, 1e-8]
    result = sweep(problem, "linesearch", {"max_dist": dists, "thresh": threshes}, steps=6, engine="numpy")
    for i, m in enumerate(dists):
        for j, tau in enumerate(threshes):
            loss = dl.run(optimizers.linesearch(max_dist=m, thresh=tau), problem, steps=6).losses[-1]
            assert abs(result.final_loss[i, j, 0] - loss) <= REL * loss, (m, tau)


def test_sweep_over_max_iter_equals_single_runs():
    """max_iter is an integer hyper-parameter: a sweep passes it as a column of floats."""
    problem = datasets.line_fit()
    counts = [1, 3, 15, 40]
    result = sweep(problem, "linesearch", {"max_iter": counts}, steps=6, fixed={"max_dist": 2.0},
                   engine="numpy")
    for i, n in enumerate(counts):
        traj = dl.run(optimizers.linesearch(max_dist=2.0, max_iter=n), problem, steps=6)
        if traj.diverged_at is not None:  # one round from d = 2: α = 0.99, far too long a step
            assert n == 1 and result.diverged_at[i, 0] == traj.diverged_at
            assert np.isnan(result.final_loss[i, 0])
        else:
            assert result.diverged_at[i, 0] == -1
            assert abs(result.final_loss[i, 0] - traj.losses[-1]) <= REL * traj.losses[-1], n


def test_sweep_in_exact_mode_equals_single_run():
    problem = datasets.line_fit()
    result = sweep(problem, "linesearch", {"max_dist": [0.1, 1.0]}, steps=5, fixed={"mode": "exact"},
                   engine="numpy")
    loss = dl.run(optimizers.linesearch(mode="exact"), problem, steps=5).losses[-1]
    np.testing.assert_allclose(result.final_loss[:, 0], [loss, loss], rtol=REL, atol=0)
