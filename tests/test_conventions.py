"""descentlab.conventions: every exact map, run through the reference updates of both sides.

For each map the source and the target run in descentlab's reference implementation of their
library (descentlab.reference_updates), from the same start on the same problem; both runs are
carried to the book's (φ_t, m_t) with ``to_book`` and must agree at every step. The references
are checked against the book's optimizers and against PyTorch itself (Optax: tests/test_optax.py;
Keras is not in the test environment). The maps that are *not* exact (PyTorch's dampening, most
pairs under a learning-rate schedule) are shown to differ, and asking for them is an error.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import conventions, datasets, optimizers, problems, reference_updates
from descentlab.conventions import convert, from_book, setting, to_book, translate_state

STEPS = 60
TOL = 1e-12
SETTINGS = settings(derandomize=True, max_examples=10, deadline=None, database=None)
LIBS = ("pytorch", "optax", "keras", "sutskever")

LINE = datasets.line_fit()
ROSEN = problems.rosenbrock()
# (problem, range of the book's α, start box): every run here stays finite and contracting
CASES = {
    "line-fit": (LINE, (1e-3, 0.03), ((-2.0, 3.0), (-2.0, 3.0))),
    "rosenbrock": (ROSEN, (1e-4, 1.5e-3), ((-1.5, 1.5), (-0.5, 2.0))),
}

unit = st.floats(0.0, 1.0)
betas = st.floats(0.0, 0.95)


def log_uniform(u, lo, hi):
    return float(lo * (hi / lo) ** u)


def in_box(u, box):
    return [lo + ui * (hi - lo) for ui, (lo, hi) in zip(u, box, strict=True)]


def grad_of(problem):
    return lambda point: problem.grad(point)


def run(s, problem, start, steps=STEPS, lrs=None):
    return reference_updates.run(conventions.reference(s), grad_of(problem), start, steps, lrs)


def gradient_points(s, problem, start, steps=STEPS, lrs=None):
    """Where the run in convention ``s`` takes its gradients, step by step. Two conventions run the
    same algorithm exactly when these agree (whatever their parameters and buffers hold)."""
    points = []

    def grad_fn(point):
        points.append(np.array(point))
        return problem.grad(point)

    reference_updates.run(conventions.reference(s), grad_fn, start, steps, lrs)
    return np.array(points)


def as_book(s, states):
    """(φ_t, m_t) for t = 0..T from a library's states (m = None where the library keeps none)."""
    pairs = [to_book(s, st.params, st.buffer) for st in states]
    phi = np.array([p for p, _ in pairs])
    m = None if any(m is None for _, m in pairs[1:]) else np.array([m for _, m in pairs[1:]])
    return phi, m


def scaled_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def assert_same_book_run(s1, states1, s2, states2, tol=TOL):
    phi1, m1 = as_book(s1, states1)
    phi2, m2 = as_book(s2, states2)
    assert np.all(np.isfinite(phi1)) and np.all(np.abs(phi1) < 1e3)
    assert scaled_diff(phi1, phi2) <= tol
    if m1 is not None and m2 is not None:
        assert scaled_diff(m1, m2) <= tol


# ---- the references themselves -----------------------------------------------------------------

@pytest.mark.parametrize("nesterov", [True, False])
def test_book_reference_is_descentlab_optimizers_bit_for_bit(nesterov):
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    make = optimizers.nesterov if nesterov else optimizers.momentum
    traj = dl.run(make(lr=alpha, beta=beta), LINE, start=start, steps=STEPS)
    states = reference_updates.run(reference_updates.book(alpha, beta, nesterov), grad_of(LINE), start, STEPS)
    np.testing.assert_array_equal(np.array([s.params for s in states]), traj.params)
    np.testing.assert_array_equal(np.array([s.buffer for s in states]), traj.momentum)


@SETTINGS
@given(lr=st.floats(1e-3, 0.03), momentum=st.floats(0.0, 0.95), dampening=st.sampled_from([0.0, 0.3, 0.9]),
       nesterov=st.booleans(), weight_decay=st.sampled_from([0.0, 0.1]), u=st.tuples(unit, unit))
