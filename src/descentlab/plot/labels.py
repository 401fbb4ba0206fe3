"""Labels placed where they hide nothing: each tries its candidate spots in order and takes the
first whose text box, once the figure is laid out, stays inside its Axes and clear of the
markers, the arrows and the labels placed before it (else the spot that hides least).

    placer = Placer(ax)
    placer.marker(point, size_pt)                  # things a label must not cover
    placer.segment(start, end)
    placer.label(text, around_point(p), color=…)   # candidate spots, preferred first
    placer.place()                                 # after the figure's layout is final
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from descentlab.plot import style

Spot = tuple[tuple[float, float], tuple[float, float], str, str]
"""(anchor in data coordinates, offset in points, horizontal and vertical alignment)."""

PAD_PX = 2.0


def around_point(p, radii=(9.0, 14.0, 22.0), first: tuple[float, float] = (1.0, 1.0)) -> list[Spot]:
    """Spots beside a point in eight directions, the text's near corner or edge towards the point,
    ``first`` (a direction) tried first, then nearest directions first, at each radius."""
    xy = (float(p[0]), float(p[1]))
    dirs = [(1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1)]
    start = np.arctan2(first[1], first[0])
    dirs.sort(key=lambda d: abs((np.arctan2(d[1], d[0]) - start + np.pi) % (2 * np.pi) - np.pi))
    spots = []
    for r in radii:
        for dx, dy in dirs:
            norm = np.hypot(dx, dy)
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            spots.append((xy, (r * dx / norm, r * dy / norm), ha, va))
    return spots


def beside_segment(start_px, end_px, start, end, side: float = 1.0,
                   distances=(13.0, 20.0, 30.0), along=(0.5, 0.35, 0.65)) -> list[Spot]:
    """Spots beside a segment (an arrow), on ``side`` first and then the other, nearest first.
    ``start_px``/``end_px`` give its direction on screen, ``start``/``end`` its data points."""
    d = np.asarray(end_px, float) - np.asarray(start_px, float)
    normal = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0)
    s, e = np.asarray(start[:2], float), np.asarray(end[:2], float)
    spots = []
    for sign in (side, -side):
        for dist in distances:
            for t in along:
                xy = s + t * (e - s)
                spots.append(((float(xy[0]), float(xy[1])), tuple(sign * dist * normal), "center", "center"))
    return spots


@dataclass
class _Request:
    text: str
    spots: list[Spot] | Callable[[], list[Spot]]   # a callable: worked out once laid out
    style: dict


@dataclass
class Placer:
    """Collects obstacles and labels for one Axes; :meth:`place` puts the labels."""

    ax: Axes
    markers: list[tuple[np.ndarray, float]] = field(default_factory=list)   # (data point, size pt)
    segments: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    requests: list[_Request] = field(default_factory=list)

    def marker(self, p, size_pt: float) -> None:
        self.markers.append((np.asarray(p[:2], float), float(size_pt)))

    def segment(self, start, end) -> None:
        self.segments.append((np.asarray(start[:2], float), np.asarray(end[:2], float)))

    def label(self, text: str, spots: list[Spot] | Callable[[], list[Spot]], **kw) -> None:
        """A label to place at the first good spot of ``spots`` (or of what it returns, once the
        layout is final; an empty list: no label)."""
        self.requests.append(_Request(text, spots, kw))

    def place(self) -> list[Annotation]:
        """Annotate every label at its best spot (the Axes' transforms must be final)."""
        ax = self.ax
        px = ax.figure.dpi / 72.0
        to = ax.transData.transform
        boxes = [_square(to(p), (size * px) / 2 + PAD_PX) for p, size in self.markers]
        dots = np.concatenate([_samples(to(a), to(b)) for a, b in self.segments]) if self.segments \
            else np.zeros((0, 2))
        inside = ax.bbox
        placed: list[Annotation] = []
        for req in self.requests:
            spots = req.spots() if callable(req.spots) else req.spots
            if not spots:
                continue
            ann = ax.annotate(req.text, spots[0][0], xytext=spots[0][1], textcoords="offset points",
                              path_effects=style.HALO, **{"fontsize": 10, "zorder": 11, **req.style})
            best, best_cost = spots[0], np.inf
            for spot in spots:
                _put(ann, spot)
                bb = ann.get_window_extent().padded(PAD_PX)
                cost = _cost(bb, boxes, dots, inside)
                if cost < best_cost:
                    best, best_cost = spot, cost
                if cost == 0.0:
                    break
            _put(ann, best)
            boxes.append(ann.get_window_extent().padded(PAD_PX))
            placed.append(ann)
        return placed


def _put(ann: Annotation, spot: Spot) -> None:
    xy, offset, ha, va = spot
    ann.xy = xy
    ann.xyann = offset
    ann.set_horizontalalignment(ha)
    ann.set_verticalalignment(va)


def _square(c, half: float) -> Bbox:
    return Bbox.from_extents(c[0] - half, c[1] - half, c[0] + half, c[1] + half)


def _samples(a, b, every_px: float = 3.0) -> np.ndarray:
    n = int(max(2, np.hypot(*(np.asarray(b) - a)) / every_px))
    return np.asarray(a) + np.linspace(0, 1, n)[:, None] * (np.asarray(b) - a)


def _cost(bb: Bbox, boxes: list[Bbox], dots: np.ndarray, inside: Bbox) -> float:
    """Pixels of covered markers and labels, crossed segment samples, and text outside the Axes."""
    cost = 0.0
    for other in boxes:
        w = min(bb.x1, other.x1) - max(bb.x0, other.x0)
        h = min(bb.y1, other.y1) - max(bb.y0, other.y0)
        if w > 0 and h > 0:
            cost += 10.0 * w * h
    if len(dots):
        cost += 20.0 * float(np.sum((dots[:, 0] > bb.x0) & (dots[:, 0] < bb.x1)
                                    & (dots[:, 1] > bb.y0) & (dots[:, 1] < bb.y1)))
    outside = bb.width * bb.height - _area(Bbox.intersection(bb, inside))
    return cost + 100.0 * max(outside, 0.0)


def _area(bb: Bbox | None) -> float:
    return 0.0 if bb is None else bb.width * bb.height
