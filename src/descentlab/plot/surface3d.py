"""3-D panels: a surface sampled finely enough for its shape, labels legible and inside the figure.

:func:`sample_strides` picks how many grid rows and columns the surface is drawn with: the fewest
(for speed) whose piecewise-linear facets stay within 0.5% of the height range of the full grid,
so narrow ridges (Gabor's) are never cut into a sawtooth.

matplotlib's constrained layout leaves a 3-D axis's label out of its reckoning (only its tick
labels count), and rotates each label along its axis, so a z label can hang off the figure's left
edge or read top to bottom. :func:`label` sets the labels upright (the z label reads bottom to top,
as on a 2-D y axis) with few ticks; :func:`fit` then shrinks each 3-D box just enough that its
labels and tick labels lie inside the cell the layout gave it, and removes a tick label that
collides with another axis's at a corner of the box. Call :func:`fit` once the figure is complete:
it runs the figure's layout and places the 3-D texts, without drawing anything.
"""

from __future__ import annotations

import weakref

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

LABEL_PT = 11.0     # 3-D axis labels, points
TICK_PT = 9.0       # 3-D tick labels, points
MIN_LABEL_PX = 13.0  # legible(): the smallest 3-D axis label, pixels
MIN_TICK_PX = 10.5   # legible(): the smallest 3-D tick label, pixels
ZOOM = 1.0          # the box's first size (matplotlib's); fit() shrinks it where labels stick out
MIN_ZOOM = 0.55
SLACK_PX = 2.0      # labels may overhang their cell by this much
TOLERANCE = 0.005   # drawn facets within this fraction of the height range (99% of samples)
STRIDES = (4, 3, 2)  # sample_strides() tries these, coarsest first, else draws every row
_ZOOMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # each 3-D Axes' zoom


MAX_SAMPLES = 300
"""A 3-D surface is drawn from at most this many samples per axis: a finer grid (``--resolution``
up to 2000, which the contours use in full) shows nothing more at figure size, and its millions of
facets would take over a gigabyte to draw."""


