"""Figure 6.1 and its panels: structure, not pixels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

import descentlab as dl
from descentlab import plot, scene
from descentlab.plot import surface3d


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
    assert ax.get_xlabel() == "φ₀" and ax.get_ylabel() == "φ₁"   # plain text: no mathtext to parse


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


def test_a_diverged_run_renders_around_its_start_and_says_where_it_leaves(tmp_path):
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.gd(lr=0.5), problem, steps=50)
    assert traj.diverged_at is not None and np.abs(traj.params).max() > 1e3
    fig = plot.figure_6_1(problem, traj)
    assert f"diverged at step {traj.diverged_at}" in fig._suptitle.get_text()
    ax = _panel(fig, "(c)")
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert np.isfinite([x0, x1, y0, y1]).all() and x1 - x0 < 10 and y1 - y0 < 10  # not ±10³
    for point in (traj.params[0], problem.minima[0]):  # the start and the minimum stay in view
        assert x0 < point[0] < x1 and y0 < point[1] < y1
    leaving = [t.get_text() for t in ax.texts if t.get_text().startswith("leaves the view at step")]
    assert leaving == ["leaves the view at step 1\n(diverged)"]
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


# ---- the 3-D panel: labels upright, inside the figure, clear of each other ------------------------

def _surface_run(name):
    if name in ("line-fit", "gabor"):
        problem = dl.datasets.line_fit() if name == "line-fit" else dl.datasets.gabor()
    else:
        problem = getattr(dl.problems, name)()
    s = problem.suggested
    return problem, dl.run(dl.optimizers.nesterov(lr=s.lr, beta=s.beta or 0.9), problem, steps=s.steps)


def _check_3d_labels(fig):
    """After a real draw: every axis label and drawn tick label of the 3-D panel lies inside the
    figure and inside the layout cell of its panel, the labels are upright (the z label reads
    bottom to top), and no two texts of different axes overlap."""
    fig.draw_without_rendering()
    (ax,) = [a for a in fig.axes if a.name == "3d"]
    cell = surface3d.area(ax)
    for axis, rotation in ((ax.xaxis, 0), (ax.yaxis, 0), (ax.zaxis, 90)):
        assert axis.label.get_text()
        assert axis.label.get_rotation() == rotation
    texts = surface3d.texts(ax)
    assert len(texts) >= 3 + 6
    boxes = [t.get_window_extent() for t in texts]
    for text, box in zip(texts, boxes, strict=True):
        assert surface3d.inside(box, fig.bbox), (text.get_text(), box, fig.bbox)
        assert surface3d.inside(box, cell, slack=surface3d.SLACK_PX + 1), (text.get_text(), box, cell)
    owner = {id(t): axis for axis in (ax.xaxis, ax.yaxis, ax.zaxis)
             for t in [axis.label, *(tk.label1 for tk in axis.get_major_ticks())]}
    for i, a in enumerate(texts):
        for b, bb in zip(texts[i + 1:], boxes[i + 1:], strict=True):
            if owner[id(a)] is not owner[id(b)]:
                assert not boxes[i].overlaps(bb), (a.get_text(), b.get_text())


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "quadratic", "beale", "gabor", "line-fit"])
def test_3d_labels_are_upright_and_inside_the_figure(name):
    _check_3d_labels(plot.figure_6_1(*_surface_run(name)))


@pytest.mark.parametrize("azimuth", [45, 135, -45, -135])
@pytest.mark.parametrize("name", ["rosenbrock", "line-fit"])
def test_3d_labels_fit_from_every_corner(name, azimuth):
    """The layouts of both kinds of figure (1 × 3 and 2 × 2), seen from each corner of the box."""
    fig = plot.figure_6_1(*_surface_run(name))
    (ax,) = [a for a in fig.axes if a.name == "3d"]
    ax.view_init(elev=32, azim=azimuth)
    surface3d.fit(fig)
    _check_3d_labels(fig)


# ---- the 3-D surface is sampled finely enough for its shape ---------------------------------------

def _cycles(h: np.ndarray, axis: int, share: float = 0.999) -> int:
    """How many cycles along ``axis`` hold ``share`` of the height grid's variation (FFT of each
    line after removing the straight line between its ends, so the ends do not count as a jump)."""
    g = np.moveaxis(h, axis, -1)
    t = np.linspace(0.0, 1.0, g.shape[-1])
    d = g - (g[..., :1] + (g[..., -1:] - g[..., :1]) * t)
    power = (np.abs(np.fft.rfft(d, axis=-1)) ** 2).reshape(-1, g.shape[-1] // 2 + 1).sum(axis=0)
    return int(np.searchsorted(np.cumsum(power) / power.sum(), share))


def _drawn_grid(problem, traj, ax):
    """The grid columns and rows the 3-D panel draws: those :func:`surface3d.sample_strides` picks
    on the scene's grid, checked against the number of facets the panel holds."""
    sc = scene.build(problem, traj)
    heights = scene.surface_heights(sc, sc.surface)
    rs, cs = surface3d.sample_strides(heights)
    cols = sc.grid_x[sorted(set(range(0, len(sc.grid_x), cs)) | {len(sc.grid_x) - 1})]
    rows = sc.grid_y[sorted(set(range(0, len(sc.grid_y), rs)) | {len(sc.grid_y) - 1})]
    (poly,) = [c for c in ax.collections if c.__class__.__name__ == "Poly3DCollection"]
    assert len(poly.get_array()) == (len(cols) - 1) * (len(rows) - 1)  # one colour per facet
    assert (cols[0], cols[-1]) == sc.bounds[0] and (rows[0], rows[-1]) == sc.bounds[1]
    return cols, rows


