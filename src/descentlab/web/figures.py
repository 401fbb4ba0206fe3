"""Plotly figures of a :class:`~descentlab.scene.Scene`, built as plain dicts.

    sc = descentlab.scene.build(problem, trajectories)
    figs = views(sc, selected=20)      # {"data"?, "surface", "contour", "loss"}: one figure dict each
    fig = combined(sc)                 # every view in one figure, with an iteration slider

The dicts are what ``plotly.graph_objects.Figure(d).to_dict()`` would hold, built without
plotly's validation (which costs more than everything else here; ``go.Figure(d)`` accepts them).
Numeric arrays are plotly's binary "typed array" specs (``{"dtype": "f8", "bdata": …}``: drawn by
plotly.js ≥ 2.28, which Dash ≥ 2.13 takes from plotly.py; ``go.Figure`` accepts them from plotly.py
6), so serialising a 150 × 150 surface costs a base64 encoding rather than 22,500 float reprs;
:func:`decode` turns one back into a numpy array, and ``binary=False`` gives plain lists instead.
Iterates, losses and gradients keep all of float64; only the loss grids are sent as float32.

What is drawn matches :mod:`descentlab.plot`: viridis for the loss (contour bands at exactly the
scene's levels, log-spaced for steep surfaces), one colour and marker per optimizer
(:func:`descentlab.plot.style.path_styles`), iterates coloured first (dark) to last (yellow) when
there is a single path, known minima starred. Hovering any iterate shows its step t, φ_t, the loss
and the gradient that step t used. Every call builds new dicts, sharing nothing mutable with the
scene or with other calls, so callers may edit what they get.
"""

from __future__ import annotations

import base64
import functools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.plot import style
from descentlab.plot.panels import MANY, surface_heights
from descentlab.scene import Path, Scene

MAX_FRAMES = 120
"""At most this many slider positions in :func:`combined` (first and last iterate always kept)."""

VIEWS = ("data", "surface", "contour", "loss")

# matplotlib marker → plotly symbol (2-D scatter; scatter3d has fewer, see _SYMBOLS_3D)
_SYMBOLS = {"o": "circle", "v": "triangle-down", "s": "square", "^": "triangle-up", "D": "diamond",
            "P": "cross", "X": "x", "h": "hexagon", "*": "star", "p": "pentagon"}
_SYMBOLS_3D = {"o": "circle", "s": "square", "D": "diamond", "P": "cross", "X": "x"}
_FONT = {"family": "Helvetica Neue, Helvetica, Arial, sans-serif", "size": 13, "color": "#222"}
_AXIS = {"showline": True, "linecolor": "#444", "mirror": True, "ticks": "outside", "zeroline": False,
         "gridcolor": "#e6e6e6", "automargin": True}
_DYNAMIC_GREY = "#555555"
_LOOKAHEAD_NAMES = ("look-ahead point φ_t − αβ·m_t", "momentum step −αβ·m_t",
                    "gradient step −α(1−β)·g, taken at the look-ahead point")


# ---- arrays --------------------------------------------------------------------------------------

def _arr(a: np.ndarray | Sequence[float], binary: bool, single: bool = False) -> dict | list:
    """A numeric array as a plotly typed-array spec (or a list; non-finite values become None).

    ``single``: float32 (for the loss grids, drawn only; iterates keep every bit of float64)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return []
    if binary:
        kind = "f4" if single else "f8"
        data = np.ascontiguousarray(a, dtype="<f4" if single else "<f8")
        spec = {"dtype": kind, "bdata": base64.b64encode(data).decode("ascii")}
        if a.ndim > 1:
            spec["shape"] = ", ".join(str(n) for n in a.shape)
        return spec
    if single:
        a = a.astype(np.float32).astype(np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


_DTYPES = {"f8": "<f8", "f4": "<f4", "i1": "i1", "u1": "u1", "i2": "<i2", "u2": "<u2", "i4": "<i4",
           "u4": "<u4"}


def decode(value: object) -> np.ndarray:
    """A figure's numeric array as numpy: a typed-array spec decoded, a list converted (None → nan)."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_DTYPES[value["dtype"]])
        if "shape" in value:
            a = a.reshape([int(n) for n in str(value["shape"]).split(",")])
        return a.astype(np.float64)
    return np.asarray(value if value is not None else [], dtype=np.float64)


# ---- what every view shares -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Look:
    color: str        # the path's line colour (black for a single path, as Figure 6.1)
    mark: str         # its marker colour (the optimizer's own)
    symbol: str
    symbol_3d: str
    group: str        # legend group: clicking the legend toggles every trace of the path


class _Ctx:
    """Per-call precomputation: styles, hover texts, the band field of the loss."""

    def __init__(self, scene: Scene, binary: bool):
        self.scene, self.binary = scene, binary
        self.single = len(scene.paths) == 1
        styles = style.path_styles([p.optimizer for p in scene.paths])
        self.looks = [
            _Look(color="#111111" if self.single else c, mark=c, symbol=_SYMBOLS.get(m, "circle"),
                  symbol_3d=_SYMBOLS_3D.get(m, "circle"), group=f"path{i}")
            for i, (c, m) in enumerate(styles)]
        self.last = max((len(p.points) - 1 for p in scene.paths), default=0)
        self.names = tuple(_html_name(n) for n in scene.param_names)
        self.band, self.n_bands = _band_field(scene.surface, scene.levels)
        self.floor = float(scene.levels[0])
        self.gap_label = "L − L<sub>min</sub>" if scene.min_loss is not None else "L − min L (grid)"
        self.grad_text = [_grad_text(p) for p in scene.paths]
        self.heights = _heights(scene, scene.surface)
        finite = self.heights[np.isfinite(self.heights)]
        # paths float this far above the 3-D surface so that it does not swallow them
        self.lift = 0.012 * float(np.ptp(finite)) if finite.size else 0.0
        self.zrange = (float(finite.min()), float(finite.max()) + self.lift) if finite.size else (0.0, 1.0)
        self._camera: tuple[float, float, float] | None = None

    @property
    def camera(self) -> tuple[float, float, float]:
        if self._camera is None:
            self._camera = _camera_angles(self)
        return self._camera

    def a(self, values) -> dict | list:
        return _arr(values, self.binary)

    @staticmethod
    def iterate_scale() -> list:
        """Figure 6.1's iterate colours as a plotly colorscale (a fresh list: callers may edit it)."""
        return [list(stop) for stop in _iterate_colorscale()]

    def grid(self, values) -> dict | list:
        return _arr(values, self.binary, single=True)

    def at(self, path: Path, selected: int) -> int:
        return min(selected, len(path.points) - 1)

    def hover(self, i: int, what: str = "", loss_view: bool = False) -> str:
        """Hover template of path i's iterates: customdata = (t, L) or, in the loss view,
        (t, L, φ0, φ1); text = the gradient step t used."""
        n0, n1 = self.names
        path = self.scene.paths[i]
        head = f"<b>{_escape(path.label)}</b>{what}<br>"
        if loss_view:
            where = f"<br>{n0} = %{{customdata[2]:.6~g}}<br>{n1} = %{{customdata[3]:.6~g}}"
            gap = f"<br>{self.gap_label} = %{{y:.4~g}}" if self.scene.min_loss is not None else ""
        else:
            where, gap = f"<br>{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}", ""
        at = " (at its look-ahead point)" if _has_lookahead(path) else ""
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
    """The colour of an iterate at ``fraction`` of the run (style.iterate_colors' map)."""
    return _rgb(style.iterate_cmap()(fraction))


