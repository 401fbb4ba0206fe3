"""The renderer-neutral scene: bounds, levels, numbering, grids."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab import scene


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
