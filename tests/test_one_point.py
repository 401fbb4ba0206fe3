"""The runner's one-point entries (``loss_one``/``grad_one``) give exactly what the checked,
batched ``loss``/``grad`` give: the fast path of the loop changes no bit of a trajectory."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl

finite = st.floats(-1e6, 1e6, allow_nan=False)
PROBLEMS = {"line": dl.datasets.line_fit(), "gabor": dl.datasets.gabor(),
            "rosenbrock": dl.problems.rosenbrock()}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PROBLEMS)), finite, finite)
def test_one_point_equals_batched(name, a, b):
    problem = PROBLEMS[name]
    p = np.array([a, b])
    with np.errstate(all="ignore"):
        assert problem.loss_one(p) == float(problem.loss(p)) or \
            (np.isnan(problem.loss_one(p)) and np.isnan(problem.loss(p)))
        np.testing.assert_array_equal(problem.grad_one(p), problem.grad(p))
        assert problem.grad_one(p).shape == (2,)


def test_line_fit_one_point_is_python_floats_of_the_same_operations():
    line = PROBLEMS["line"]
    assert type(line).loss_one is not dl.problems.Problem.loss_one  # the fast path is in use
    batch = np.array([0, 3, 5])
    p = np.array([0.3, -1.2])
    np.testing.assert_array_equal(line.grad_one(p, batch), line.grad(p, batch))


def test_run_with_fast_path_equals_a_plain_loop_bit_for_bit():
    line = PROBLEMS["line"]
    traj = dl.run(dl.optimizers.gd(lr=0.01), line, [1.6, -0.5], 500)
    phi = np.array([1.6, -0.5])
    for t in range(500):
        phi = phi - 0.01 * line.grad(phi)
        assert np.array_equal(traj.params[t + 1], phi)
        assert traj.losses[t + 1] == float(line.loss(phi))


def test_divergence_still_detected_on_the_fast_path():
    traj = dl.run(dl.optimizers.gd(lr=10.0), PROBLEMS["line"], [1.6, -0.5], 200)
    assert traj.diverged_at is not None and traj.stop_reason == "diverged"
    assert np.isfinite(traj.losses).all()
