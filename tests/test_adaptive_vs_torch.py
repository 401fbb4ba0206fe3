"""AdaGrad and RMSProp, in the book's symbols, are PyTorch's optimizers with the documented mapping:

* book AdaGrad (α, ε)     ==  ``torch.optim.Adagrad(lr=α, eps=ε)``, θ_t = φ_t, ``state["sum"]`` = v_t;
* book RMSProp (α, γ, ε)  ==  ``torch.optim.RMSprop(lr=α, alpha=γ, eps=ε)``, ``state["square_avg"]`` = v_t.

PyTorch gets the problem's own analytic gradient (the book's SUM over the batch), so only the rules
are compared: 100 steps in float64, parameters to 1e-12 relative. As for Adam
(tests/test_torch_equivalence.py), RMSProp with a large α oscillates chaotically near the minimum
(its step does not shrink), so 1-ulp differences between the two implementations grow: the free runs
keep to the ranges where they do not, and a teacher-forced test checks each step over wider ranges.
One variant lets torch autograd differentiate the loss written in torch instead.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import datasets, optimizers, problems
from draws import eps_exponents, in_box, log_uniform, unit

STEPS = 100
TOL = 1e-12
SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None)

LINE = datasets.line_fit()
ROSEN = problems.rosenbrock()

# lr: AdaGrad's free runs, wide (its steps shrink: no chaos); rms_lr, gamma: RMSProp's free runs
# (checked on a grid of corners: no run diverges, differences ≲ 1e-14; γ ≤ 0.8 with α ≥ 0.01 on
# either problem, or α = 0.03 on Rosenbrock, reach the chaotic regime, where they grow to 1e-9…1e-2);
# wide_lr with any γ in [0, 1): the teacher-forced steps.
CASES = {
    "line-fit": dict(problem=LINE, lr=(1e-3, 0.5), rms_lr=(1e-3, 0.03), gamma=(0.9, 0.9999),
                     wide_lr=(1e-3, 0.5), box=((-2.0, 3.0), (-2.0, 3.0))),
    "rosenbrock": dict(problem=ROSEN, lr=(1e-4, 0.05), rms_lr=(1e-4, 0.01), gamma=(0.9, 0.9999),
                       wide_lr=(1e-4, 0.05), box=((-1.5, 1.5), (-0.5, 2.0))),
}

def analytic(problem, batches=None):
    """Set θ.grad to the problem's analytic gradient at θ (the sum over the step's batch)."""
    step = iter(batches) if batches is not None else None

    def set_grad(theta: torch.Tensor) -> None:
        batch = None if step is None else next(step)
        theta.grad = torch.from_numpy(problem.grad(theta.detach().numpy().copy(), batch))

    return set_grad


def autograd(problem):
    """Set θ.grad by torch autograd of the loss written in torch (sum of squared errors, Rosenbrock)."""
    if problem is LINE:
        x, y = torch.from_numpy(LINE.x), torch.from_numpy(LINE.y)

        def loss(th):
            return ((th[0] + th[1] * x - y) ** 2).sum()
    else:
        def loss(th):
            return (1.0 - th[0]) ** 2 + 100.0 * (th[1] - th[0] ** 2) ** 2

    def set_grad(theta: torch.Tensor) -> None:
        theta.grad = None
        loss(theta).backward()

    return set_grad


def torch_run(make_opt, start, set_grad, buffer: str, steps: int = STEPS):
    """θ_0..θ_T and the optimizer's buffer after each step 1..T."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_opt([theta])
    thetas, buf = [theta.detach().numpy().copy()], []
    for _ in range(steps):
        opt.zero_grad()
        set_grad(theta)
        opt.step()
        thetas.append(theta.detach().numpy().copy())
        buf.append(opt.state[theta][buffer].detach().numpy().copy())
    return np.array(thetas), np.array(buf)


def book_run(opt, problem, start, **kw) -> dl.Trajectory:
    traj = dl.run(opt, problem, start=start, steps=STEPS, **kw)
    assert traj.diverged_at is None and traj.steps == STEPS, "the chosen ranges must not diverge"
    return traj


