"""(c) The contour map: filled bands at exactly the scene's levels, each path, the selected iterate
and, for runs with a look-ahead (Nesterov), the geometry of the selected step."""

from __future__ import annotations

import math

import numpy as np

from descentlab import theme
from descentlab.scene import MANY, Path
from descentlab.web.figures.look import (
    AXIS,
    Context,
    Look,
    empty_xy,
    escape,
    loss_colorscale,
    short_number,
)

LOOKAHEAD_NAMES = ("look-ahead point φ_t − αβ·m_t", "momentum step −αβ·m_t",
                   "gradient step −α(1−β)·g, taken at the look-ahead point")
"""The names of the look-ahead traces of the contour map (a legend, a hover, a test finds them by)."""


# ---- (c) contours --------------------------------------------------------------------------------

def _colorbar(ctx: Context, **where) -> dict:
    sc, n = ctx.scene, ctx.n_bands
    step = max(1, math.ceil((n + 1) / 7))
    ticks = list(range(0, n + 1, step))
    if sc.log_levels:
        text = [short_number(float(sc.levels[k] - sc.levels[0])) for k in ticks]
        title = f"{ctx.gap_label}<br>(log-spaced<br>levels)"
    else:
        text = [short_number(float(sc.levels[k])) for k in ticks]
        title = "loss L"
    return {"title": {"text": title, "side": "top", "font": {"size": 12}}, "tickvals": ticks,
            "ticktext": text, "thickness": 14, "outlinewidth": 0, "ticks": "outside", **where}


def static(ctx: Context, xa: str = "x", ya: str = "y", legend: bool = True,
           colorbar: dict | None = None) -> list[dict]:
    sc = ctx.scene
    n = ctx.n_bands
    traces: list[dict] = [{
        "type": "contour", "name": "loss", "x": ctx.a(sc.grid_x), "y": ctx.a(sc.grid_y),
        "z": ctx.grid(ctx.band), "zmin": 0, "zmax": n + 1, "autocontour": False,
        "contours": {"start": 1, "end": n, "size": 1, "coloring": "fill", "showlines": True},
        "line": {"color": "rgba(255,255,255,0.55)", "width": 0.6, "smoothing": 0},
        "colorscale": loss_colorscale([k / (n + 1) for k in range(n + 2)]),
        "colorbar": _colorbar(ctx, **(colorbar or {})), "opacity": 0.95,
        "hoverinfo": "skip", "showlegend": False, "xaxis": xa, "yaxis": ya,
    }]
    for i, (path, look) in enumerate(zip(sc.paths, ctx.looks, strict=True)):
        traces += _contour_path(ctx, i, path, look, xa, ya, legend)
    if len(sc.minima):  # over the paths, as matplotlib's
        n0, n1 = ctx.names
        star = "minimum (found numerically)" if sc.minima_found else "known minimum"
        traces.append({
            "type": "scatter", "mode": "markers", "name": star, "x": ctx.a(sc.minima[:, 0]),
            "y": ctx.a(sc.minima[:, 1]), "showlegend": legend, "legendgroup": "minima",
            "marker": {"symbol": "star", "size": 17, "color": theme.MINIMUM_COLOR,
                       "line": {"color": "black", "width": 1}},
            "hovertemplate": f"{star}<br>{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}<extra></extra>",
            "xaxis": xa, "yaxis": ya})
    return traces


def _contour_path(ctx: Context, i: int, path: Path, look: Look, xa: str, ya: str, legend: bool) -> list[dict]:
    pts = path.points
    n = len(pts)
    x, y = ctx.a(pts[:, 0]), ctx.a(pts[:, 1])
    common = {"legendgroup": look.group, "xaxis": xa, "yaxis": ya}
    out = [{"type": "scatter", "mode": "lines", "x": x, "y": y, "hoverinfo": "skip", "showlegend": False,
            "line": {"color": "rgba(255,255,255,0.85)", "width": 4.5}, **common}]
    line = {"type": "scatter", "x": x, "y": y, "name": escape(path.label), "showlegend": legend,
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


def dynamic(ctx: Context, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
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
        if ctx.looks_ahead(i):
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


def _lookahead_traces(ctx: Context, i: int, path: Path, look: Look, t: int, common: dict) -> list[dict]:
    geo = lookahead_geometry(path, t)
    color = look.color
    n0, n1 = ctx.names
    # the template is the same at every step (the step is customdata), so animation frames need not
    # carry it, and it is there even when the figure opens at the last iterate (no look-ahead)
    ghost = {"type": "scatter", "mode": "markers", "name": LOOKAHEAD_NAMES[0],
             "marker": {"symbol": "circle-open", "size": 13, "color": color, "line": {"width": 2.5}},
             "hovertemplate": (f"<b>{escape(path.label)}</b><br>look-ahead point of step "
                               "%{customdata[0]}: φ<sub>t</sub> − αβ·m<sub>t</sub><br>"
                               f"{n0} = %{{x:.6~g}}<br>{n1} = %{{y:.6~g}}<br>gradient taken here: %{{text}}"
                               "<extra></extra>"),
             **common}
    legs = [{"type": "scatter", "mode": "lines+markers", "name": name, "hoverinfo": "skip",
             "line": {"color": color, "width": width, "dash": dash},
             "marker": {"symbol": ["circle", "arrow"], "size": [0, size], "angleref": "previous",
                        "color": color}, **common}
            for name, width, dash, size in ((LOOKAHEAD_NAMES[1], 1.6, "dot", 10),
                                            (LOOKAHEAD_NAMES[2], 2.6, "solid", 14))]
    if geo is None:
        return [empty_xy(ghost), *(empty_xy(leg) for leg in legs)]
    phi, ahead, end = geo
    ghost.update(x=ctx.a(ahead[:1]), y=ctx.a(ahead[1:2]), text=ctx.texts(i, [t]), customdata=[[t]])
    legs[0].update(x=ctx.a([phi[0], ahead[0]]), y=ctx.a([phi[1], ahead[1]]))
    legs[1].update(x=ctx.a([ahead[0], end[0]]), y=ctx.a([ahead[1], end[1]]))
    return [ghost, *legs]


def axes(ctx: Context, xaxis: str = "x") -> tuple[dict, dict]:
    """The x and y axis of the contour map; ``xaxis`` is the x axis's id (``"x2"`` in a grid)."""
    sc = ctx.scene
    # equal scales (scene.aspect) draw each gradient perpendicular to its contour; the box is
    # shrunk to fit ("constrain"), never the ranges widened past the computed surface
    equal = {"scaleanchor": xaxis, "scaleratio": 1, "constrain": "domain"} if sc.aspect == "equal" else {}
    return ({**AXIS, "title": {"text": ctx.names[0]}, "range": list(sc.bounds[0]),
             **({"constrain": "domain"} if equal else {})},
            {**AXIS, "title": {"text": ctx.names[1]}, "range": list(sc.bounds[1]), **equal})


def title(ctx: Context) -> str:
    return "loss contours and paths" + (" (log-spaced levels)" if ctx.scene.log_levels else "")


def diverged_notes(ctx: Context, xref: str = "x", yref: str = "y") -> list[dict]:
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
                          "text": f"{escape(path.optimizer)} {path.stop_reason} at step {path.diverged_at}"
                                  + (" (off the view)" if off else ""),
                          "font": {"size": 11, "color": theme.DIVERGED_COLOR},
                          "bgcolor": "rgba(255,255,255,0.75)"})
    return notes


