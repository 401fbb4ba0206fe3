r"""Figure 6.1 for a network, and its sharpness along training: matplotlib, written atomically.

:func:`draw_landscape` draws a :class:`Landscape` as the book draws Figure 6.1, with a plane
through parameter space in place of the two parameters:

* (a) the data and the final model of each run — what depends on the task
  (:func:`panel_kinds`): a **1-D regression** is the data with each run's final curve; a **2-D
  classification** is the first run's decision regions (filled) with every run's decision
  boundary (lines) over the points; any **other regression** is each run's predictions against
  the targets, with the line y = x; any **other classification** is the number of training
  examples each final model gets wrong, per true class (with each run's accuracy in the legend).
* (b) the loss :math:`L(a, b) = L[\phi_T + a d_1 + b d_2]` over the plane in 3-D, with each run's
  projected path drawn **at the plane's loss at its projection** :math:`L(a_t, b_t)`
  (``Landscape.plane_losses``), so it lies on the surface and never floats at the true loss
  :math:`L[\phi_t]`, which is off the plane; the largest gap :math:`|L[\phi_t] - L(a_t, b_t)|`
  is in the title.
* (c) its contours with the paths, about :data:`MAX_NUMBERS` iterates of each path numbered with
  their step t (first and last always; the labels placed where they hide no marker, path or
  other label), the end of each path and the lowest grid point (☆) marked.
* (d) the model of each recorded iterate of the first run: its curve (1-D regression, coloured
  from first iterate, dark, to last, yellow, like the book's model lines) or its decision boundary
  (2-D classification); otherwise the loss at every step and, for classification, the training
  accuracy at each recorded iterate (at most :data:`MAX_ACCURACIES`, evenly spread), for every run.

Several runs share the plane, each in its own colour and marker (those of its optimiser in every
descentlab figure), with one legend. When the loss on the grid spans :data:`LOG_SPAN` or more
(max/min, all positive) the contour levels are log-spaced and (b) draws :math:`\log_{10} L`.

:func:`draw_sharpness` draws the top Hessian eigenvalue at each snapshot of each run against the
run's stability limit (a dashed line labelled ``2/α = 20`` for gradient descent; for momentum and
Nesterov the limit in the book's α, β, :func:`descentlab.networks.sharpness.limit`) — the edge of
stability of Cohen et al. (2021) — with the loss in a panel below.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from descentlab.errors import InputError
from descentlab.networks.data import Data, predicted_class
from descentlab.networks.directions import Plane
from descentlab.networks.pipeline import Landscape
from descentlab.networks.record import Run
from descentlab.plot import labels, style, surface3d
from descentlab.plot.save import save
from descentlab.scene import contour_levels, numbered_steps, viewing_azimuth

LOG_SPAN = 100.0
"""Log-spaced levels and log10 heights when the grid's largest loss is this many times its smallest."""
N_LEVELS = 16
MAX_NUMBERS = 5
"""About this many iterates of each path are numbered in (c)."""
MAX_CURVES = 40
"""(d) draws the model of at most this many iterates (evenly spread, the last always)."""
MAX_BOUNDARIES = 12
MAX_ACCURACIES = 100
"""(d) measures the training accuracy at this many recorded iterates at most (evenly spread)."""
CURVE_POINTS = 300
VIEW_REACH = 2.0
"""(a) and (d) of a 1-D regression show the final curves up to this many data ranges beyond the data."""
REGION_POINTS = 160
CLASS_COLORS = ("#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f",
                "#bab0ac", "#4e79a7", "#e15759")
"""Class colours of (a) and (d): none of them a run's colour (black, blue, red for gd, momentum,
Nesterov), so regions and points never read as a path."""
PANEL_A = {"curve": "(a) data and each run's final model",
           "regions": "(a) data and the final decision regions",
           "scatter": "(a) final predictions against the targets",
           "classes": "(a) training examples the final models get wrong"}


def panel_kinds(data: Data) -> tuple[str, str]:
    """What panels (a) and (d) show for ``data``: ``("curve", "curves")`` for a 1-D regression,
    ``("regions", "boundaries")`` for a 2-D classification, else ``("scatter", "metrics")``
    (regression) or ``("classes", "metrics")`` (classification)."""
    d = int(data.x.shape[1]) if data.x.ndim == 2 else 1
    if data.task == "regression":
        return ("curve", "curves") if d == 1 and data.x.ndim == 2 else ("scatter", "metrics")
    return ("regions", "boundaries") if d == 2 and data.x.ndim == 2 else ("classes", "metrics")


