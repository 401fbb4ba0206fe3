"""The loss per step: L[φ_t] − L_min on a log axis (L itself when the minimum is unknown), a
dashed line at the selected step, and where runs diverged."""

from __future__ import annotations

import math

import numpy as np

from descentlab import theme
from descentlab.scene import floored, gap_floor
from descentlab.web.figures.look import AXIS, DYNAMIC_GREY, Context, escape

# ---- loss per step ----------------------------------------------------------------------------------

FLOOR_NOTE = "below float64 resolution"


def _loss_values(ctx: Context) -> tuple[list[np.ndarray], bool]:
    """Each curve, and whether the axis is logarithmic; on a log axis a curve ends where it reaches
    the float64 resolution of L − L_min (:func:`descentlab.scene.floored`), never drawn flat."""
    curves, _, _, log = _curves(ctx)
    return curves, log


def _curves(ctx: Context) -> tuple[list[np.ndarray], list[int | None], float | None, bool]:
    """(curves, the step each reaches the floor or None, the floor or None, log axis), once per call."""
    if "loss curves" not in ctx.memo:
        sc = ctx.scene
        floor = sc.min_loss
        log = floor is not None or all(bool(np.all(p.losses > 0)) for p in sc.paths)
        level = gap_floor(floor) if log and floor is not None else None  # L itself has no such floor
        curves, ats = [], []
        for p in sc.paths:
            gap = p.losses - floor if floor is not None else p.losses.astype(np.float64)
            gap, at = floored(gap, level) if level is not None else (gap, None)
            curves.append(gap)
            ats.append(at)
        ctx.memo["loss curves"] = (curves, ats, level, log)
    return ctx.memo["loss curves"]


def _shown(v: np.ndarray, at: int | None, level: float | None) -> np.ndarray:
    """Where the selected-step marker goes: on the curve, or on the floor once it is below it."""
    if at is None:
        return v
    return np.where(np.isnan(v) & (np.arange(len(v)) > at), level, v)


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


def _loss_hover(ctx: Context, i: int, what: str = "") -> str:
    return ctx.hover(i, what, loss_view=True)


def static(ctx: Context, xa: str = "x", ya: str = "y", legend: bool = True) -> list[dict]:
    values, log = _loss_values(ctx)
    lo, hi, _ = _loss_range(values, log)
    out = []
    for i, (path, look, v) in enumerate(zip(ctx.scene.paths, ctx.looks, values, strict=True)):
        out.append({"type": "scatter", "mode": "lines", "name": escape(path.label), "showlegend": legend,
                    "legendgroup": look.group, "x": ctx.a(np.arange(len(v))), "y": ctx.a(v),
                    "customdata": ctx.custom(path, slice(None), loss_view=True),
                    "text": list(ctx.grad_text[i]),
                    "hovertemplate": _loss_hover(ctx, i),
                    "line": {"color": "#1f77b4" if ctx.single else look.mark, "width": 2},
                    "xaxis": xa, "yaxis": ya})
        at = _curves(ctx)[1][i]
        if at is not None:
            out.append(_floor_marker(ctx, path, look, at, xa, ya))
        if path.diverged_at is not None:
            out.append({"type": "scatter", "mode": "lines", "x": [path.diverged_at] * 2, "y": [lo, hi],
                        "line": {"color": theme.DIVERGED_COLOR, "dash": "dash", "width": 1},
                        "name": f"{path.optimizer} diverged", "legendgroup": look.group,
                        "showlegend": False,
                        "hovertemplate": f"{escape(path.optimizer)} {path.stop_reason} at step "
                                         f"{path.diverged_at}<extra></extra>",
                        "xaxis": xa, "yaxis": ya})
    level = _curves(ctx)[2]
    if any(a is not None for a in _curves(ctx)[1]):
        out.append({"type": "scatter", "mode": "lines", "x": [0, max(ctx.last, 1)], "y": [level, level],
                    "name": f"▼ {FLOOR_NOTE} (L − L<sub>min</sub> ≤ {level:.1e})", "showlegend": legend,
                    "line": {"color": "#737373", "dash": "dot", "width": 1}, "hoverinfo": "skip",
                    "xaxis": xa, "yaxis": ya})
    return out


