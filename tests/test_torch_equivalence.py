"""The book's update rules are PyTorch's optimizers, up to a change of variables.

* book momentum (α, β)  ==  ``torch.optim.SGD(lr=α(1−β), momentum=β)``, θ_t = φ_t;
* book Nesterov (α, β)  ==  ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)``, where
  PyTorch's parameter θ_t is the book's LOOK-AHEAD point φ_t − αβ·m_t (not φ_t);
* book Adam (α, β, γ, ε) == ``torch.optim.Adam(lr=α, betas=(β, γ), eps=ε)``, θ_t = φ_t.

PyTorch is fed the gradient of the *same* problem (its analytic gradient), so only the update
rules are compared, over 100 steps, to 1e-12 absolute. One variant instead lets torch autograd
differentiate the loss written in torch, which also checks the problems' analytic gradients.

Where the 1e-12 free-run bound does not hold, it is not the rules that differ: Adam with a small
γ (≤ 0.95) and a large α oscillates chaotically near the minimum of the line fit, so the 1-ulp
rounding differences between the two implementations grow by ×~2.3 a step. The parameter ranges
of the free runs below avoid that regime; ``test_adam_each_step_matches_torch_*`` checks the
rule step by step over the wider ranges, where no amplification can happen.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import datasets, optimizers, problems
from descentlab.optimizers.adam import AdamState
from draws import eps_exponents, in_box, log_uniform, unit

STEPS = 100
TOL = 1e-12
SETTINGS = settings(derandomize=True, max_examples=20, deadline=None, database=None)

LINE = datasets.line_fit()
ROSEN = problems.rosenbrock()

# Parameter boxes where every free run stays finite and well conditioned (checked by the tests:
# no run may diverge). The line fit's largest Hessian eigenvalue is ≈ 51.4, so α ≤ 0.035 keeps
# even β = 0 (gradient descent, α·λ < 2) stable; Rosenbrock's curvature reaches ~3000 in its box,
# so α ≤ 2e-3 there.
CASES = {
    "line-fit": dict(problem=LINE, lr=(1e-3, 0.035), box=((-2.0, 3.0), (-2.0, 3.0))),
    "rosenbrock": dict(problem=ROSEN, lr=(1e-4, 2e-3), box=((-1.5, 1.5), (-0.5, 2.0))),
}

betas = st.floats(0.0, 0.95)
nesterov_betas = st.floats(1e-3, 0.95)  # torch refuses nesterov=True with momentum 0
gammas = st.floats(0.99, 0.9999)       # free Adam runs (see the module docstring)


# ---- PyTorch side ----------------------------------------------------------------------------

def analytic(problem) -> Callable[[torch.Tensor], None]:
    """Set θ.grad to the problem's own analytic gradient at θ."""

    def set_grad(theta: torch.Tensor) -> None:
        theta.grad = torch.from_numpy(problem.grad(theta.detach().numpy().copy()))

    return set_grad


def autograd(loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], None]:
    """Set θ.grad by torch autograd of a loss written in torch."""

    def set_grad(theta: torch.Tensor) -> None:
        theta.grad = None
        loss_fn(theta).backward()

    return set_grad


def torch_line_fit_loss(problem) -> Callable[[torch.Tensor], torch.Tensor]:
    x, y = torch.from_numpy(problem.x), torch.from_numpy(problem.y)
    return lambda th: ((th[0] + th[1] * x - y) ** 2).sum()   # sum of squared errors (eq. 2.5)


def torch_rosenbrock_loss(th: torch.Tensor) -> torch.Tensor:
    return (1.0 - th[0]) ** 2 + 100.0 * (th[1] - th[0] ** 2) ** 2


def torch_run(make_opt, start, set_grad, steps: int = STEPS) -> dict[str, np.ndarray]:
    """θ_0..θ_T and the optimizer's per-parameter state after each step."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_opt([theta])
    out: dict[str, list] = {"theta": [theta.detach().numpy().copy()]}
    for _ in range(steps):
        opt.zero_grad()
        set_grad(theta)
        opt.step()
        out["theta"].append(theta.detach().numpy().copy())
        for key, value in opt.state[theta].items():
            if torch.is_tensor(value) and value.shape == theta.shape:
                out.setdefault(key, []).append(value.detach().numpy().copy())
    return {k: np.array(v) for k, v in out.items()}


def book_run(opt, problem, start) -> dl.Trajectory:
    traj = dl.run(opt, problem, start=start, steps=STEPS)
    assert traj.diverged_at is None and traj.steps == STEPS, "the chosen ranges must not diverge"
    assert np.all(np.abs(traj.params) < 1e3)
    return traj


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)))


def scaled_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| relative to max(1, max |b|): for momenta, which are gradient-sized (~10³ on
    Rosenbrock's walls), where 1e-12 absolute would ask for less than one rounding."""
    return max_diff(a, b) / max(1.0, float(np.max(np.abs(b))))


