"""descentlab.integrations.torch: BookNesterov and BookMomentum against the book and PyTorch.

* look-ahead mode == torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True), and its parameters are
  the book's φ_t − αβ·m_t from descentlab.optimizers.nesterov; φ mode's parameters are φ_t;
* BookMomentum == torch.optim.SGD(lr=α(1−β), momentum=β) == descentlab.optimizers.momentum;
* weight decay (coupled = PyTorch's, = the book on L + λ/2·|φ|²; decoupled = (1 − αλ)·φ_t),
  parameter groups, state_dict, learning-rate schedulers, at_phi, bad input.

Runs are in float64 on the book's problems with their analytic gradients, compared to 1e-12.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import datasets, optimizers, problems, reference_updates
from descentlab.integrations.torch import BookMomentum, BookNesterov

STEPS = 60
TOL = 1e-12
SETTINGS = settings(derandomize=True, max_examples=10, deadline=None, database=None)
LINE = datasets.line_fit()
ROSEN = problems.rosenbrock()
CASES = {
    "line-fit": (LINE, (1e-3, 0.03), ((-2.0, 3.0), (-2.0, 3.0))),
    "rosenbrock": (ROSEN, (1e-4, 1.5e-3), ((-1.5, 1.5), (-0.5, 2.0))),
}
unit = st.floats(0.0, 1.0)


def log_uniform(u, lo, hi):
    return float(lo * (hi / lo) ** u)


def in_box(u, box):
    return [lo + ui * (hi - lo) for ui, (lo, hi) in zip(u, box, strict=True)]


def scaled_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def set_grad(problem, theta, weight_decay=0.0):
    """θ.grad = the problem's analytic gradient at θ (plus λθ for a coupled decay done by hand)."""
    point = theta.detach().numpy().copy()
    theta.grad = torch.from_numpy(problem.grad(point) + weight_decay * point)