def test_pytorch_reference_is_torch_sgd(lr, momentum, dampening, nesterov, weight_decay, u):
    """The reference, first-step buffer copy and dampening included, is torch.optim.SGD."""
    nesterov = nesterov and momentum > 0 and dampening == 0
    start = in_box(u, CASES["line-fit"][2])
    reference = reference_updates.pytorch_sgd(lr, momentum, dampening, nesterov, weight_decay)
    ref = reference_updates.run(reference, grad_of(LINE), start, STEPS)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                          weight_decay=weight_decay)
    for t in range(STEPS):
        theta.grad = torch.from_numpy(LINE.grad(theta.detach().numpy().copy()))
        opt.step()
        assert scaled_diff(theta.detach().numpy(), ref[t + 1].params) <= TOL
        if momentum > 0:
            assert scaled_diff(opt.state[theta]["momentum_buffer"].numpy(), ref[t + 1].buffer) <= TOL
    assert (momentum > 0) == (ref[-1].buffer is not None)


# ---- book ↔ each library ------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u_lr=unit, beta=betas, u=st.tuples(unit, unit))
def test_book_to_library_is_exact(lib, nesterov, case, u_lr, beta, u):
    problem, lr_range, box = CASES[case]
    alpha, start = log_uniform(u_lr, *lr_range), in_box(u, box)
    book = setting("book", alpha, beta, nesterov)
    conv = convert("book", lib, lr=alpha, momentum=beta, nesterov=nesterov)
    assert conv.target.lr == alpha * (1 - beta) and conv.target.momentum == beta
    book_states = run(book, problem, start)
    lib_states = run(conv.target, problem, start)
    assert_same_book_run(book, book_states, conv.target, lib_states)

    # which sequence the library's own parameter follows, checked without to_book
    phi = np.array([s.params for s in book_states])
    m = np.array([s.buffer for s in book_states])
    expected = phi - alpha * beta * m if conv.target.follows == "lookahead" else phi
    assert scaled_diff(np.array([s.params for s in lib_states]), expected) <= TOL
    if beta > 0:
        assert conv.target.follows == ("lookahead" if nesterov and lib != "sutskever" else "phi")
    # and both take their gradients at the same points
    points = gradient_points(conv.target, problem, start)
    assert scaled_diff(points, gradient_points(book, problem, start)) <= TOL


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("nesterov", [True, False])
def test_library_to_book_is_exact(lib, nesterov):
    eta, mu, start = 2e-3, 0.85, (1.6, -0.5)
    conv = convert(lib, "book", lr=eta, momentum=mu, nesterov=nesterov)
    assert conv.target.lr == pytest.approx(eta / (1 - mu), rel=1e-15) and conv.target.momentum == mu
    lib_states = run(conv.source, LINE, start)
    book_states = run(conv.target, LINE, start)
    assert_same_book_run(conv.source, lib_states, conv.target, book_states)


def test_nesterov_parameters_differ_from_phi():
    """The claim 'PyTorch's parameter is the look-ahead point' is not vacuous: it is not φ."""
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    book_states = run(setting("book", alpha, beta), LINE, start)
    torch_states = run(convert("book", "pytorch", lr=alpha, momentum=beta).target, LINE, start)
    theta, phi = np.array([s.params for s in torch_states]), np.array([s.params for s in book_states])
    gap = np.max(np.abs(theta - phi))
    assert gap > 1e-3


# ---- library ↔ library, and carrying a run over ----------------------------------------------

