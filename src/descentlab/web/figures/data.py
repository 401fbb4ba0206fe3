"""(a)/(d) The data of a data problem and each path's model line at the selected iterate."""

from __future__ import annotations

import numpy as np

from descentlab import theme
from descentlab.web.figures.look import AXIS, Context, escape

# ---- (a)/(d) data and model -----------------------------------------------------------------------

DENSITY_BINS = (120, 90)


def static(ctx: Context, xa: str = "x", ya: str = "y", legend: bool = True) -> list[dict]:
    x, y = ctx.scene.data
    lx, ly = (escape(s) for s in ctx.scene.data_labels)
    if len(x) > theme.DENSITY_ABOVE:
        return _density(ctx, xa, ya, legend)
    return [{"type": "scatter", "mode": "markers", "name": f"data (N={len(x)})", "x": ctx.a(x), "y": ctx.a(y),
             "marker": {"size": 9, "color": theme.DATA_COLOR, "line": {"color": "black", "width": 0.7}},
             "hovertemplate": f"{lx} = %{{x:.4~g}}<br>{ly} = %{{y:.4~g}}<extra>data</extra>",
             "showlegend": legend, "legendgroup": "data", "xaxis": xa, "yaxis": ya}]


def _density(ctx: Context, xa: str, ya: str, legend: bool) -> list[dict]:
    """Many data as a heatmap of counts (log colour, empty cells blank) under the model lines,
    and a legend entry that says so: sending a browser a marker per row would stall it."""
    x, y = ctx.scene.data
    lx, ly = (escape(s) for s in ctx.scene.data_labels)
    (x0, x1), (y0, y1) = (r["range"] for r in axes(ctx))
    counts, xe, ye = np.histogram2d(x, y, bins=DENSITY_BINS, range=((x0, x1), (y0, y1)))
    with np.errstate(divide="ignore"):
        z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).T
    top = max(float(np.nanmax(z)) if np.isfinite(z).any() else 1.0, 0.3)
    scale = [[k / (len(theme.DENSITY_COLORS) - 1), c] for k, c in enumerate(theme.DENSITY_COLORS)]
    name = f"data (N={len(x):,}) as a density: darker, more points"
    return [{"type": "heatmap", "name": name, "x": ctx.a((xe[:-1] + xe[1:]) / 2),
             "y": ctx.a((ye[:-1] + ye[1:]) / 2),
             "z": ctx.grid(z), "customdata": ctx.grid(counts.T), "zmin": 0.0, "zmax": top,
             "colorscale": scale, "showscale": False, "hoverongaps": False,
             "hovertemplate": f"{lx} ≈ %{{x:.4~g}}<br>{ly} ≈ %{{y:.4~g}}<br>%{{customdata}} rows"
                              "<extra>data</extra>",
             "xaxis": xa, "yaxis": ya},
            {"type": "scatter", "mode": "markers", "name": name, "x": [None], "y": [None],
             "marker": {"symbol": "square", "size": 12, "color": theme.DATA_COLOR},
             "showlegend": legend, "legendgroup": "data", "hoverinfo": "skip", "xaxis": xa, "yaxis": ya}]


def dynamic(ctx: Context, selected: int, xa: str = "x", ya: str = "y") -> list[dict]:
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
                    "hovertemplate": f"<b>{escape(path.label)}</b><br>%{{fullData.name}}"
                                     "<br>x = %{x:.4~g}<br>f[x, φ] = %{y:.4~g}<extra></extra>",
                    "xaxis": xa, "yaxis": ya})
    return out


def axes(ctx: Context) -> tuple[dict, dict]:
    x, y = ctx.scene.data
    lx, ly = (escape(s) for s in ctx.scene.data_labels)

    def padded(v: np.ndarray) -> list[float]:
        lo, hi = float(np.min(v)), float(np.max(v))
        pad = 0.08 * (hi - lo or 1.0)
        return [lo - pad, hi + pad]

    return ({**AXIS, "title": {"text": f"input {lx}"}, "range": padded(x)},
            {**AXIS, "title": {"text": f"output {ly}"}, "range": padded(y)})


def lines_outside(ctx: Context, selected: int) -> int:
    """How many paths' model lines at the selected iterate lie wholly outside the data's view."""
    lo, hi = axes(ctx)[1]["range"]
    count = 0
    for path in ctx.scene.paths:
        if path.model_lines is not None:
            line = path.model_lines[ctx.at(path, selected)]
            count += bool(np.all((line < lo) | (line > hi)))
    return count