def _floor_marker(ctx: Context, path, look, at: int, xa: str, ya: str) -> dict:
    level = _curves(ctx)[2]
    return {"type": "scatter", "mode": "markers", "x": [at], "y": [level],
            "name": f"{escape(path.optimizer)}: {FLOOR_NOTE}", "legendgroup": look.group, "showlegend": False,
            "marker": {"symbol": "triangle-down", "size": 11, "color": "#1f77b4" if ctx.single else look.mark,
                       "line": {"color": "black", "width": 1}},
            "hovertemplate": f"{escape(path.optimizer)}: L − L<sub>min</sub> ≤ {level:.1e}, "
                             f"{FLOOR_NOTE}, from step {at}<extra></extra>",
            "xaxis": xa, "yaxis": ya}


def dynamic(ctx: Context, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
    values, log = _loss_values(ctx)
    lo, hi, _ = _loss_range(values, log)
    t_all = min(selected, ctx.last)
    out: list[dict] = [{
        "type": "scatter", "mode": "lines", "name": "selected step", "x": [t_all, t_all], "y": [lo, hi],
        "line": {"color": DYNAMIC_GREY, "dash": "dash", "width": 1.2}, "hoverinfo": "skip",
        "showlegend": False, "xaxis": xa, "yaxis": ya}]
    _, ats, level, _ = _curves(ctx)
    for i, (path, look, v) in enumerate(zip(ctx.scene.paths, ctx.looks, values, strict=True)):
        t = ctx.at(path, selected)
        shown = _shown(v, ats[i], level)
        out.append({"type": "scatter", "mode": "markers", "name": f"φ_{t}", "legendgroup": look.group,
                    "showlegend": False, "x": [t], "y": ctx.a(shown[t:t + 1]),
                    "customdata": ctx.custom(path, slice(t, t + 1), loss_view=True),
                    "text": ctx.texts(i, [t]), "hovertemplate": _loss_hover(ctx, i, " (selected)"),
                    "marker": {"size": 10, "color": "#1f77b4" if ctx.single else look.mark,
                               "line": {"color": "white", "width": 2}},
                    "xaxis": xa, "yaxis": ya})
    return out


def axes(ctx: Context) -> tuple[dict, dict]:
    values, log = _loss_values(ctx)
    _, _, yrange = _loss_range(values, log)
    _, ats, level, _ = _curves(ctx)
    if any(a is not None for a in ats):  # room under the floor's dotted line
        bottom = math.log10(level)
        yrange = [min(yrange[0], bottom - max(1.0, 0.1 * (yrange[1] - bottom))), yrange[1]]
    floor = ctx.scene.min_loss
    ytitle = "L[φ<sub>t</sub>] − L<sub>min</sub>" if floor is not None else "L[φ<sub>t</sub>]"
    y = {**AXIS, "title": {"text": ytitle + (" (log scale)" if log else "")}, "range": yrange,
         "type": "log" if log else "linear"}
    if log:
        y["exponentformat"] = "power"
        if yrange[1] - yrange[0] > 2.5:  # decades only: plotly's 2 and 5 between them crowd the axis
            y["dtick"] = 1 if yrange[1] - yrange[0] < 12 else 2
    x = {**AXIS, "title": {"text": "step t"}, "range": [-0.02 * max(ctx.last, 1), 1.02 * max(ctx.last, 1)]}
    return x, y



def notes(ctx: Context, xref: str = "x", yref: str = "y domain") -> list[dict]:
    out = [{"x": p.diverged_at, "y": 0.5, "xref": xref, "yref": yref, "showarrow": False, "textangle": -90,
            "xanchor": "right", "text": f"{escape(p.optimizer)} {p.stop_reason} at step {p.diverged_at}",
            "font": {"size": 11, "color": theme.DIVERGED_COLOR}}
           for p in ctx.scene.paths if p.diverged_at is not None]
    _, ats, level, _ = _curves(ctx)
    reached = [a for a in ats if a is not None]
    if reached:  # under the floor's dotted line, where no curve is drawn (log axis: log10 units)
        where = f" from step {reached[0]}" if ctx.single else ""
        out.append({"x": 1.0, "xref": f"{xref} domain", "y": math.log10(level), "yref": yref.split(" ")[0],
                    "xanchor": "right", "yanchor": "top", "yshift": -4, "showarrow": False,
                    "text": f"▼ {FLOOR_NOTE}{where}: L − L<sub>min</sub> ≤ {level:.1e}",
                    "font": {"size": 11, "color": "#404040"}})
    return out