@pytest.mark.parametrize(("src", "tgt"), list(itertools.permutations(LIBS, 2)))
@pytest.mark.parametrize("nesterov", [True, False])
@SETTINGS
@given(u_lr=unit, mu=st.floats(0.05, 0.95), u=st.tuples(unit, unit))
def test_library_to_library_is_exact(src, tgt, nesterov, u_lr, mu, u):
    problem, (lo, hi), box = CASES["line-fit"]
    eta, start = log_uniform(u_lr, lo, hi) * (1 - mu), in_box(u, box)
    conv = convert(src, tgt, lr=eta, momentum=mu, nesterov=nesterov)
    assert conv.target.lr == eta and conv.target.momentum == mu
    a = run(conv.source, problem, start)
    b = run(conv.target, problem, start)
    assert_same_book_run(conv.source, a, conv.target, b)
    # translate_state maps each state of one run onto the other's
    for sa, sb in zip(a[1:], b[1:], strict=True):
        p, buf = translate_state(conv.source, conv.target, sa.params, sa.buffer)
        assert scaled_diff(p, sb.params) <= TOL and scaled_diff(buf, sb.buffer) <= TOL


@pytest.mark.parametrize(("src", "tgt"), [("book", "keras"), ("pytorch", "sutskever"), ("keras", "optax"),
                                          ("sutskever", "book"), ("optax", "pytorch")])
def test_a_run_carried_over_midway_continues_the_same_book_run(src, tgt):
    alpha, beta, start, half = 0.03, 0.9, (1.6, -0.5), STEPS // 2
    s = convert("book", src, lr=alpha, momentum=beta).target   # the identity map when src is the book
    t = convert(src, tgt, lr=s.lr, momentum=beta).target
    first = run(s, LINE, start, half)
    params, buffer = translate_state(s, t, first[-1].params, first[-1].buffer)
    ref = conventions.reference(t)
    state = reference_updates.LibState(params, buffer)
    for _ in range(half):
        state = ref.step(state, grad_of(LINE))
    whole = run(setting("book", alpha, beta), LINE, start, 2 * half)
    phi, m = to_book(t, state.params, state.buffer)
    assert scaled_diff(phi, whole[-1].params) <= TOL and scaled_diff(m, whole[-1].buffer) <= TOL


@pytest.mark.parametrize("lib", ["book", *LIBS])
@pytest.mark.parametrize("nesterov", [True, False])
def test_from_book_inverts_to_book(lib, nesterov):
    rng = np.random.default_rng(1)
    s = setting(lib, 0.02, 0.8, nesterov)
    phi, m = rng.normal(size=3), rng.normal(size=3)
    params, buffer = from_book(s, phi, m)
    back_phi, back_m = to_book(s, params, buffer)
    np.testing.assert_allclose(back_phi, phi, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(back_m, m, rtol=1e-14, atol=1e-14)
    if s.follows == "lookahead":
        np.testing.assert_allclose(params, phi - s.alpha * 0.8 * m, rtol=1e-14, atol=1e-14)


# ---- the notes' formulas, on PyTorch itself -------------------------------------------------------

def test_pytorch_note_formula_on_torch_itself():
    """'book φ = θ + lr·momentum·buf, m = (1 − momentum)·buf', with torch's real buffer."""
    alpha, beta, start = 0.03, 0.9, (1.6, -0.5)
    conv = convert("book", "pytorch", lr=alpha, momentum=beta)
    assert "book φ = θ + lr·momentum·buf" in conv.describe()
    book_states = run(setting("book", alpha, beta), LINE, start)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=conv.target.lr, momentum=beta, nesterov=True)
    for t in range(STEPS):
        theta.grad = torch.from_numpy(LINE.grad(theta.detach().numpy().copy()))
        opt.step()
        buf = opt.state[theta]["momentum_buffer"]
        phi = theta.detach() + conv.target.lr * beta * buf
        assert scaled_diff(phi.numpy(), book_states[t + 1].params) <= TOL
        assert scaled_diff(((1 - beta) * buf).numpy(), book_states[t + 1].buffer) <= TOL


def test_describe_book_to_pytorch():
    text = convert("book", "pytorch", lr=0.1, momentum=0.9).describe().splitlines()
    assert text[0] == "torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)"
    assert text[1] == ("note: PyTorch's parameters are the book's look-ahead point φ − αβ·m; "
                       "book φ = θ + lr·momentum·buf, m = (1 − momentum)·buf")
    assert all(line.startswith("note: ") for line in text[1:])