def levels(losses: np.ndarray, n: int = N_LEVELS) -> tuple[np.ndarray, bool]:
    """Contour levels of the grid (n + 1 values) and whether they are log-spaced: geometric from
    the smallest to the largest loss when it spans :data:`LOG_SPAN` (all positive), else rising
    quadratically from the minimum to the 95th percentile (:func:`descentlab.scene.contour_levels`)."""
    finite = losses[np.isfinite(losses)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() >= LOG_SPAN:
        return np.geomspace(float(finite.min()), float(finite.max()), n + 1), True
    return contour_levels(losses, n), False


def heights(z: np.ndarray, log: bool) -> np.ndarray:
    """The heights (b) draws for losses ``z``: the loss, or log10 of it."""
    z = np.asarray(z, dtype=np.float64)
    if not log:
        return z
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(z)


def numbered(landscape: Landscape, max_numbers: int = MAX_NUMBERS, min_gap: float = 0.06) -> list[np.ndarray]:
    """Per run, the snapshot indices (c) numbers: about ``max_numbers``, first and last always, at
    least ``min_gap`` of the view apart (:func:`descentlab.scene.numbered_steps`); a later run's
    start is not numbered again where an earlier run's numbered point already stands."""
    a, b = landscape.a, landscape.b
    bounds = ((float(a[0]), float(a[-1])), (float(b[0]), float(b[-1])))
    scale = np.array([bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]])
    taken: list[np.ndarray] = []
    out = []
    for path in landscape.paths:
        keep = numbered_steps(path, bounds, max_labels=max_numbers, min_gap=min_gap)
        if taken:
            near = np.min(np.linalg.norm((np.array(taken) - path[0]) / scale, axis=1)) < min_gap
            if near and len(keep) > 1:
                keep = keep[1:]
        taken.extend(path[keep])
        out.append(np.asarray(keep, dtype=np.int64))
    return out


def largest_gap(landscape: Landscape) -> tuple[float, int, int] | None:
    """(max |true − plane| loss, run index, snapshot index) over every run, or None if none is finite."""
    best = None
    for r, (true, flat) in enumerate(zip(landscape.true_losses, landscape.plane_losses, strict=True)):
        gap = np.abs(true - flat)
        if np.isfinite(gap).any():
            k = int(np.nanargmax(np.where(np.isfinite(gap), gap, np.nan)))
            if best is None or gap[k] > best[0]:
                best = (float(gap[k]), r, k)
    return best


def _colors(runs: Sequence[Run]) -> list[tuple[str, str]]:
    return style.path_styles([r.optimizer for r in runs])


def _fit(fig: Figure, text: str, points: float = 12) -> str:
    width = max(40, int(fig.get_figwidth() * 72 / (0.55 * points)))
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) for line in text.split("\n"))


def _inputs(data: Data, values: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=data.x.dtype)


def _x(data: Data) -> np.ndarray:
    return data.x.detach().cpu().numpy().astype(np.float64)


def _labels(data: Data) -> np.ndarray:
    return data.y.detach().cpu().numpy().reshape(-1)


def _plain_log(ax: Axes) -> None:
    """A log y axis labelled with plain numbers (0.2, 1, 5), its 2, 3 and 5 minor ticks labelled
    too when the axis spans less than two and a half decades (else a decade would show no number at all)."""
    def major(v: float, _pos=None) -> str:
        return f"{v:g}"

    def minor(v: float, _pos=None) -> str:
        lo, hi = ax.get_ylim()
        if v <= 0 or lo <= 0 or np.log10(hi / lo) >= 2.5:
            return ""
        mantissa = v / 10 ** np.floor(np.log10(v) + 1e-9)
        return f"{v:g}" if round(mantissa) in (2, 3, 5) and abs(mantissa - round(mantissa)) < 1e-6 else ""

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(major))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def number(v: float) -> str:
    """A tick's value in few characters: 0.0143, 2.35, 1000, 2.5e+05."""
    return f"{v:,.0f}" if 1e3 <= abs(v) < 1e5 else f"{v:.3g}"


def _padded(lo: float, hi: float, pad: float = 0.08) -> tuple[float, float]:
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + pad * span


# ---- (a) ---------------------------------------------------------------------------------------

def _data_points(ax: Axes, data: Data, size: float | None = None) -> None:
    x, y = _x(data)[:, 0], _labels(data)
    s = size or (36 if len(x) <= 300 else 10)
    ax.scatter(x, y, s=s, color=style.DATA_COLOR, edgecolor="black", linewidth=0.6, zorder=3,
               label=f"data (N={len(x):,})")