def test_gabor_surface_has_enough_samples_per_cycle_and_follows_the_function():
    problem, traj = _surface_run("gabor")
    fig = plot.figure_6_1(problem, traj)
    (ax,) = [a for a in fig.axes if a.name == "3d"]
    cols, rows = _drawn_grid(problem, traj, ax)
    (x0, x1), (y0, y1) = (cols[0], cols[-1]), (rows[0], rows[-1])
    # the function on a fine grid (independent of the figure's own 150 × 150)
    fx, fy = np.linspace(x0, x1, 1200), np.linspace(y0, y1, 1200)
    fine = problem.loss(np.stack(np.meshgrid(fx, fy), axis=-1))
    assert len(cols) >= 8 * _cycles(fine, 1) and len(rows) >= 8 * _cycles(fine, 0)
    # and the drawn facets (bilinear between the drawn rows and columns) stay within 1% of it
    lx = problem.loss(np.stack(np.meshgrid(cols, fy), axis=-1))
    along_x = np.array([np.interp(fx, cols, lx[i]) for i in range(len(fy))])
    sy = problem.loss(np.stack(np.meshgrid(fx, rows), axis=-1))
    along_y = np.array([np.interp(fy, rows, sy[:, j]) for j in range(len(fx))]).T
    span = fine.max() - fine.min()
    assert np.abs(along_x - fine).max() < 0.01 * span
    assert np.abs(along_y - fine).max() < 0.01 * span


def test_smooth_bowls_are_drawn_with_fewer_facets():
    problem, traj = _surface_run("quadratic")
    (ax,) = [a for a in plot.figure_6_1(problem, traj).axes if a.name == "3d"]
    cols, rows = _drawn_grid(problem, traj, ax)
    assert len(cols) < 60 and len(rows) < 60


def test_sample_strides_against_a_plain_loop():
    x = np.linspace(0, 1, 121)
    h = np.sin(2 * np.pi * 3 * x)[None, :] * np.ones((121, 1))   # 3 cycles along columns, flat along rows
    rows, cols = surface3d.sample_strides(h)
    assert rows == 4  # flat: the coarsest stride
    for k in (4, 3, 2):  # the chosen column stride is the largest whose error is within 0.5%
        idx = sorted(set(range(0, 121, k)) | {120})
        err = np.abs(np.interp(x, x[idx], h[0, idx]) - h[0])
        if np.percentile(err, 99) <= 0.005 * 2:
            assert cols == k
            break
    else:
        assert cols == 1


# ---- many data: a density, not a block of markers -------------------------------------------------

@pytest.fixture(scope="module")
def million_rows():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 1_000_000)
    y = 2 + 3 * x + rng.normal(0, 0.5, x.size)
    problem = dl.problems.linear_regression(x, y, name="million")
    return problem, dl.run(dl.optimizers.nesterov(lr=2e-7, beta=0.8), problem, steps=40)