@pytest.mark.parametrize(("src", "tgt", "kwargs", "first"), [
    ("keras", "book", dict(lr=0.01, momentum=0.9), "descentlab.optimizers.nesterov(lr=0.1, beta=0.9)"),
    ("book", "optax", dict(lr=0.1, momentum=0.9),
     "optax.sgd(learning_rate=0.01, momentum=0.9, nesterov=True)"),
    ("book", "keras", dict(lr=0.1, momentum=0.9, nesterov=False),
     "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)"),
    ("pytorch", "book", dict(lr=0.01, momentum=0.9, nesterov=False),
     "descentlab.optimizers.momentum(lr=0.1, beta=0.9)"),
    ("book", "sutskever", dict(lr=0.1, momentum=0.5),
     "descentlab.reference_updates.sutskever(lr=0.05, momentum=0.5, nesterov=True)"),
    ("book", "pytorch", dict(lr=0.1, momentum=0.0), "torch.optim.SGD(params, lr=0.1)"),
])
def test_describe_first_line(src, tgt, kwargs, first):
    assert convert(src, tgt, **kwargs).describe().splitlines()[0] == first


def test_state_note_between_libraries():
    notes = convert("keras", "sutskever", lr=0.01, momentum=0.9).notes
    assert "state: θ = w − momentum·velocity, v = velocity" in notes
    assert "book equivalent: α = 0.1, β = 0.9" in notes
    assert "state: w = θ, velocity = −lr·buf" in convert("pytorch", "keras", lr=0.01, momentum=0.9).notes


# ---- where no map is exact ----------------------------------------------------------------------

def test_pytorch_dampening_has_no_exact_map():
    """dampening = β is the book's EMA except the first step, where PyTorch copies g unscaled."""
    alpha, beta, start = 0.03, 0.9, np.array([1.6, -0.5])
    with pytest.raises(ValueError, match=r"^no exact map from PyTorch with dampening=0\.9: its first step"):
        convert("pytorch", "book", lr=alpha, momentum=beta, nesterov=False, dampening=beta)
    damped = run(setting("pytorch", alpha, beta, False, beta), LINE, start, 3)
    book = run(setting("book", alpha, beta, False), LINE, start, 3)
    g0 = LINE.grad(start)
    np.testing.assert_allclose(damped[1].params - book[1].params, -alpha * beta * g0, rtol=1e-12)
    assert np.max(np.abs(damped[3].params - book[3].params)) > 1e-4


def test_dampening_must_be_pytorch_and_not_nesterov():
    with pytest.raises(ValueError, match="Nesterov momentum requires momentum > 0 and dampening = 0"):
        convert("pytorch", "book", lr=0.01, momentum=0.9, dampening=0.5)
    with pytest.raises(ValueError, match="dampening is a PyTorch hyper-parameter; Keras has none"):
        convert("keras", "book", lr=0.01, momentum=0.9, dampening=0.5)
    with pytest.raises(ValueError, match=r"dampening must be in \[0, 1\], got 1.5"):
        convert("pytorch", "book", lr=0.01, momentum=0.9, nesterov=False, dampening=1.5)
    with pytest.raises(ValueError, match="requires momentum > 0"):
        convert("pytorch", "book", lr=0.01, momentum=0.0)


def test_dampening_with_zero_momentum_is_plain_sgd_and_exact():
    conv = convert("pytorch", "book", lr=0.01, momentum=0.0, nesterov=False, dampening=0.5)
    assert conv.target.lr == 0.01 and conv.target.momentum == 0.0


SCHEDULE_SAFE = [("pytorch", "optax", True), ("keras", "sutskever", True), ("sutskever", "keras", True),
                 ("optax", "pytorch", False), ("book", "pytorch", False), ("optax", "book", False),
                 ("keras", "sutskever", False)]
SCHEDULE_UNSAFE = [("book", "pytorch", True), ("pytorch", "keras", True), ("book", "keras", False),
                   ("optax", "sutskever", False), ("sutskever", "book", True), ("keras", "pytorch", False)]


