"""The panels of Figure 6.1 and of comparisons, each axes-level: ``panel(scene, ax=None) -> ax``.

Build the scene once with :func:`descentlab.scene.build` and draw any panel into any Axes::

    sc = dl.scene.build(problem, traj)            # or a list of trajectories to compare
    fig, ax = plt.subplots(); dl.plot.contour(sc, ax=ax)

A scene with one path colours its iterates first (dark) to last (yellow), as Figure 6.1; with
several paths each optimizer gets its own colour and marker (see :mod:`descentlab.plot.style`)
and a legend with its hyper-parameters. The ``*_background`` functions draw only what does not
change along a run, so animations can draw it once.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from descentlab.plot import style
from descentlab.scene import (  # renderer-neutral: MANY, surface_heights, the azimuth
    MANY,
    Path,
    Scene,
    surface_heights,
    viewing_azimuth,
)


def _axes(ax: Axes | None, projection: str | None = None) -> Axes:
    if ax is not None:
        if projection == "3d" and getattr(ax, "name", "") != "3d":
            raise ValueError("the surface panel needs a 3-D Axes (projection='3d')")
        return ax
    return Figure(figsize=(5, 4.5)).add_subplot(projection=projection)


def _styles(scene: Scene) -> list[tuple[str, str]]:
    return style.path_styles([p.optimizer for p in scene.paths])


def _pad_data_limits(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    for setter, v in ((ax.set_xlim, x), (ax.set_ylim, y)):
        lo, hi = float(v.min()), float(v.max())
        pad = 0.08 * (hi - lo or 1.0)
        setter(lo - pad, hi + pad)


def _scatter_data(scene: Scene, ax: Axes, label: str = "data") -> None:
    if scene.data is None:
        raise ValueError(f"{scene.title!r} has no data to show")
    x, y = scene.data
    ax.scatter(x, y, s=36, color=style.DATA_COLOR, edgecolor="black", linewidth=0.6, zorder=3,
               label=label)
    _pad_data_limits(ax, x, y)
    ax.set_xlabel(f"input {scene.data_labels[0]}")
    ax.set_ylabel(f"output {scene.data_labels[1]}")
    ax.grid(alpha=0.3)


def data(scene: Scene, ax: Axes | None = None) -> Axes:
    """(a) The training data."""
    ax = _axes(ax)
    _scatter_data(scene, ax, label=f"data (N={len(scene.data[0]) if scene.data else 0})")
    ax.set_title("(a) training data")
    return ax


# ---- (b) the 3-D surface --------------------------------------------------------------------

def surface_background(scene: Scene, ax: Axes | None = None) -> Axes:
    """The 3-D loss surface alone, labelled and oriented (log10 height for steep surfaces)."""
    ax = _axes(ax, "3d")
    ax.computed_zorder = False
    xx, yy = np.meshgrid(scene.grid_x, scene.grid_y)
    zz = surface_heights(scene, np.where(np.isfinite(scene.surface), scene.surface, np.nan))
    ax.plot_surface(xx, yy, zz, cmap=style.SURFACE_CMAP, linewidth=0, antialiased=True,
                    rcount=60, ccount=60, zorder=1)
    ax.set_xlabel(style.math_name(scene.param_names[0]))
    ax.set_ylabel(style.math_name(scene.param_names[1]))
    ax.set_zlabel(r"$\log_{10}(L - L_{\min})$" if scene.log_levels else r"loss $L[\phi]$")
    ax.set_xlim(*scene.bounds[0])
    ax.set_ylim(*scene.bounds[1])
    ax.view_init(elev=32, azim=viewing_azimuth(zz))
    ax.set_title("(b) loss surface")
    return ax


def surface(scene: Scene, ax: Axes | None = None) -> Axes:
    """(b) The loss surface L[φ] in 3-D with each path on it."""
    ax = surface_background(scene, ax)
    single = len(scene.paths) == 1
    for path, (color, marker) in zip(scene.paths, _styles(scene), strict=True):
        pz = surface_heights(scene, path.losses)
        shown = path.numbered if len(path.points) > MANY else slice(None)
        ax.plot(path.points[:, 0], path.points[:, 1], pz, color="black" if single else color,
                lw=1.2, zorder=10)
        colors = style.iterate_colors(len(path.points))[shown] if single else color
        ax.scatter(path.points[shown, 0], path.points[shown, 1], pz[shown], c=colors, s=14,
                   marker="o" if single else marker, edgecolor="black", linewidth=0.4,
                   depthshade=False, zorder=11)
    return ax


# ---- (c) the contour map --------------------------------------------------------------------

def contour_background(scene: Scene, ax: Axes | None = None) -> Axes:
    """Filled contours of L[φ] with the known minima starred, labelled and framed."""
    ax = _axes(ax)
    z = np.where(np.isfinite(scene.surface), scene.surface, np.nan)
    cmap = mpl.colormaps[style.SURFACE_CMAP]
    norm = BoundaryNorm(scene.levels, cmap.N, extend="max")  # one colour step per band
    ax.contourf(scene.grid_x, scene.grid_y, z, levels=scene.levels, cmap=cmap, norm=norm,
                extend="max", alpha=0.9)
    ax.contour(scene.grid_x, scene.grid_y, z, levels=scene.levels[1:], colors="white",
               linewidths=0.5, alpha=0.6)
    for m in scene.minima:
        ax.plot(*m, marker="*", ms=14, color=style.MINIMUM_COLOR, mec="black", mew=0.8, zorder=7,
                ls="none")
    ax.set_xlim(*scene.bounds[0])
    ax.set_ylim(*scene.bounds[1])
    ax.set_xlabel(style.math_name(scene.param_names[0]))
    ax.set_ylabel(style.math_name(scene.param_names[1]))
    ax.set_title("(c) loss contours and path" + (" (log-spaced levels)" if scene.log_levels else ""))
    return ax


def contour(scene: Scene, ax: Axes | None = None, numbers: bool = True,
            lookahead: bool = False) -> Axes:
    """(c) Contours of L[φ] with each path, its iterates numbered 0, 1, 2, … (thinned when many).

    Args:
        numbers: label iterates with their step number (one path only).
        lookahead: "trace" mode: ghost markers at every point where a gradient was taken
            (the look-ahead points φ_t − αβ·m_t for Nesterov), each linked to its iterate φ_t.
    """
    ax = contour_background(scene, ax)
    single = len(scene.paths) == 1
    for path, (color, marker) in zip(scene.paths, _styles(scene), strict=True):
        if lookahead:
            _draw_lookahead(ax, path, "black" if single else color)
        if single:
            _draw_path_by_iterate(ax, path, numbers)
        else:
            _draw_path(ax, path, color, marker)
    if not single or lookahead:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return ax


def _draw_path_by_iterate(ax: Axes, path: Path, numbers: bool) -> None:
    pts = path.points
    colors = style.iterate_colors(len(pts))
    if len(pts) <= MANY:
        ax.plot(pts[:, 0], pts[:, 1], color="black", lw=1.3, zorder=4, label=path.label)
        ax.scatter(pts[:, 0], pts[:, 1], c=colors, s=36, edgecolor="black", linewidth=0.6, zorder=5)
    else:  # many iterates: a line coloured by iterate on a white halo, markers where numbers go
        segments = np.stack([pts[:-1, :2], pts[1:, :2]], axis=1)
        ax.add_collection(LineCollection(segments, colors="white", linewidths=3.2, zorder=4))
        ax.add_collection(LineCollection(segments, colors=colors[1:], linewidths=1.8, zorder=4.5,
                                         label=path.label))
        ax.scatter(pts[path.numbered, 0], pts[path.numbered, 1], c=colors[path.numbered], s=36,
                   edgecolor="black", linewidth=0.6, zorder=5)
    if numbers:
        for t in path.numbered:
            ax.annotate(str(t), pts[t], xytext=(5, 5), textcoords="offset points", fontsize=8,
                        fontweight="bold", path_effects=style.HALO, zorder=7)


def _draw_path(ax: Axes, path: Path, color: str, marker: str) -> None:
    pts = path.points
    every = max(1, len(pts) // 25)
    ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1.4, marker=marker, ms=4, markevery=every,
            mec="black", mew=0.4, path_effects=style.LINE_HALO, zorder=5, label=path.label)
    ax.plot(*pts[-1, :2], marker=marker, ms=9, color=color, mec="black", mew=0.8, zorder=5.5)
    if path.diverged_at is not None:
        ax.annotate(f"diverged at step {path.diverged_at}", pts[-1, :2], xytext=(6, -10),
                    textcoords="offset points", fontsize=8, color=style.DIVERGED_COLOR,
                    path_effects=style.HALO, zorder=7)


def _draw_lookahead(ax: Axes, path: Path, color: str) -> None:
    """Ghost markers where each gradient was taken, linked to the iterate they belong to."""
    ahead, pts = path.lookahead[:, :2], path.points[:-1, :2]
    moved = np.linalg.norm(ahead - pts, axis=1) > 0
    if not moved.any():
        return
    links = np.stack([pts[moved], ahead[moved]], axis=1)
    ax.add_collection(LineCollection(links, colors=color, linewidths=0.8, linestyles=":",
                                     alpha=0.8, zorder=4.8))
    ax.scatter(ahead[moved, 0], ahead[moved, 1], s=30, facecolor="none", edgecolor=color,
               linewidth=1.0, alpha=0.85, zorder=4.9,
               label=f"{path.optimizer}: where each gradient was taken")


# ---- (d) the model on the data --------------------------------------------------------------

def model_lines(scene: Scene, ax: Axes | None = None, path: int = 0, colorbar: bool = True) -> Axes:
    """(d) The data with the model line f[x, φ_t] of every iterate, coloured from first to last."""
    ax = _axes(ax)
    if scene.data is None or scene.model_x is None:
        raise ValueError(f"{scene.title!r} has no data to draw model lines on")
    p = scene.paths[path]
    colors = style.iterate_colors(len(p.points))
    stride = max(1, len(p.points) // 60)
    for t in range(0, len(p.points), stride):
        ax.plot(scene.model_x, p.model_lines[t], color=colors[t], lw=1.2, alpha=0.85, zorder=2)
    ax.plot(scene.model_x, p.model_lines[-1], color=colors[-1], lw=2.4, zorder=2.5,
            label=rf"last iterate $\phi_{{{len(p.points) - 1}}}$")
    _scatter_data(scene, ax)
    _note_lines_outside(ax, p.model_lines)
    ax.legend(loc="best", fontsize=8)
    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=Normalize(0, max(len(p.points) - 1, 1)),
                                               cmap=style.iterate_cmap())
        bar = ax.figure.colorbar(mappable, ax=ax, label="iterate t", fraction=0.05, pad=0.02)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    ax.set_title("(d) model of each iterate")
    return ax


def final_models(scene: Scene, ax: Axes | None = None) -> Axes:
    """The data with the final model line of each path (comparisons)."""
    ax = _axes(ax)
    if scene.data is None or scene.model_x is None:
        raise ValueError(f"{scene.title!r} has no data to draw model lines on")
    for path, (color, _) in zip(scene.paths, _styles(scene), strict=True):
        ax.plot(scene.model_x, path.model_lines[-1], color=color, lw=2, zorder=2,
                label=f"{path.optimizer}: " + rf"$\phi_{{{len(path.points) - 1}}}$")
    _scatter_data(scene, ax)
    _note_lines_outside(ax, np.array([p.model_lines[-1] for p in scene.paths]))
    ax.legend(loc="best", fontsize=8)
    ax.set_title("final model of each optimizer")
    return ax


def _note_lines_outside(ax: Axes, lines: np.ndarray) -> None:
    lo, hi = ax.get_ylim()
    outside = int(np.sum(np.all((lines < lo) | (lines > hi), axis=1)))
    if outside:
        ax.text(0.02, 0.02, f"{outside} of {len(lines)} model lines lie outside this view",
                transform=ax.transAxes, fontsize=8, color=style.DIVERGED_COLOR)


# ---- loss per step --------------------------------------------------------------------------

def loss_curve(scene: Scene, ax: Axes | None = None) -> Axes:
    """The loss against step on a log scale, L[φ_t] − L_min when the minimum is known, so linear
    convergence is a straight line."""
    ax = _axes(ax)
    floor = scene.min_loss
    single = len(scene.paths) == 1
    # a log scale needs positive values: L − L_min is, L itself may not be (unknown minimum)
    log = floor is not None or all(np.all(p.losses > 0) for p in scene.paths)
    ax.set_yscale("log" if log else "linear")
    for path, (color, _) in zip(scene.paths, _styles(scene), strict=True):
        steps = np.arange(len(path.losses))
        gap = path.losses - floor if floor is not None else path.losses
        if log:
            gap = np.maximum(gap, style.gap_floor(floor))
        ax.plot(steps, gap, lw=1.6, color="#1f77b4" if single else color, label=path.label)
        if path.diverged_at is not None:
            ax.axvline(path.diverged_at, color=style.DIVERGED_COLOR, ls="--", lw=1)
            ax.annotate(f"{path.optimizer} diverged at step {path.diverged_at}",
                        (path.diverged_at, 0.5), xycoords=("data", "axes fraction"), rotation=90,
                        ha="right", va="center", color=style.DIVERGED_COLOR, fontsize=8)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$L[\phi_t] - L_{\min}$" if floor is not None else r"$L[\phi_t]$")
    ax.grid(alpha=0.3, which="both")
    if not single:
        ax.legend(loc="best", fontsize=8)
    ax.set_title("loss per step")
    return ax
