"""The optimizers against the book's equations, on every problem (an optimizer × problem table in
the style of optax's alias tests), plus the special cases that tie them together and the checks of
their hyper-parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descentlab as dl
from descentlab import datasets, optimizers, problems

EPS = np.finfo(np.float64).eps

# Explicit settings, so the table does not depend on ``problem.suggested`` (tuned for figures).
# Each learning rate is small enough for plain gradient descent from that start.
SETUPS = {
    "line-fit": (datasets.line_fit, dict(start=(1.6, -0.5), lr=0.02, steps=60)),
    "gabor": (datasets.gabor, dict(start=(-1.5, 8.5), lr=0.02, steps=60)),
    "quadratic": (lambda: problems.quadratic(kappa=10.0, angle=30.0), dict(start=(-4.0, 3.0),
                                                                            lr=0.1, steps=60)),
    "quadratic-5d": (lambda: problems.quadratic(kappa=8.0, angle=-20.0, dim=5),
                     dict(start=(-4.0, 3.0, 1.0, -2.0, 0.5), lr=0.1, steps=60)),
    "rosenbrock": (problems.rosenbrock, dict(start=(-1.2, 1.0), lr=5e-4, steps=300)),
    "beale": (problems.beale, dict(start=(1.0, 1.4), lr=1e-3, steps=200)),
    "himmelblau": (problems.himmelblau, dict(start=(-0.5, -0.5), lr=5e-3, steps=50)),
}
METHODS = {
    "gd": lambda lr: optimizers.gd(lr=lr),
    "sgd": lambda lr: optimizers.sgd(lr=lr),
    "momentum": lambda lr: optimizers.momentum(lr=lr, beta=0.9),
    "nesterov": lambda lr: optimizers.nesterov(lr=lr, beta=0.9),
    "adam": lambda lr: optimizers.adam(lr=lr, beta=0.9, gamma=0.99, eps=1e-8),
}


def step(opt, state, problem, batch=None):
    """One step as run() takes it: the gradient at the optimizer's gradient point, then the update."""
    return opt.update(state, problem.grad(opt.gradient_point(state), batch))


def setup(name):
    make_problem, settings = SETUPS[name]
    return make_problem(), dict(settings)


def close(actual, desired, scale=None, ulps=8.0):
    """|actual − desired| within a few roundings of ``scale`` (default: |desired|)."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    scale = np.abs(desired) if scale is None else np.asarray(scale)
    assert actual.shape == desired.shape
    assert np.all(np.abs(actual - desired) <= ulps * EPS * scale + 1e-300), (actual, desired)


def assert_follows_the_book(traj: dl.Trajectory, opt, problem) -> None:
    """Every recorded step satisfies the book's equations for ``opt`` (written out here)."""
    h = opt.hyperparams
    alpha = h["lr"]
    T = traj.steps
    phi, g, at = traj.params, traj.grads, traj.lookahead
    for t in range(T):
        batch = None if traj.batches is None else traj.batches[t]
        close(g[t], problem.grad(at[t], batch))
    if opt.name in ("gd", "sgd"):
        assert traj.momentum is None and traj.second_moment is None
        assert np.array_equal(at, phi[:-1])
        close(phi[1:], phi[:-1] - alpha * g, np.abs(phi[:-1]) + np.abs(alpha * g))
        return
    beta, m = h["beta"], traj.momentum
    assert np.array_equal(m[0], np.zeros(problem.n_params))               # m_0 = 0
    close(m[1:], beta * m[:-1] + (1 - beta) * g, np.abs(m[:-1]) + np.abs(g))
    if opt.name == "nesterov":
        close(at, phi[:-1] - alpha * beta * m[:-1], np.abs(phi[:-1]) + np.abs(alpha * m[:-1]))
    else:
        assert np.array_equal(at, phi[:-1])
    if opt.name in ("momentum", "nesterov"):
        assert traj.second_moment is None
        close(phi[1:], phi[:-1] - alpha * m[1:], np.abs(phi[:-1]) + np.abs(alpha * m[1:]))
        return
    gamma, eps, v = h["gamma"], h["eps"], traj.second_moment
    assert np.array_equal(v[0], np.zeros(problem.n_params))
    close(v[1:], gamma * v[:-1] + (1 - gamma) * g**2)
    t1 = np.arange(1, T + 1)[:, None]
    m_tilde = m[1:] / (1 - beta**t1)
    v_tilde = v[1:] / (1 - gamma**t1)
    update = alpha * m_tilde / (np.sqrt(v_tilde) + eps)
    close(phi[1:], phi[:-1] - update, np.abs(phi[:-1]) + np.abs(update))