# ---- Nesterov --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=nesterov_betas, u_start=st.tuples(unit, unit))
def test_book_nesterov_is_torch_sgd_nesterov_at_the_lookahead_point(case, u_lr, beta, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    traj = book_run(optimizers.nesterov(lr=alpha, beta=beta), problem, start)
    ref = torch_run(lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta,
                                              nesterov=True), start, analytic(problem))

    lookahead = traj.params - alpha * beta * traj.momentum        # φ_t − αβ m_t, t = 0..T
    assert max_diff(ref["theta"], lookahead) <= TOL
    # the points where the book took its gradients are torch's θ_0..θ_{T−1}
    assert max_diff(ref["theta"][:-1], traj.lookahead) <= TOL
    # PyTorch's buffer is the book's momentum without the (1 − β) factor
    assert scaled_diff(ref["momentum_buffer"] * (1 - beta), traj.momentum[1:]) <= TOL


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=st.floats(0.3, 0.95), u_start=st.tuples(unit, unit))
def test_torch_nesterov_parameter_is_not_the_book_iterate(case, u_lr, beta, u_start):
    """The change of variables matters: θ_t is the look-ahead point, not φ_t."""
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    traj = book_run(optimizers.nesterov(lr=alpha, beta=beta), problem, start)
    ref = torch_run(lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta,
                                              nesterov=True), start, analytic(problem))
    scale = alpha * beta * np.max(np.abs(traj.momentum))
    assert max_diff(ref["theta"], traj.params) > 1e3 * TOL
    assert max_diff(ref["theta"], traj.params) == pytest.approx(scale, rel=1e-9)


# ---- momentum --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=betas, u_start=st.tuples(unit, unit))
def test_book_momentum_is_torch_sgd_momentum(case, u_lr, beta, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    traj = book_run(optimizers.momentum(lr=alpha, beta=beta), problem, start)
    ref = torch_run(lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta),
                    start, analytic(problem))
    assert max_diff(ref["theta"], traj.params) <= TOL
    if beta > 0:  # with momentum 0 PyTorch keeps no buffer
        assert scaled_diff(ref["momentum_buffer"] * (1 - beta), traj.momentum[1:]) <= TOL