def assert_relative(actual: np.ndarray, desired: np.ndarray, tol: float = TOL) -> None:
    """|a − b| ≤ tol·max(1, max|b|) everywhere, and the last row element-wise to tol relative."""
    assert actual.shape == desired.shape
    scale = max(1.0, float(np.max(np.abs(desired))))
    assert float(np.max(np.abs(actual - desired))) <= tol * scale, np.max(np.abs(actual - desired))
    np.testing.assert_allclose(actual[-1], desired[-1], rtol=tol, atol=tol * scale)


def torch_adagrad(alpha, eps):
    return lambda p: torch.optim.Adagrad(p, lr=alpha, eps=eps)


def torch_rmsprop(alpha, gamma, eps):
    return lambda p: torch.optim.RMSprop(p, lr=alpha, alpha=gamma, eps=eps)


# ---- the mapping is documented where the method is ---------------------------------------------

def test_the_torch_mapping_is_in_each_modules_docstring():
    # (``descentlab.optimizers.adagrad`` the attribute is the factory; the module is imported by name)
    adagrad_module = importlib.import_module("descentlab.optimizers.adagrad")
    rmsprop_module = importlib.import_module("descentlab.optimizers.rmsprop")
    ada = " ".join(adagrad_module.__doc__.split())
    rms = " ".join(rmsprop_module.__doc__.split())
    assert "torch.optim.Adagrad(lr=α, eps=ε)" in ada
    assert "torch.optim.RMSprop(lr=α, alpha=γ, eps=ε)" in rms
    assert "alpha=γ" in rms
    # and where ``help(descentlab.optimizers.rmsprop)`` looks: the factory's own docstring
    assert "torch.optim.Adagrad(lr=α, eps=ε)" in " ".join(optimizers.adagrad.__doc__.split())
    assert "alpha=γ" in " ".join(optimizers.rmsprop.__doc__.split())
    assert optimizers.get("rmsprop").summary.startswith("RMSProp: each parameter's step")
    assert optimizers.get("adagrad").hyper_names == ("lr", "eps")
    assert optimizers.get("rmsprop").hyper_names == ("lr", "gamma", "eps")
    assert optimizers.get("rmsprop").hyper("gamma").symbol == "γ"


# ---- AdaGrad -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_book_adagrad_is_torch_adagrad(case, u_lr, log_eps, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    eps = 10.0 ** log_eps
    traj = book_run(optimizers.adagrad(lr=alpha, eps=eps), problem, start)
    theta, total = torch_run(torch_adagrad(alpha, eps), start, analytic(problem), "sum")
    assert_relative(traj.params, theta)
    np.testing.assert_allclose(traj.buffers["sum_of_squares"][1:], total, rtol=TOL, atol=0)
    assert np.all(traj.buffers["sum_of_squares"][0] == 0.0)


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_adagrad_matches_torch_autograd_of_the_loss_written_in_torch(case, u_lr, log_eps, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    eps = 10.0 ** log_eps
    traj = book_run(optimizers.adagrad(lr=alpha, eps=eps), problem, start)
    theta, _ = torch_run(torch_adagrad(alpha, eps), start, autograd(problem), "sum")
    assert_relative(traj.params, theta)


# ---- RMSProp -----------------------------------------------------------------------------------

def rmsprop_run(c, u_lr, u_gamma, log_eps, u_start):
    """The problem, (α, γ, ε) and the start drawn for case ``c``, and the book's free run at them."""
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["rms_lr"]), in_box(u_start, c["box"])
    gamma = c["gamma"][0] + u_gamma * (c["gamma"][1] - c["gamma"][0])
    eps = 10.0 ** log_eps
    traj = book_run(optimizers.rmsprop(lr=alpha, gamma=gamma, eps=eps), problem, start)
    return problem, (alpha, gamma, eps), start, traj


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, u_gamma=unit, log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_book_rmsprop_is_torch_rmsprop(case, u_lr, u_gamma, log_eps, u_start):
    problem, (alpha, gamma, eps), start, traj = rmsprop_run(CASES[case], u_lr, u_gamma, log_eps, u_start)
    theta, square_avg = torch_run(torch_rmsprop(alpha, gamma, eps), start, analytic(problem), "square_avg")
    assert_relative(traj.params, theta)
    np.testing.assert_allclose(traj.buffers["second_moment"][1:], square_avg, rtol=TOL, atol=0)


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, u_gamma=unit, log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_rmsprop_matches_torch_autograd_of_the_loss_written_in_torch(case, u_lr, u_gamma, log_eps, u_start):
    problem, (alpha, gamma, eps), start, traj = rmsprop_run(CASES[case], u_lr, u_gamma, log_eps, u_start)
    theta, _ = torch_run(torch_rmsprop(alpha, gamma, eps), start, autograd(problem), "square_avg")
    assert_relative(traj.params, theta)


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, gamma=st.floats(0.0, 0.9999), log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_rmsprop_each_step_matches_torch_over_wide_ranges(case, u_lr, gamma, log_eps, u_start):
    """Teacher forcing: from PyTorch's state after t steps, one book step gives its next state."""
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["wide_lr"]), in_box(u_start, c["box"])
    eps = 10.0 ** log_eps
    theta, square_avg = torch_run(torch_rmsprop(alpha, gamma, eps), start, analytic(problem), "square_avg")
    book = optimizers.rmsprop(lr=alpha, gamma=gamma, eps=eps)
    state = book.init(start)
    for t in range(STEPS):
        if t > 0:
            state = type(state)(params=theta[t], second_moment=square_avg[t - 1])
        grad = problem.grad(book.gradient_point(state))
        new = book.update(state, grad)
        step = np.abs(theta[t + 1] - theta[t])
        assert np.all(np.abs(new.params - theta[t + 1]) <= 8 * np.finfo(float).eps
                      * (np.abs(theta[t + 1]) + step)), t
        np.testing.assert_allclose(new.second_moment, square_avg[t], rtol=1e-14, atol=0)