# ---- the table -------------------------------------------------------------------------------

@pytest.mark.parametrize("problem_name", SETUPS)
@pytest.mark.parametrize("method", METHODS)
def test_table_optimizer_on_problem_follows_the_book_and_descends(method, problem_name):
    problem, s = setup(problem_name)
    opt = METHODS[method](s["lr"])
    batch_size = 4 if method == "sgd" and problem.n_examples else None
    traj = dl.run(opt, problem, start=s["start"], steps=s["steps"], batch_size=batch_size)

    P, T = problem.n_params, s["steps"]
    assert traj.diverged_at is None
    assert traj.params.shape == (T + 1, P)
    assert traj.lookahead.shape == traj.grads.shape == (T, P)
    assert np.array_equal(traj.params[0], np.array(s["start"], dtype=float))
    close(traj.losses, problem.loss(traj.params))                    # L[φ_t] on all the data
    assert (traj.batches is None) == (batch_size is None)
    assert_follows_the_book(traj, opt, problem)
    assert traj.losses[-1] < traj.losses[0]
    # every parameter moved (so P > 2 is really updated, not only the first two)
    assert np.all(traj.params[-1] != traj.params[0])


# ---- special cases tie the methods together --------------------------------------------------

@pytest.mark.parametrize("problem_name", SETUPS)
@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_beta_zero_is_gradient_descent_exactly(method, problem_name):
    problem, s = setup(problem_name)
    batches = None
    if problem.n_examples:
        batches = dl.draw_batches(problem.n_examples, 3, s["steps"], seed=1)
    plain = optimizers.gd(lr=s["lr"]) if batches is None else optimizers.sgd(lr=s["lr"])  # GD on B_t
    gd = dl.run(plain, problem, start=s["start"], steps=s["steps"], batches=batches)
    other = dl.run(getattr(optimizers, method)(lr=s["lr"], beta=0.0), problem, start=s["start"],
                   steps=s["steps"], batches=batches)
    for field in ("params", "losses", "lookahead", "grads"):
        assert np.array_equal(getattr(gd, field), getattr(other, field)), field
    assert np.array_equal(other.momentum[1:], other.grads)                 # m_{t+1} = g_t


def test_beta_zero_test_can_tell_methods_apart():
    """The previous test is not vacuous: with β > 0 the runs differ."""
    problem, s = setup("line-fit")
    gd = dl.run(optimizers.gd(lr=s["lr"]), problem, start=s["start"], steps=s["steps"])
    nag = dl.run(optimizers.nesterov(lr=s["lr"], beta=0.1), problem, start=s["start"],
                 steps=s["steps"])
    assert not np.allclose(gd.params, nag.params, rtol=1e-6, atol=0)


def test_gd_refuses_minibatches_and_names_sgd():
    problem, s = setup("line-fit")
    with pytest.raises(ValueError, match="sgd"):
        dl.run(optimizers.gd(lr=s["lr"]), problem, start=s["start"], steps=3, batch_size=2)