def _html_name(name: str) -> str:
    """"φ0" → "φ<sub>0</sub>"; other names unchanged."""
    if name.startswith("φ") and name[1:].isdigit():
        return f"φ<sub>{name[1:]}</sub>"
    return _escape(name)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rgb(rgba) -> str:
    r, g, b = (round(255 * float(c)) for c in rgba[:3])
    return f"rgb({r},{g},{b})"


@functools.lru_cache(maxsize=1)
def _iterate_colorscale() -> list:
    cols = style.iterate_colors(9)
    return [[k / 8, _rgb(c)] for k, c in enumerate(cols)]


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


def _has_lookahead(path: Path) -> bool:
    """Nesterov, or any run whose gradients were not all taken at φ_t."""
    if path.optimizer == "nesterov":
        return True
    la = np.asarray(path.lookahead)
    return bool(len(la)) and not np.array_equal(la[:, :2], path.points[:len(la), :2])


def _band_field(z: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, int]:
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


def _fmt(v: float) -> str:
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


def _selected(scene: Scene, selected: int | None) -> int:
    last = max((len(p.points) - 1 for p in scene.paths), default=0)
    if selected is None:
        return last
    return validation.integer("selected", selected, 0)


def _empty_xy(trace: dict, three_d: bool = False) -> dict:
    trace.update(x=[], y=[])
    if three_d:
        trace["z"] = []
    return trace


# ---- (c) contours --------------------------------------------------------------------------------

def _colorbar(ctx: _Ctx, **where) -> dict:
    sc, n = ctx.scene, ctx.n_bands
    step = max(1, math.ceil((n + 1) / 7))
    ticks = list(range(0, n + 1, step))
    if sc.log_levels:
        text = [_fmt(float(sc.levels[k] - sc.levels[0])) for k in ticks]
        title = f"{ctx.gap_label}<br>(log-spaced<br>levels)"
    else:
        text = [_fmt(float(sc.levels[k])) for k in ticks]
        title = "loss L"
    return {"title": {"text": title, "side": "top", "font": {"size": 12}}, "tickvals": ticks,
            "ticktext": text, "thickness": 14, "outlinewidth": 0, "ticks": "outside", **where}


def _contour_static(ctx: _Ctx, xa: str = "x", ya: str = "y", legend: bool = True,
                    colorbar: dict | None = None) -> list[dict]:
    sc = ctx.scene
    n = ctx.n_bands
    traces: list[dict] = [{
        "type": "contour", "name": "loss", "x": ctx.a(sc.grid_x), "y": ctx.a(sc.grid_y),
        "z": ctx.grid(ctx.band), "zmin": 0, "zmax": n + 1, "autocontour": False,
        "contours": {"start": 1, "end": n, "size": 1, "coloring": "fill", "showlines": True},
        "line": {"color": "rgba(255,255,255,0.55)", "width": 0.6, "smoothing": 0},
        "colorscale": _viridis([k / (n + 1) for k in range(n + 2)]),
        "colorbar": _colorbar(ctx, **(colorbar or {})), "opacity": 0.95,
        "hoverinfo": "skip", "showlegend": False, "xaxis": xa, "yaxis": ya,
    }]
    for i, (path, look) in enumerate(zip(sc.paths, ctx.looks, strict=True)):
        traces += _contour_path(ctx, i, path, look, xa, ya, legend)
    if len(sc.minima):  # over the paths, as matplotlib's
        n0, n1 = ctx.names
        traces.append({
            "type": "scatter", "mode": "markers", "name": "known minimum", "x": ctx.a(sc.minima[:, 0]),
            "y": ctx.a(sc.minima[:, 1]), "showlegend": legend, "legendgroup": "minima",
            "marker": {"symbol": "star", "size": 17, "color": style.MINIMUM_COLOR,
                       "line": {"color": "black", "width": 1}},
            "hovertemplate": f"known minimum<br>{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}<extra></extra>",
            "xaxis": xa, "yaxis": ya})
    return traces


