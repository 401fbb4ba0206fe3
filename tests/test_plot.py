"""Figure 6.1 and its panels: structure, not pixels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

import descentlab as dl
from descentlab import plot, scene


@pytest.fixture(scope="module")
def line_fit_run():
    problem = dl.datasets.line_fit()
    return problem, dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=40)


def _panel(fig: Figure, prefix: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(prefix))


def test_figure_6_1_has_the_four_book_panels(line_fit_run):
    problem, traj = line_fit_run
    fig = plot.figure_6_1(problem, traj)
    titles = [ax.get_title() for ax in fig.axes]
    for prefix in ("(a)", "(b)", "(c)", "(d)"):
        assert sum(t.startswith(prefix) for t in titles) == 1, titles
    assert _panel(fig, "(b)").name == "3d"
    assert "nesterov (α=0.05, β=0.8)" in fig._suptitle.get_text()
    assert "line-fit" in fig._suptitle.get_text()


def test_data_panel_shows_the_data(line_fit_run):
    problem, traj = line_fit_run
    ax = _panel(plot.figure_6_1(problem, traj), "(a)")
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(offsets[:, 0], problem.x)
    np.testing.assert_array_equal(offsets[:, 1], problem.y)


def test_contour_panel_shows_every_iterate_numbered(line_fit_run):
    problem, traj = line_fit_run
    ax = _panel(plot.figure_6_1(problem, traj), "(c)")
    path_line = next(line for line in ax.lines if len(line.get_xdata()) == len(traj.params))
    np.testing.assert_array_equal(path_line.get_xdata(), traj.params[:, 0])
    np.testing.assert_array_equal(path_line.get_ydata(), traj.params[:, 1])
    labels = {t.get_text() for t in ax.texts}
    assert {"0", str(traj.steps)} <= labels
    assert len(labels) <= 12
    # the known minimum is marked and inside the view
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    m = problem.minima[0]
    assert x0 < m[0] < x1 and y0 < m[1] < y1
    assert ax.get_xlabel() == r"$\phi_{0}$" and ax.get_ylabel() == r"$\phi_{1}$"


def test_model_panel_draws_one_line_per_iterate(line_fit_run):
    problem, traj = line_fit_run
    ax = _panel(plot.figure_6_1(problem, traj), "(d)")
    lines = [line for line in ax.lines if len(line.get_xdata()) == 200]
    assert len(lines) == traj.steps + 2  # every iterate, and the last one again, bold
    x = lines[-1].get_xdata()
    np.testing.assert_allclose(lines[-1].get_ydata(), traj.final[0] + traj.final[1] * x)
    colors = {tuple(line.get_color()) for line in lines[:-1]}
    assert len(colors) == traj.steps + 1  # coloured first to last


def test_surface_problems_get_surface_contour_and_loss(tmp_path):
    problem = dl.problems.rosenbrock()
    traj = dl.run(dl.optimizers.nesterov(lr=0.02, beta=0.95), problem, steps=400)
    fig = plot.figure_6_1(problem, traj)
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert [t[:3] for t in titles] == ["(a)", "(b)", "(c)"]
    loss_ax = _panel(fig, "(c)")
    assert loss_ax.get_yscale() == "log"
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), traj.losses - problem.min_loss)
    contour_ax = _panel(fig, "(b)")
    assert "log-spaced" in contour_ax.get_title()
    # a long run is drawn as coloured segments, one per step
    segments = [c for c in contour_ax.collections if isinstance(c, LineCollection)
                and len(c.get_segments()) == traj.steps]
    assert segments
    plot.save(fig, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_a_diverged_run_still_renders_framed_on_its_finite_part(tmp_path):
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.gd(lr=0.5), problem, steps=50)
    assert traj.diverged_at is not None
    fig = plot.figure_6_1(problem, traj)
    assert f"diverged at step {traj.diverged_at}" in fig._suptitle.get_text()
    ax = _panel(fig, "(c)")
    lo, hi = ax.get_xlim()
    assert np.isfinite([lo, hi]).all()
    assert lo <= traj.params[:, 0].min() and traj.params[:, 0].max() <= hi
    plot.save(fig, tmp_path / "d.png")


def test_panels_are_axes_level(line_fit_run):
    problem, traj = line_fit_run
    sc = scene.build(problem, traj)
    fig = Figure()
    ax = fig.add_subplot()
    assert plot.contour(sc, ax=ax) is ax
    assert plot.data(sc, ax=fig.add_subplot(2, 2, 2)) is not None
    ax3 = fig.add_subplot(2, 2, 3, projection="3d")
    assert plot.surface(sc, ax=ax3) is ax3
    assert plot.loss_curve(sc).figure is not fig  # no ax: a fresh figure of its own
    with pytest.raises(ValueError, match="3-D"):
        plot.surface(sc, ax=ax)


def test_sgd_title_names_the_batch_size():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.sgd(lr=0.03), problem, steps=10, batch_size=3)
    assert "batch size 3" in plot.figure_6_1(problem, traj)._suptitle.get_text()
    scatter = [c for c in _panel(plot.figure_6_1(problem, traj), "(c)").collections
               if isinstance(c, PathCollection)]
    assert len(scatter[0].get_offsets()) == traj.steps + 1


def test_more_than_two_parameters_is_a_clear_error():
    problem = dl.problems.quadratic(dim=3)
    traj = dl.run(dl.optimizers.gd(lr=0.1), problem, steps=5)
    with pytest.raises(ValueError, match="2-parameter"):
        plot.figure_6_1(problem, traj)


@pytest.mark.parametrize(("suffix", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_save_picks_the_format_from_the_suffix(tmp_path, line_fit_run, suffix, magic):
    fig = plot.figure_6_1(*line_fit_run)
    path = plot.save(fig, tmp_path / f"f.{suffix.upper()}")
    assert path.read_bytes()[: len(magic)] == magic


def test_save_refuses_unknown_suffix_and_keeps_the_old_file(tmp_path, line_fit_run):
    fig = plot.figure_6_1(*line_fit_run)
    with pytest.raises(ValueError, match="png"):
        plot.save(fig, tmp_path / "f.txt")
    assert list(tmp_path.iterdir()) == []