def _class_points(ax: Axes, data: Data) -> None:
    x, y = _x(data), _labels(data)
    s = 28 if len(x) <= 500 else 8
    for k in range(int(data.classes or y.max() + 1)):
        pick = y == k
        ax.scatter(x[pick, 0], x[pick, 1], s=s, color=CLASS_COLORS[k % len(CLASS_COLORS)], edgecolor="black",
                   linewidth=0.5, zorder=3, label=f"{data.target} {k}")


def _curve_x(data: Data) -> np.ndarray:
    x = _x(data)[:, 0]
    return np.linspace(*_padded(float(x.min()), float(x.max()), 0.05), CURVE_POINTS)


def _curves_ylim(ax: Axes, data: Data, finals: Sequence[np.ndarray],
                 curves: Sequence[np.ndarray] = ()) -> None:
    """A view of the data and of every final model's curve (at most :data:`VIEW_REACH` data ranges
    beyond the data); when other curves lie wholly outside it, a note says how many."""
    y = _labels(data).astype(np.float64)
    lo, hi = float(y.min()), float(y.max())
    reach = VIEW_REACH * ((hi - lo) or 1.0)
    for c in finals:
        c = c[np.isfinite(c)]
        if c.size:
            lo, hi = max(min(lo, float(c.min())), lo - reach), min(max(hi, float(c.max())), hi + reach)
    ax.set_ylim(*_padded(lo, hi, 0.12))
    lo, hi = ax.get_ylim()
    outside = sum(bool(np.all((c < lo) | (c > hi) | ~np.isfinite(c))) for c in curves)
    if outside:
        ax.text(0.02, 0.02, f"{outside} of {len(curves)} model curves lie outside this view",
                transform=ax.transAxes, fontsize=8, color=style.DIVERGED_COLOR, path_effects=style.HALO,
                zorder=8)