def _contour_path(ctx: _Ctx, i: int, path: Path, look: _Look, xa: str, ya: str, legend: bool) -> list[dict]:
    pts = path.points
    n = len(pts)
    x, y = ctx.a(pts[:, 0]), ctx.a(pts[:, 1])
    common = {"legendgroup": look.group, "xaxis": xa, "yaxis": ya}
    out = [{"type": "scatter", "mode": "lines", "x": x, "y": y, "hoverinfo": "skip", "showlegend": False,
            "line": {"color": "rgba(255,255,255,0.85)", "width": 4.5}, **common}]
    line = {"type": "scatter", "x": x, "y": y, "name": _escape(path.label), "showlegend": legend,
            "customdata": ctx.custom(path, slice(None)), "text": list(ctx.grad_text[i]),
            "hovertemplate": ctx.hover(i), "line": {"color": look.color, "width": 2}, **common}
    if ctx.single:
        few = n <= MANY
        line["mode"] = "lines+markers" if few else "lines"
        if few:
            line["marker"] = {"size": 8, "color": ctx.a(np.arange(n)), "colorscale": ctx.iterate_scale(),
                              "cmin": 0, "cmax": max(n - 1, 1), "line": {"color": "black", "width": 0.6}}
        out.append(line)
        idx = np.asarray(path.numbered, dtype=int)
        out.append({
            "type": "scatter", "mode": "text" if few else "markers+text", "x": ctx.a(pts[idx, 0]),
            "y": ctx.a(pts[idx, 1]), "text": [str(t) for t in idx], "textposition": "top right",
            "textfont": {"size": 12, "color": "black", "weight": "bold", "shadow": "auto"},
            "marker": {"size": 8, "color": ctx.a(idx), "colorscale": ctx.iterate_scale(), "cmin": 0,
                       "cmax": max(n - 1, 1), "line": {"color": "black", "width": 0.6}},
            "hoverinfo": "skip", "showlegend": False, **common})
    else:
        line["mode"] = "lines+markers"
        line["marker"] = {"symbol": look.symbol, "size": 7, "color": look.mark, "maxdisplayed": 25,
                          "line": {"color": "black", "width": 0.5}}
        out.append(line)
        out.append({"type": "scatter", "mode": "markers", "x": ctx.a(pts[-1:, 0]), "y": ctx.a(pts[-1:, 1]),
                    "marker": {"symbol": look.symbol, "size": 12, "color": look.mark,
                               "line": {"color": "black", "width": 1}},
                    "hoverinfo": "skip", "showlegend": False, **common})
    return out


