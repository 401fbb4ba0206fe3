"""What every view shares: per-call precomputation (styles, hover texts, the band field of the
loss, heights), colours sampled from :mod:`descentlab.theme`, text helpers and the base layout."""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import optimizers, theme, validation
from descentlab.scene import Path, Scene, surface_heights
from descentlab.web.figures.arrays import array

# matplotlib marker → plotly symbol (2-D scatter; scatter3d has fewer, see SYMBOLS_3D)
SYMBOLS = {"o": "circle", "v": "triangle-down", "s": "square", "^": "triangle-up", "D": "diamond",
           "P": "cross", "X": "x", "h": "hexagon", "*": "star", "p": "pentagon", "d": "diamond-tall",
           "<": "triangle-left", ">": "triangle-right", "H": "hexagon2", "8": "octagon"}
SYMBOLS_3D = {"o": "circle", "s": "square", "D": "diamond", "P": "cross", "X": "x"}
FONT = {"family": "Helvetica Neue, Helvetica, Arial, sans-serif", "size": 13, "color": "#222"}
AXIS = {"showline": True, "linecolor": "#444", "mirror": True, "ticks": "outside", "zeroline": False,
        "gridcolor": "#e6e6e6", "automargin": True}
DYNAMIC_GREY = "#555555"

@dataclass(frozen=True)
class Look:
    color: str        # the path's line colour (black for a single path, as Figure 6.1)
    mark: str         # its marker colour (the optimizer's own)
    symbol: str
    symbol_3d: str
    group: str        # legend group: clicking the legend toggles every trace of the path


class Context:
    """Per-call precomputation: styles, hover texts, the band field of the loss."""

    def __init__(self, scene: Scene, binary: bool):
        self.scene, self.binary = scene, binary
        self.single = len(scene.paths) == 1
        styles = theme.path_styles([p.optimizer for p in scene.paths])
        self.looks = [
            Look(color="#111111" if self.single else c, mark=c, symbol=SYMBOLS.get(m, "circle"),
                 symbol_3d=SYMBOLS_3D.get(m, "circle"), group=f"path{i}")
            for i, (c, m) in enumerate(styles)]
        self.last = max((len(p.points) - 1 for p in scene.paths), default=0)
        self.names = tuple(_html_name(n) for n in scene.param_names)
        self.band, self.n_bands = band_field(scene.surface, scene.levels)
        self.floor = float(scene.levels[0])
        self.gap_label = "L − L<sub>min</sub>" if scene.min_loss is not None else "L − min L (grid)"
        self.grad_text = [_grad_text(p) for p in scene.paths]
        self.heights = heights(scene, scene.surface)
        finite = self.heights[np.isfinite(self.heights)]
        # paths float this far above the 3-D surface so that it does not swallow them
        self.lift = 0.012 * float(np.ptp(finite)) if finite.size else 0.0
        self.zrange = (float(finite.min()), float(finite.max()) + self.lift) if finite.size else (0.0, 1.0)
        self.memo: dict = {}  # what the views compute once per context (the 3-D camera, hover templates)

    def a(self, values) -> dict | list:
        return array(values, self.binary)

    @staticmethod
    def iterate_scale() -> list:
        """Figure 6.1's iterate colours as a plotly colorscale (a fresh list: callers may edit it)."""
        return [list(stop) for stop in _iterate_colorscale()]

    def grid(self, values) -> dict | list:
        return array(values, self.binary, single=True)

    def at(self, path: Path, selected: int) -> int:
        return min(selected, len(path.points) - 1)

    def looks_ahead(self, i: int) -> bool:
        """:func:`has_lookahead` of path i, found once per context (it compares the whole path)."""
        key = ("looks ahead", i)
        if key not in self.memo:
            self.memo[key] = has_lookahead(self.scene.paths[i])
        return self.memo[key]

    def hover(self, i: int, what: str = "", loss_view: bool = False) -> str:
        """Hover template of path i's iterates: customdata = (t, L) or, in the loss view,
        (t, L, φ0, φ1); text = the gradient step t used (the same string at every t: made once)."""
        key = ("hover", i, what, loss_view)
        if key not in self.memo:
            self.memo[key] = self._hover(i, what, loss_view)
        return self.memo[key]

    def _hover(self, i: int, what: str, loss_view: bool) -> str:
        n0, n1 = self.names
        path = self.scene.paths[i]
        head = f"<b>{escape(path.label)}</b>{what}<br>"
        if loss_view:
            where = f"<br>{n0} = %{{customdata[2]:.6~g}}<br>{n1} = %{{customdata[3]:.6~g}}"
            gap = f"<br>{self.gap_label} = %{{y:.4~g}}" if self.scene.min_loss is not None else ""
        else:
            where, gap = f"<br>{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}", ""
        at = " (at its look-ahead point)" if self.looks_ahead(i) else ""
        return (head + "step t = %{customdata[0]}" + where
                + "<br>L[φ<sub>t</sub>] = %{customdata[1]:.6~g}" + gap
                + f"<br>gradient used by step t{at}: %{{text}}<extra></extra>")

    def custom(self, path: Path, idx: np.ndarray | slice, loss_view: bool = False) -> dict | list:
        t = np.arange(len(path.points))[idx]
        cols = [t, path.losses[idx]]
        if loss_view:
            cols += [path.points[idx, 0], path.points[idx, 1]]
        return self.a(np.column_stack(cols))

    def texts(self, i: int, idx: Sequence[int]) -> list[str]:
        return [self.grad_text[i][k] for k in idx]

    def iterate_color(self, path: Path, t: int) -> str:
        """Figure 6.1's colour of iterate t (single path), else the optimizer's colour."""
        i = self.scene.paths.index(path)
        if not self.single:
            return self.looks[i].mark
        return _iterate_rgb(t / max(len(path.points) - 1, 1))