# ---- Adam ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=betas, gamma=gammas, log_eps=eps_exponents, u_start=st.tuples(unit, unit))
def test_book_adam_is_torch_adam(case, u_lr, beta, gamma, log_eps, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    eps = 10.0 ** log_eps
    traj = book_run(optimizers.adam(lr=alpha, beta=beta, gamma=gamma, eps=eps), problem, start)
    ref = torch_run(lambda p: torch.optim.Adam(p, lr=alpha, betas=(beta, gamma), eps=eps),
                    start, analytic(problem))
    assert max_diff(ref["theta"], traj.params) <= TOL
    assert scaled_diff(ref["exp_avg"], traj.momentum[1:]) <= TOL
    np.testing.assert_allclose(ref["exp_avg_sq"], traj.second_moment[1:], rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=betas, gamma=st.floats(0.9, 0.9999), log_eps=eps_exponents,
       u_start=st.tuples(unit, unit))
def test_adam_each_step_matches_torch_over_wide_ranges(case, u_lr, beta, gamma, log_eps, u_start):
    """Teacher forcing: from PyTorch's state after t steps, one book step gives PyTorch's next
    state. Covers α up to 0.05 on the line fit and γ down to 0.9, where free runs are chaotic."""
    c = CASES[case]
    problem, start = c["problem"], in_box(u_start, c["box"])
    alpha = log_uniform(u_lr, c["lr"][0], 0.05 if case == "line-fit" else c["lr"][1])
    eps = 10.0 ** log_eps
    ref = torch_run(lambda p: torch.optim.Adam(p, lr=alpha, betas=(beta, gamma), eps=eps),
                    start, analytic(problem))
    book = optimizers.adam(lr=alpha, beta=beta, gamma=gamma, eps=eps)
    state = book.init(start)
    for t in range(STEPS):
        if t > 0:
            state = AdamState(params=ref["theta"][t], momentum=ref["exp_avg"][t - 1],
                              second_moment=ref["exp_avg_sq"][t - 1], step=t)
        grad = problem.grad(book.gradient_point(state))
        new = book.update(state, grad)
        theta, m, v = ref["theta"][t + 1], ref["exp_avg"][t], ref["exp_avg_sq"][t]
        # a few roundings of the quantities each result is made of (PyTorch's lerp for m and its
        # order of the bias corrections round differently, nothing more)
        assert_within_ulps(new.params, theta, np.abs(theta) + np.abs(theta - state.params))
        assert_within_ulps(new.momentum, m, np.abs(state.momentum) + np.abs(grad))
        assert_within_ulps(new.second_moment, v, np.abs(v))


def assert_within_ulps(actual: np.ndarray, desired: np.ndarray, scale: np.ndarray,
                       ulps: float = 4.0) -> None:
    bound = ulps * np.finfo(np.float64).eps * scale
    assert np.all(np.abs(actual - desired) <= bound), (actual, desired, bound)


# ---- torch autograd instead of the analytic gradient -------------------------------------------

# The book sums the squared errors through centred sufficient statistics, torch autograd sums the
# residuals one by one: the two gradients differ in rounding only (≲ 1e-14 relative) and these runs
# contract, so the same 1e-12 bound holds (differences seen: ≲ 2e-15).
AUTOGRAD_TOL = 1e-12


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=nesterov_betas, u_start=st.tuples(unit, unit))
def test_nesterov_matches_torch_autograd_of_the_loss_written_in_torch(case, u_lr, beta, u_start):
    c = CASES[case]
    problem, alpha, start = c["problem"], log_uniform(u_lr, *c["lr"]), in_box(u_start, c["box"])
    loss = torch_line_fit_loss(problem) if case == "line-fit" else torch_rosenbrock_loss
    traj = book_run(optimizers.nesterov(lr=alpha, beta=beta), problem, start)
    ref = torch_run(lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta,
                                              nesterov=True), start, autograd(loss))
    lookahead = traj.params - alpha * beta * traj.momentum
    assert max_diff(ref["theta"], lookahead) <= AUTOGRAD_TOL


@pytest.mark.parametrize("case", CASES)
def test_torch_autograd_gradient_equals_the_analytic_gradient(case):
    c = CASES[case]
    problem = c["problem"]
    loss = torch_line_fit_loss(problem) if case == "line-fit" else torch_rosenbrock_loss
    rng = np.random.default_rng(3)
    for _ in range(25):
        point = np.array(in_box(rng.uniform(size=2), c["box"]))
        theta = torch.tensor(point, requires_grad=True)
        value = loss(theta)
        value.backward()
        assert value.item() == pytest.approx(float(problem.loss(point)), rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(problem.grad(point), theta.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_line_fit_autograd_gradient_on_minibatches():
    rng = np.random.default_rng(4)
    for _ in range(10):
        batch = rng.choice(LINE.n_examples, size=int(rng.integers(1, 12)), replace=False)
        point = rng.uniform(-2, 3, size=2)
        x, y = torch.from_numpy(LINE.x[batch]), torch.from_numpy(LINE.y[batch])
        theta = torch.tensor(point, requires_grad=True)
        ((theta[0] + theta[1] * x - y) ** 2).sum().backward()
        np.testing.assert_allclose(LINE.grad(point, batch), theta.grad.numpy(), rtol=1e-13,
                                   atol=1e-13)


def test_nesterov_with_minibatches_matches_torch():
    """The same equivalence holds step by step with a minibatch gradient at every step."""
    alpha, beta, start = 0.03, 0.9, [1.6, -0.5]
    batches = dl.draw_batches(LINE.n_examples, 4, STEPS, seed=7)
    traj = dl.run(optimizers.nesterov(lr=alpha, beta=beta), LINE, start=start, steps=STEPS,
                  batches=batches)
    assert traj.diverged_at is None
    step = iter(batches)

    def set_grad(theta):
        theta.grad = torch.from_numpy(LINE.grad(theta.detach().numpy().copy(), next(step)))

    ref = torch_run(lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta,
                                              nesterov=True), start, set_grad)
    assert max_diff(ref["theta"], traj.params - alpha * beta * traj.momentum) <= TOL