@pytest.mark.parametrize("problem_name", ["line-fit", "gabor"])
@pytest.mark.parametrize("method", [m for m in METHODS if m != "gd"])
def test_batch_of_all_examples_is_full_data(method, problem_name):
    """SGD on batches that hold every example is GD (and so for each method); only the
    summation order differs (the line fit sums full data through sufficient statistics)."""
    problem, s = setup(problem_name)
    n, T = problem.n_examples, s["steps"]
    opt = METHODS[method](s["lr"])
    full = dl.run(opt, problem, start=s["start"], steps=T)
    explicit = dl.run(opt, problem, start=s["start"], steps=T, batches=[np.arange(n)] * T)
    drawn = dl.run(opt, problem, start=s["start"], steps=T, batch_size=n, seed=3)
    assert all(np.array_equal(np.sort(b), np.arange(n)) for b in drawn.batches)
    for run in (explicit, drawn):
        np.testing.assert_allclose(run.params, full.params, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(run.grads, full.grads, rtol=1e-10, atol=1e-11)


def test_minibatch_gradient_is_a_sum_not_a_mean():
    problem = datasets.line_fit()
    point = np.array([0.3, -0.4])
    halves = [np.arange(0, 6), np.arange(6, 12)]
    np.testing.assert_allclose(sum(problem.grad(point, b) for b in halves), problem.grad(point),
                               rtol=1e-13)
    run = dl.run(optimizers.sgd(lr=0.01), problem, start=point, steps=2, batches=halves)
    np.testing.assert_allclose(run.params[1], point - 0.01 * problem.grad(point, halves[0]),
                               rtol=1e-15)


# ---- convergence -----------------------------------------------------------------------------

def _regression_data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 3.0, n)
    y = 1.5 - 0.7 * x + rng.normal(0.0, 0.3, n)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("factor", [1.0, 1.9])
def test_gd_on_linear_regression_converges_to_lstsq(seed, factor):
    x, y = _regression_data(seed)
    problem = problems.linear_regression(x, y)
    hessian = 2.0 * np.array([[len(x), x.sum()], [x.sum(), x @ x]])
    lam = np.linalg.eigvalsh(hessian)
    alpha = factor / lam[-1]                                               # α < 2/L
    rate = max(abs(1 - alpha * lam[0]), abs(1 - alpha * lam[-1]))
    steps = math.ceil(math.log(1e-13) / math.log(rate))
    lstsq = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    traj = dl.run(optimizers.gd(lr=alpha), problem, start=(3.0, 2.0), steps=steps)
    assert traj.diverged_at is None
    np.testing.assert_allclose(traj.final, lstsq, rtol=0, atol=1e-8)
    np.testing.assert_allclose(problem.minima[0], lstsq, rtol=0, atol=1e-12)


def test_gd_above_two_over_l_diverges_on_linear_regression():
    x, y = _regression_data(0)
    problem = problems.linear_regression(x, y)
    lam_max = np.linalg.eigvalsh(2.0 * np.array([[len(x), x.sum()], [x.sum(), x @ x]]))[-1]
    traj = dl.run(optimizers.gd(lr=2.1 / lam_max), problem, start=(3.0, 2.0), steps=2000)
    assert traj.diverged_at is not None


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_momentum_methods_converge_to_lstsq(method):
    x, y = _regression_data(5)
    problem = problems.linear_regression(x, y)
    lam_max = np.linalg.eigvalsh(2.0 * np.array([[len(x), x.sum()], [x.sum(), x @ x]]))[-1]
    lstsq = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    opt = getattr(optimizers, method)(lr=1.0 / lam_max, beta=0.5)
    traj = dl.run(opt, problem, start=(3.0, 2.0), steps=1000)
    np.testing.assert_allclose(traj.final, lstsq, rtol=0, atol=1e-8)


@pytest.mark.parametrize(("method", "opt", "steps", "tol"), [
    ("gd", optimizers.gd(lr=0.1), 500, 1e-8),
    ("momentum", optimizers.momentum(lr=0.1, beta=0.9), 500, 1e-8),
    ("nesterov", optimizers.nesterov(lr=0.1, beta=0.9), 500, 1e-8),
    ("adam", optimizers.adam(lr=0.01, beta=0.9, gamma=0.999), 3000, 1e-8),
])
def test_five_parameters_converge_to_the_quadratic_minimum(method, opt, steps, tol):
    center = np.array([0.5, -1.0, 2.0, 0.25, -0.75])
    problem = problems.quadratic(kappa=10.0, angle=35.0, dim=5, center=center)
    start = center + np.array([-3.0, 2.0, 1.5, -1.0, 2.5])
    traj = dl.run(opt, problem, start=start, steps=steps)
    assert traj.diverged_at is None
    assert traj.params.shape == (steps + 1, 5) and traj.grads.shape == (steps, 5)
    np.testing.assert_allclose(traj.final, center, rtol=0, atol=tol)
    assert traj.losses[-1] < 1e-6 * traj.losses[0]


# ---- Nesterov's look-ahead -------------------------------------------------------------------