@functools.lru_cache(maxsize=4096)
def _iterate_rgb(fraction: float) -> str:
    """The colour of an iterate at ``fraction`` of the run (the matplotlib figures' map)."""
    return rgb(theme.iterate_color(fraction))


def _html_name(name: str) -> str:
    """"φ0" → "φ<sub>0</sub>"; other names unchanged."""
    if name.startswith("φ") and name[1:].isdigit():
        return f"φ<sub>{name[1:]}</sub>"
    return escape(name)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rgb(color: str) -> str:
    """"#440154" → "rgb(68,1,84)"."""
    r, g, b = (int(color[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgb({r},{g},{b})"


@functools.lru_cache(maxsize=1)
def _iterate_colorscale() -> list:
    cols = theme.iterate_colors(9)
    return [[k / 8, rgb(c)] for k, c in enumerate(cols)]


_GRAD_TEXT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _grad_text(path: Path) -> list[str]:
    """One string per iterate: the gradient step t used ("none" at the last iterate).

    Cached per path (scenes are immutable), so moving the selected iterate does not redo it."""
    try:
        return _GRAD_TEXT[path]
    except (KeyError, TypeError):
        pass
    out = _format_grads(path)
    try:
        _GRAD_TEXT[path] = out
    except TypeError:  # not weak-referenceable: just do not cache
        pass
    return out


def _format_grads(path: Path) -> list[str]:
    n = len(path.points)
    if path.grads is None:
        return ["(not recorded)"] * n
    out = [f"({a:.4g}, {b:.4g})" for a, b in np.asarray(path.grads)[:, :2].tolist()]
    out += ["none (the last iterate)"] * (n - len(out))
    return out


def has_lookahead(path: Path) -> bool:
    """A method that declares a look-ahead (Nesterov), or any run whose gradients were not all
    taken at φ_t."""
    method = optimizers.methods().get(path.optimizer)
    if method is not None and method.lookahead:
        return True
    la = np.asarray(path.lookahead)
    return bool(len(la)) and not np.array_equal(la[:, :2], path.points[:len(la), :2])


def band_field(z: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, int]:
    """The loss mapped to "band index" k + fraction, so that the contour at integer k is exactly
    L = levels[k]: evenly spaced levels for plotly, whatever the scene's spacing (quadratic or log).
    Above the top level the field runs on to n + 1 (matplotlib's extend="max"); non-finite → nan."""
    lv = np.asarray(levels, dtype=np.float64)
    n = len(lv) - 1
    with np.errstate(all="ignore"):
        f = np.interp(z, lv, np.arange(n + 1, dtype=np.float64))
        over = z > lv[-1]
        if over.any():
            top_band = max(lv[-1] - lv[-2], np.finfo(float).tiny) if n >= 1 else 1.0
            f[over] = n + np.minimum((z[over] - lv[-1]) / top_band, 0.999)
    f[~np.isfinite(z)] = np.nan
    return f, n


def short_number(v: float) -> str:
    """A short readable number: 0.0123, 4.56, 1.2e+04 → "1.2e4"."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    if 100 <= a < 1e5:
        return f"{v:.0f}"
    if 1e-3 <= a < 100:
        return f"{v:.3g}"
    mant, exp = f"{v:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def selected_step(scene: Scene, selected: int | None) -> int:
    last = max((len(p.points) - 1 for p in scene.paths), default=0)
    if selected is None:
        return last
    return validation.integer("selected", selected, 0)


def empty_xy(trace: dict, three_d: bool = False) -> dict:
    trace.update(x=[], y=[])
    if three_d:
        trace["z"] = []
    return trace


def heights(scene: Scene, losses: np.ndarray) -> np.ndarray:
    """Heights in the 3-D view: the loss, or log10 of its height above the floor (as matplotlib's)."""
    with np.errstate(all="ignore"):
        return surface_heights(scene, np.where(np.isfinite(losses), losses, np.nan))


def loss_colorscale(positions: Sequence[float], at: Sequence[float] | None = None) -> list:
    """A plotly colorscale of the loss's colour map (viridis, :data:`descentlab.theme.SURFACE_CMAP`)
    sampled at ``positions``, placed at ``at`` (default: the same positions) on the colour axis."""
    return [[float(x), _surface_rgb(round(float(p), 12))]
            for p, x in zip(positions, positions if at is None else at, strict=True)]


@functools.lru_cache(maxsize=4096)
def _surface_rgb(fraction: float) -> str:
    return rgb(theme.surface_color(fraction))


def figure_layout(title: str, uirevision: str, **more) -> dict:
    return {"title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 16}},
            "font": dict(FONT), "paper_bgcolor": "white", "plot_bgcolor": "white",
            "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "hovermode": "closest",
            "uirevision": uirevision, "hoverlabel": {"font": {"size": 12}},
            # pinned to the bottom edge of the figure, so its rows push the plot up rather than clip
            "legend": {"orientation": "h", "xref": "container", "yref": "container", "x": 0.01,
                       "xanchor": "left", "y": 0.0, "yanchor": "bottom", "font": {"size": 11},
                       "bgcolor": "rgba(255,255,255,0.8)"},
            **more}


def uirevision(scene: Scene) -> str:
    """Kept while the problem and view stay the same, so a user's zoom survives a slider move."""
    return f"{scene.title}|{scene.bounds}|{len(scene.paths)}"