def sample_strides(heights: np.ndarray, tolerance: float = TOLERANCE) -> tuple[int, int]:
    """(row stride, column stride) to draw the height grid with: along each axis the largest k in
    4, 3, 2, 1 such that every k-th sample (and the last), joined linearly, stays within
    ``tolerance`` of the height range at 99% of the grid's samples (the other 1%: a funnel's tip
    on a log scale, the foot of a wall), and at least the stride that keeps :data:`MAX_SAMPLES`."""
    h = np.asarray(heights, dtype=np.float64)
    finite = h[np.isfinite(h)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    strides = []
    for axis in (0, 1):
        k = 1
        for cand in STRIDES:
            if h.shape[axis] > 2 and np.nanpercentile(interpolation_error(h, cand, axis), 99) \
                    <= tolerance * span:
                k = cand
                break
        strides.append(max(k, -(-h.shape[axis] // MAX_SAMPLES)))
    return strides[0], strides[1]


def interpolation_error(h: np.ndarray, k: int, axis: int) -> np.ndarray:
    """|h − its linear interpolation from every k-th sample (and the last) along ``axis``|."""
    g = np.moveaxis(np.asarray(h, dtype=np.float64), axis, 0)
    n = g.shape[0]
    idx = _every(n, k)
    seg = np.clip(np.searchsorted(idx, np.arange(n), side="right") - 1, 0, len(idx) - 2)
    a, b = idx[seg], idx[seg + 1]
    w = ((np.arange(n) - a) / (b - a)).reshape(-1, *([1] * (g.ndim - 1)))
    with np.errstate(invalid="ignore"):
        return np.moveaxis(np.abs(g[a] * (1 - w) + g[b] * w - g), 0, axis)


def _every(n: int, k: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(0, n, k), n - 1])


def label(ax: Axes, xlabel: str, ylabel: str, zlabel: str, *, label_pt: float = LABEL_PT,
          tick_pt: float = TICK_PT) -> None:
    """Upright axis labels (z bottom to top), about five ticks per axis, and the first box size."""
    for axis, text in ((ax.xaxis, xlabel), (ax.yaxis, ylabel), (ax.zaxis, zlabel)):
        axis.set_rotate_label(False)
        axis.set_label_text(text, fontsize=label_pt)
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        axis.set_tick_params(labelsize=tick_pt, pad=1)
    ax.xaxis.label.set_rotation(0)
    ax.yaxis.label.set_rotation(0)
    ax.zaxis.label.set_rotation(90)
    _set_zoom(ax, ZOOM)


def legible(ax: Axes, dpi: float, label_px: float = MIN_LABEL_PX, tick_px: float = MIN_TICK_PX) -> None:
    """At a low ``dpi`` (videos), enlarge the 3-D labels to at least ``label_px`` pixels and the
    tick labels to ``tick_px`` (a font of p points is p·dpi/72 pixels)."""
    label_pt = max(LABEL_PT, label_px * 72.0 / dpi)
    tick_pt = max(TICK_PT, tick_px * 72.0 / dpi)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.label.set_fontsize(label_pt)
        axis.set_tick_params(labelsize=tick_pt)


def fit(fig: Figure, passes: int = 1) -> None:
    """Make every 3-D Axes of ``fig`` hold its own labels: drop tick labels that collide and
    shrink the box (its zoom) by what the farthest overhanging label or tick label needs to come
    back inside :func:`area` (with some margin: one pass is enough for Figure 6.1's layouts, the
    tests check them after a real draw). It runs the figure's layout and places the 3-D axes'
    texts as a draw would, without drawing."""
    axes3d = [ax for ax in fig.axes if getattr(ax, "name", "") == "3d"]
    for _ in range(passes if axes3d else 0):
        place(fig)
        changed = False
        for ax in axes3d:
            changed |= _declutter(ax)
            factor = _shrink(ax)
            if factor < 1.0 and _zoom(ax) > MIN_ZOOM:
                _set_zoom(ax, max(MIN_ZOOM, _zoom(ax) * factor))
                changed = True
        if not changed:
            return


def freeze(fig: Figure) -> None:
    """Keep the layout :func:`fit` ran as the final one: switch the layout engine off, so that
    saving does not lay the figure out again (a constrained layout of Figure 6.1 costs ~0.3 s, a
    third of a cold ``descentlab figure``). The cells then stay exactly those :func:`fit` fitted the
    3-D labels into; a second layout would move them by a pixel or so after ticks were dropped."""
    engine = fig.get_layout_engine()
    if engine is None or isinstance(engine, PlaceHolderLayoutEngine):
        return
    fig.set_layout_engine("none")


def place(fig: Figure) -> None:
    """Lay ``fig`` out and put each 3-D Axes' labels and tick labels where a draw would, so that
    their ``get_window_extent()`` is current."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    for ax in fig.axes:
        if getattr(ax, "name", "") == "3d":
            ax.apply_aspect()
            ax.M = ax.get_proj()   # as Axes3D.draw does before placing its axes
            ax.invM = np.linalg.inv(ax.M)
            for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
                axis.get_tightbbox()   # runs the axis's placement of ticks and label


def texts(ax: Axes) -> list:
    """The axis labels and the drawn tick labels of a 3-D Axes (positions of its last draw)."""
    out = [a.label for a in (ax.xaxis, ax.yaxis, ax.zaxis) if a.label.get_text()]
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        out += [t.label1 for t in _drawn_ticks(axis)]
    return out


def _drawn_ticks(axis) -> list:
    lo, hi = sorted(axis.get_view_interval())
    tol = 1e-9 * max(hi - lo, 1e-300)
    return [t for t, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs(), strict=False)
            if lo - tol <= loc <= hi + tol and t.label1.get_visible() and t.label1.get_text()]


def _zoom(ax: Axes) -> float:
    return _ZOOMS.get(ax, ZOOM)


def _set_zoom(ax: Axes, zoom: float) -> None:
    _ZOOMS[ax] = zoom
    ax.set_box_aspect(None, zoom=zoom)


def area(ax: Axes) -> Bbox:
    """The display box a 3-D Axes' texts must stay in: the cell the layout gave it (a 3-D Axes
    draws its box in a square inside it), within the figure."""
    fig = ax.figure
    cell = ax.get_position(original=True).transformed(fig.transFigure)
    return Bbox.intersection(cell, fig.bbox) or cell


def _shrink(ax: Axes) -> float:
    """The factor (≤ 1) that brings the farthest overhanging text back inside :func:`area`."""
    box, active = area(ax), ax.bbox
    cx, cy = (active.x0 + active.x1) / 2, (active.y0 + active.y1) / 2
    factor = 1.0
    for text in texts(ax):
        bb = text.get_window_extent()
        for reach, room, size in ((cx - bb.x0, cx - box.x0, bb.width), (bb.x1 - cx, box.x1 - cx, bb.width),
                                  (cy - bb.y0, cy - box.y0, bb.height), (bb.y1 - cy, box.y1 - cy, bb.height)):
            if reach > room + SLACK_PX:
                # the text's own size does not shrink with the box: only where it sits moves in
                factor = min(factor, max(room - size, 1.0) / max(reach - size, 1.0))
    return factor * 0.98 if factor < 1.0 else 1.0


def _declutter(ax: Axes) -> bool:
    """Where tick labels of two axes overlap (at a corner of the box), drop the tick of the axis
    that has more of them. Whether any was dropped."""
    ticks = {axis: _drawn_ticks(axis) for axis in (ax.xaxis, ax.yaxis, ax.zaxis)}
    boxes = {(axis, k): t.label1.get_window_extent() for axis, ts in ticks.items()
             for k, t in enumerate(ts)}
    dropped: dict = {axis: set() for axis in ticks}
    keys = list(boxes)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] is b[0] or a[1] in dropped[a[0]] or b[1] in dropped[b[0]]:
                continue
            if _overlap(boxes[a], boxes[b]):
                loser = a if len(ticks[a[0]]) >= len(ticks[b[0]]) else b
                dropped[loser[0]].add(loser[1])
    for axis, gone in dropped.items():
        if gone:
            axis.set_ticks([t.get_loc() for k, t in enumerate(ticks[axis]) if k not in gone])
    return any(dropped.values())


def _overlap(a: Bbox, b: Bbox, pad: float = 1.0) -> bool:
    return a.x0 - pad < b.x1 and b.x0 - pad < a.x1 and a.y0 - pad < b.y1 and b.y0 - pad < a.y1


def inside(inner: Bbox, outer: Bbox, slack: float = 0.0) -> bool:
    """Whether ``inner`` lies within ``outer`` (display coordinates), give or take ``slack`` px."""
    return bool(inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack
                and inner.y0 >= outer.y0 - slack and inner.y1 <= outer.y1 + slack)


__all__ = ["LABEL_PT", "TICK_PT", "area", "fit", "inside", "interpolation_error", "label", "legible", "place",
           "sample_strides", "texts"]
