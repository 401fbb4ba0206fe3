"""The loss per step: L[φ_t] − L_min on a log axis (L itself when the minimum is unknown), a
dashed line at the selected step, and where runs diverged."""

from __future__ import annotations

import math

import numpy as np

from descentlab import theme
from descentlab.scene import gap_floor
from descentlab.web.figures.look import AXIS, DYNAMIC_GREY, Context, escape

# ---- loss per step ----------------------------------------------------------------------------------

def _loss_values(ctx: Context) -> tuple[list[np.ndarray], bool]:
    sc = ctx.scene
    floor = sc.min_loss
    log = floor is not None or all(bool(np.all(p.losses > 0)) for p in sc.paths)
    out = []
    for p in sc.paths:
        gap = p.losses - floor if floor is not None else p.losses.astype(np.float64)
        if log:
            gap = np.maximum(gap, gap_floor(floor))
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
        if path.diverged_at is not None:
            out.append({"type": "scatter", "mode": "lines", "x": [path.diverged_at] * 2, "y": [lo, hi],
                        "line": {"color": theme.DIVERGED_COLOR, "dash": "dash", "width": 1},
                        "name": f"{path.optimizer} diverged", "legendgroup": look.group,
                        "showlegend": False, "hovertemplate": f"{escape(path.optimizer)} diverged at step "
                                                              f"{path.diverged_at}<extra></extra>",
                        "xaxis": xa, "yaxis": ya})
    return out


def dynamic(ctx: Context, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
    values, log = _loss_values(ctx)
    lo, hi, _ = _loss_range(values, log)
    t_all = min(selected, ctx.last)
    out: list[dict] = [{
        "type": "scatter", "mode": "lines", "name": "selected step", "x": [t_all, t_all], "y": [lo, hi],
        "line": {"color": DYNAMIC_GREY, "dash": "dash", "width": 1.2}, "hoverinfo": "skip",
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


def axes(ctx: Context) -> tuple[dict, dict]:
    values, log = _loss_values(ctx)
    _, _, yrange = _loss_range(values, log)
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
    return [{"x": p.diverged_at, "y": 0.5, "xref": xref, "yref": yref, "showarrow": False, "textangle": -90,
             "xanchor": "right", "text": f"{escape(p.optimizer)} diverged at step {p.diverged_at}",
             "font": {"size": 11, "color": theme.DIVERGED_COLOR}}
            for p in ctx.scene.paths if p.diverged_at is not None]