def torch_run(make_opt, problem, start, steps=STEPS, closure=False, scheduler=None):
    """θ_0..θ_T, the points where the gradients were taken, the optimizer and its parameter."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_opt([theta])
    sched = scheduler(opt) if scheduler else None
    params, points = [theta.detach().numpy().copy()], []

    def fill():
        points.append(theta.detach().numpy().copy())
        set_grad(problem, theta)
        return 0.0

    for _ in range(steps):
        opt.zero_grad()
        if closure:
            opt.step(fill)
        else:
            fill()
            opt.step()
        if sched:
            sched.step()
        params.append(theta.detach().numpy().copy())
    return np.array(params), np.array(points), opt, theta


def torch_sgd(alpha, beta, nesterov=True, **kw):
    return lambda p: torch.optim.SGD(p, lr=alpha * (1 - beta), momentum=beta, nesterov=nesterov, **kw)


# ---- Nesterov -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=st.floats(1e-3, 0.95), u=st.tuples(unit, unit))
def test_lookahead_mode_is_torch_sgd_nesterov_and_the_books_lookahead_point(case, u_lr, beta, u):
    problem, lr_range, box = CASES[case]
    alpha, start = log_uniform(u_lr, *lr_range), in_box(u, box)
    traj = dl.run(optimizers.nesterov(lr=alpha, beta=beta), problem, start=start, steps=STEPS)
    ours, points, opt, theta = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta), problem, start)
    ref, _, ref_opt, ref_theta = torch_run(torch_sgd(alpha, beta), problem, start)
    assert scaled_diff(ours, ref) <= TOL
    assert scaled_diff(ours, traj.params - alpha * beta * traj.momentum) <= TOL
    assert scaled_diff(points, traj.lookahead) <= TOL
    m = opt.state[theta]["momentum"].numpy()
    assert scaled_diff(m, traj.momentum[-1]) <= TOL
    assert scaled_diff(m, (1 - beta) * ref_opt.state[ref_theta]["momentum_buffer"].numpy()) <= TOL
    assert opt.state[theta]["step"] == STEPS


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=st.floats(0.0, 0.95), u=st.tuples(unit, unit))
def test_phi_mode_holds_phi_and_takes_gradients_at_the_lookahead_point(case, u_lr, beta, u):
    problem, lr_range, box = CASES[case]
    alpha, start = log_uniform(u_lr, *lr_range), in_box(u, box)
    traj = dl.run(optimizers.nesterov(lr=alpha, beta=beta), problem, start=start, steps=STEPS)
    ours, points, opt, theta = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta, parameters_are="phi"),
                                         problem, start, closure=True)
    assert scaled_diff(ours, traj.params) <= TOL
    assert scaled_diff(points, traj.lookahead) <= TOL
    assert scaled_diff(opt.state[theta]["momentum"].numpy(), traj.momentum[-1]) <= TOL


def test_the_two_modes_differ_by_alpha_beta_m():
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    look, _, opt, theta = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta), LINE, start)
    phi, _, _, _ = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta, parameters_are="phi"),
                             LINE, start, closure=True)
    assert np.max(np.abs(phi - look)) > 1e-3
    m = opt.state[theta]["momentum"].numpy()
    assert scaled_diff(phi[-1] - look[-1], alpha * beta * m) <= 1e-10


def test_at_phi_and_phi_show_the_books_phi_and_restore_exactly():
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    traj = dl.run(optimizers.nesterov(lr=alpha, beta=beta), LINE, start=start, steps=STEPS)
    _, _, opt, theta = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta), LINE, start)
    before = theta.detach().clone()
    assert scaled_diff(opt.phi(theta).numpy(), traj.params[-1]) <= TOL
    with opt.at_phi():
        assert scaled_diff(theta.detach().numpy(), traj.params[-1]) <= TOL
        assert not torch.equal(theta.detach(), before)
    assert torch.equal(theta.detach(), before)
    with pytest.raises(KeyError), opt.at_phi():   # restored on errors too
        raise KeyError("inside")
    assert torch.equal(theta.detach(), before)

    _, _, opt_phi, theta_phi = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta, parameters_are="phi"),
                                         LINE, start, closure=True)
    held = theta_phi.detach().clone()
    with opt_phi.at_phi():                      # φ mode: already φ
        assert torch.equal(theta_phi.detach(), held)
    assert torch.equal(opt_phi.phi(theta_phi), held)


def test_phi_mode_needs_a_closure_and_restores_phi_if_it_raises():
    theta = torch.tensor([1.6, -0.5], dtype=torch.float64, requires_grad=True)
    opt = BookNesterov([theta], lr=0.03, beta=0.9, parameters_are="phi")
    with pytest.raises(RuntimeError, match=r"parameters_are='phi'.*needs a closure"):
        opt.step()

    def closure():
        opt.zero_grad()
        set_grad(LINE, theta)
        return 0.0

    for _ in range(3):
        opt.step(closure)
    held = theta.detach().clone()

    def failing():
        raise FloatingPointError("loss is nan")

    with pytest.raises(FloatingPointError):
        opt.step(failing)
    torch.testing.assert_close(theta.detach(), held, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", [lambda p: BookNesterov(p, lr=0.01),
                                  lambda p: BookNesterov(p, lr=0.01, parameters_are="phi"),
                                  lambda p: BookMomentum(p, lr=0.01)])
def test_step_returns_the_closures_loss_and_leaves_grad_alone(make):
    theta = torch.tensor([1.6, -0.5], dtype=torch.float64, requires_grad=True)
    x, y = torch.from_numpy(LINE.x), torch.from_numpy(LINE.y)
    opt = make([theta])
    seen = []

    def closure():
        opt.zero_grad()
        loss = ((theta[0] + theta[1] * x - y) ** 2).sum()
        loss.backward()
        seen.append((theta.detach().clone(), theta.grad.clone()))
        return loss

    for _ in range(3):
        loss = opt.step(closure)
    point, grad = seen[-1]
    assert loss.item() == pytest.approx(float(LINE.loss(point.numpy())), rel=1e-12)
    assert torch.equal(theta.grad, grad)   # PyTorch's own Nesterov SGD overwrites .grad with g + μ·buf


# ---- momentum --------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=st.floats(0.0, 0.95), u=st.tuples(unit, unit))
def test_book_momentum_is_torch_sgd_momentum(case, u_lr, beta, u):
    problem, lr_range, box = CASES[case]
    alpha, start = log_uniform(u_lr, *lr_range), in_box(u, box)
    traj = dl.run(optimizers.momentum(lr=alpha, beta=beta), problem, start=start, steps=STEPS)
    ours, _, opt, theta = torch_run(lambda p: BookMomentum(p, lr=alpha, beta=beta), problem, start)
    ref, _, _, _ = torch_run(torch_sgd(alpha, beta, nesterov=False), problem, start)
    assert scaled_diff(ours, traj.params) <= TOL
    assert scaled_diff(ours, ref) <= TOL
    assert scaled_diff(opt.state[theta]["momentum"].numpy(), traj.momentum[-1]) <= TOL


# ---- weight decay ---------------------------------------------------------------------------------

WD = 0.5


def test_coupled_weight_decay_is_torch_sgds():
    alpha, beta, start = 0.02, 0.9, (1.6, -0.5)
    for mine, theirs in [
        (lambda p: BookNesterov(p, lr=alpha, beta=beta, weight_decay=WD),
         torch_sgd(alpha, beta, weight_decay=WD)),
        (lambda p: BookMomentum(p, lr=alpha, beta=beta, weight_decay=WD),
         torch_sgd(alpha, beta, nesterov=False, weight_decay=WD)),
    ]:
        ours, _, _, _ = torch_run(mine, LINE, start)
        ref, _, _, _ = torch_run(theirs, LINE, start)
        plain, _, _, _ = torch_run(torch_sgd(alpha, beta), LINE, start)
        assert scaled_diff(ours, ref) <= TOL
        assert np.max(np.abs(ours - plain)) > 1e-3   # the decay does something


def test_coupled_weight_decay_in_phi_mode_is_the_book_on_the_l2_regularised_loss():
    alpha, beta, start = 0.02, 0.9, (1.6, -0.5)
    book = reference_updates.run(reference_updates.book(alpha, beta, True),
                                 lambda p: LINE.grad(p) + WD * p, start, STEPS)
    ours, _, _, _ = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta, weight_decay=WD,
                                                     parameters_are="phi"), LINE, start, closure=True)
    assert scaled_diff(ours, np.array([s.params for s in book])) <= TOL


def decoupled_reference(alpha, beta, wd, nesterov, start, steps=STEPS):
    """φ_{t+1} = (1 − αλ)φ_t − α m_{t+1}, m_{t+1} = βm_t + (1−β) g(φ_t − αβ m_t) (or g(φ_t))."""
    phi, m = np.array(start, dtype=float), np.zeros(2)
    phis, ms = [phi], [m]
    for _ in range(steps):
        g = LINE.grad(phi - alpha * beta * m if nesterov else phi)
        m = beta * m + (1 - beta) * g
        phi = (1 - alpha * wd) * phi - alpha * m
        phis.append(phi)
        ms.append(m)
    return np.array(phis), np.array(ms)


@pytest.mark.parametrize("mode", ["lookahead", "phi", "momentum"])
def test_decoupled_weight_decay_shrinks_phi_outside_the_momentum(mode):
    alpha, beta, start = 0.02, 0.9, (1.6, -0.5)
    phi, m = decoupled_reference(alpha, beta, WD, mode != "momentum", start)
    if mode == "momentum":
        ours, _, opt, theta = torch_run(lambda p: BookMomentum(p, lr=alpha, beta=beta, weight_decay=WD,
                                                               decoupled_weight_decay=True), LINE, start)
        expected = phi
    else:
        ours, _, opt, theta = torch_run(
            lambda p: BookNesterov(p, lr=alpha, beta=beta, weight_decay=WD, decoupled_weight_decay=True,
                                   parameters_are=mode), LINE, start, closure=mode == "phi")
        expected = phi - alpha * beta * m if mode == "lookahead" else phi
    assert scaled_diff(ours, expected) <= TOL
    assert scaled_diff(opt.state[theta]["momentum"].numpy(), m[-1]) <= TOL
    coupled, _, _, _ = torch_run(lambda p: BookMomentum(p, lr=alpha, beta=beta, weight_decay=WD), LINE, start)
    assert np.max(np.abs(coupled - phi)) > 1e-3      # decoupled is not the coupled rule


# ---- groups, dtypes, state_dict, schedulers --------------------------------------------------------

def test_param_groups_each_follow_their_own_settings_and_dtypes_mix():
    starts = [np.array([1.6, -0.5]), np.array([-1.0, 2.0]), np.array([0.5, 0.5])]
    settings_ = [dict(lr=0.03, beta=0.9), dict(lr=0.01, beta=0.5), dict(lr=0.02, beta=0.8)]

    def make(opt_cls, dtypes):
        ts = [torch.tensor(s, dtype=d, requires_grad=True) for s, d in zip(starts, dtypes, strict=True)]
        groups = [dict(params=[t], **k) for t, k in zip(ts, settings_, strict=True)]
        return ts, opt_cls(groups)

    dtypes = [torch.float64, torch.float64, torch.float32]
    ts, opt = make(lambda g: BookNesterov(g, lr=1.0), dtypes)
    refs = []
    for s, k, d in zip(starts, settings_, dtypes, strict=True):
        t = torch.tensor(s, dtype=d, requires_grad=True)
        sgd = torch.optim.SGD([t], lr=k["lr"] * (1 - k["beta"]), momentum=k["beta"], nesterov=True)
        refs.append((t, sgd))
    for _ in range(STEPS):
        opt.zero_grad()
        for t in ts:
            t.grad = torch.from_numpy(LINE.grad(t.detach().double().numpy())).to(t.dtype)
        opt.step()
        for t, ref_opt in refs:
            t.grad = torch.from_numpy(LINE.grad(t.detach().double().numpy())).to(t.dtype)
            ref_opt.step()
    for t, (r, _) in zip(ts, refs, strict=True):
        assert t.dtype == r.dtype
        tol = TOL if t.dtype == torch.float64 else 1e-5
        assert scaled_diff(t.detach().double().numpy(), r.detach().double().numpy()) <= tol
    assert [g["lr"] for g in opt.param_groups] == [0.03, 0.01, 0.02]


@pytest.mark.parametrize("mode", ["lookahead", "phi"])
def test_state_dict_round_trip_continues_bit_for_bit(mode, tmp_path):
    alpha, beta, start, half = 0.03, 0.9, (1.6, -0.5), STEPS // 2
    make = lambda p: BookNesterov(p, lr=alpha, beta=beta, weight_decay=0.1, parameters_are=mode)  # noqa: E731
    whole, _, _, _ = torch_run(make, LINE, start, closure=mode == "phi")
    _, _, opt, theta = torch_run(make, LINE, start, steps=half, closure=mode == "phi")
    torch.save({"theta": theta.detach(), "opt": opt.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt")
    assert set(saved["opt"]["state"][0]) == {"momentum", "step"}
    assert saved["opt"]["param_groups"][0]["parameters_are"] == mode

    theta2 = saved["theta"].clone().requires_grad_(True)
    opt2 = BookNesterov([theta2], lr=1.0, beta=0.0)                  # overwritten by the state dict
    opt2.load_state_dict(copy.deepcopy(saved["opt"]))
    assert opt2.param_groups[0]["lr"] == alpha and opt2.param_groups[0]["parameters_are"] == mode

    def closure():
        opt2.zero_grad()
        set_grad(LINE, theta2)
        return 0.0

    for t in range(half, STEPS):
        if mode == "phi":
            opt2.step(closure)
        else:
            closure()
            opt2.step()
        assert np.array_equal(theta2.detach().numpy(), whole[t + 1])
    assert opt2.state[theta2]["step"] == STEPS


def test_lr_scheduler_scales_alpha_like_torch_sgd():
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    sched = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)  # noqa: E731
    ours, _, opt, _ = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta), LINE, start, scheduler=sched)
    ref, _, _, _ = torch_run(torch_sgd(alpha, beta), LINE, start, scheduler=sched)
    constant, _, _, _ = torch_run(torch_sgd(alpha, beta), LINE, start)
    assert scaled_diff(ours, ref) <= TOL
    assert np.max(np.abs(ours - constant)) > 1e-4
    assert opt.param_groups[0]["lr"] == pytest.approx(alpha * 0.5 ** (STEPS // 10))


def test_lr_scheduler_in_phi_mode_is_the_book_with_alpha_t():
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    sched = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)  # noqa: E731
    ours, _, _, _ = torch_run(lambda p: BookNesterov(p, lr=alpha, beta=beta, parameters_are="phi"),
                              LINE, start, closure=True, scheduler=sched)
    lrs = [alpha * 0.5 ** (t // 10) for t in range(STEPS)]
    book = reference_updates.run(reference_updates.book(alpha, beta), LINE.grad, start, STEPS, lrs)
    assert scaled_diff(ours, np.array([s.params for s in book])) <= TOL


def test_parameters_without_a_gradient_are_left_alone():
    a = torch.tensor([1.6, -0.5], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    for mode in ("lookahead", "phi"):
        opt = BookNesterov([a, b], lr=0.03, beta=0.9, parameters_are=mode)

        def closure(opt=opt, with_b=True):
            opt.zero_grad()
            set_grad(LINE, a)
            if with_b:
                set_grad(LINE, b)
            return 0.0

        opt.step(closure)
        b_after = b.detach().clone()
        for _ in range(5):
            opt.step(lambda opt=opt: closure(opt, with_b=False))
        torch.testing.assert_close(b.detach(), b_after, rtol=0, atol=1e-15)
        assert not torch.equal(a.detach(), torch.tensor([1.6, -0.5], dtype=torch.float64))


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(lr=-0.1), ValueError, r"^lr \(α\) must be finite and > 0, got -0\.1$"),
    (dict(lr=0.1, beta=1.0), ValueError, r"^beta \(β\) must be in \[0, 1\), got 1\.0$"),
    (dict(lr=0.1, weight_decay=-1.0), ValueError, r"^weight_decay \(λ\) must be finite and >= 0, got -1\.0$"),
    (dict(lr=0.1, parameters_are="psi"), ValueError,
     r"^parameters_are must be one of 'lookahead', 'phi', got 'psi'$"),
    (dict(lr="0.1"), TypeError, r"lr \(α\) must be a real number"),
    (dict(lr=0.1, decoupled_weight_decay="yes"), TypeError, "decoupled_weight_decay must be True or False"),
])
def test_bad_hyperparameters(kwargs, error, message):
    theta = torch.zeros(2, requires_grad=True)
    with pytest.raises(error, match=message):
        BookNesterov([theta], **kwargs)


def test_bad_group_is_refused():
    theta, other = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = BookMomentum([theta], lr=0.1)
    with pytest.raises(ValueError, match=r"beta \(β\) must be in \[0, 1\), got 1\.5"):
        opt.add_param_group(dict(params=[other], beta=1.5))
    with pytest.raises(TypeError):
        BookMomentum([theta], lr=0.1, parameters_are="phi")


def test_sparse_gradients_are_refused():
    emb = torch.nn.Embedding(5, 2, sparse=True)
    opt = BookNesterov(emb.parameters(), lr=0.1)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        opt.step()


def test_importing_descentlab_does_not_import_torch():
    code = ("import sys, descentlab, descentlab.conventions, descentlab.reference_updates, "
            "descentlab.integrations; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


# ---- the benchmark script cannot rot ------------------------------------------------------------

def test_bench_torch_step_smoke():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_torch_step.py"
    args = ["--params", "20000", "--tensors", "4", "--repeat", "3", "--check-steps", "5"]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(s.startswith("ratio ours/torch = ") and s.endswith("(target ≤ 1.0)") for s in lines)
    assert any(s.startswith("trajectories: max |θ_ours − θ_torch|") for s in lines)
    assert "CHECK FAILED" not in done.stdout