def test_rmsprop_with_minibatches_matches_torch():
    alpha, gamma, eps, start = 0.01, 0.9, 1e-8, [1.6, -0.5]
    batches = dl.draw_batches(LINE.n_examples, 4, STEPS, seed=3)
    traj = book_run(optimizers.rmsprop(lr=alpha, gamma=gamma, eps=eps), LINE, start, batches=batches)
    theta, _ = torch_run(torch_rmsprop(alpha, gamma, eps), start, analytic(LINE, batches), "square_avg")
    assert_relative(traj.params, theta)


def test_adagrad_with_minibatches_matches_torch():
    alpha, eps, start = 0.1, 1e-10, [-1.0, 2.0]
    batches = dl.draw_batches(LINE.n_examples, 3, STEPS, seed=5)
    traj = book_run(optimizers.adagrad(lr=alpha, eps=eps), LINE, start, batches=batches)
    theta, _ = torch_run(torch_adagrad(alpha, eps), start, analytic(LINE, batches), "sum")
    assert_relative(traj.params, theta)


# ---- the mapping matters (the tests above could fail) -------------------------------------------

def test_torchs_alpha_is_the_books_gamma_not_one_minus_gamma():
    alpha, gamma, eps, start = 0.01, 0.9, 1e-8, [1.6, -0.5]
    traj = book_run(optimizers.rmsprop(lr=alpha, gamma=gamma, eps=eps), LINE, start)
    wrong, _ = torch_run(torch_rmsprop(alpha, 1.0 - gamma, eps), start, analytic(LINE), "square_avg")
    assert np.max(np.abs(traj.params - wrong)) > 1e-4


def test_a_mean_gradient_would_not_match():
    """The book sums over the batch; PyTorch given the mean takes different steps (RMSProp and AdaGrad
    are scale-invariant only up to ε, so use a large ε where the difference shows)."""
    alpha, eps, start = 0.05, 1.0, [1.6, -0.5]
    traj = book_run(optimizers.adagrad(lr=alpha, eps=eps), LINE, start)
    n = LINE.n_examples

    def mean_grad(theta):
        theta.grad = torch.from_numpy(LINE.grad(theta.detach().numpy().copy()) / n)

    wrong, _ = torch_run(torch_adagrad(alpha, eps), start, mean_grad, "sum")
    assert np.max(np.abs(traj.params - wrong)) > 1e-3