@pytest.mark.parametrize("problem_name", ["line-fit", "gabor", "rosenbrock", "quadratic-5d"])
def test_nesterov_takes_its_gradient_at_the_lookahead_point(problem_name):
    problem, s = setup(problem_name)
    alpha, beta = s["lr"], 0.9
    batches = None
    if problem.n_examples:
        batches = dl.draw_batches(problem.n_examples, 5, s["steps"], seed=2)
    opt = optimizers.nesterov(lr=alpha, beta=beta)
    traj = dl.run(opt, problem, start=s["start"], steps=s["steps"], batches=batches)
    ahead = traj.params[:-1] - alpha * beta * traj.momentum[:-1]
    close(traj.lookahead, ahead, np.abs(traj.params[:-1]) + np.abs(alpha * traj.momentum[:-1]))
    for t in range(traj.steps):
        batch = None if batches is None else batches[t]
        assert np.array_equal(traj.grads[t], problem.grad(traj.lookahead[t], batch))
    # the look-ahead point really is another point than φ_t once there is momentum
    assert np.all(np.any(traj.lookahead[1:] != traj.params[1:-1], axis=1))
    # gradient_point tells where the next step will look, without taking it
    state = opt.init(np.asarray(s["start"], dtype=float))
    for t in range(5):
        expected = state.params - alpha * beta * state.momentum
        assert np.array_equal(opt.gradient_point(state), expected)
        assert np.array_equal(opt.gradient_point(state), traj.lookahead[t])
        state = step(opt, state, problem, None if batches is None else batches[t])
        assert np.array_equal(state.params, traj.params[t + 1])


@pytest.mark.parametrize("method", ["gd", "sgd", "momentum", "adam"])
def test_other_methods_take_their_gradient_at_the_iterate(method):
    problem, s = setup("gabor")
    opt = METHODS[method](s["lr"])
    traj = dl.run(opt, problem, start=s["start"], steps=20)
    assert np.array_equal(traj.lookahead, traj.params[:-1])
    state = step(opt, opt.init(s["start"]), problem)
    assert np.array_equal(opt.gradient_point(state), state.params)


def test_optimizers_broadcast_over_a_batch_of_configurations():
    """The update rules use array arithmetic only: K starts in one (K, P) array step together."""
    problem = problems.himmelblau()
    starts = np.array([[-0.5, -0.5], [1.0, 2.0], [-3.0, 3.0]])
    for opt in (optimizers.nesterov(lr=5e-3, beta=0.9), optimizers.adam(lr=0.05)):
        state = opt.init(starts)
        singles = [opt.init(p) for p in starts]
        for _ in range(10):
            state = step(opt, state, problem)
            singles = [step(opt, st, problem) for st in singles]
        np.testing.assert_allclose(state.params, [st.params for st in singles], rtol=1e-15)


# ---- hyper-parameters ------------------------------------------------------------------------

BAD_VALUES = [
    # (factory, kwargs with the bad value last, exception, text the message must contain)
    (optimizers.gd, dict(lr=0.0), ValueError, "0.0"),
    (optimizers.gd, dict(lr=-0.1), ValueError, "-0.1"),
    (optimizers.sgd, dict(lr=float("nan")), ValueError, "nan"),
    (optimizers.gd, dict(lr=float("inf")), ValueError, "inf"),
    (optimizers.momentum, dict(lr=-1e-3), ValueError, "-0.001"),
    (optimizers.momentum, dict(lr=0.1, beta=-0.1), ValueError, "-0.1"),
    (optimizers.momentum, dict(lr=0.1, beta=1.0), ValueError, "1.0"),
    (optimizers.nesterov, dict(lr=0.1, beta=1.5), ValueError, "1.5"),
    (optimizers.nesterov, dict(lr=0.1, beta=float("nan")), ValueError, "nan"),
    (optimizers.nesterov, dict(beta=0.9, lr=float("-inf")), ValueError, "-inf"),
    (optimizers.adam, dict(lr=0.1, beta=1.0), ValueError, "1.0"),
    (optimizers.adam, dict(lr=0.1, gamma=-0.5), ValueError, "-0.5"),
    (optimizers.adam, dict(lr=0.1, gamma=1.0), ValueError, "1.0"),
    (optimizers.adam, dict(lr=0.1, gamma=float("inf")), ValueError, "inf"),
    (optimizers.adam, dict(lr=0.1, eps=0.0), ValueError, "0.0"),
    (optimizers.adam, dict(lr=0.1, eps=-1e-8), ValueError, "-1e-08"),
    (optimizers.adam, dict(lr=0.1, eps=float("nan")), ValueError, "nan"),
    (optimizers.gd, dict(lr="0.1"), TypeError, "'0.1'"),
    (optimizers.gd, dict(lr=None), TypeError, "None"),
    (optimizers.gd, dict(lr=True), TypeError, "True"),
    (optimizers.momentum, dict(lr=0.1, beta=[0.9]), TypeError, "[0.9]"),
    (optimizers.nesterov, dict(lr=0.1, beta=0.5j), TypeError, "0.5j"),
    (optimizers.adam, dict(lr=0.1, eps="tiny"), TypeError, "'tiny'"),
]