def _panel_curve(ls: Landscape, ax: Axes) -> None:
    xs = _curve_x(ls.data)
    grid = _inputs(ls.data, xs[:, None])
    finals = []
    for run, name, (color, _) in zip(ls.runs, _names(ls.runs), _colors(ls.runs), strict=True):
        ys = np.asarray(ls.predict(run.params[-1], grid), dtype=np.float64).reshape(len(xs), -1)[:, 0]
        finals.append(ys)
        ax.plot(xs, ys, color=color, lw=2.2, zorder=2, path_effects=style.LINE_HALO,
                label=rf"{name}: $\phi_{{{int(run.steps[-1])}}}$")
    _data_points(ax, ls.data)
    _curves_ylim(ax, ls.data, finals, finals)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel(f"input {ls.data.inputs[0]}")
    ax.set_ylabel(f"output {ls.data.target}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)


def _region_grid(data: Data) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    x = _x(data)
    gx = np.linspace(*_padded(float(x[:, 0].min()), float(x[:, 0].max())), REGION_POINTS)
    gy = np.linspace(*_padded(float(x[:, 1].min()), float(x[:, 1].max())), REGION_POINTS)
    xx, yy = np.meshgrid(gx, gy)
    return gx, gy, _inputs(data, np.column_stack([xx.ravel(), yy.ravel()]))


def _scores(ls: Landscape, params: np.ndarray, points: torch.Tensor) -> np.ndarray:
    return np.asarray(ls.predict(params, points), dtype=np.float64).reshape(len(points), -1)


def _boundary(ax: Axes, gx, gy, scores: np.ndarray, k: int, **kw) -> int:
    r"""The lines where the predicted class changes, drawn smooth from the scores: for K ≥ 2
    scores, where some class's margin :math:`s_c - \max_{j \neq c} s_j` is 0 (one margin for two
    classes); for a single output, where it crosses a half-way label k + ½. The number of contour
    sets drawn."""
    shape = (len(gy), len(gx))
    drawn = 0
    if scores.shape[1] >= 2:
        for c in range(1 if scores.shape[1] == 2 else scores.shape[1]):
            margin = (scores[:, c] - np.delete(scores, c, axis=1).max(axis=1)).reshape(shape)
            if np.nanmin(margin) < 0.0 < np.nanmax(margin):
                ax.contour(gx, gy, margin, levels=[0.0], **kw)
                drawn += 1
        return drawn
    raw = scores[:, 0].reshape(shape)
    half = [v for v in np.arange(k - 1) + 0.5 if np.nanmin(raw) < v < np.nanmax(raw)]
    if half:
        ax.contour(gx, gy, raw, levels=half, **kw)
        drawn += 1
    return drawn


def _panel_regions(ls: Landscape, ax: Axes) -> None:
    k = int(ls.data.classes or _labels(ls.data).max() + 1)
    gx, gy, points = _region_grid(ls.data)
    light = ListedColormap([_lighter(CLASS_COLORS[c % len(CLASS_COLORS)]) for c in range(k)])
    first = _scores(ls, ls.runs[0].params[-1], points)
    regions = predicted_class(first).reshape(gy.size, gx.size).astype(np.float64)
    ax.contourf(gx, gy, regions, levels=np.arange(k + 1) - 0.5, cmap=light, zorder=1)
    for run, name, (color, _) in zip(ls.runs, _names(ls.runs), _colors(ls.runs), strict=True):
        scores = first if run is ls.runs[0] else _scores(ls, run.params[-1], points)
        _boundary(ax, gx, gy, scores, k, colors=[color], linewidths=2.0, zorder=2)
        ax.plot([], [], color=color, lw=2.0, label=f"{name}: boundary")
    _region_axes(ax, ls.data, gx, gy)


def _region_axes(ax: Axes, data: Data, gx: np.ndarray, gy: np.ndarray) -> None:
    """The points over a decision-region panel, its limits (the region grid), labels and legend."""
    _class_points(ax, data)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_xlabel(data.inputs[0])
    ax.set_ylabel(data.inputs[1])
    ax.legend(loc="best", fontsize=8, framealpha=0.85)


def _lighter(color: str, amount: float = 0.6) -> tuple[float, float, float]:
    r, g, b, _ = to_rgba(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _panel_scatter(ls: Landscape, ax: Axes) -> None:
    target = _labels(ls.data).astype(np.float64)
    lo, hi = float(target.min()), float(target.max())
    for run, (color, marker) in zip(ls.runs, _colors(ls.runs), strict=True):
        pred = np.asarray(ls.predict(run.params[-1]), dtype=np.float64).reshape(len(target), -1)[:, 0]
        ax.scatter(target, pred, s=16, color=color, marker=marker, alpha=0.7, edgecolor="black",
                   linewidth=0.3, zorder=3, label=run.label)
        finite = pred[np.isfinite(pred)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    lims = _padded(lo, hi, 0.05)
    ax.plot(lims, lims, color="0.4", ls="--", lw=1.0, zorder=2, label="prediction = target")
    ax.set_xlim(*lims)
    ax.set_ylim(*lims)
    ax.set_xlabel(f"target {ls.data.target}")
    ax.set_ylabel("prediction")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)


def errors_per_class(ls: Landscape, run: Run) -> tuple[np.ndarray, float]:
    """(wrongly classified training examples of each true class, accuracy) of ``run``'s final model."""
    y = _labels(ls.data).astype(np.int64)
    k = int(ls.data.classes or y.max() + 1)
    wrong = predicted_class(ls.predict(run.params[-1])) != y
    return np.bincount(y[wrong], minlength=k)[:k], float(1.0 - wrong.mean())


def _panel_classes(ls: Landscape, ax: Axes) -> None:
    k = int(ls.data.classes or _labels(ls.data).max() + 1)
    width = 0.8 / len(ls.runs)
    top = 0
    for r, (run, name, (color, _)) in enumerate(zip(ls.runs, _names(ls.runs), _colors(ls.runs), strict=True)):
        wrong, acc = errors_per_class(ls, run)
        top = max(top, int(wrong.max()))
        ax.bar(np.arange(k) - 0.4 + width * (r + 0.5), wrong, width=width, color=color, edgecolor="black",
               linewidth=0.4, label=f"{name}: accuracy {100 * acc:.1f} %", zorder=3)
    if top == 0:
        ax.text(0.5, 0.5, "every training example is classified correctly", transform=ax.transAxes,
                ha="center", va="center", fontsize=9)
    ax.set_ylim(0, max(1, top) * 1.3)
    ax.set_xticks(np.arange(k))
    ax.set_xlabel(f"true {ls.data.target}")
    ax.set_ylabel(f"wrongly classified (of {ls.data.n_examples:,})")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, axis="y", zorder=0)
    ax.legend(loc="upper left", fontsize=8)


# ---- (b) and (c) -------------------------------------------------------------------------------

def _axis_names(plane: Plane) -> tuple[str, str]:
    if plane.kind == "pca" and plane.explained is not None:
        e1, e2 = plane.explained
        return (rf"$a$ along $d_1$ ({100 * e1:.1f} % of variance)",
                rf"$b$ along $d_2$ ({100 * e2:.1f} %)")
    return r"$a$ along $d_1$", r"$b$ along $d_2$"


def _panel_surface(ls: Landscape, ax: Axes, lv: np.ndarray, log: bool, numbers: list[np.ndarray]) -> None:
    ax.computed_zorder = False
    xx, yy = np.meshgrid(ls.a, ls.b)
    zz = heights(np.where(np.isfinite(ls.losses), ls.losses, np.nan), log)
    rstride, cstride = surface3d.sample_strides(zz)
    ax.plot_surface(xx, yy, zz, cmap=style.SURFACE_CMAP, linewidth=0, antialiased=False, rstride=rstride,
                    cstride=cstride, zorder=1, alpha=0.95)
    for run, path, flat, keep, (color, marker) in zip(ls.runs, ls.paths, ls.plane_losses, numbers,
                                                       _colors(ls.runs), strict=True):
        pz = heights(flat, log)
        ax.plot(path[:, 0], path[:, 1], pz, color=color, lw=1.6, zorder=10, label=run.label)
        ax.scatter(path[keep, 0], path[keep, 1], pz[keep], color=color, marker=marker, s=22,
                   edgecolor="black", linewidth=0.5, depthshade=False, zorder=11)
    surface3d.label(ax, "$a$", "$b$", r"$\log_{10} L$" if log else "loss $L$")
    ax.set_xlim(float(ls.a[0]), float(ls.a[-1]))
    ax.set_ylim(float(ls.b[0]), float(ls.b[-1]))
    ax.view_init(elev=32, azim=viewing_azimuth(np.nan_to_num(zz, nan=np.nanmax(zz))))
    ax.set_title("(b) loss over the plane, paths at the plane's loss")


def _panel_contour(ls: Landscape, ax: Axes, lv: np.ndarray, log: bool,
                   numbers: list[np.ndarray]) -> labels.Placer:
    z = np.where(np.isfinite(ls.losses), ls.losses, np.nan)
    cmap = mpl.colormaps[style.SURFACE_CMAP]
    norm = BoundaryNorm(lv, cmap.N, extend="max")
    filled = ax.contourf(ls.a, ls.b, z, levels=lv, cmap=cmap, norm=norm, extend="max", alpha=0.9)
    ax.contour(ls.a, ls.b, z, levels=lv[1:], colors="white", linewidths=0.5, alpha=0.6)
    bar = ax.figure.colorbar(filled, ax=ax, fraction=0.05, pad=0.02)
    bar.set_ticks(lv[::4])
    bar.set_ticklabels([number(v) for v in lv[::4]])
    bar.set_label("loss $L$" + (" (log-spaced levels)" if log else ""))
    placer = labels.Placer(ax)
    for run, path, keep, (color, marker) in zip(ls.runs, ls.paths, numbers, _colors(ls.runs), strict=True):
        ax.plot(path[:, 0], path[:, 1], color=color, lw=1.6, path_effects=style.LINE_HALO, zorder=5,
                label=run.label, marker=marker, ms=6, markevery=list(keep), mec="black", mew=0.5)
        ax.plot(*path[-1], marker=marker, ms=11, color=color, mec="black", mew=0.9, zorder=6, ls="none",
                clip_on=False)
        for p, q in itertools.pairwise(path):
            placer.segment(p, q)
        for k in keep:
            placer.marker(path[k], 11 if k == len(path) - 1 else 6)
            placer.label(str(int(run.steps[k])), labels.around_point(path[k]), color=color, fontsize=9,
                         fontweight="bold")
    i, j = np.unravel_index(np.nanargmin(z), z.shape)
    ax.plot(ls.a[j], ls.b[i], marker="*", ms=15, color=style.MINIMUM_COLOR, mec="black", mew=1.0, zorder=9,
            ls="none", path_effects=style.STAR_HALO, label=f"lowest loss on the grid ({z[i, j]:.3g})",
            clip_on=False)
    placer.marker((ls.a[j], ls.b[i]), 15)
    ax.set_xlim(float(ls.a[0]), float(ls.a[-1]))
    ax.set_ylim(float(ls.b[0]), float(ls.b[-1]))
    wa, wb = ls.a[-1] - ls.a[0], ls.b[-1] - ls.b[0]
    ax.set_aspect("equal" if 0.5 <= wa / wb <= 2.0 else "auto", adjustable="box")
    x_name, y_name = _axis_names(ls.plane)
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title("(c) contours, iterates numbered by step")
    return placer


# ---- (d) ---------------------------------------------------------------------------------------

def drawn_iterates(n: int, most: int) -> np.ndarray:
    """Up to ``most`` snapshot indices of ``n``, evenly spread, the first and the last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, most)).astype(np.int64))


def _step_bar(ax: Axes, run: Run) -> None:
    mappable = mpl.cm.ScalarMappable(norm=Normalize(0, max(int(run.steps[-1]), 1)), cmap=style.iterate_cmap())
    bar = ax.figure.colorbar(mappable, ax=ax, label="step t", fraction=0.05, pad=0.02)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()


def _step_colors(run: Run) -> np.ndarray:
    return style.iterate_cmap()(run.steps / max(int(run.steps[-1]), 1))


def _panel_curves(ls: Landscape, ax: Axes) -> None:
    run = ls.runs[0]
    xs = _curve_x(ls.data)
    grid = _inputs(ls.data, xs[:, None])
    colors = _step_colors(run)
    shown = drawn_iterates(run.steps.size, MAX_CURVES)
    curves = []
    for k in shown:
        ys = np.asarray(ls.predict(run.params[k], grid), dtype=np.float64).reshape(len(xs), -1)[:, 0]
        curves.append(ys)
        last = k == run.steps.size - 1
        ax.plot(xs, ys, color=colors[k], lw=2.4 if last else 1.1, alpha=1.0 if last else 0.85,
                zorder=2.5 if last else 2,
                label=rf"last iterate $\phi_{{{int(run.steps[-1])}}}$" if last else None)
    _data_points(ax, ls.data)
    _curves_ylim(ax, ls.data, curves[-1:], curves)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel(f"input {ls.data.inputs[0]}")
    ax.set_ylabel(f"output {ls.data.target}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    _step_bar(ax, run)
    ax.set_title(f"(d) model of each iterate: {run.label}")


def _panel_boundaries(ls: Landscape, ax: Axes) -> None:
    run = ls.runs[0]
    k = int(ls.data.classes or _labels(ls.data).max() + 1)
    gx, gy, points = _region_grid(ls.data)
    colors = _step_colors(run)
    for i in drawn_iterates(run.steps.size, MAX_BOUNDARIES):
        last = i == run.steps.size - 1
        _boundary(ax, gx, gy, _scores(ls, run.params[i], points), k, colors=[colors[i]],
                  linewidths=2.4 if last else 1.2, zorder=2.5 if last else 2)
    _region_axes(ax, ls.data, gx, gy)
    _step_bar(ax, run)
    ax.set_title(f"(d) decision boundary of each iterate: {run.label}")


def accuracies(ls: Landscape, run: Run, most: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(snapshot indices, training accuracy there) of ``run``: every snapshot, or ``most`` of them
    evenly spread (:func:`drawn_iterates`)."""
    y = _labels(ls.data)
    shown = drawn_iterates(run.steps.size, most or run.steps.size)
    return shown, np.array([float(np.mean(predicted_class(ls.predict(run.params[k])) == y)) for k in shown])


def _panel_metrics(ls: Landscape, ax: Axes) -> None:
    if all(np.all(r.losses[np.isfinite(r.losses)] > 0) for r in ls.runs):
        _plain_log(ax)
    handles = []
    names = _names(ls.runs)
    for run, name, (color, _) in zip(ls.runs, names, _colors(ls.runs), strict=True):
        handles += ax.plot(np.arange(run.losses.size), run.losses, color=color, lw=1.6, label=f"{name}: loss")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"training loss $L[\phi_t]$")
    ax.grid(alpha=0.3, which="both")
    if ls.data.task == "classification":
        twin = ax.twinx()
        for run, name, (color, marker) in zip(ls.runs, names, _colors(ls.runs), strict=True):
            shown, acc = accuracies(ls, run, MAX_ACCURACIES)
            handles += twin.plot(run.steps[shown], 100 * acc, color=color, ls="--", lw=1.2,
                                 marker=marker, ms=4, markevery=max(1, shown.size // 12),
                                 mec="black", mew=0.4, label=f"{name}: accuracy")
        twin.set_ylabel("training accuracy (%, dashed)")
        twin.set_ylim(0, 105)
        ax.set_title("(d) loss and accuracy of each iterate")
    else:
        ax.set_title("(d) loss of each iterate")
    ax.legend(handles=handles, loc="center right", fontsize=8, framealpha=0.85)


# ---- the figure --------------------------------------------------------------------------------

def short_name(run: Run) -> str:
    """GD, Momentum, Nesterov, or the run's label for any other optimiser."""
    return {"gd": "GD", "momentum": "Momentum", "nesterov": "Nesterov"}.get(run.optimizer, run.label)


def _names(runs: Sequence[Run]) -> list[str]:
    """Short names for panel legends (GD, Momentum, Nesterov) when they tell the runs apart, else
    the labels; the figure's own legend below the panels gives each run's full label."""
    short = [short_name(r) for r in runs]
    return short if len(set(short)) == len(short) else [r.label for r in runs]


def _runs_line(runs: Sequence[Run]) -> str:
    """``Momentum and Nesterov (α=0.1, β=0.9)`` when the runs share α and β (gradient descent has
    no β: ``GD and Nesterov (α=0.1, β=0.9 where used)``); else each run's label."""
    alphas = {r.alpha for r in runs}
    betas = {r.beta for r in runs if r.optimizer != "gd"}
    book = all(r.optimizer in ("gd", "momentum", "nesterov") for r in runs)
    if len(runs) < 2 or not book or len(alphas) != 1 or len(betas) > 1 or None in alphas | betas:
        return "; ".join(r.label for r in runs)
    names = ", ".join(short_name(r) for r in runs[:-1]) + f" and {short_name(runs[-1])}"
    hyper = f"α={alphas.pop():.4g}"
    if betas:
        hyper += f", β={betas.pop():.4g}" + (" where used" if any(r.optimizer == "gd" for r in runs) else "")
    return f"{names} ({hyper})"


def _title(ls: Landscape, log: bool) -> str:
    runs, plane = ls.runs, ls.plane
    steps = max(int(r.steps[-1]) for r in runs)
    start = " from one initialisation" if len(runs) > 1 else ""
    head = f"{ls.data.name}, a {plane.n_params:,}-parameter network: {_runs_line(runs)}{start}, {steps} steps"
    first = short_name(runs[0]) if len(runs) > 1 else "the run"
    if plane.kind == "pca":
        ex = "" if plane.explained is None else (f" ({100 * plane.explained[0]:.1f} % and "
                                                 f"{100 * plane.explained[1]:.1f} % of the variance)")
        where = f"plane through φ_T of {first} along the paths' two principal directions{ex}"
    elif plane.kind == "filter":
        where = f"plane through φ_T of {first} along two filter-normalised random directions"
    else:
        where = "plane through the given origin along two given directions"
    gap = largest_gap(ls)
    nb = "\u00a0"  # no line break inside a formula
    honest = f"paths drawn at the plane's loss L(a_t,{nb}b_t)"
    if gap is not None:
        value, r, k = gap
        true = ls.true_losses[r][k]
        rel = f" ({100 * value / abs(true):.2g}{nb}% of L[φ_t]{nb}={nb}{true:.3g})" if true else ""
        honest += (f"; off the plane the true loss differs by up to "
                   f"|L[φ_t]{nb}−{nb}L(a_t,{nb}b_t)|{nb}={nb}{value:.3g}{rel}, {short_name(runs[r])} at "
                   f"step{nb}{int(runs[r].steps[k])}")
    return f"{head}\n{where}; {honest}" + ("; log-spaced levels, (b) in log10 L" if log else "")


def landscape_figure(landscape: Landscape) -> Figure:
    """Figure 6.1 of ``landscape`` (module docstring) as a matplotlib Figure."""
    ls = landscape
    kind_a, kind_d = panel_kinds(ls.data)
    lv, log = levels(ls.losses)
    numbers = numbered(ls)
    fig = style.new_figure((13, 10.5))
    grid = fig.add_gridspec(2, 2)
    ax_a = fig.add_subplot(grid[0, 0])
    {"curve": _panel_curve, "regions": _panel_regions, "scatter": _panel_scatter,
     "classes": _panel_classes}[kind_a](ls, ax_a)
    ax_a.set_title(PANEL_A[kind_a])
    _panel_surface(ls, fig.add_subplot(grid[0, 1], projection="3d"), lv, log, numbers)
    ax_c = fig.add_subplot(grid[1, 0])
    placer = _panel_contour(ls, ax_c, lv, log, numbers)
    ax_d = fig.add_subplot(grid[1, 1])
    {"curves": _panel_curves, "boundaries": _panel_boundaries, "metrics": _panel_metrics}[kind_d](ls, ax_d)
    handles, names = ax_c.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 4), fontsize=9, frameon=False)
    fig.suptitle(_fit(fig, _title(ls, log)), fontsize=12)
    surface3d.fit(fig)
    surface3d.freeze(fig)
    ax_c.apply_aspect()
    placer.place()
    return fig


