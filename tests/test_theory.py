"""Theory in the book's parameterisation: anchors, stability, and agreement with real runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descentlab as dl
from descentlab import theory


def _run(method, alpha, beta, problem, steps):
    hyper = {"lr": float(alpha)} | ({} if method == "gd" else {"beta": float(beta)})
    return dl.run(dl.optimizers.make(method, **hyper), problem, steps=steps)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1e4])
def test_known_anchors(kappa):
    mu, L = 0.5, 0.5 * kappa
    root = math.sqrt(kappa)
    gd = theory.optimal("gd", mu, L)
    assert gd.alpha == pytest.approx(2 / (L + mu))
    expected = (kappa - 1) / (kappa + 1)
    assert float(theory.rate("gd", gd.alpha, 0.0, mu, L)) == pytest.approx(expected, rel=1e-12)
    hb = theory.optimal("momentum", mu, L)
    assert float(theory.rate("momentum", hb.alpha, hb.beta, mu, L)) == pytest.approx((root - 1) / (root + 1),
                                                                                       rel=1e-6)
    nag = theory.standard_nesterov(mu, L)
    assert nag.alpha * (1 - nag.beta) == pytest.approx(1 / L)           # step 1/L in PyTorch's lr
    assert nag.beta == pytest.approx((root - 1) / (root + 1))
    assert nag.rho == pytest.approx(1 - 1 / root, rel=1e-6)
    best = theory.optimal("nesterov", mu, L)
    assert float(theory.rate("nesterov", best.alpha, best.beta, mu, L)) == pytest.approx(
        1 - 2 / math.sqrt(3 * kappa + 1), rel=1e-6)
    assert best.rho <= nag.rho + 1e-12


def test_optimal_nesterov_beats_a_fine_grid():
    mu, L = 1.0, 40.0
    best = theory.optimal("nesterov", mu, L)
    eta, beta = np.meshgrid(np.linspace(0.2, 2.0, 300) / L, np.linspace(0, 0.99, 300))
    rates = theory.rate("nesterov", theory.book_alpha(eta, beta), beta, mu, L)
    assert rates.min() >= best.rho - 1e-4


def test_the_worst_eigenvalue_is_an_endpoint():
    rng = np.random.default_rng(3)
    for _ in range(200):
        kappa, beta = 10 ** rng.uniform(0.3, 3), rng.uniform(0, 0.99)
        for method in theory.linear_methods():
            alpha = rng.uniform(0.01, 1.2) * theory.stability_limit(method, beta, kappa)
            lam = np.linspace(1.0, kappa, 500)
            inside = theory.spectral_radius(method, alpha, beta, lam).max()
            assert inside <= float(theory.rate(method, alpha, beta, 1.0, kappa)) + 1e-12


@pytest.mark.parametrize("method", theory.linear_methods())
def test_stability_limit_is_where_the_rate_crosses_one(method):
    for beta in (0.0, 0.3, 0.9):
        limit = float(theory.stability_limit(method, beta, 20.0))
        assert theory.rate(method, 0.999 * limit, beta, 1.0, 20.0) < 1 < theory.rate(method, 1.001 * limit,
                                                                                     beta, 1.0, 20.0)


def test_iteration_matrix_is_the_books_update():
    problem = dl.problems.quadratic(kappa=8.0, angle=0.0)
    for method in ("momentum", "nesterov"):
        traj = _run(method, 0.3, 0.6, problem, 6)
        for k, lam in enumerate(problem.eigenvalues):
            m = theory.iteration_matrix(method, 0.3, 0.6, lam)
            state = np.array([traj.params[3, k], traj.momentum[3, k]])
            np.testing.assert_allclose(m @ state, [traj.params[4, k], traj.momentum[4, k]], rtol=1e-13)


@pytest.mark.parametrize("seed", range(12))
def test_observed_contraction_matches_the_prediction(seed):
    rng = np.random.default_rng(seed)
    kappa = 10 ** rng.uniform(0.5, 2.5)
    problem = dl.problems.quadratic(kappa=kappa, angle=rng.uniform(0, 90))
    method = ("gd", "momentum", "nesterov")[seed % 3]
    beta = 0.0 if method == "gd" else rng.uniform(0.05, 0.95)
    limit = float(theory.stability_limit(method, beta, kappa))
    alpha = rng.uniform(0.05, 0.95) * limit
    predicted = float(theory.rate(method, alpha, beta, 1.0, kappa))
    # away from double roots, where the fit is ill-conditioned
    m = theory.iteration_matrix(method, alpha, beta, np.array([1.0, kappa]))
    disc = (m[:, 0, 0] + m[:, 1, 1]) ** 2 - 4 * (m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0])
    if method != "gd" and np.min(np.abs(disc)) < 1e-4:
        beta *= 0.9
        predicted = float(theory.rate(method, alpha, beta, 1.0, kappa))
    steps = int(min(3000, max(200, 600 / max(1e-3, -math.log(predicted)))))
    traj = _run(method, alpha, beta, problem, steps)
    assert traj.diverged_at is None
    observed = theory.observed_rate(problem, traj)
    assert observed == pytest.approx(predicted, rel=1e-3)
    # and the plain decay over the run is no faster than predicted
    err = np.linalg.norm(traj.params - problem.minima[0], axis=1)
    k = min(len(err) - 1, 150)
    assert (err[k] / err[0]) ** (1 / k) <= predicted * 1.5 + 0.05


@pytest.mark.parametrize("seed", range(8))
def test_every_configuration_predicted_unstable_diverges(seed):
    rng = np.random.default_rng(100 + seed)
    kappa = 10 ** rng.uniform(0.5, 2)
    problem = dl.problems.quadratic(kappa=kappa)
    method = ("gd", "momentum", "nesterov")[seed % 3]
    beta = 0.0 if method == "gd" else rng.uniform(0, 0.95)
    alpha = rng.uniform(1.05, 3.0) * float(theory.stability_limit(method, beta, kappa))
    assert theory.rate(method, alpha, beta, 1.0, kappa) > 1.0
    assert _run(method, alpha, beta, problem, 5000).diverged_at is not None


def test_line_fit_rates_are_measured_on_its_hessian():
    problem = dl.datasets.line_fit()
    mu, L = theory.eigenvalue_range(problem)
    np.testing.assert_allclose(problem.hessian, 2 * np.array([[12, problem.x.sum()],
                                                              [problem.x.sum(), (problem.x ** 2).sum()]]))
    t = theory.optimal("gd", mu, L)
    observed = theory.observed_rate(problem, _run("gd", t.alpha, 0, problem, 80))
    assert observed == pytest.approx(t.rho, rel=1e-6)


def test_iterations_and_bad_inputs():
    assert theory.iterations_to_reduce(0.5) == math.ceil(math.log(1e6) / math.log(2))
    with pytest.raises(ValueError, match="rate"):
        theory.iterations_to_reduce(1.0)
    with pytest.raises(ValueError, match="theory covers"):
        theory.rate("adam", 0.1, 0.9, 1, 10)
    with pytest.raises(ValueError, match="L must be >= mu"):
        theory.optimal("gd", 2.0, 1.0)
    with pytest.raises(ValueError, match="constant Hessian"):
        banana = dl.problems.rosenbrock()
        theory.observed_rate(banana, dl.run(dl.optimizers.gd(1e-3), banana, steps=3))


def _tuned_cell(problem, label, tuning, steps=5000):
    """A one-cell sweep at a closed-form tuning: its measured steps to tolerance."""
    from descentlab.sweep import sweep

    method = label.split(" ")[0]
    grid = {"lr": [tuning.alpha]} | ({"beta": [tuning.beta]} if method != "gd" else {})
    return sweep(problem, method, grid, steps=steps, mesh=False)


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_predicted_steps_count_what_the_cells_count(kappa):
    """The sweep cells count the steps until the loss gap stays ≤ tol; the gap is a quadratic form in
    the error, so it falls like ρ^{2t}. The overlay's prediction for the same quantity agrees with the
    measured cell within a factor 2 (the rest is the constant C of C·ρ^t, and the polynomial factor of
    a double root); counting the error's reduction instead (ρ^t) is off by about 2× throughout."""
    problem = dl.problems.quadratic(kappa=kappa)
    mu, L = theory.eigenvalue_range(problem)
    for label, tuning in theory.reference_tunings(mu, L).items():
        result = _tuned_cell(problem, label, tuning)
        measured = int(result.steps_to_tol.ravel()[0])
        predicted = result.predicted_steps(tuning.rho)
        assert measured > 0
        assert 0.5 <= measured / predicted <= 2.0, (label, measured, predicted)
        factor = result.start_gap / result.tol
        assert predicted == math.ceil(math.log(factor) / (-2 * math.log(tuning.rho)))
        if label.startswith("gd"):  # one decaying direction dominates: exact up to rounding of the start
            assert abs(measured - predicted) <= 2


def test_sweep_overlay_states_the_prediction_for_the_same_quantity():
    from descentlab import plot
    from descentlab.sweep import sweep

    problem = dl.problems.quadratic(kappa=10.0)
    mu, L = theory.eigenvalue_range(problem)
    best = theory.optimal("momentum", mu, L)
    result = sweep(problem, "momentum", {"lr": np.geomspace(0.01, 1, 24), "beta": np.linspace(0, 0.95, 20)},
                   steps=300)
    fig = plot.sweep_map(result, problem)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    cross = next(t for t in labels if t.startswith("theory: optimum"))
    assert f"predicts {result.predicted_steps(best.rho)} steps" in cross and r"\rho_*^{2t}" in cross
    assert "nearest cell:" in cross
    assert "stays ≤" in fig.axes[0].get_title()