@pytest.mark.parametrize(("factory", "kwargs", "error", "text"), BAD_VALUES)
def test_bad_hyperparameters_are_refused_naming_the_value(factory, kwargs, error, text):
    with pytest.raises(error) as info:
        factory(**kwargs)
    message = str(info.value)
    assert text in message
    assert list(kwargs)[-1] in message          # and the hyper-parameter: "beta (β) must be…"


@pytest.mark.parametrize("ok", [
    dict(lr=1), dict(lr=np.float64(0.5)), dict(lr=np.float32(0.25)), dict(lr=1e-300),
])
def test_good_learning_rates_are_accepted_as_floats(ok):
    opt = optimizers.gd(**ok)
    assert opt.hyperparams["lr"] == float(ok["lr"])
    assert type(opt.hyperparams["lr"]) is float


def test_beta_zero_and_gamma_zero_are_allowed():
    assert optimizers.momentum(lr=0.1, beta=0).hyperparams == {"lr": 0.1, "beta": 0.0}
    assert optimizers.adam(lr=0.1, beta=0.0, gamma=0.0).hyperparams["gamma"] == 0.0


def test_make_builds_each_method_by_name():
    nag = optimizers.make("nesterov", lr=0.05, beta=0.8)
    assert nag.name == "nesterov" and nag.hyperparams == {"lr": 0.05, "beta": 0.8}
    assert optimizers.make("adam", lr=0.1).hyperparams == {"lr": 0.1, "beta": 0.9,
                                                            "gamma": 0.999, "eps": 1e-8}
    for name in optimizers.names():
        hyper = {"lr": 0.01} if "lr" in optimizers.hyperparameter_names(name) else {}
        assert optimizers.make(name, **hyper).name == name
    # make gives the same optimizer as calling the function
    problem = datasets.line_fit()
    a = dl.run(optimizers.make("momentum", lr=0.03, beta=0.7), problem, steps=10)
    b = dl.run(optimizers.momentum(lr=0.03, beta=0.7), problem, steps=10)
    assert a == b


@pytest.mark.parametrize(("name", "kwargs", "text"), [
    ("newton", dict(lr=0.1), "'newton'"),
    ("Nesterov", dict(lr=0.1), "'Nesterov'"),
    ("", dict(lr=0.1), "''"),
    ("gd", dict(lr=0.1, beta=0.9), "'beta'"),
    ("sgd", dict(lr=0.1, momentum=0.9), "'momentum'"),
    ("nesterov", dict(lr=0.1, gamma=0.99), "'gamma'"),
    ("adam", dict(lr=0.1, betas=(0.9, 0.999)), "'betas'"),
])
def test_make_refuses_unknown_names_and_hyperparameters(name, kwargs, text):
    with pytest.raises(ValueError, match=text):
        optimizers.make(name, **kwargs)


def test_make_validates_values_too():
    with pytest.raises(ValueError, match="beta"):
        optimizers.make("nesterov", lr=0.1, beta=1.0)


def test_labels_and_reprs_use_the_hyperparameters():
    nag = optimizers.nesterov(lr=0.05, beta=0.9)
    assert nag.label == "nesterov (α=0.05, β=0.9)"
    assert repr(nag) == "nesterov(lr=0.05, beta=0.9)"
    assert "γ=0.999" in optimizers.adam(lr=0.1).label