def draw_landscape(landscape: Landscape, path: str | Path) -> Path:
    """Draw :func:`landscape_figure` into ``path`` (.png, .svg or .pdf), atomically."""
    return save(landscape_figure(landscape), path)


# ---- sharpness ---------------------------------------------------------------------------------

def limit_label(run: Run, value: float) -> str:
    """``"2/α = 20"`` for gradient descent; ``"Momentum's limit 38 (α=0.1, β=0.9)"`` otherwise."""
    if run.optimizer == "gd":
        return f"2/α = {value:.4g}"
    name = {"momentum": "momentum", "nesterov": "Nesterov"}.get(run.optimizer, run.optimizer)
    hyper = "" if run.alpha is None or run.beta is None else f" (α={run.alpha:.4g}, β={run.beta:.4g})"
    return f"{name} limit {value:.4g}{hyper}"


def _log_useful(values: Sequence[np.ndarray], span: float) -> bool:
    v = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in values])
    v = v[np.isfinite(v)]
    return bool(v.size and v.min() > 0 and v.max() / v.min() >= span)


def sharpness_figure(runs: Sequence[Run], sharpness: Sequence[np.ndarray],
                     limits: Sequence[float | None]) -> Figure:
    """The top Hessian eigenvalue at each snapshot of each run against its stability limit (dashed,
    labelled), the loss below; log y axes where the values span a decade or more."""
    runs = list(runs)
    if not (len(runs) == len(sharpness) == len(limits)) or not runs:
        raise InputError(f"draw_sharpness needs one sharpness array and one limit per run; got {len(runs)} "
                         f"runs, {len(sharpness)} arrays, {len(limits)} limits")
    values = [np.asarray(s, dtype=np.float64).reshape(-1) for s in sharpness]
    for run, v in zip(runs, values, strict=True):
        if v.size != run.steps.size:
            raise InputError(f"the sharpness of {run.label!r} has {v.size} values for its "
                             f"{run.steps.size} snapshots")
    fig = style.new_figure((10, 8))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    styles = _colors(runs)
    shown_limits = [float(v) for v in limits if v is not None and np.isfinite(v)]
    if _log_useful([*values, np.array(shown_limits)], 10.0):
        _plain_log(top)
    placer = labels.Placer(top)
    end = max(int(r.steps[-1]) for r in runs)
    for run, v, lim, (color, marker) in zip(runs, values, limits, styles, strict=True):
        top.plot(run.steps, v, color=color, lw=1.6, marker=marker, ms=4, mec="black", mew=0.4,
                 markevery=max(1, run.steps.size // 25), label=run.label, zorder=3)
        if lim is not None and np.isfinite(lim):
            top.axhline(float(lim), color=color, ls="--", lw=1.3, zorder=2)
            at = (end, float(lim))
            left = (0.0, float(lim))
            spots = [(at, (-4.0, 3.0), "right", "bottom"), (at, (-4.0, -3.0), "right", "top"),
                     (left, (4.0, 3.0), "left", "bottom"), (left, (4.0, -3.0), "left", "top")]
            placer.label(limit_label(run, float(lim)), spots, color=color, fontsize=9)
        for p, q in itertools.pairwise(np.column_stack([run.steps, v])):
            placer.segment(p, q)
    top.set_ylabel(r"sharpness $\lambda_{\max}$ of the Hessian")
    top.grid(alpha=0.3, which="both")
    top.legend(loc="lower right", fontsize=9, framealpha=0.85)
    top.set_title("top Hessian eigenvalue at each snapshot; dashed: each run's stability limit", fontsize=11)
    if _log_useful([r.losses for r in runs], 10.0):
        _plain_log(bottom)
    for run, (color, _) in zip(runs, styles, strict=True):
        bottom.plot(np.arange(run.losses.size), run.losses, color=color, lw=1.4, label=run.label)
    bottom.set_xlabel("step t")
    bottom.set_ylabel(r"loss $L[\phi_t]$")
    bottom.grid(alpha=0.3, which="both")
    bottom.set_xlim(0, end)
    fig.suptitle(_fit(fig, "Sharpness along training: a run is stable while λ_max stays below its "
                      "optimiser's limit (gradient descent: 2/α); at the edge of stability (Cohen et al. "
                      "2021) it rises to the limit and hovers there"), fontsize=12)
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")
    placer.place()
    return fig


def draw_sharpness(runs: Sequence[Run], sharpness: Sequence[np.ndarray], limits: Sequence[float | None],
                   path: str | Path) -> Path:
    """Draw :func:`sharpness_figure` into ``path`` (.png, .svg or .pdf), atomically."""
    return save(sharpness_figure(runs, sharpness, limits), path)


__all__ = ["LOG_SPAN", "Landscape", "accuracies", "draw_landscape", "draw_sharpness", "drawn_iterates",
           "errors_per_class", "heights", "landscape_figure", "largest_gap", "levels", "limit_label",
           "numbered", "panel_kinds", "sharpness_figure"]
