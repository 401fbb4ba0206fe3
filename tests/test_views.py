"""Views: the region a 2-D figure frames, its aspect and limits, slices, the minimum star, and how a
run ended (unbounded below, period-2 cycles) — checked against closed forms and plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import descentlab as dl
from descentlab import divergence, framing, plot, scene
from descentlab.cli import main
from descentlab.config import Config
from descentlab.errors import InputError

ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"
RASTRIGIN = "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)"
SADDLE = "x**2 - y**2"


def _inside(point, bounds) -> bool:
    (x0, x1), (y0, y1) = bounds
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def _panel(fig: Figure, *starts: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(starts))


# ---- the one divergence rule: unbounded below ----------------------------------------------------

def test_the_band_is_the_documented_closed_form():
    for loss0 in (-3.0, 0.0, 0.5, 7.0, -2e4):
        low, high = divergence.limits(loss0)
        assert high == divergence.FACTOR * max(1.0, abs(loss0)) == divergence.bound(loss0)
        assert low == loss0 - divergence.FACTOR * max(1.0, abs(loss0)) == divergence.lower_bound(loss0)
    band = divergence.limits(2.0)
    cases = {1.0: None, band.high * 2: "diverged", math.nan: "diverged", math.inf: "diverged",
             band.low * 2: "unbounded below", -math.inf: "unbounded below"}
    for loss, reason in cases.items():
        assert divergence.reason_one(loss, band) == reason
    assert divergence.reason_one(1.0, band, [np.array([0.0, np.inf])]) == "diverged"
    got = divergence.diverged(np.array(list(cases)), band)
    assert got.tolist() == [reason is not None for reason in cases.values()]
    # an upper bound alone (the old form) never flags a falling loss
    assert not divergence.diverged_one(-1e300, band.high)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, -1.5, 2.0, 1e308, -1e308, math.inf, -math.inf, math.nan]),
                         min_size=0, max_size=24), min_size=0, max_size=3),
       st.booleans())
def test_a_buffer_is_finite_exactly_when_numpy_says_every_entry_is(entries, as_matrix):
    """The runner's per-step check (a Python sum for a few entries, numpy's for more; the sum of
    finite 1e308s overflows and must not count) against ``np.isfinite(...).all()``."""
    buffers = [np.array(e, dtype=np.float64) for e in entries]
    if as_matrix:
        buffers = [b.reshape(1, -1) for b in buffers]
    with np.errstate(all="ignore"):  # as the runner calls it (inf − inf in a sum is nan, no warning)
        assert divergence.finite_one(buffers) == all(bool(np.isfinite(b).all()) for b in buffers)


def test_gradient_descent_on_a_saddle_stops_as_unbounded_below_at_the_closed_form_step():
    # gd on x² − y²: x_t = (1 − 2α)^t x_0, y_t = (1 + 2α)^t y_0, L_t = x_t² − y_t²
    problem = dl.problems.from_expression(SADDLE, start=(1.0, 0.01))
    alpha = 0.3
    traj = dl.run(dl.optimizers.gd(lr=alpha), problem, steps=500)
    t = np.arange(200)
    losses = ((1 - 2 * alpha) ** t * 1.0) ** 2 - ((1 + 2 * alpha) ** t * 0.01) ** 2
    low = losses[0] - divergence.FACTOR * max(1.0, abs(losses[0]))
    expected = int(np.argmax(losses < low))
    assert traj.stop_reason == "unbounded below" and traj.diverged_at == expected
    assert traj.steps == expected - 1
    np.testing.assert_allclose(traj.losses, losses[:expected], rtol=1e-9, atol=1e-12)
    assert traj.status == f"unbounded below at step {expected}"
    again = dl.Trajectory.from_json(traj.to_json())
    assert again == traj and again.stop_reason == "unbounded below"


def test_a_sweep_applies_the_same_lower_bound_as_a_run():
    problem = dl.problems.from_expression(SADDLE, start=(1.0, 0.01))
    lrs = np.array([0.001, 0.05, 0.1, 0.3])
    result = dl.sweep.sweep(problem, "gd", {"lr": lrs}, steps=400, engine="numpy")
    reasons = []
    for i, lr in enumerate(lrs):
        traj = dl.run(dl.optimizers.gd(lr=lr), problem, steps=400)
        reasons.append(traj.stop_reason)
        assert result.diverged_at.reshape(-1)[i] == (-1 if traj.diverged_at is None else traj.diverged_at)
    assert reasons == ["completed"] + ["unbounded below"] * 3


def test_the_compiled_kernel_applies_the_lower_bound_too():
    kernel = pytest.importorskip("descentlab.sweep_kernel")
    # one eigen-direction with λ = −2 under gradient descent: e ← (1 − αλ)e, L − floor = ½λe²
    lam, alpha, floor = np.array([-2.0]), 0.1, 0.0
    mats = np.array([[[[1 - alpha * lam[0], 0.0], [0.0, 0.0]]]])
    low, high = divergence.limits(floor + 0.5 * lam[0])
    final, _, gone = kernel.run_quadratic(mats, lam, np.array([1.0]), 500, 0.0, 0.0, floor, (low, high),
                                                np.array([False]), np.zeros((1, 1, 2, 2)))
    t = np.arange(1, 501)
    expected = int(t[np.argmax(0.5 * lam[0] * (1 - alpha * lam[0]) ** (2 * t) < low)])
    assert gone[0] == expected and math.isnan(final[0])


# ---- period-2 cycles ---------------------------------------------------------------------------

def test_gradient_descent_at_its_stability_limit_ends_in_a_period_two_cycle():
    problem = dl.problems.quadratic(kappa=10.0)
    big = float(np.linalg.eigvalsh(problem.constant_hessian).max())
    at_limit = dl.run(dl.optimizers.gd(lr=2.0 / big), problem, steps=400)      # e ← −e along λ_max
    inside = dl.run(dl.optimizers.gd(lr=1.9 / big), problem, steps=400)        # still contracting
    assert at_limit.diverged_at is None and at_limit.cycle
    assert at_limit.status.startswith("period-2 cycle")
    assert not inside.cycle and inside.status == "ok"
    np.testing.assert_allclose(at_limit.params[-1], at_limit.params[-3], atol=1e-12)  # the oracle
    assert np.linalg.norm(at_limit.params[-1] - at_limit.params[-2]) > 0.1


def test_period_two_on_hand_made_ends():
    two = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    flat = np.ones(5)
    assert divergence.period_two(two, flat)
    assert not divergence.period_two(two, np.array([5.0, 4, 3, 2, 1]))        # still falling
    assert not divergence.period_two(np.zeros((5, 2)), flat)                   # converged: no jump
    assert not divergence.period_two(two[:2], flat[:2])                        # too short
    shrinking = np.array([[(-0.5) ** t, 0.0] for t in range(6)])
    assert not divergence.period_two(shrinking, 0.5 ** (2 * np.arange(6)))


def test_compare_summary_reports_unbounded_below_and_a_cycle(tmp_path, capsys):
    problem = dl.problems.quadratic(kappa=10.0)
    big = float(np.linalg.eigvalsh(problem.constant_hessian).max())
    assert main(["compare", "--problem", "quadratic", "--kappa", "10", "--optimizers", "gd,nesterov",
                 "--set", f"gd.lr={2.0 / big!r}", "--steps", "400", "-o", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    gd_row = next(line for line in out.splitlines() if line.startswith("gd "))
    assert "period-2 cycle" in gd_row
    assert main(["compare", "--loss", SADDLE, "--start", "1,0.01", "--optimizers", "gd",
                 "--lr", "0.3", "--steps", "300", "-o", str(tmp_path / "s.png")]) == 0
    captured = capsys.readouterr()
    assert "unbounded below at step" in captured.out and "unbounded below" in captured.err


# ---- the region a view frames ------------------------------------------------------------------

def test_the_readme_rosenbrock_example_shows_the_valley_and_the_minimum():
    problem = dl.problems.from_expression(ROSENBROCK, start=(-1.5, 2.0))
    traj = dl.run(dl.optimizers.nesterov(lr=1e-3, beta=0.9), problem)
    sc = scene.build(problem, traj, resolution=40)
    assert sc.minima_found and len(sc.minima) == 1
    np.testing.assert_allclose(sc.minima[0], [1.0, 1.0], atol=1e-5)   # the closed-form minimum
    for x in np.linspace(-1.5, 1.0, 26):                               # the valley floor y = x²
        assert _inside((x, x * x), sc.bounds), x
    assert all(_inside(p, sc.bounds) for p in traj.params)


def test_rastrigin_shows_more_than_the_starting_basin_and_its_global_minimum():
    problem = dl.problems.from_expression(RASTRIGIN, start=(2.3, 1.7))
    traj = dl.run(dl.optimizers.nesterov(lr=0.042, beta=0.9), problem)
    sc = scene.build(problem, traj, resolution=40)
    (x0, x1), (y0, y1) = sc.bounds
    assert x1 - x0 >= 2.0 and y1 - y0 >= 2.0                   # the basins are 1 apart
    assert any(np.allclose(m, [0.0, 0.0], atol=1e-6) for m in sc.minima)
    assert all(_inside(p, sc.bounds) for p in traj.params)


def test_a_run_away_keeps_a_sensible_view_and_says_where_it_leaves():
    problem = dl.problems.from_expression(SADDLE, start=(1.0, 0.01))
    traj = dl.run(dl.optimizers.nesterov(lr=2.5, beta=0.9), problem, steps=100)
    assert traj.stop_reason == "unbounded below" and np.abs(traj.params).max() > 1e4
    sc = scene.build(problem, traj, resolution=30)
    (x0, x1), (y0, y1) = sc.bounds
    assert max(x1 - x0, y1 - y0) < 5 and _inside((0.0, 0.0), sc.bounds) and _inside(traj.params[0], sc.bounds)
    path = sc.paths[0]
    outside = [not _inside(p, sc.bounds) for p in traj.params]
    assert path.leaves_at is not None and all(outside[path.leaves_at:]) and not outside[path.leaves_at - 1]
    assert f"leaves the view at step {path.leaves_at}" in sc.note
    assert np.isnan(path.on_surface[path.leaves_at:]).all()           # no 3-D point off the surface
    fig = plot.figure_6_1(problem, traj, resolution=30)
    assert "unbounded below at step" in fig._suptitle.get_text()
    ax = _panel(fig, "(b) loss contours")
    assert any(t.get_text().startswith(f"leaves the view at step {path.leaves_at}") for t in ax.texts)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kappa=st.floats(1.0, 200.0), angle=st.floats(0.0, 180.0), sx=st.floats(-8, 8), sy=st.floats(-8, 8),
       fraction=st.floats(0.05, 0.95))
def test_a_run_that_did_not_stop_is_never_off_screen(kappa, angle, sx, sy, fraction):
    problem = dl.problems.quadratic(kappa=kappa, angle=angle)
    big = float(np.linalg.eigvalsh(problem.constant_hessian).max())
    traj = dl.run(dl.optimizers.gd(lr=fraction * 2.0 / big), problem, start=(sx, sy), steps=30)
    view = framing.frame(problem, [traj.params])
    assert all(_inside(p, view.bounds) for p in traj.params)
    assert _inside(problem.minima[0], view.bounds)


# ---- limits and aspect ---------------------------------------------------------------------------

def test_xlim_and_ylim_replace_one_axis_each_and_are_checked():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.gd(lr=0.03), problem, steps=10)
    sc = scene.build(problem, traj, resolution=10, xlim=(-1, 3), aspect="auto")
    assert sc.bounds[0] == (-1.0, 3.0) and sc.bounds[1] != (-1.0, 3.0)
    sc = scene.build(problem, traj, resolution=10, xlim=(-1, 3), ylim=(0, 1), aspect="equal")
    assert sc.bounds == ((-1.0, 3.0), (0.0, 1.0))                       # given: never widened
    for bad in ((1, 0), (0, math.inf), (1, 2, 3), "a"):
        with pytest.raises(InputError, match="xlim"):
            scene.build(problem, traj, resolution=10, xlim=bad)
    with pytest.raises(InputError, match="aspect"):
        scene.build(problem, traj, resolution=10, aspect="square")


def test_equal_aspect_is_the_default_where_the_ranges_allow_and_fills_the_panel():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=40)
    view = framing.frame(problem, [traj.params], panel=1.3)
    (x0, x1), (y0, y1) = view.bounds
    assert view.aspect == "equal" and (x1 - x0) / (y1 - y0) == pytest.approx(1.3, rel=0.05)
    assert framing.default_aspect(((0, 1), (0, 2.9))) == "equal"
    assert framing.default_aspect(((0, 1), (0, 3.1))) == "auto"
    fig = plot.figure_6_1(problem, traj, resolution=30)
    assert _panel(fig, "(c)").get_aspect() == 1.0
    fig = plot.figure_6_1(problem, traj, resolution=30, aspect="auto")
    assert _panel(fig, "(c)").get_aspect() == "auto"


def _display_angle(ax, point, u, v) -> float:
    """The angle in degrees between directions u and v at ``point`` as drawn on the screen."""
    to = ax.transData.transform
    a = to(point + 1e-3 * u) - to(point)
    b = to(point + 1e-3 * v) - to(point)
    return math.degrees(math.acos(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)))


def test_with_equal_scales_a_gradient_is_drawn_perpendicular_to_its_contour():
    problem = dl.problems.quadratic(kappa=20.0, angle=25.0)
    traj = dl.run(dl.optimizers.gd(lr=0.02), problem, start=(-4.0, 3.0), steps=20)
    point = traj.params[0]
    g = problem.grad(point)                              # normal to the level set at point
    tangent = np.array([-g[1], g[0]])                    # along the contour
    for aspect, expected in (("equal", True), ("auto", False)):
        fig = plot.figure_6_1(problem, traj, resolution=30, aspect=aspect, xlim=(-6, 6), ylim=(-1.5, 3.5))
        fig.draw_without_rendering()
        angle = _display_angle(_panel(fig, "(b) loss contours"), point, g, tangent)
        assert (abs(angle - 90.0) < 0.01) == expected, (aspect, angle)


def test_view_keys_round_trip_through_a_config_file(tmp_path):
    cfg = Config(problem="rosenbrock", xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), aspect="auto")
    assert Config.from_toml(cfg.to_toml("figure")) == cfg
    with pytest.raises(InputError, match="aspect"):
        Config.from_toml('aspect = "square"\n')


def test_every_2d_command_takes_the_view_options(tmp_path, capsys):
    common = ["--xlim", "-2,2", "--ylim", "-1,3", "--aspect", "auto"]
    for command, out in (("figure", "f.png"), ("compare", "c.png"), ("lookahead", "l.png")):
        assert main([command, "--problem", "rosenbrock", "--steps", "20", *common,
                     "-o", str(tmp_path / out)]) == 0, capsys.readouterr().err
    assert main(["figure", "--xlim", "3,1", "-o", str(tmp_path / "x.png")]) == 2
    assert "--xlim" in capsys.readouterr().err
    assert main(["figure", "--aspect", "square", "-o", str(tmp_path / "x.png")]) == 2
    assert "--aspect must be equal or auto, got 'square'" in capsys.readouterr().err


# ---- slices --------------------------------------------------------------------------------------

def _model_runs():
    x = np.linspace(-1.0, 2.0, 15)
    model = dl.problems.from_expression("p0 + p1*x + p2*x**2", data=(x, 1.0 - 0.5 * x + 0.3 * x * x))
    runs = [dl.run(dl.optimizers.adam(lr=0.05), model, start=(-1.5, 1.0, -0.5), steps=40),
            dl.run(dl.optimizers.nesterov(lr=model.suggested.lr, beta=0.9), model, start=(-1.5, 1.0, -0.5),
                   steps=40)]
    return model, runs


def test_the_slice_goes_through_the_best_runs_end_and_says_so():
    model, runs = _model_runs()
    best = int(np.argmin([r.losses[-1] for r in runs]))
    assert best == 1  # nesterov, not the first run
    view, _, _ = scene.drawable(model, runs, "p0,p2")
    np.testing.assert_array_equal(view.at, runs[best].final)
    assert "nesterov's final point" in view.name and "p1=" in view.name


def test_paths_sit_on_the_drawn_slice_and_the_gap_to_their_own_loss_is_reported():
    model, runs = _model_runs()
    view, shown, full = scene.drawable(model, runs, "p0,p2")
    sc = scene.build(view, shown, full_params=full, resolution=20)
    for path, run in zip(sc.paths, runs, strict=True):
        on_slice = np.array(run.params)
        on_slice[:, 1] = view.at[1]                     # the held parameter at the slice's value
        drawn = model.loss(on_slice)                   # the oracle: the full model at the slice point
        inside = np.array([_inside(p, sc.bounds) for p in path.points])
        np.testing.assert_allclose(path.on_surface[inside], drawn[inside], rtol=1e-12)
        assert path.slice_gap == pytest.approx(float(np.max(np.abs(run.losses - drawn))), rel=1e-12)
    assert "drawn on the slice" in sc.note
    fig = plot.figure_6_1(view, shown[0], full_params=full[0], resolution=20)
    ax3d = next(ax for ax in fig.axes if ax.name == "3d")
    zs = ax3d.lines[0].get_data_3d()[2]
    np.testing.assert_allclose(zs, scene.surface_heights(sc, view.loss(shown[0].params)), rtol=1e-12)


def test_titles_show_the_start_in_all_coordinates():
    model, runs = _model_runs()
    view, shown, full = scene.drawable(model, runs, "p0,p2")
    fig = plot.compare(view, shown, full_params=full, resolution=20)
    assert "from (-1.5, 1, -0.5)" in fig._suptitle.get_text()
    fig = plot.figure_6_1(view, shown[1], full_params=full[1], resolution=20)
    assert "from (-1.5, 1, -0.5)" in fig._suptitle.get_text()


# ---- the minimum star and the legend -------------------------------------------------------------

def test_the_star_stays_visible_above_the_paths_and_no_number_sits_on_it():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=40)
    fig = plot.figure_6_1(problem, traj)
    fig.draw_without_rendering()
    ax = _panel(fig, "(c)")
    star = next(line for line in ax.lines if line.get_marker() == "*")
    below = [a for a in (*ax.lines, *ax.collections) if a is not star]
    assert all(star.get_zorder() > a.get_zorder() for a in below)
    box = star.get_window_extent()
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert numbers and not any(t.get_window_extent().overlaps(box) for t in numbers)
    # iterates crowding the star (13–39) are not numbered
    sc = scene.build(problem, traj)
    unit = np.array([b[1] - b[0] for b in sc.bounds])
    near = [t for t in sc.paths[0].numbered[1:-1]
            if np.linalg.norm((traj.params[t] - problem.minima[0]) / unit) < 0.06]
    assert near == []


def test_the_compare_legend_sits_off_the_contour_map():
    problem = dl.datasets.line_fit()
    runs = dl.run_many([dl.optimizers.gd(lr=0.03), dl.optimizers.momentum(lr=0.05, beta=0.8),
                        dl.optimizers.nesterov(lr=0.05, beta=0.8), dl.optimizers.adam(lr=0.1)], problem,
                       steps=60)
    fig = plot.compare(problem, runs)
    fig.draw_without_rendering()
    contours = _panel(fig, "paths on")
    assert contours.get_legend() is None and len(fig.legends) == 1
    assert len(fig.legends[0].get_texts()) == 4           # one entry per path, below the panels
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    assert not any(legend.get_window_extent().overlaps(contours.get_window_extent()) for legend in legends)
