"""networks.figure: Figure 6.1 of a network and its sharpness figure, panel by panel.

Most tests draw a Landscape built from small synthetic arrays (a real tiny model makes the
predictions), so every number a panel shows is known; the last one trains a tiny MLP end to end.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from descentlab.errors import InputError
from descentlab.networks import directions, params, record, surface
from descentlab.networks import figure as nf
from descentlab.networks.data import Data
from descentlab.networks.directions import Plane
from descentlab.plot import style
from descentlab.scene import contour_levels


def _model(d_in: int, d_out: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, 5), torch.nn.Tanh(),
                               torch.nn.Linear(5, d_out)).double()


def _predictor(model: torch.nn.Module, data: Data):
    def predict(vector, x=None):
        params.load(model, vector)
        with torch.no_grad():
            return model(data.x if x is None else x).numpy()
    return predict


def _data(task: str, d_in: int, classes: int = 3, n: int = 40) -> Data:
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.uniform(-1, 1, (n, d_in)))
    if task == "regression":
        y = torch.sin(2 * x[:, :1]) + 0.3 * x[:, -1:]
        return Data(x, y, "regression", "synthetic", [f"x{k}" for k in range(d_in)], "y")
    y = torch.tensor(np.arange(n) % classes, dtype=torch.int64)
    return Data(x, y, "classification", "synthetic", [f"x{k}" for k in range(d_in)], "class", classes)


def _landscape(data: Data, *, n_runs: int = 2, span: float = 3.0, kind: str = "pca", snapshots: int = 12,
               grid: int = 21) -> nf.Landscape:
    """Runs of random-walk snapshots of a small model; a plane; a loss bowl over the grid
    (min 0.1, rising to 0.1·span at the far corner); paths spiralling in to (0, 0) and to (0.4, −0.3)."""
    d_out = 1 if data.task == "regression" else int(data.classes)
    model = _model(data.x.shape[1], d_out)
    phi0 = params.flat(model)
    rng = np.random.default_rng(0)
    names = [n for n, _ in params.shapes(model)]
    shapes = [tuple(s) for _, s in params.shapes(model)]
    steps = np.arange(snapshots) * 5
    a = np.linspace(-1.6, 0.8, grid)
    b = np.linspace(-1.0, 1.2, grid)

    def bowl(p, q):
        return 0.1 * span ** (((p / 1.6) ** 2 + (q / 1.2) ** 2) / 2)

    runs, paths, flat, true = [], [], [], []
    for r in range(n_runs):
        walk = phi0 + np.cumsum(0.3 * rng.standard_normal((snapshots, phi0.size)), axis=0)
        walk[0] = phi0
        optimizer = ("momentum", "nesterov", "gd")[r % 3]
        runs.append(record.Run(f"{optimizer} run", optimizer, 0.1, 0.0 if optimizer == "gd" else 0.9, steps,
                               walk, np.zeros_like(walk), np.geomspace(2.0, 0.1 + 0.05 * r, steps[-1] + 1),
                               names, shapes))
        t = np.linspace(0, 1, snapshots)
        end = np.array([0.0, 0.0]) if r == 0 else np.array([0.4, -0.3])
        path = np.column_stack([-1.2 * (1 - t) * np.cos(3 * t),
                                0.9 * (1 - t) * np.sin(3 * t) + 0.2 * (1 - t)])
        path = path + end * t[:, None]
        paths.append(path)
        flat.append(bowl(path[:, 0], path[:, 1]))
        true.append(flat[-1] + 0.01 * (r + 1) * np.sin(np.arange(snapshots)))
    aa, bb = np.meshgrid(a, b)
    plane = Plane(runs[0].params[-1], np.eye(phi0.size)[0], np.eye(phi0.size)[1], kind,
                  (0.8125, 0.1234) if kind == "pca" else None)
    return nf.Landscape(runs, plane, a, b, bowl(aa, bb), paths, flat, true, data, _predictor(model, data))


def _drawn(fig: Figure) -> FigureCanvasAgg:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas


def _panels(fig: Figure) -> dict[str, object]:
    out = {}
    for ax in fig.axes:
        title = ax.get_title()
        if title[:3] in ("(a)", "(b)", "(c)", "(d)"):
            out[title[1]] = ax
    return out


# ---- what to draw ------------------------------------------------------------------------------

@pytest.mark.parametrize("task, d_in, kinds", [
    ("regression", 1, ("curve", "curves")),
    ("regression", 3, ("scatter", "metrics")),
    ("classification", 2, ("regions", "boundaries")),
    ("classification", 64, ("classes", "metrics")),
    ("classification", 1, ("classes", "metrics")),
])
def test_panel_kinds(task, d_in, kinds):
    assert nf.panel_kinds(_data(task, d_in)) == kinds


def test_levels_go_log_when_the_loss_spans_decades():
    wide = np.geomspace(0.01, 50.0, 100).reshape(10, 10)
    lv, log = nf.levels(wide)
    assert log and lv[0] == pytest.approx(0.01) and lv[-1] == pytest.approx(50.0)
    np.testing.assert_allclose(lv[1:] / lv[:-1], (5000.0) ** (1 / nf.N_LEVELS))
    narrow = np.linspace(1.0, 20.0, 100).reshape(10, 10)
    lv, log = nf.levels(narrow)
    assert not log
    np.testing.assert_array_equal(lv, contour_levels(narrow, nf.N_LEVELS))
    assert not nf.levels(wide - 1.0)[1]                  # not all positive: no log scale
    np.testing.assert_array_equal(nf.heights(wide, True), np.log10(wide))


def test_numbered_iterates_are_sparse_and_the_shared_start_numbered_once():
    ls = _landscape(_data("regression", 1))
    first, second = nf.numbered(ls)
    assert first[0] == 0 and first[-1] == len(ls.paths[0]) - 1 and 3 <= len(first) <= nf.MAX_NUMBERS + 1
    assert 0 not in second and second[-1] == len(ls.paths[1]) - 1


def test_largest_gap_is_the_max_over_runs():
    ls = _landscape(_data("regression", 1))
    gaps = [np.abs(t - f) for t, f in zip(ls.true_losses, ls.plane_losses, strict=True)]
    value, r, k = nf.largest_gap(ls)
    assert value == max(g.max() for g in gaps) and gaps[r][k] == value


# ---- the landscape figure ------------------------------------------------------------------------

def test_paths_lie_on_the_surface_at_the_plane_losses():
    ls = _landscape(_data("regression", 1), span=3.0)
    fig = nf.landscape_figure(ls)
    surface3d_ax = _panels(fig)["b"]
    lines = [ln for ln in surface3d_ax.get_lines() if ln.get_label() in {r.label for r in ls.runs}]
    assert [ln.get_label() for ln in lines] == [r.label for r in ls.runs]
    for line, path, flat in zip(lines, ls.paths, ls.plane_losses, strict=True):
        xs, ys, zs = line.get_data_3d()
        np.testing.assert_array_equal(xs, path[:, 0])
        np.testing.assert_array_equal(ys, path[:, 1])
        np.testing.assert_array_equal(zs, flat)          # linear heights: exactly the plane's loss
    assert "loss $L$" == surface3d_ax.get_zlabel()


def test_log_heights_when_the_loss_spans_decades():
    ls = _landscape(_data("regression", 1), span=1e4)
    assert nf.levels(ls.losses)[1]
    fig = nf.landscape_figure(ls)
    ax = _panels(fig)["b"]
    line = next(ln for ln in ax.get_lines() if ln.get_label() == ls.runs[0].label)
    np.testing.assert_allclose(line.get_data_3d()[2], np.log10(ls.plane_losses[0]), rtol=0, atol=1e-15)
    assert "log" in ax.get_zlabel()
    assert "log-spaced levels" in fig._suptitle.get_text()


def test_contour_panel_paths_numbers_and_title():
    ls = _landscape(_data("regression", 1))
    fig = nf.landscape_figure(ls)
    _drawn(fig)
    ax = _panels(fig)["c"]
    colors = nf._colors(ls.runs)
    for run, path, (color, _) in zip(ls.runs, ls.paths, colors, strict=True):
        line = next(ln for ln in ax.get_lines() if ln.get_label() == run.label)
        np.testing.assert_array_equal(line.get_xydata(), path)
        assert to_hex(line.get_color()) == to_hex(color)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    every = np.concatenate(ls.paths)
    assert np.all((every[:, 0] >= x0) & (every[:, 0] <= x1) & (every[:, 1] >= y0) & (every[:, 1] <= y1))
    numbers = [t for t in ax.texts if isinstance(t, Annotation)]
    keep = nf.numbered(ls)
    expected = sorted(str(int(r.steps[k])) for r, ks in zip(ls.runs, keep, strict=True) for k in ks)
    assert sorted(t.get_text() for t in numbers) == expected
    boxes = [t.get_window_extent() for t in numbers]
    for i, bi in enumerate(boxes):
        assert ax.bbox.x0 - 1 <= bi.x0 and bi.x1 <= ax.bbox.x1 + 1
        assert ax.bbox.y0 - 1 <= bi.y0 and bi.y1 <= ax.bbox.y1 + 1
        for bj in boxes[i + 1:]:
            assert not bi.overlaps(bj), "two iterate numbers overlap"
    assert "81.2 % of variance" in ax.get_xlabel() and "12.3 %" in ax.get_ylabel()
    title = fig._suptitle.get_text().replace("\n", " ").replace("\u00a0", " ")
    assert "principal directions (81.2 % and 12.3 % of the variance)" in title
    value, r, k = nf.largest_gap(ls)
    assert f"= {value:.3g}" in title and f"at step {int(ls.runs[r].steps[k])}" in title
    star = next(ln for ln in ax.get_lines() if ln.get_label().startswith("lowest loss on the grid"))
    i, j = np.unravel_index(np.argmin(ls.losses), ls.losses.shape)
    assert star.get_xydata().tolist() == [[ls.a[j], ls.b[i]]]


def test_curves_of_a_1d_regression():
    ls = _landscape(_data("regression", 1), n_runs=2, snapshots=50)
    fig = nf.landscape_figure(ls)
    panel = _panels(fig)
    finals = [ln for ln in panel["a"].get_lines() if "φ" in ln.get_label() or "phi" in ln.get_label()]
    assert len(finals) == 2
    for line, run in zip(finals, ls.runs, strict=True):
        xs, ys = line.get_data()
        want = ls.predict(run.params[-1], torch.tensor(xs[:, None]))[:, 0]
        np.testing.assert_allclose(ys, want, rtol=0, atol=1e-14)
    curves = panel["d"].get_lines()
    assert len(curves) == nf.MAX_CURVES                          # 50 snapshots, at most 40 drawn
    xs, ys = curves[-1].get_data()
    final = ls.predict(ls.runs[0].params[-1], torch.tensor(xs[:, None]))[:, 0]
    np.testing.assert_allclose(ys, final, rtol=0, atol=1e-14)
    assert np.allclose(curves[0].get_color(), style.iterate_cmap()(0.0))      # first iterate: dark
    assert np.allclose(curves[-1].get_color(), style.iterate_cmap()(1.0))     # last: yellow
    scatter = [c for c in panel["a"].collections if isinstance(c, PathCollection)]
    assert len(scatter) == 1 and len(scatter[0].get_offsets()) == ls.data.n_examples


def test_decision_regions_of_a_2d_classification():
    ls = _landscape(_data("classification", 2, classes=3), n_runs=2)
    fig = nf.landscape_figure(ls)
    panel = _panels(fig)
    sets = [c for c in panel["a"].collections if isinstance(c, QuadContourSet)]
    assert sum(s.filled for s in sets) == 1                       # the first run's regions
    lines = [s for s in sets if not s.filled]
    assert {to_hex(s.get_edgecolor()[0]) for s in lines} <= {to_hex(c) for c, _ in nf._colors(ls.runs)}
    points = [c for c in panel["a"].collections if isinstance(c, PathCollection)]
    assert sum(len(p.get_offsets()) for p in points) == ls.data.n_examples
    assert panel["d"].get_title().startswith("(d) decision boundary of each iterate")


def test_boundary_is_where_the_margin_changes_sign():
    fig = Figure()
    ax = fig.add_subplot()
    gx, gy = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    xx, _ = np.meshgrid(gx, gy)
    scores = np.column_stack([xx.ravel(), -xx.ravel()])               # class 1 left of x = 0
    assert nf._boundary(ax, gx, gy, scores, 2, colors=["k"]) == 1
    seg = np.concatenate(ax.collections[-1].allsegs[0])
    np.testing.assert_allclose(seg[:, 0], 0.0, atol=1e-12)
    assert nf._boundary(ax, gx, gy, np.column_stack([xx.ravel() + 5, -xx.ravel()]), 2, colors=["k"]) == 0


def test_errors_per_class_and_accuracy_panels():
    ls = _landscape(_data("classification", 5, classes=3), n_runs=2)
    fig = nf.landscape_figure(ls)
    panel = _panels(fig)
    bars = [p for p in panel["a"].patches if isinstance(p, Rectangle)]
    assert len(bars) == 2 * 3
    y = ls.data.y.numpy()
    for r, run in enumerate(ls.runs):
        pred = np.argmax(ls.predict(run.params[-1]), axis=1)
        wrong = np.array([np.sum((y == c) & (pred != c)) for c in range(3)])
        np.testing.assert_array_equal([b.get_height() for b in bars[3 * r:3 * r + 3]], wrong)
        legend = panel["a"].get_legend().get_texts()[r].get_text()
        assert f"accuracy {100 * np.mean(pred == y):.1f} %" in legend
    twin = next(ax for ax in fig.axes if ax is not panel["d"] and ax.bbox.bounds == panel["d"].bbox.bounds)
    for line, run in zip(twin.get_lines(), ls.runs, strict=True):
        want = [100 * np.mean(np.argmax(ls.predict(p), axis=1) == y) for p in run.params]
        np.testing.assert_allclose(line.get_ydata(), want)
    shown, acc = nf.accuracies(ls, ls.runs[0], 5)
    np.testing.assert_array_equal(shown, [0, 3, 6, 8, 11])              # 5 of 12, the ends included
    pred = [np.argmax(ls.predict(ls.runs[0].params[k]), axis=1) for k in shown]
    np.testing.assert_array_equal(acc, [np.mean(p == y) for p in pred])
    losses = panel["d"].get_lines()
    assert len(losses) == 2 and panel["d"].get_yscale() == "log"
    np.testing.assert_array_equal(losses[1].get_ydata(), ls.runs[1].losses)


def test_prediction_against_target_for_other_regressions():
    ls = _landscape(_data("regression", 3), n_runs=1)
    fig = nf.landscape_figure(ls)
    ax = _panels(fig)["a"]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1
    np.testing.assert_allclose(dots[0].get_offsets()[:, 0], ls.data.y.numpy()[:, 0])
    np.testing.assert_allclose(dots[0].get_offsets()[:, 1], ls.predict(ls.runs[0].params[-1])[:, 0])
    diagonal = next(ln for ln in ax.get_lines() if ln.get_label() == "prediction = target")
    xs, ys = diagonal.get_data()
    np.testing.assert_array_equal(xs, ys)
    assert "(d) loss of each iterate" == _panels(fig)["d"].get_title()


def test_filter_plane_title_and_validation():
    ls = _landscape(_data("regression", 1), kind="filter", n_runs=1)
    fig = nf.landscape_figure(ls)
    assert "two filter-normalised random directions" in fig._suptitle.get_text().replace("\n", " ")
    with pytest.raises(InputError, match="losses must be"):
        nf.Landscape(ls.runs, ls.plane, ls.a, ls.b[:-1], ls.losses, ls.paths, ls.plane_losses, ls.true_losses,
                     ls.data, ls.predict)
    with pytest.raises(InputError, match="one entry per snapshot"):
        nf.Landscape(ls.runs, ls.plane, ls.a, ls.b, ls.losses, [p[:-1] for p in ls.paths], ls.plane_losses,
                     ls.true_losses, ls.data, ls.predict)


def test_draw_landscape_writes_a_png_atomically(tmp_path, monkeypatch):
    ls = _landscape(_data("regression", 1), n_runs=1)
    out = tmp_path / "net.png"
    assert nf.draw_landscape(ls, out) == out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out.write_bytes(b"the user's old figure")

    def broken(self, stream, **kw):
        stream.write(b"half a figure")
        raise RuntimeError("disk full")

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    monkeypatch.setattr(Figure, "savefig", broken)
    monkeypatch.setattr(FigureCanvasAgg, "print_png", broken)  # the PNG path draws straight to Agg
    with pytest.raises(RuntimeError, match="disk full"):
        nf.draw_landscape(ls, out)
    assert out.read_bytes() == b"the user's old figure"
    assert os.listdir(tmp_path) == ["net.png"]


# ---- sharpness ---------------------------------------------------------------------------------

def test_sharpness_figure_limits_labels_and_scales():
    ls = _landscape(_data("regression", 1), n_runs=3)
    runs = ls.runs                                               # momentum, nesterov, gd (α = 0.1)
    values = [np.linspace(1, 19 + r, run.steps.size) for r, run in enumerate(runs)]
    limits = [380.0, 135.7, 20.0]
    fig = nf.sharpness_figure(runs, values, limits)
    top, bottom = fig.axes
    texts = [t.get_text() for t in top.texts]
    assert "2/α = 20" in texts
    assert "momentum limit 380 (α=0.1, β=0.9)" in texts and "Nesterov limit 135.7 (α=0.1, β=0.9)" in texts
    dashed = [ln for ln in top.get_lines() if ln.get_linestyle() == "--"]
    assert sorted(ln.get_ydata()[0] for ln in dashed) == sorted(limits)
    assert top.get_yscale() == "log" and bottom.get_yscale() == "log"
    solid = [ln for ln in top.get_lines() if ln.get_linestyle() == "-"]
    for line, run, v in zip(solid, runs, values, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), run.steps)
        np.testing.assert_array_equal(line.get_ydata(), v)
    assert [len(ln.get_ydata()) for ln in bottom.get_lines()] == [r.losses.size for r in runs]
    _drawn(fig)
    boxes = [t.get_window_extent() for t in top.texts]
    assert not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    linear = nf.sharpness_figure(runs[:1], [np.linspace(5, 6, runs[0].steps.size)], [7.0])
    assert linear.axes[0].get_yscale() == "linear"
    with pytest.raises(InputError, match="one sharpness array and one limit per run"):
        nf.sharpness_figure(runs, values[:2], limits)
    with pytest.raises(InputError, match="values for its"):
        nf.sharpness_figure(runs[:1], [np.ones(3)], [1.0])


def test_draw_sharpness_writes(tmp_path):
    ls = _landscape(_data("regression", 1), n_runs=1)
    out = nf.draw_sharpness(ls.runs, [np.ones(ls.runs[0].steps.size)], [3.0], tmp_path / "s.svg")
    assert out.read_text().lstrip().startswith("<?xml")


# ---- end to end --------------------------------------------------------------------------------

def test_end_to_end_on_a_tiny_trained_mlp(tmp_path):
    torch.manual_seed(0)
    x = torch.linspace(-2, 2, 24, dtype=torch.float64)[:, None]
    data = Data(x, torch.sin(2 * x), "regression", "tiny", ["x"], "y")
    start = _model(1, 1, seed=3)
    loss_fn = torch.nn.MSELoss()
    runs = []
    for optimizer in ("momentum", "nesterov"):
        net = _model(1, 1, seed=3)
        runs.append(record.train(net, loss_fn, x, data.y, optimizer=optimizer, alpha=0.1, beta=0.9, steps=40,
                                 every=4, progress=False))
    plane = directions.pca(runs)
    paths = [directions.project(plane, r.params) for r in runs]
    a, b = surface.axes_for(plane, np.concatenate(paths), resolution=11)
    grid = surface.grid(start, loss_fn, x, data.y, plane, a, b, progress=False)
    flat = [surface.evaluate_points(start, loss_fn, x, data.y, plane, p) for p in paths]
    ls = nf.Landscape(runs, plane, a, b, grid, paths, flat, [r.losses[r.steps] for r in runs], data,
                      _predictor(_model(1, 1), data))
    assert abs(flat[0][-1] - runs[0].losses[-1]) < 1e-12       # φ_T of the first run is on the plane
    fig = nf.landscape_figure(ls)
    line = next(ln for ln in _panels(fig)["b"].get_lines() if ln.get_label() == runs[0].label)
    np.testing.assert_array_equal(line.get_data_3d()[2], nf.heights(flat[0], nf.levels(grid)[1]))
    out = nf.draw_landscape(ls, tmp_path / "tiny.png")
    assert out.stat().st_size > 10_000
