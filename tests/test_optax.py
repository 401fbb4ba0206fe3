"""descentlab.integrations.optax and the Optax map of descentlab.conventions, against Optax itself.

* book_nesterov(α, β) == optax.sgd(learning_rate=α(1−β), momentum=β, nesterov=True), whose params
  are the book's look-ahead point φ_t − αβ·m_t; book_phi gives φ_t;
* book_momentum(α, β) == optax.sgd(learning_rate=α(1−β), momentum=β) == the book's φ_t;
* descentlab.reference_updates.optax_sgd == optax.sgd, and conventions.to_book on Optax's real
  trace gives the book's (φ_t, m_t).

Runs in float64 (jax_enable_x64, for this module only) with the book's analytic gradients, compared to 1e-12.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import descentlab as dl
from descentlab import conventions, datasets, optimizers, reference_updates
from descentlab.integrations.optax import BookMomentumState, book_momentum, book_nesterov, book_phi

STEPS = 60
TOL = 1e-12
LINE = datasets.line_fit()
START = (1.6, -0.5)
SETTINGS = [(0.03, 0.9), (0.01, 0.5), (0.02, 0.0)]


@pytest.fixture(autouse=True, scope="module")
def float64():
    """Optax and the book in float64 for this module only (JAX's default is float32)."""
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def scaled_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def optax_run(opt, start=START, steps=STEPS):
    """params_0..params_T and the states after each step, with the line fit's gradient at the params."""
    params = jnp.asarray(start, dtype=jnp.float64)
    state = opt.init(params)
    out, states = [np.asarray(params)], []
    for _ in range(steps):
        grads = jnp.asarray(LINE.grad(np.asarray(params)))
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params))
        states.append(state)
    return np.array(out), states


@pytest.mark.parametrize(("alpha", "beta"), SETTINGS)
def test_book_nesterov_is_optax_sgd_nesterov_at_the_lookahead_point(alpha, beta):
    traj = dl.run(optimizers.nesterov(lr=alpha, beta=beta), LINE, start=START, steps=STEPS)
    ours, states = optax_run(book_nesterov(alpha, beta))
    theirs, _ = optax_run(optax.sgd(learning_rate=alpha * (1 - beta), momentum=beta, nesterov=True))
    assert scaled_diff(ours, theirs) <= TOL
    assert scaled_diff(ours, traj.params - alpha * beta * traj.momentum) <= TOL
    assert isinstance(states[-1], BookMomentumState)
    assert scaled_diff(states[-1].momentum, traj.momentum[-1]) <= TOL
    phi = book_phi(jnp.asarray(ours[-1]), states[-1], alpha, beta)
    assert scaled_diff(phi, traj.params[-1]) <= TOL
    if beta > 0:
        assert np.max(np.abs(ours - traj.params)) > 1e-4     # the params are not φ


@pytest.mark.parametrize(("alpha", "beta"), SETTINGS)
def test_book_momentum_is_optax_sgd_momentum(alpha, beta):
    traj = dl.run(optimizers.momentum(lr=alpha, beta=beta), LINE, start=START, steps=STEPS)
    ours, states = optax_run(book_momentum(alpha, beta))
    theirs, _ = optax_run(optax.sgd(learning_rate=alpha * (1 - beta), momentum=beta))
    assert scaled_diff(ours, traj.params) <= TOL
    assert scaled_diff(ours, theirs) <= TOL
    assert scaled_diff(states[-1].momentum, traj.momentum[-1]) <= TOL


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [None, 0.0, 0.5, 0.9])
def test_optax_reference_is_optax_sgd(nesterov, momentum):
    lr = 0.004
    ref = reference_updates.run(reference_updates.optax_sgd(lr, momentum, nesterov), LINE.grad, START, STEPS)
    theirs, states = optax_run(optax.sgd(learning_rate=lr, momentum=momentum, nesterov=nesterov))
    assert scaled_diff(theirs, np.array([s.params for s in ref])) <= TOL
    if momentum is not None:
        trace = np.asarray(states[-1][0].trace)
        assert scaled_diff(trace, ref[-1].buffer) <= TOL


@pytest.mark.parametrize("nesterov", [True, False])
def test_conventions_map_and_to_book_on_optax_itself(nesterov):
    alpha, beta = 0.03, 0.9
    conv = conventions.convert("book", "optax", lr=alpha, momentum=beta, nesterov=nesterov)
    s = conv.target
    assert conv.describe().splitlines()[0] == (
        f"optax.sgd(learning_rate=0.003, momentum=0.9{', nesterov=True' if nesterov else ''})")
    make = optimizers.nesterov if nesterov else optimizers.momentum
    traj = dl.run(make(lr=alpha, beta=beta), LINE, start=START, steps=STEPS)
    theirs, states = optax_run(optax.sgd(learning_rate=s.lr, momentum=s.momentum, nesterov=s.nesterov))
    for t in range(STEPS):
        phi, m = conventions.to_book(s, theirs[t + 1], np.asarray(states[t][0].trace))
        assert scaled_diff(phi, traj.params[t + 1]) <= TOL
        assert scaled_diff(m, traj.momentum[t + 1]) <= TOL


def test_pytrees_and_jit():
    alpha, beta = 0.05, 0.8
    params = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.ones((2, 3)) * 0.5, "b": jnp.array([0.25, -1.0])}
    ours, theirs = book_nesterov(alpha, beta), optax.sgd(alpha * (1 - beta), momentum=beta, nesterov=True)
    s1, s2 = ours.init(params), theirs.init(params)
    update = jax.jit(ours.update)
    p1 = p2 = params
    for _ in range(5):
        u1, s1 = update(grads, s1, p1)
        u2, s2 = theirs.update(grads, s2, p2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    for key in params:
        assert p1[key].shape == params[key].shape
        assert scaled_diff(p1[key], p2[key]) <= TOL
    assert scaled_diff(s1.momentum["w"], (1 - beta) * s2[0].trace["w"]) <= TOL


@pytest.mark.parametrize(("args", "message"), [
    ((-0.1, 0.9), r"^learning_rate \(α\) must be finite and > 0, got -0\.1$"),
    ((0.1, 1.0), r"^beta \(β\) must be in \[0, 1\), got 1\.0$"),
])
def test_bad_hyperparameters(args, message):
    for make in (book_nesterov, book_momentum):
        with pytest.raises(ValueError, match=message):
            make(*args)
