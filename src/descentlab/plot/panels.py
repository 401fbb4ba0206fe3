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
from matplotlib.colors import BoundaryNorm, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from descentlab.plot import style, surface3d
from descentlab.scene import (  # renderer-neutral: MANY, surface_heights, the azimuth
    MANY,
    Path,
    Scene,
    floored,
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


DENSITY_ABOVE = style.DENSITY_ABOVE  # more rows: a density (2-D histogram), not a marker each
DENSITY_BINS = (120, 90)


def _scatter_data(scene: Scene, ax: Axes, label: str = "data") -> None:
    if scene.data is None:
        raise ValueError(f"{scene.title!r} has no data to show")
    x, y = scene.data
    _pad_data_limits(ax, x, y)
    if len(x) > DENSITY_ABOVE:
        _density(ax, x, y, label)
    else:
        ax.scatter(x, y, s=36, color=style.DATA_COLOR, edgecolor="black", linewidth=0.6, zorder=3,
                   label=label)
    ax.set_xlabel(f"input {scene.data_labels[0]}")
    ax.set_ylabel(f"output {scene.data_labels[1]}")
    ax.grid(alpha=0.3)


def _density(ax: Axes, x: np.ndarray, y: np.ndarray, label: str) -> None:
    """Many data as one image: counts on a grid over the view, darker where more points fall
    (log scale, empty cells left white), under the model lines; the legend says so."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    counts, _, _ = np.histogram2d(x, y, bins=DENSITY_BINS, range=((x0, x1), (y0, y1)))
    shown = np.ma.masked_equal(counts.T, 0)
    ax.imshow(shown, extent=(x0, x1, y0, y1), origin="lower", aspect="auto", interpolation="nearest",
              cmap=style.density_cmap(), norm=LogNorm(1, max(float(counts.max()), 2.0)), zorder=1)
    what = f"{label if label != 'data' else f'data (N={len(x):,})'} as a density: darker, more points"
    ax.add_patch(Rectangle((x0, y0), 0, 0, facecolor=style.DATA_COLOR, edgecolor="none", label=what))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def data(scene: Scene, ax: Axes | None = None) -> Axes:
    """(a) The training data."""
    ax = _axes(ax)
    _scatter_data(scene, ax, label=f"data (N={len(scene.data[0]) if scene.data else 0:,})")
    if len(scene.data[0]) > DENSITY_ABOVE:  # say that it is a density
        ax.legend(loc="best", fontsize=8)
    ax.set_title("(a) training data")
    return ax


# ---- (b) the 3-D surface --------------------------------------------------------------------

def surface_background(scene: Scene, ax: Axes | None = None) -> Axes:
    """The 3-D loss surface alone, labelled and oriented (log10 height for steep surfaces)."""
    ax = _axes(ax, "3d")
    ax.computed_zorder = False
    xx, yy = np.meshgrid(scene.grid_x, scene.grid_y)
    zz = surface_heights(scene, np.where(np.isfinite(scene.surface), scene.surface, np.nan))
    # as many grid rows and columns as the shape needs (every third cut Gabor's ridges into a
    # sawtooth); no antialiasing, which leaves hairline seams between many facets
    rstride, cstride = surface3d.sample_strides(zz)
    ax.plot_surface(xx, yy, zz, cmap=style.SURFACE_CMAP, linewidth=0, antialiased=False,
                    rstride=rstride, cstride=cstride, zorder=1)
    surface3d.label(ax, style.math_name(scene.param_names[0]), style.math_name(scene.param_names[1]),
                   r"$\log_{10}(L - L_{\min})$" if scene.log_levels else "loss L[φ]")
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
        pz = surface_heights(scene, path.on_surface)  # on the drawn surface; NaN (a gap) outside the view
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
    for m in scene.minima:  # above every path and number, so iterates piling up cannot hide it
        ax.plot(*m, marker="*", ms=17, color=style.MINIMUM_COLOR, mec="black", mew=1.1, zorder=9,
                ls="none", path_effects=style.STAR_HALO)
    ax.set_xlim(*scene.bounds[0])
    ax.set_ylim(*scene.bounds[1])
    # equal scales draw each gradient perpendicular to its contour (scene.aspect: see descentlab.framing)
    ax.set_aspect("equal" if scene.aspect == "equal" else "auto", adjustable="box")
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
            _draw_path_by_iterate(ax, path, numbers, scene)
        else:
            _draw_path(ax, path, color, marker)
        if path.leaves_at is not None:
            _draw_exit(ax, path, scene.bounds, "black" if single else color)
    if not single or lookahead:  # below the map, never over the paths or the star
        entries = len(ax.get_legend_handles_labels()[0])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=1 if entries < 3 else 2,
                  fontsize=8, frameon=False)
    return ax


def _beside(point: np.ndarray, stars: np.ndarray, bounds, path: np.ndarray) -> dict:
    """Where a number goes beside ``point``: up-right, or, near a star (within 6% of the view), on
    the freest side — of eight, the one farthest from the star and the path's other iterates — and
    growing away from the point, so it neither covers the star nor sits by another iterate."""
    if not len(stars):
        return {"xytext": (5.0, 5.0)}
    scale = np.array([bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]])
    unit = (point[:2] - stars) / scale
    if float(np.min(np.linalg.norm(unit, axis=1))) >= 0.06:
        return {"xytext": (5.0, 5.0)}
    angles = np.radians(np.arange(8) * 45.0 + 22.5)
    sides = np.column_stack([np.cos(angles), np.sin(angles)])
    others = np.vstack([stars, path[:, :2]]) / scale
    spots = point[:2] / scale + 0.05 * sides           # where each label would be, in view fractions
    room = np.min(np.linalg.norm(spots[:, None, :] - others[None, :, :], axis=2), axis=1)
    side = sides[int(np.argmax(room))]
    return {"xytext": (float(13 * side[0]), float(13 * side[1])),
            "ha": "left" if side[0] >= 0 else "right", "va": "bottom" if side[1] >= 0 else "top"}


def _draw_exit(ax: Axes, path: Path, bounds, color: str) -> None:
    """Where a path that ran away leaves the view: an arrow at the edge and the step."""
    k = path.leaves_at
    a, b = path.points[max(k - 1, 0), :2], path.points[k, :2]
    lo = np.array([bounds[0][0], bounds[1][0]])
    hi = np.array([bounds[0][1], bounds[1][1]])
    d = b - a
    with np.errstate(divide="ignore", invalid="ignore"):  # the segment's last fraction inside the box
        exits = np.where(d > 0, (hi - a) / d, np.where(d < 0, (lo - a) / d, np.inf))
    edge = a + min(1.0, float(np.nanmin(exits))) * d
    unit = d / (hi - lo)  # the direction in fractions of the view, for the text's place inside it
    inner = edge - 0.14 * unit / max(float(np.linalg.norm(unit)), 1e-300) * (hi - lo)
    what = "unbounded below" if path.stop_reason == "unbounded below" else (
        "diverged" if path.diverged_at is not None else "runs on")
    ax.annotate(f"leaves the view at step {k}\n({what})", xy=edge, xytext=inner, textcoords="data",
                ha="center", va="center", fontsize=8, color=style.DIVERGED_COLOR, path_effects=style.HALO,
                arrowprops=dict(arrowstyle="-|>", color=style.DIVERGED_COLOR, lw=1.4), zorder=8)


def _draw_path_by_iterate(ax: Axes, path: Path, numbers: bool, scene: Scene) -> None:
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
            ax.annotate(str(t), pts[t], textcoords="offset points", fontsize=8, fontweight="bold",
                        path_effects=style.HALO, zorder=7, **_beside(pts[t], scene.minima, scene.bounds, pts))


def _draw_path(ax: Axes, path: Path, color: str, marker: str) -> None:
    pts = path.points
    every = max(1, len(pts) // 25)
    ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1.4, marker=marker, ms=4, markevery=every,
            mec="black", mew=0.4, path_effects=style.LINE_HALO, zorder=5, label=path.label)
    ax.plot(*pts[-1, :2], marker=marker, ms=9, color=color, mec="black", mew=0.8, zorder=5.5)
    if path.diverged_at is not None and path.leaves_at is None:
        ax.annotate(f"{path.stop_reason} at step {path.diverged_at}", pts[-1, :2], xytext=(6, -10),
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
            label=f"last iterate {style.math_name(f'φ{len(p.points) - 1}')}")
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
                label=f"{path.optimizer}: {style.math_name(f'φ{len(path.points) - 1}')}")
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
    reached = []
    for path, (color, _) in zip(scene.paths, _styles(scene), strict=True):
        steps = np.arange(len(path.losses))
        gap = path.losses - floor if floor is not None else path.losses
        at = None
        if log and floor is not None:  # ends where float64 can no longer tell L from L_min (never flat)
            gap, at = floored(gap, style.gap_floor(floor))
        ax.plot(steps, gap, lw=1.6, color="#1f77b4" if single else color, label=path.label)
        if at is not None:
            reached.append((at, "#1f77b4" if single else color))
        if path.diverged_at is not None:
            ax.axvline(path.diverged_at, color=style.DIVERGED_COLOR, ls="--", lw=1)
            ax.annotate(f"{path.optimizer} {path.stop_reason or 'diverged'} at step {path.diverged_at}",
                        (path.diverged_at, 0.5), xycoords=("data", "axes fraction"), rotation=90,
                        ha="right", va="center", color=style.DIVERGED_COLOR, fontsize=8)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$L[\phi_t] - L_{\min}$" if floor is not None else r"$L[\phi_t]$")
    ax.grid(alpha=0.3, which="both")
    if reached:
        _mark_floor(ax, reached, style.gap_floor(floor), note=single)
    if not single:
        ax.legend(loc="best", fontsize=8)
    ax.set_title("loss per step")
    return ax


FLOOR_NOTE = "below float64 resolution"


def _mark_floor(ax: Axes, reached: list[tuple[int, str]], level: float, note: bool) -> None:
    """Where each curve reached ``level`` (the float64 resolution of L − L_min, where it ends):
    a downward triangle in its colour on :func:`floor_line` (``note``: which step, one curve)."""
    for at, color in reached:
        floor_marker(ax, at, level, color)
    floor_line(ax, level, reached[0][0] if note else None)


def floor_marker(ax: Axes, step: int, level: float, color, **kw):
    """The downward triangle where a loss curve reaches the float64 floor ``level``."""
    return ax.plot([step], [level], ls="none", marker="v", ms=8, color=color, mec="black", mew=0.7,
                   zorder=5, **kw)[0]


def floor_line(ax: Axes, level: float, step: int | None = None) -> None:
    """A dotted line at the float64 floor ``level`` of L − L_min and, under it (where no curve is
    drawn), what it means: "▼ below float64 resolution[ from step …]: L − L_min ≤ level"."""
    ax.axhline(level, color="0.45", ls=":", lw=1.0, zorder=1.5)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, level / 50), hi)  # a band under the line for the note
    where = "" if step is None else f" from step {step}"
    ax.annotate(f"\u25bc {FLOOR_NOTE}{where}: $L - L_{{\\min}} \\leq$ {level:.1e}", (0.99, level),
                xycoords=("axes fraction", "data"), xytext=(0, -7), textcoords="offset points",
                ha="right", va="top", fontsize=8, color="0.25", zorder=7)