def _schedule(n, lr0):
    """A warm-up then a decay, with some jitter: far from constant."""
    rng = np.random.default_rng(5)
    return [lr0 * min(1.0, (t + 1) / 10) * 0.97 ** t * rng.uniform(0.5, 1.5) for t in range(n)]


@pytest.mark.parametrize(("src", "tgt", "nesterov"), SCHEDULE_SAFE)
def test_maps_that_stay_exact_under_a_schedule(src, tgt, nesterov):
    eta, mu, start = 2e-3, 0.9, (1.6, -0.5)
    conv = convert(src, tgt, lr=eta, momentum=mu, nesterov=nesterov, schedule=True)
    factor = conv.target.lr / conv.source.lr
    assert f"multiply every step's rate by {factor:.15g}" in conv.describe()
    lrs = _schedule(STEPS, eta)
    a = gradient_points(conv.source, LINE, start, lrs=lrs)
    b = gradient_points(conv.target, LINE, start, lrs=[lr * factor for lr in lrs])
    assert scaled_diff(a, b) <= TOL


@pytest.mark.parametrize(("src", "tgt", "nesterov"), SCHEDULE_UNSAFE)
def test_maps_that_are_not_exact_under_a_schedule_are_refused_and_differ(src, tgt, nesterov):
    eta, mu, start = 2e-3, 0.9, (1.6, -0.5)
    with pytest.raises(ValueError, match=f"^no exact map from {src} to {tgt} under a learning-rate schedule"):
        convert(src, tgt, lr=eta, momentum=mu, nesterov=nesterov, schedule=True)
    conv = convert(src, tgt, lr=eta, momentum=mu, nesterov=nesterov)   # exact for a constant rate only
    assert "note: exact for a constant learning rate, not under a learning-rate schedule" in conv.describe()
    factor = conv.target.lr / conv.source.lr
    lrs = _schedule(STEPS, eta)
    a = gradient_points(conv.source, LINE, start, lrs=lrs)
    b = gradient_points(conv.target, LINE, start, lrs=[lr * factor for lr in lrs])
    assert scaled_diff(a, b) > 1e-6
    # with the constant rate the same pair agrees
    a, b = gradient_points(conv.source, LINE, start), gradient_points(conv.target, LINE, start)
    assert scaled_diff(a, b) <= TOL


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(source="book", target="pytorch", lr=-0.1, momentum=0.9),
     r"^lr \(α\) must be finite and > 0, got -0\.1$"),
    (dict(source="pytorch", target="book", lr=0.0, momentum=0.9), r"^lr must be finite and > 0, got 0\.0$"),
    (dict(source="keras", target="book", lr=float("nan"), momentum=0.9), r"^learning_rate must be finite"),
    (dict(source="book", target="pytorch", lr=0.1, momentum=1.0),
     r"^beta \(β\) must be in \[0, 1\), got 1\.0$"),
    (dict(source="optax", target="book", lr=0.1, momentum=1.5), r"^momentum must be in \[0, 1\), got 1\.5$"),
    (dict(source="sutskever", target="book", lr=0.1, momentum=-0.1), r"^momentum \(μ\) must be in \[0, 1\)"),
    (dict(source="tensorflow", target="book", lr=0.1, momentum=0.9),
     r"^unknown convention 'tensorflow'; choose one of book, pytorch, optax, keras, sutskever$"),
    (dict(source="book", target="jax", lr=0.1, momentum=0.9), r"^unknown convention 'jax'"),
])
def test_bad_values_are_one_line_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        convert(**kwargs)
    assert "\n" not in str(info.value)


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError, match=r"lr \(α\) must be a real number, got '0\.1'"):
        convert("book", "pytorch", lr="0.1", momentum=0.9)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        convert("book", "pytorch", lr=0.1, momentum=0.9, nesterov="yes")


def test_identity_map_keeps_the_setting():
    conv = convert("pytorch", "pytorch", lr=0.01, momentum=0.9, nesterov=False, dampening=0.5)
    assert conv.target == conv.source
    assert conv.describe().splitlines()[0] == "torch.optim.SGD(params, lr=0.01, momentum=0.9, dampening=0.5)"
