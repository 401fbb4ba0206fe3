"""The plotly views: many data as a density, loss curves that end at the float64 floor, and 3-D
scenes whose titles and ticks fit (set back from the camera, no z axis piled onto a corner)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descentlab as dl
from descentlab import scene as scene_mod
from descentlab import theme
from descentlab.web import figures
from descentlab.web.figures import decode

RES = 40


@pytest.fixture(scope="module")
def many_rows():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 2, 200_000)
    y = 2 + 3 * x + rng.normal(0, 0.5, x.size)
    problem = dl.problems.linear_regression(x, y, name="many")
    trajs = [dl.run(dl.optimizers.nesterov(lr=2e-6, beta=0.8), problem, steps=20)]
    return problem, scene_mod.build(problem, trajs, resolution=RES)


def test_many_rows_are_sent_as_one_heatmap_of_counts_not_a_marker_each(many_rows):
    problem, sc = many_rows
    for fig in (figures.views(sc)["data"], figures.combined(sc)):
        heat = [t for t in fig["data"] if t["type"] == "heatmap"]
        assert len(heat) == 1
        counts = decode(heat[0]["customdata"])
        assert counts.sum() == len(problem.x)  # every row counted once, all inside the view
        z = decode(heat[0]["z"])
        np.testing.assert_allclose(z[counts > 0], np.log10(counts[counts > 0]), rtol=1e-6)
        assert np.isnan(z[counts == 0]).all()  # empty cells blank
        sent = sum(len(decode(t["x"])) if isinstance(t.get("x"), dict) else len(t.get("x") or [])
                   for t in fig["data"] if t["type"] == "scatter")
        assert sent < 10_000
        legend = [t["name"] for t in fig["data"] if t.get("showlegend") and t["type"] == "scatter"]
        assert any("N=200,000" in name and "density" in name for name in legend), legend


def test_few_rows_stay_markers():
    problem = dl.datasets.line_fit()
    sc = scene_mod.build(problem, [dl.run(dl.optimizers.gd(lr=0.03), problem, steps=5)], resolution=RES)
    data = figures.views(sc)["data"]["data"]
    assert not [t for t in data if t["type"] == "heatmap"]
    assert len(problem.x) <= theme.DENSITY_ABOVE


@pytest.fixture(scope="module")
def floored_runs():
    problem = dl.problems.quadratic()
    trajs = dl.run_many([dl.optimizers.gd(lr=0.1), dl.optimizers.nesterov(lr=0.1, beta=0.9)], problem,
                        steps=300)
    return problem, trajs, scene_mod.build(problem, trajs, resolution=RES)


def test_loss_curves_end_at_the_float64_floor_with_a_triangle(floored_runs):
    problem, trajs, sc = floored_runs
    level = scene_mod.gap_floor(problem.min_loss)
    fig = figures.views(sc, 300)["loss"]
    for traj in trajs:
        gap = traj.losses - problem.min_loss
        first = next((t for t, v in enumerate(gap) if v <= level), None)  # a plain loop
        (line,) = [t for t in fig["data"] if t.get("name") == traj.label and t.get("mode") == "lines"]
        y = decode(line["y"])
        if first is None:
            np.testing.assert_array_equal(y, gap)
            continue
        np.testing.assert_array_equal(y[:first], gap[:first])
        assert y[first] == level and np.all(np.isnan(y[first + 1:]) | (y[first + 1:] > level))
        marks = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "triangle-down"
                 and t["name"].startswith(traj.optimizer)]
        assert [m["x"] for m in marks] == [[first]] and marks[0]["y"] == [level]
        # the selected-step marker sits on the floor once the curve has gone below it
        (sel,) = [t for t in fig["data"] if t.get("name") == "φ_300" and t.get("legendgroup") == marks[0][
            "legendgroup"] and t["type"] == "scatter"]
        got = decode(sel["y"]) if isinstance(sel["y"], dict) else np.asarray(sel["y"])
        assert np.isfinite(got).all()
    notes = [a["text"] for a in fig["layout"]["annotations"]]
    assert any("below float64 resolution" in n for n in notes), notes
    assert fig["layout"]["yaxis"]["range"][0] < math.log10(level)


def test_the_pages_set_the_3d_camera_back():
    problem = dl.problems.rosenbrock()
    sc = scene_mod.build(problem, [dl.run(dl.optimizers.nesterov(lr=0.002, beta=0.9), problem, steps=10)],
                         resolution=RES)
    near = figures.views(sc)["surface"]["layout"]["scene"]["camera"]["eye"]
    eye = figures.combined(sc)["layout"]["scene"]["camera"]["eye"]
    assert math.dist((0, 0, 0), eye.values()) / math.dist((0, 0, 0), near.values()) == pytest.approx(1.2)
    problem = dl.datasets.line_fit()
    sc = scene_mod.build(problem, [dl.run(dl.optimizers.gd(lr=0.03), problem, steps=5)], resolution=RES)
    near = figures.views(sc)["surface"]["layout"]["scene"]["camera"]["eye"]
    eye = figures.combined(sc)["layout"]["scene"]["camera"]["eye"]
    assert math.dist((0, 0, 0), eye.values()) / math.dist((0, 0, 0), near.values()) == pytest.approx(1.1)


@pytest.mark.parametrize(("make", "from_above"), [(dl.problems.rosenbrock, True),
                                                  (dl.datasets.line_fit, False)])
def test_a_z_axis_seen_from_above_shows_no_ticks_to_pile_up(make, from_above):
    problem = make()
    s = problem.suggested
    sc = scene_mod.build(problem, [dl.run(dl.optimizers.nesterov(lr=s.lr, beta=s.beta), problem,
                                          steps=s.steps)], resolution=RES)
    layout = figures.views(sc)["surface"]["layout"]["scene"]
    eye = layout["camera"]["eye"]
    up = eye["z"] / 0.9  # the camera's height, as surface._eye scales it
    elevation = math.degrees(math.atan2(up, math.hypot(eye["x"], eye["y"])))
    assert (elevation > 70) == from_above
    z = layout["zaxis"]
    for axis in ("xaxis", "yaxis", "zaxis"):
        assert layout[axis]["nticks"] <= 6
    if elevation > 70:
        assert z["showticklabels"] is False and z["title"]["text"] == ""
    else:
        assert z.get("showticklabels", True) and z["title"]["text"]