def test_a_million_rows_are_a_density_under_visible_model_lines(million_rows):
    problem, traj = million_rows
    fig = plot.figure_6_1(problem, traj)
    for prefix in ("(a)", "(d)"):
        ax = _panel(fig, prefix)
        assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")) < 100
        (image,) = ax.images
        counts = np.asarray(image.get_array().filled(0))
        assert counts.sum() == 1_000_000  # every row counted once, all inside the view
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("N=1,000,000" in t and "density" in t for t in labels), labels
    lines = [ln for ln in _panel(fig, "(d)").lines if len(ln.get_xdata()) == 200]
    assert len(lines) == traj.steps + 2 and all(ln.get_zorder() > image.get_zorder() for ln in lines)


def test_few_rows_stay_one_marker_each(line_fit_run):
    problem, traj = line_fit_run
    ax = _panel(plot.figure_6_1(problem, traj), "(a)")
    assert not ax.images and len(ax.collections[0].get_offsets()) == len(problem.x)


# ---- loss curves end where float64 can no longer resolve L − L_min --------------------------------

def test_a_curve_reaching_the_float64_floor_ends_there_with_a_marker_and_a_note():
    problem = dl.problems.quadratic()
    traj = dl.run(dl.optimizers.nesterov(lr=0.1, beta=0.9), problem, steps=400)
    ax = _panel(plot.figure_6_1(problem, traj), "(c)")
    level = scene.gap_floor(problem.min_loss)
    first = next(t for t, v in enumerate(traj.losses) if v - problem.min_loss <= level)  # plain loop
    curve = ax.lines[0].get_ydata()
    assert np.all(np.isnan(curve[first + 1:]) | (curve[first + 1:] > level))  # nothing flat at the floor
    assert curve[first] == level and np.sum(curve == level) == 1
    np.testing.assert_array_equal(curve[:first], traj.losses[:first] - problem.min_loss)
    (mark,) = [ln for ln in ax.lines if ln.get_marker() == "v"]
    assert list(mark.get_xdata()) == [first] and list(mark.get_ydata()) == [level]
    notes = [t.get_text() for t in ax.texts]
    assert any("below float64 resolution" in t and f"from step {first}" in t for t in notes), notes
    assert ax.get_ylim()[0] < level  # the note's band under the line is in view


def test_compare_marks_each_curve_that_reaches_the_floor():
    problem = dl.problems.quadratic()
    trajs = dl.run_many([dl.optimizers.gd(lr=0.1), dl.optimizers.momentum(lr=0.1, beta=0.9)], problem,
                        steps=300)
    ax = plot.compare(problem, trajs).axes[1]
    level = scene.gap_floor(problem.min_loss)
    marks = [ln for ln in ax.lines if ln.get_marker() == "v"]
    reached = [t for t in trajs if np.any(t.losses - problem.min_loss <= level)]
    assert len(marks) == len(reached) >= 1


def test_a_laid_out_png_drawn_straight_to_agg_equals_savefig(tmp_path):
    """plot.save draws a frozen figure straight to Agg (savefig would draw it twice): the same
    pixels as savefig, the figure's dpi left as it was."""
    import importlib

    from PIL import Image

    save_module = importlib.import_module("descentlab.plot.save")
    problem = dl.datasets.line_fit()
    fig = dl.plot.figure_6_1(problem, dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=10))
    assert save_module._laid_out(fig)
    dpi = fig.dpi
    dl.plot.save(fig, tmp_path / "direct.png", dpi=90)
    fig.savefig(tmp_path / "savefig.png", dpi=90)
    direct, plain = (np.asarray(Image.open(tmp_path / n)) for n in ("direct.png", "savefig.png"))
    assert direct.shape == plain.shape == (round(9.5 * 90), 12 * 90, 4)
    assert np.array_equal(direct, plain)
    assert fig.dpi == dpi


def test_figure_6_1_needs_no_mathtext(monkeypatch):
    """The default figure's labels are plain text (φ₀, L[φ], φ₄₀): building matplotlib's mathtext
    parser would cost a cold ``descentlab figure`` about a tenth of a second."""
    import matplotlib.mathtext

    parsed: list[str] = []
    original = matplotlib.mathtext.MathTextParser.parse

    def spy(self, s, *args, **kwargs):
        parsed.append(s)
        return original(self, s, *args, **kwargs)

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", spy)
    problem = dl.datasets.line_fit()
    fig = dl.plot.figure_6_1(problem, dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=12))
    fig.canvas.draw()
    assert parsed == []
    labels = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    assert "last iterate φ₁₂" in labels