def _contour_dynamic(ctx: _Ctx, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
    """Per path: the selected iterate and, for look-ahead runs, the geometry of its step."""
    out: list[dict] = []
    for i, (path, look) in enumerate(zip(ctx.scene.paths, ctx.looks, strict=True)):
        t = ctx.at(path, selected)
        common = {"legendgroup": look.group, "showlegend": False, "xaxis": xa, "yaxis": ya}
        out.append({
            "type": "scatter", "mode": "markers", "name": f"φ_{t}", "x": ctx.a(path.points[t:t + 1, 0]),
            "y": ctx.a(path.points[t:t + 1, 1]), "customdata": ctx.custom(path, slice(t, t + 1)),
            "text": ctx.texts(i, [t]), "hovertemplate": ctx.hover(i, " (selected)"),
            "marker": {"symbol": "circle", "size": 15, "color": ctx.iterate_color(path, t),
                       "line": {"color": "white", "width": 3}}, **common})
        if _has_lookahead(path):
            out += _lookahead_traces(ctx, i, path, look, t, common)
    return out


def lookahead_geometry(path: Path, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(φ_t, the look-ahead point of step t, where its gradient step ends), or None at the last iterate.

    The look-ahead point is the one the run recorded (φ_t − αβ·m_t for Nesterov); the gradient
    step from it is −α(1−β)·g_t (book eq. 6.12), which ends at φ_{t+1}. Without α and β the end
    is φ_{t+1} as recorded.
    """
    if t >= len(path.lookahead) or t >= len(path.points) - 1:
        return None
    phi, ahead = path.points[t, :2], path.lookahead[t, :2]
    hp = path.hyperparams or {}
    if path.grads is not None and "lr" in hp and "beta" in hp:
        end = ahead - hp["lr"] * (1.0 - hp["beta"]) * np.asarray(path.grads[t, :2])
    else:
        end = path.points[t + 1, :2]
    return phi, ahead, end


def _lookahead_traces(ctx: _Ctx, i: int, path: Path, look: _Look, t: int, common: dict) -> list[dict]:
    geo = lookahead_geometry(path, t)
    color = look.color
    n0, n1 = ctx.names
    # the template is the same at every step (the step is customdata), so animation frames need not
    # carry it, and it is there even when the figure opens at the last iterate (no look-ahead)
    ghost = {"type": "scatter", "mode": "markers", "name": _LOOKAHEAD_NAMES[0],
             "marker": {"symbol": "circle-open", "size": 13, "color": color, "line": {"width": 2.5}},
             "hovertemplate": (f"<b>{_escape(path.label)}</b><br>look-ahead point of step "
                               "%{customdata[0]}: φ<sub>t</sub> − αβ·m<sub>t</sub><br>"
                               f"{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}<br>gradient taken here: %{{text}}"
                               "<extra></extra>"),
             **common}
    legs = [{"type": "scatter", "mode": "lines+markers", "name": name, "hoverinfo": "skip",
             "line": {"color": color, "width": width, "dash": dash},
             "marker": {"symbol": ["circle", "arrow"], "size": [0, size], "angleref": "previous",
                        "color": color}, **common}
            for name, width, dash, size in ((_LOOKAHEAD_NAMES[1], 1.6, "dot", 10),
                                            (_LOOKAHEAD_NAMES[2], 2.6, "solid", 14))]
    if geo is None:
        return [_empty_xy(ghost), *(_empty_xy(leg) for leg in legs)]
    phi, ahead, end = geo
    ghost.update(x=ctx.a(ahead[:1]), y=ctx.a(ahead[1:2]), text=ctx.texts(i, [t]), customdata=[[t]])
    legs[0].update(x=ctx.a([phi[0], ahead[0]]), y=ctx.a([phi[1], ahead[1]]))
    legs[1].update(x=ctx.a([ahead[0], end[0]]), y=ctx.a([ahead[1], end[1]]))
    return [ghost, *legs]


def _contour_axes(ctx: _Ctx) -> tuple[dict, dict]:
    sc = ctx.scene
    return ({**_AXIS, "title": {"text": ctx.names[0]}, "range": list(sc.bounds[0])},
            {**_AXIS, "title": {"text": ctx.names[1]}, "range": list(sc.bounds[1])})


def _contour_title(ctx: _Ctx) -> str:
    return "loss contours and paths" + (" (log-spaced levels)" if ctx.scene.log_levels else "")


def _diverged_notes(ctx: _Ctx, xref: str = "x", yref: str = "y") -> list[dict]:
    """"gd diverged at step 6" by the last finite iterate, kept inside the view."""
    notes = []
    (x0, x1), (y0, y1) = ctx.scene.bounds
    for path in ctx.scene.paths:
        if path.diverged_at is not None:
            x, y = path.points[-1, :2]
            off = not (x0 <= x <= x1 and y0 <= y <= y1)
            x, y = min(max(float(x), x0), x1), min(max(float(y), y0), y1)
            right, top = x > (x0 + x1) / 2, y > (y0 + y1) / 2
            notes.append({"x": x, "y": y, "xref": xref, "yref": yref, "showarrow": False,
                          "xanchor": "right" if right else "left", "yanchor": "top" if top else "bottom",
                          "xshift": -6 if right else 6, "yshift": -6 if top else 6,
                          "text": f"{_escape(path.optimizer)} diverged at step {path.diverged_at}"
                                  + (" (off the view)" if off else ""),
                          "font": {"size": 11, "color": style.DIVERGED_COLOR},
                          "bgcolor": "rgba(255,255,255,0.75)"})
    return notes


# ---- (b) the 3-D surface ----------------------------------------------------------------------

def _heights(scene: Scene, losses: np.ndarray) -> np.ndarray:
    """Heights in the 3-D view: the loss, or log10 of its height above the floor (as matplotlib's)."""
    with np.errstate(all="ignore"):
        return surface_heights(scene, np.where(np.isfinite(losses), losses, np.nan))


def _viridis(positions: Sequence[float], at: Sequence[float] | None = None) -> list:
    """A plotly colorscale of matplotlib's viridis (the scene's SURFACE_CMAP) sampled at ``positions``,
    placed at ``at`` (default: the same positions) on the colour axis."""
    return [[float(x), _surface_rgb(round(float(p), 12))]
            for p, x in zip(positions, positions if at is None else at, strict=True)]


@functools.lru_cache(maxsize=4096)
def _surface_rgb(fraction: float) -> str:
    import matplotlib as mpl

    return _rgb(mpl.colormaps[style.SURFACE_CMAP](fraction))


def _surface_colors(ctx: _Ctx) -> tuple[float, float, list]:
    """(cmin, cmax, colorscale) that colour the heights like the contour bands: at each level's
    height exactly the contour's colour of that level, linear in between (and above the top)."""
    sc, n = ctx.scene, ctx.n_bands
    h = _heights(sc, np.asarray(sc.levels, dtype=np.float64))
    finite = ctx.heights[np.isfinite(ctx.heights)]
    lo = float(h[0])
    hi = max(float(finite.max()) if finite.size else float(h[-1]), float(h[-1]))
    hi = max(hi, lo + 1e-12)
    at = np.clip((h - lo) / (hi - lo), 0.0, 1.0)
    at = np.maximum.accumulate(at)
    colors = [k / (n + 1) for k in range(n + 1)]
    places = list(at)
    if places[-1] < 1.0:
        colors.append(1.0)
        places.append(1.0)
    else:
        places[-1] = 1.0
    places[0] = 0.0
    return lo, hi, _viridis(colors, places)


def _surface_static(ctx: _Ctx, scene_ref: str = "scene", legend: bool = False) -> list[dict]:
    sc = ctx.scene
    n0, n1 = ctx.names
    zname = "log<sub>10</sub>(L − L<sub>min</sub>)" if sc.log_levels else "L"
    cmin, cmax, scale = _surface_colors(ctx)
    traces: list[dict] = [{
        "type": "surface", "name": "loss", "x": ctx.a(sc.grid_x), "y": ctx.a(sc.grid_y),
        "z": ctx.grid(ctx.heights), "cmin": cmin, "cmax": cmax, "colorscale": scale,
        "showscale": False, "scene": scene_ref, "showlegend": False,
        "hovertemplate": f"{n0} = %{{x:.4~g}}<br>{n1} = %{{y:.4~g}}<br>{zname} = %{{z:.4~g}}<extra></extra>",
        "contours": {"z": {"show": False}}, "lighting": {"ambient": 0.75, "diffuse": 0.5, "specular": 0.05},
        # walls that would hide much of the paths from the best camera (deep valleys) see-through
        "opacity": 1.0 if ctx.camera[2] <= 0.2 else 0.72,
    }]
    lift = ctx.lift
    if len(sc.minima) and sc.min_loss is not None:
        hz = _heights(sc, np.full(len(sc.minima), sc.min_loss)) + lift
        traces.append({"type": "scatter3d", "mode": "markers", "name": "known minimum", "scene": scene_ref,
                       "x": ctx.a(sc.minima[:, 0]), "y": ctx.a(sc.minima[:, 1]), "z": ctx.a(hz),
                       "marker": {"symbol": "diamond", "size": 6, "color": "white",
                                  "line": {"color": "black", "width": 1}},
                       "showlegend": legend, "legendgroup": "minima",
                       "hovertemplate": "known minimum<extra></extra>"})
    for i, (path, look) in enumerate(zip(sc.paths, ctx.looks, strict=True)):
        n = len(path.points)
        trace = {"type": "scatter3d", "scene": scene_ref, "name": _escape(path.label),
                 "legendgroup": look.group, "showlegend": legend,
                 **_xyz(ctx, path, slice(None)),
                 "customdata": ctx.custom(path, slice(None)), "text": list(ctx.grad_text[i]),
                 "hovertemplate": ctx.hover(i), "line": {"color": look.color, "width": 5}}
        if n <= MANY:
            trace["mode"] = "lines+markers"
            trace["marker"] = {"size": 3.5, "symbol": look.symbol_3d,
                               "color": ctx.a(np.arange(n)) if ctx.single else look.mark,
                               **({"colorscale": ctx.iterate_scale(), "cmin": 0, "cmax": max(n - 1, 1)}
                                  if ctx.single else {})}
        else:
            trace["mode"] = "lines"
        traces.append(trace)
    return traces


def _xyz(ctx: _Ctx, path: Path, idx: slice) -> dict:
    """x, y, z of iterates on the 3-D surface; those outside its box are left out (nan): plotly
    does not clip 3-D traces to the axis ranges, and a diverging run would flatten the surface."""
    pts = path.points[idx, :2]
    z = _heights(ctx.scene, path.losses[idx]) + ctx.lift
    (x0, x1), (y0, y1) = ctx.scene.bounds
    lo, hi = ctx.zrange
    slack = 1e-9 * max(hi - lo, 1.0)
    with np.errstate(invalid="ignore"):
        out = ~((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
                & (z <= hi + slack) & (z >= lo - slack - ctx.lift))
    if out.any():
        pts = np.where(out[:, None], np.nan, pts)
        z = np.where(out, np.nan, z)
    return {"x": ctx.a(pts[:, 0]), "y": ctx.a(pts[:, 1]), "z": ctx.a(z)}


def _surface_dynamic(ctx: _Ctx, selected: int, scene_ref: str = "scene") -> list[dict]:
    out = []
    for i, (path, look) in enumerate(zip(ctx.scene.paths, ctx.looks, strict=True)):
        t = ctx.at(path, selected)
        out.append({
            "type": "scatter3d", "mode": "markers", "scene": scene_ref, "name": f"φ_{t}",
            "legendgroup": look.group, "showlegend": False,
            **_xyz(ctx, path, slice(t, t + 1)),
            "customdata": ctx.custom(path, slice(t, t + 1)), "text": ctx.texts(i, [t]),
            "hovertemplate": ctx.hover(i, " (selected)"),
            "marker": {"symbol": "circle", "size": 7, "color": ctx.iterate_color(path, t),
                       "line": {"color": "white", "width": 2}}})
    return out


_ASPECT_Z = 0.65


def _viewing_azimuth(z: np.ndarray) -> float:
    """Look from above the lowest corner of the grid, so high walls stand behind the path."""
    corners = {(-1, -1): z[0, 0], (1, -1): z[0, -1], (-1, 1): z[-1, 0], (1, 1): z[-1, -1]}
    finite = {k: v for k, v in corners.items() if np.isfinite(v)}
    cx, cy = min(finite, key=finite.get) if finite else (1, -1)
    return math.atan2(cy, cx)


def _eye(az: float, elev: float, r: float = 1.95) -> np.ndarray:
    return np.array([r * math.cos(elev) * math.cos(az), r * math.cos(elev) * math.sin(az),
                     r * math.sin(elev) * 0.9])


def _camera_angles(ctx: _Ctx) -> tuple[float, float, float]:
    """(azimuth, elevation, fraction of path points hidden) of a camera that sees the paths.

    matplotlib draws paths over the surface whatever lies in front; WebGL hides them behind its
    walls (Rosenbrock's valley, seen from its lowest corner, hides every path). So, starting from
    matplotlib's choice (above the lowest corner), try eight azimuths and then steeper elevations
    (down to almost from above, for the funnels of log heights), and keep the first view that
    hides the fewest path points: rays from ~24 points per path
    towards the camera, marched over the height grid in the box's own units.
    """
    base = _viewing_azimuth(ctx.heights)
    lo, hi = ctx.zrange
    (x0, x1), (y0, y1) = ctx.scene.bounds
    samples = []
    for path in ctx.scene.paths:
        pts, z = path.points[:, :2], _heights(ctx.scene, path.losses) + ctx.lift
        keep = np.flatnonzero(np.isfinite(z) & (pts[:, 0] >= x0) & (pts[:, 0] <= x1)
                              & (pts[:, 1] >= y0) & (pts[:, 1] <= y1) & (z <= hi))
        if len(keep):
            keep = keep[np.unique(np.linspace(0, len(keep) - 1, min(len(keep), 24)).astype(int))]
        samples.append(np.column_stack([(pts[keep, 0] - x0) / (x1 - x0), (pts[keep, 1] - y0) / (y1 - y0),
                                        (z[keep] - lo) / (hi - lo or 1.0) * _ASPECT_Z]))
    p = np.concatenate(samples) if samples else np.zeros((0, 3))
    if len(p) == 0:
        return base, math.radians(40), 0.0
    grid = np.where(np.isfinite(ctx.heights), (ctx.heights - lo) / (hi - lo or 1.0) * _ASPECT_Z, -np.inf)
    g = grid.shape[0] - 1, grid.shape[1] - 1
    s = np.linspace(0.03, 1.5, 32)[None, :, None]
    best = None
    for elev in (math.radians(40), math.radians(62), math.radians(80)):
        turns = (0, 45, -45, 90, -90, 135, -135, 180) if elev < 1.3 else (0, 90, 180, -90)
        for turn in turns:  # nearest matplotlib's choice first
            az = base + math.radians(turn)
            d = _eye(az, elev)
            q = p[:, None, :] + s * (d / np.linalg.norm(d))[None, None, :]
            inside = (q[..., 0] >= 0) & (q[..., 0] <= 1) & (q[..., 1] >= 0) & (q[..., 1] <= 1)
            i = np.clip(np.rint(q[..., 1] * g[0]).astype(int), 0, g[0])
            j = np.clip(np.rint(q[..., 0] * g[1]).astype(int), 0, g[1])
            hidden = int(np.sum(np.any(inside & (grid[i, j] > q[..., 2] + 0.01), axis=1)))
            if best is None or hidden < best[0]:
                best = (hidden, az, elev)
            if hidden == 0:
                return az, elev, 0.0
    return best[1], best[2], best[0] / len(p)


def _scene_layout(ctx: _Ctx, domain: dict | None = None) -> dict:
    sc = ctx.scene
    az, elev, _ = ctx.camera
    ex, ey, ez = _eye(az, elev)
    axis = {"backgroundcolor": "white", "gridcolor": "#dddddd", "showbackground": True}
    out = {
        "xaxis": {**axis, "title": {"text": ctx.names[0]}, "range": list(sc.bounds[0])},
        "yaxis": {**axis, "title": {"text": ctx.names[1]}, "range": list(sc.bounds[1])},
        "zaxis": {**axis, "title": {"text": "log<sub>10</sub>(L − L<sub>min</sub>)" if sc.log_levels
                                    else "loss L"}, "range": list(ctx.zrange)},
        "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": _ASPECT_Z},
        "camera": {"eye": {"x": float(ex), "y": float(ey), "z": float(ez)},
                   "center": {"x": 0, "y": 0, "z": -0.12}},
    }
    if domain is not None:
        out["domain"] = domain
    return out


# ---- loss per step ----------------------------------------------------------------------------------

def _loss_values(ctx: _Ctx) -> tuple[list[np.ndarray], bool]:
    sc = ctx.scene
    floor = sc.min_loss
    log = floor is not None or all(bool(np.all(p.losses > 0)) for p in sc.paths)
    out = []
    for p in sc.paths:
        gap = p.losses - floor if floor is not None else p.losses.astype(np.float64)
        if log:
            gap = np.maximum(gap, style.gap_floor(floor))
        out.append(gap)
    return out, log


def _loss_range(values: list[np.ndarray], log: bool) -> tuple[float, float, list[float]]:
    """(low, high, axis range) of all the curves; the axis range in log10 units on a log axis."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if finite.size == 0:
        return (1e-3, 1.0, [-3.0, 0.0]) if log else (0.0, 1.0, [0.0, 1.0])
    lo, hi = float(finite.min()), float(finite.max())
    if log:
        a, b = math.log10(lo), math.log10(hi)
        pad = 0.04 * max(b - a, 1.0)
        return lo, hi, [a - pad, b + pad]
    pad = 0.05 * (hi - lo or 1.0)
    return lo, hi, [lo - pad, hi + pad]


def _loss_hover(ctx: _Ctx, i: int, what: str = "") -> str:
    return ctx.hover(i, what, loss_view=True)


def _loss_static(ctx: _Ctx, xa: str = "x", ya: str = "y", legend: bool = True) -> list[dict]:
    values, log = _loss_values(ctx)
    lo, hi, _ = _loss_range(values, log)
    out = []
    for i, (path, look, v) in enumerate(zip(ctx.scene.paths, ctx.looks, values, strict=True)):
        out.append({"type": "scatter", "mode": "lines", "name": _escape(path.label), "showlegend": legend,
                    "legendgroup": look.group, "x": ctx.a(np.arange(len(v))), "y": ctx.a(v),
                    "customdata": ctx.custom(path, slice(None), loss_view=True),
                    "text": list(ctx.grad_text[i]),
                    "hovertemplate": _loss_hover(ctx, i),
                    "line": {"color": "#1f77b4" if ctx.single else look.mark, "width": 2},
                    "xaxis": xa, "yaxis": ya})
        if path.diverged_at is not None:
            out.append({"type": "scatter", "mode": "lines", "x": [path.diverged_at] * 2, "y": [lo, hi],
                        "line": {"color": style.DIVERGED_COLOR, "dash": "dash", "width": 1},
                        "name": f"{path.optimizer} diverged", "legendgroup": look.group,
                        "showlegend": False, "hovertemplate": f"{_escape(path.optimizer)} diverged at step "
                                                              f"{path.diverged_at}<extra></extra>",
                        "xaxis": xa, "yaxis": ya})
    return out


def _loss_dynamic(ctx: _Ctx, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
    values, log = _loss_values(ctx)
    lo, hi, _ = _loss_range(values, log)
    t_all = min(selected, ctx.last)
    out: list[dict] = [{
        "type": "scatter", "mode": "lines", "name": "selected step", "x": [t_all, t_all], "y": [lo, hi],
        "line": {"color": _DYNAMIC_GREY, "dash": "dash", "width": 1.2}, "hoverinfo": "skip",
        "showlegend": False, "xaxis": xa, "yaxis": ya}]
    for i, (path, look, v) in enumerate(zip(ctx.scene.paths, ctx.looks, values, strict=True)):
        t = ctx.at(path, selected)
        out.append({"type": "scatter", "mode": "markers", "name": f"φ_{t}", "legendgroup": look.group,
                    "showlegend": False, "x": [t], "y": ctx.a(v[t:t + 1]),
                    "customdata": ctx.custom(path, slice(t, t + 1), loss_view=True),
                    "text": ctx.texts(i, [t]), "hovertemplate": _loss_hover(ctx, i, " (selected)"),
                    "marker": {"size": 10, "color": "#1f77b4" if ctx.single else look.mark,
                               "line": {"color": "white", "width": 2}},
                    "xaxis": xa, "yaxis": ya})
    return out


def _loss_axes(ctx: _Ctx) -> tuple[dict, dict]:
    values, log = _loss_values(ctx)
    _, _, yrange = _loss_range(values, log)
    floor = ctx.scene.min_loss
    ytitle = "L[φ<sub>t</sub>] − L<sub>min</sub>" if floor is not None else "L[φ<sub>t</sub>]"
    y = {**_AXIS, "title": {"text": ytitle + (" (log scale)" if log else "")}, "range": yrange,
         "type": "log" if log else "linear"}
    if log:
        y["exponentformat"] = "power"
        if yrange[1] - yrange[0] > 2.5:  # decades only: plotly's 2 and 5 between them crowd the axis
            y["dtick"] = 1 if yrange[1] - yrange[0] < 12 else 2
    x = {**_AXIS, "title": {"text": "step t"}, "range": [-0.02 * max(ctx.last, 1), 1.02 * max(ctx.last, 1)]}
    return x, y


# ---- (a)/(d) data and model -----------------------------------------------------------------------

def _data_static(ctx: _Ctx, xa: str = "x", ya: str = "y", legend: bool = True) -> list[dict]:
    x, y = ctx.scene.data
    lx, ly = (_escape(s) for s in ctx.scene.data_labels)
    return [{"type": "scatter", "mode": "markers", "name": f"data (N={len(x)})", "x": ctx.a(x), "y": ctx.a(y),
             "marker": {"size": 9, "color": style.DATA_COLOR, "line": {"color": "black", "width": 0.7}},
             "hovertemplate": f"{lx} = %{{x:.4~g}}<br>{ly} = %{{y:.4~g}}<extra>data</extra>",
             "showlegend": legend, "legendgroup": "data", "xaxis": xa, "yaxis": ya}]


def _data_dynamic(ctx: _Ctx, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
    out = []
    mx = ctx.scene.model_x
    for path, look in zip(ctx.scene.paths, ctx.looks, strict=True):
        t = ctx.at(path, selected)
        lines = path.model_lines
        out.append({"type": "scatter", "mode": "lines", "name": f"model at φ_{t}", "legendgroup": look.group,
                    "showlegend": False, "x": ctx.a(mx) if lines is not None else [],
                    "y": ctx.a(lines[t]) if lines is not None else [],
                    "line": {"color": ctx.iterate_color(path, t), "width": 2.5},
                    # the step comes from the name, which animation frames update
                    "hovertemplate": f"<b>{_escape(path.label)}</b><br>%{{fullData.name}}"
                                     "<br>x = %{x:.4~g}<br>f[x, φ] = %{y:.4~g}<extra></extra>",
                    "xaxis": xa, "yaxis": ya})
    return out


def _data_axes(ctx: _Ctx) -> tuple[dict, dict]:
    x, y = ctx.scene.data
    lx, ly = (_escape(s) for s in ctx.scene.data_labels)

    def padded(v: np.ndarray) -> list[float]:
        lo, hi = float(np.min(v)), float(np.max(v))
        pad = 0.08 * (hi - lo or 1.0)
        return [lo - pad, hi + pad]

    return ({**_AXIS, "title": {"text": f"input {lx}"}, "range": padded(x)},
            {**_AXIS, "title": {"text": f"output {ly}"}, "range": padded(y)})


def _lines_outside(ctx: _Ctx, selected: int) -> int:
    """How many paths' model lines at the selected iterate lie wholly outside the data's view."""
    lo, hi = _data_axes(ctx)[1]["range"]
    count = 0
    for path in ctx.scene.paths:
        if path.model_lines is not None:
            line = path.model_lines[ctx.at(path, selected)]
            count += bool(np.all((line < lo) | (line > hi)))
    return count


# ---- figures --------------------------------------------------------------------------------------

def _layout(title: str, uirevision: str, **more) -> dict:
    return {"title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 16}},
            "font": dict(_FONT), "paper_bgcolor": "white", "plot_bgcolor": "white",
            "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "hovermode": "closest",
            "uirevision": uirevision, "hoverlabel": {"font": {"size": 12}},
            # pinned to the bottom edge of the figure, so its rows push the plot up rather than clip
            "legend": {"orientation": "h", "xref": "container", "yref": "container", "x": 0.01,
                       "xanchor": "left", "y": 0.0, "yanchor": "bottom", "font": {"size": 11},
                       "bgcolor": "rgba(255,255,255,0.8)"},
            **more}


def _uirevision(scene: Scene) -> str:
    """Kept while the problem and view stay the same, so a user's zoom survives a slider move."""
    return f"{scene.title}|{scene.bounds}|{len(scene.paths)}"


def views(scene: Scene, selected: int | None = None, *, binary: bool = True) -> dict[str, dict]:
    """Plotly figure dicts of ``scene`` with iterate ``selected`` marked (None: the last iterate).

    Keys: ``"data"`` (data problems only: the data and each path's model line at the selected
    iterate), ``"surface"`` (the 3-D loss surface with each path), ``"contour"`` (filled contours at
    the scene's levels, each path, the selected iterate and, for Nesterov, the look-ahead point
    φ_t − αβ·m_t of the selected step with an arrow of the gradient step taken there) and
    ``"loss"`` (L − L_min per step on a log axis, a dashed line at the selected step). Each path's
    selected iterate is ``min(selected, its last index)``.

    Args:
        binary: numeric arrays as plotly typed-array specs (fast to serialise; see :func:`decode`);
            False gives plain lists.
    """
    sel = _selected(scene, selected)
    ctx = _Ctx(scene, binary)
    rev = _uirevision(scene)
    t_all = min(sel, ctx.last)
    out: dict[str, dict] = {}
    if scene.has_data:
        ax, ay = _data_axes(ctx)
        notes = []
        outside = _lines_outside(ctx, sel)
        if outside:
            notes.append({"x": 0.01, "y": 0.01, "xref": "paper", "yref": "paper", "showarrow": False,
                          "xanchor": "left", "yanchor": "bottom",
                          "font": {"size": 11, "color": style.DIVERGED_COLOR},
                          "text": f"{outside} of {len(scene.paths)} model lines lie outside this view"})
        out["data"] = {"data": _data_static(ctx) + _data_dynamic(ctx, sel),
                       "layout": _layout(f"data and the model at step t = {t_all}", rev, xaxis=ax, yaxis=ay,
                                         annotations=notes)}
    out["surface"] = {"data": _surface_static(ctx) + _surface_dynamic(ctx, sel),
                      "layout": _layout(f"loss surface, step t = {t_all}", rev, scene=_scene_layout(ctx),
                                        margin={"l": 0, "r": 0, "t": 50, "b": 0}, showlegend=False)}
    cx, cy = _contour_axes(ctx)
    out["contour"] = {"data": _contour_static(ctx) + _contour_dynamic(ctx, sel),
                      "layout": _layout(f"{_contour_title(ctx)}, step t = {t_all}", rev, xaxis=cx, yaxis=cy,
                                        annotations=_diverged_notes(ctx))}
    lx, ly = _loss_axes(ctx)
    out["loss"] = {"data": _loss_static(ctx) + _loss_dynamic(ctx, sel),
                   "layout": _layout("loss per step", rev, xaxis=lx, yaxis=ly,
                                     annotations=_loss_notes(ctx))}
    return out


def _loss_notes(ctx: _Ctx, xref: str = "x", yref: str = "y domain") -> list[dict]:
    return [{"x": p.diverged_at, "y": 0.5, "xref": xref, "yref": yref, "showarrow": False, "textangle": -90,
             "xanchor": "right", "text": f"{_escape(p.optimizer)} diverged at step {p.diverged_at}",
             "font": {"size": 11, "color": style.DIVERGED_COLOR}}
            for p in ctx.scene.paths if p.diverged_at is not None]


_FRAME_KEYS = ("type", "name", "x", "y", "z", "customdata", "text", "marker", "line")


def _frame_part(trace: dict) -> dict:
    """What a frame must carry of a moving trace: plotly.animate merges it into the trace, so the
    hover templates, axes and legend groups stay as they are, and so does a model line's x (the
    same inputs at every step): a third of the file instead of all of it."""
    part = {k: trace[k] for k in _FRAME_KEYS if k in trace}
    if str(trace.get("name", "")).startswith("model at") and len(part.get("x", [])):
        del part["x"]
    return part


def frame_steps(scene: Scene, max_frames: int = MAX_FRAMES) -> list[int]:
    """The iterates :func:`combined` gives a slider position: all, or ``max_frames`` evenly spread
    with the first and the last kept."""
    m = validation.integer("max_frames", max_frames, 2)
    last = max((len(p.points) - 1 for p in scene.paths), default=0)
    if last + 1 <= m:
        return list(range(last + 1))
    return sorted({round(float(v)) for v in np.linspace(0, last, m)})


def combined(scene: Scene, *, title: str | None = None, max_frames: int = MAX_FRAMES,
             binary: bool = True) -> dict:
    """Every view of :func:`views` in one figure dict, with a slider (and play/pause) that moves the
    selected iterate in all of them at once: plotly frames, so a standalone HTML file animates in the
    browser without re-running anything.

    Data problems get a 2 × 2 grid (data and model | 3-D surface / contours | loss per step), others
    a row (3-D surface | contours | loss). One legend; clicking a run toggles it in every view.

    Args:
        title: the figure's title (default: the problem's name).
        max_frames: at most this many slider positions (first and last iterate kept).
        binary: typed-array specs (default) or plain lists, as in :func:`views`.
    """
    ctx = _Ctx(scene, binary)
    steps = frame_steps(scene, max_frames)
    last = steps[-1]
    layout = _layout(_escape(title if title is not None else scene.title), _uirevision(scene),
                     showlegend=True)
    if scene.has_data:
        height, rows = 1050, [(0.56, 0.94), (0.0, 0.40)]
        cells = {"data": ((0.0, 0.40), rows[0]), "surface": ((0.50, 1.0), (0.52, 0.97)),
                 "contour": ((0.0, 0.40), rows[1]), "loss": ((0.55, 1.0), rows[1])}
    else:
        height = 620
        cells = {"surface": ((0.0, 0.30), (0.0, 0.92)), "contour": ((0.36, 0.62), (0.0, 0.92)),
                 "loss": ((0.74, 1.0), (0.0, 0.92))}
    layout.update(height=height, margin={"l": 60, "r": 30, "t": 110, "b": 160},
                  legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                          "font": {"size": 12}, "bgcolor": "rgba(255,255,255,0.8)"})
    # the 2-D views on axes pairs x/y, x2/y2, x3/y3
    axes = {}
    k = 0
    for name in ("data", "contour", "loss"):
        if name in cells:
            k += 1
            axes[name] = ("x" if k == 1 else f"x{k}", "y" if k == 1 else f"y{k}")
    titles = {"data": "data and the model of the selected iterate", "surface": "loss surface",
              "contour": _contour_title(ctx), "loss": "loss per step"}

    static: list[dict] = []
    dyn_builders = []
    annotations: list[dict] = []
    for name in VIEWS:
        if name not in cells:
            continue
        (x0, x1), (y0, y1) = cells[name]
        annotations.append({"text": f"<b>{titles[name]}</b>", "x": (x0 + x1) / 2, "y": y1, "xref": "paper",
                            "yref": "paper", "xanchor": "center", "yanchor": "bottom", "yshift": 8,
                            "showarrow": False, "font": {"size": 14}})
        if name == "surface":
            layout["scene"] = _scene_layout(ctx, {"x": [x0, x1], "y": [y0, y1]})
            static += _surface_static(ctx)
            dyn_builders.append(lambda t: _surface_dynamic(ctx, t))
            continue
        xa, ya = axes[name]
        xkey, ykey = "xaxis" + xa[1:], "yaxis" + ya[1:]
        if name == "data":
            ax, ay = _data_axes(ctx)
            static += _data_static(ctx, xa, ya, legend=True)
            dyn_builders.append(lambda t, xa=xa, ya=ya: _data_dynamic(ctx, t, xa, ya))
        elif name == "contour":
            ax, ay = _contour_axes(ctx)
            bar = {"x": x1 + 0.01, "xanchor": "left", "y": (y0 + y1) / 2, "yanchor": "middle",
                   "len": (y1 - y0) * 0.95}
            static += _contour_static(ctx, xa, ya, legend=True, colorbar=bar)
            dyn_builders.append(lambda t, xa=xa, ya=ya: _contour_dynamic(ctx, t, xa, ya))
            annotations += _diverged_notes(ctx, xa, ya)
        else:
            ax, ay = _loss_axes(ctx)
            static += _loss_static(ctx, xa, ya, legend=False)
            dyn_builders.append(lambda t, xa=xa, ya=ya: _loss_dynamic(ctx, t, xa, ya))
            annotations += _loss_notes(ctx, xa, f"{ya} domain")
        layout[xkey] = {**ax, "domain": [x0, x1], "anchor": ya}
        layout[ykey] = {**ay, "domain": [y0, y1], "anchor": xa}
    layout["annotations"] = annotations

    def dynamic(t: int) -> list[dict]:
        return [trace for build in dyn_builders for trace in build(t)]

    first_dynamic = len(static)
    current = dynamic(last)
    indices = list(range(first_dynamic, first_dynamic + len(current)))
    frames = [{"name": str(t), "data": [_frame_part(tr) for tr in dynamic(t)], "traces": indices}
              for t in steps]
    names = [str(t) for t in steps]
    instant = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    layout["sliders"] = [{
        "active": len(steps) - 1, "x": 0.1, "len": 0.9, "y": 0.0, "yanchor": "top", "pad": {"t": 75, "b": 10},
        "currentvalue": {"prefix": "selected iterate t = ", "font": {"size": 15, "color": "#222"},
                         "xanchor": "left"},
        # a label per step is unreadable beyond a few dozen: hide them (the value above shows t)
        "font": {"size": 10, "color": "#444" if len(steps) <= 30 else "rgba(0,0,0,0)"},
        "steps": [{"label": name, "method": "animate", "args": [[name], instant]} for name in names],
    }]
    layout["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0.0, "y": 0.0, "xanchor": "left", "yanchor": "top",
        "pad": {"t": 100, "r": 10}, "showactive": False,
        "buttons": [
            {"label": "▶ play", "method": "animate",
             "args": [names, {"mode": "immediate", "frame": {"duration": 60, "redraw": True},
                              "transition": {"duration": 0}}]},
            {"label": "❚❚", "method": "animate", "args": [[None], instant]}],
    }]
    return {"data": static + current, "layout": layout, "frames": frames}
