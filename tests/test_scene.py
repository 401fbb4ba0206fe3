"""The renderer-neutral scene: bounds, levels, numbering, grids."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab import scene
from descentlab.errors import InputError


def test_view_contains_the_path_and_the_nearest_minimum():
    problem = dl.problems.himmelblau()
    traj = dl.run(dl.optimizers.gd(lr=0.01), problem, start=(0.5, 0.5), steps=5)  # stops half-way
    (x0, x1), (y0, y1) = scene.view_bounds(problem, [traj.params])
    pts = traj.params
    assert x0 < pts[:, 0].min() and pts[:, 0].max() < x1
    assert y0 < pts[:, 1].min() and pts[:, 1].max() < y1
    nearest = problem.minima[np.argmin(np.linalg.norm(problem.minima - pts[-1], axis=1))]
    assert x0 < nearest[0] < x1 and y0 < nearest[1] < y1


def test_view_of_a_single_point_is_not_degenerate():
    problem = dl.problems.rosenbrock()
    (x0, x1), (y0, y1) = scene.view_bounds(problem, [np.array([[1.0, 1.0]])])
    assert x1 - x0 > 0.1 and y1 - y0 > 0.1


def test_loss_grid_matches_the_problem_pointwise():
    problem = dl.datasets.gabor()
    gx, gy, z = scene.loss_grid(problem, ((-2.0, 2.0), (5.0, 15.0)), resolution=7)
    assert z.shape == (7, 7)
    assert z[3, 5] == pytest.approx(float(problem.loss(np.array([gx[5], gy[3]]))), rel=1e-14)


@pytest.mark.parametrize("log", [False, True])
def test_contour_levels_increase_from_the_floor(log):
    problem = dl.problems.rosenbrock()
    _, _, z = scene.loss_grid(problem, ((-2.0, 2.0), (-1.0, 3.0)), resolution=50)
    levels = scene.contour_levels(z, n=16, log=log, floor=0.0)
    assert len(levels) == 17 and levels[0] == 0.0
    assert np.all(np.diff(levels) > 0)
    steps = np.diff(levels[1:])
    if log:  # geometric: constant ratio above the floor
        np.testing.assert_allclose(levels[2:] / levels[1:-1], levels[2] / levels[1], rtol=1e-9)
    else:  # quadratic spacing: gaps grow linearly
        np.testing.assert_allclose(np.diff(steps), np.diff(steps)[0], rtol=1e-9)


def test_numbered_steps_keep_the_ends_and_never_crowd():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=200)
    bounds = scene.view_bounds(problem, [traj.params])
    idx = scene.numbered_steps(traj.params, bounds, max_labels=12, min_gap=0.06)
    assert idx[0] == 0 and idx[-1] == 200 and len(idx) <= 12
    scale = np.array([b[1] - b[0] for b in bounds])
    unit = traj.params[idx] / scale
    gaps = np.linalg.norm(unit[:, None] - unit[None], axis=-1) + np.eye(len(idx))
    assert gaps.min() >= 0.06


def test_build_collects_model_lines_for_data_problems():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.momentum(lr=0.05, beta=0.8), problem, steps=10)
    sc = scene.build(problem, traj, resolution=20)
    path = sc.paths[0]
    np.testing.assert_allclose(path.model_lines, traj.params[:, :1] + traj.params[:, 1:] * sc.model_x)
    assert sc.has_data and sc.grid_x.shape == (20,) and sc.surface.shape == (20, 20)


def test_build_refuses_problems_that_are_not_two_dimensional():
    problem = dl.problems.quadratic(dim=4)
    traj = dl.run(dl.optimizers.gd(lr=0.1), problem, steps=2)
    with pytest.raises(ValueError, match="2-parameter"):
        scene.build(problem, traj)


# ---- more than two parameters: the slice a 2-D view draws --------------------------------------

def _model_runs():
    x = np.linspace(-1.0, 2.0, 15)
    model = dl.problems.from_expression("p0 + p1*x + p2*x**2", data=(x, 1.0 - 0.5 * x + 0.3 * x * x))
    runs = [dl.run(dl.optimizers.nesterov(lr=model.suggested.lr, beta=0.9), model, steps=12),
            dl.run(dl.optimizers.adam(lr=0.05), model, steps=12)]
    return model, runs


def test_drawable_leaves_a_two_parameter_problem_as_it_is():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.gd(lr=0.03), problem, steps=5)
    view, shown, full = scene.drawable(problem, (traj,))
    assert view is problem and shown == [traj] and full is None


def test_drawable_slices_through_the_first_runs_end():
    model, runs = _model_runs()
    view, shown, full = scene.drawable(model, runs, "p2,p0")
    assert view.param_names == ("p2", "p0") and view.keep == (2, 0)
    np.testing.assert_array_equal(view.at, runs[0].final)
    for cut, run, whole in zip(shown, runs, full, strict=True):
        np.testing.assert_array_equal(cut.params, run.params[:, [2, 0]])
        np.testing.assert_array_equal(cut.lookahead, run.lookahead[:, [2, 0]])
        np.testing.assert_array_equal(cut.grads, run.grads[:, [2, 0]])
        np.testing.assert_array_equal(cut.losses, run.losses)       # the full problem's losses
        np.testing.assert_array_equal(whole, run.params)
        for name, buffer in run.buffers.items():
            expected = buffer[:, [2, 0]] if buffer.ndim == 2 else buffer
            np.testing.assert_array_equal(cut.buffers[name], expected)
    # the view's loss at a cut iterate is the model's loss at the slice point: fixed p1 from runs[0]
    point = np.array(runs[0].final)
    point[[2, 0]] = shown[1].params[4]
    assert view.loss(shown[1].params[4]) == model.loss(point)
    # no keep: the first two parameters
    assert scene.drawable(model, runs)[0].param_names == ("p0", "p1")
    sc = scene.build(view, shown, resolution=12, full_params=full)
    np.testing.assert_allclose(sc.paths[1].model_lines, model.predict(runs[1].params, sc.model_x))


def test_drawable_refuses_what_a_2d_view_cannot_show():
    model, runs = _model_runs()
    with pytest.raises(InputError, match="keeps two parameters"):
        scene.drawable(model, runs, "p0,p1,p2")
    with pytest.raises(ValueError, match="'q' is not a parameter"):
        scene.drawable(model, runs, "p0,q")
    line = dl.problems.from_expression("(x - 1)**2", params="x")
    with pytest.raises(InputError, match="needs two parameters"):
        scene.drawable(line, [dl.run(dl.optimizers.gd(lr=0.1), line, steps=2)])


def test_slice_trajectory_keeps_names_and_order():
    _, runs = _model_runs()
    cut = scene.slice_trajectory(runs[1], [1, "p2"])
    assert cut.param_names == ("p1", "p2") and cut.steps == runs[1].steps
    np.testing.assert_array_equal(cut.params, runs[1].params[:, 1:])
    np.testing.assert_array_equal(cut.buffers["second_moment"], runs[1].buffers["second_moment"][:, 1:])
