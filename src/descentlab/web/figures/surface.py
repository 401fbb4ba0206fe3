"""(b) The 3-D loss surface, coloured like the contour bands, with each path floating just above
it and a camera chosen so that the surface's walls hide as little of the paths as possible."""

from __future__ import annotations

import math

import numpy as np

from descentlab.scene import MANY, Path, viewing_azimuth
from descentlab.web.figures.look import Context, escape, heights, loss_colorscale


def _surface_colors(ctx: Context) -> tuple[float, float, list]:
    """(cmin, cmax, colorscale) that colour the heights like the contour bands: at each level's
    height exactly the contour's colour of that level, linear in between (and above the top)."""
    sc, n = ctx.scene, ctx.n_bands
    h = heights(sc, np.asarray(sc.levels, dtype=np.float64))
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
    return lo, hi, loss_colorscale(colors, places)


def static(ctx: Context, scene_ref: str = "scene", legend: bool = False) -> list[dict]:
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
        "opacity": 1.0 if camera(ctx)[2] <= 0.2 else 0.72,
    }]
    lift = ctx.lift
    if len(sc.minima) and sc.min_loss is not None:
        hz = heights(sc, np.full(len(sc.minima), sc.min_loss)) + lift
        traces.append({"type": "scatter3d", "mode": "markers", "name": "known minimum", "scene": scene_ref,
                       "x": ctx.a(sc.minima[:, 0]), "y": ctx.a(sc.minima[:, 1]), "z": ctx.a(hz),
                       "marker": {"symbol": "diamond", "size": 6, "color": "white",
                                  "line": {"color": "black", "width": 1}},
                       "showlegend": legend, "legendgroup": "minima",
                       "hovertemplate": "known minimum<extra></extra>"})
    for i, (path, look) in enumerate(zip(sc.paths, ctx.looks, strict=True)):
        n = len(path.points)
        trace = {"type": "scatter3d", "scene": scene_ref, "name": escape(path.label),
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


def _xyz(ctx: Context, path: Path, idx: slice) -> dict:
    """x, y, z of iterates on the 3-D surface; those outside its box are left out (nan): plotly
    does not clip 3-D traces to the axis ranges, and a diverging run would flatten the surface.
    Found for the whole path once per context, then sliced (the scrubber asks for one t at a time)."""
    key = ("xyz", id(path))
    if key not in ctx.memo:
        ctx.memo[key] = _path_xyz(ctx, path)
    pts, z = ctx.memo[key]
    return {"x": ctx.a(pts[idx, 0]), "y": ctx.a(pts[idx, 1]), "z": ctx.a(z[idx])}


def _path_xyz(ctx: Context, path: Path) -> tuple[np.ndarray, np.ndarray]:
    pts = path.points[:, :2]
    z = heights(ctx.scene, path.on_surface) + ctx.lift  # on the drawn surface (a slice's loss)
    (x0, x1), (y0, y1) = ctx.scene.bounds
    lo, hi = ctx.zrange
    slack = 1e-9 * max(hi - lo, 1.0)
    with np.errstate(invalid="ignore"):
        out = ~((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
                & (z <= hi + slack) & (z >= lo - slack - ctx.lift))
    if out.any():
        pts = np.where(out[:, None], np.nan, pts)
        z = np.where(out, np.nan, z)
    return pts, z


def dynamic(ctx: Context, selected: int, scene_ref: str = "scene") -> list[dict]:
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


def _eye(az: float, elev: float, r: float = 1.95) -> np.ndarray:
    return np.array([r * math.cos(elev) * math.cos(az), r * math.cos(elev) * math.sin(az),
                     r * math.sin(elev) * 0.9])


def camera(ctx: Context) -> tuple[float, float, float]:
    """:func:`_camera_angles`, computed once per call of a view function."""
    if "camera" not in ctx.memo:
        ctx.memo["camera"] = _camera_angles(ctx)
    return ctx.memo["camera"]


def _camera_angles(ctx: Context) -> tuple[float, float, float]:
    """(azimuth, elevation, fraction of path points hidden) of a camera that sees the paths.

    matplotlib draws paths over the surface whatever lies in front; WebGL hides them behind its
    walls (Rosenbrock's valley, seen from its lowest corner, hides every path). So, starting from
    matplotlib's choice (above the lowest corner), try eight azimuths and then steeper elevations
    (down to almost from above, for the funnels of log heights), and keep the first view that
    hides the fewest path points: rays from ~24 points per path
    towards the camera, marched over the height grid in the box's own units.
    """
    base = math.radians(viewing_azimuth(ctx.heights))
    lo, hi = ctx.zrange
    (x0, x1), (y0, y1) = ctx.scene.bounds
    samples = []
    for path in ctx.scene.paths:
        pts, z = path.points[:, :2], heights(ctx.scene, path.on_surface) + ctx.lift
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


def scene_layout(ctx: Context, domain: dict | None = None, distance: float = 1.0) -> dict:
    """The 3-D scene: axes, ranges, aspect and camera; ``distance`` > 1 moves the camera back (the
    box smaller in its domain), so that the axis titles of a narrow domain are not cut off."""
    sc = ctx.scene
    az, elev, _ = camera(ctx)
    ex, ey, ez = _eye(az, elev, 1.95 * distance)
    # about five ticks an axis: plotly's default crowds the z axis and collides at the box's corners
    axis = {"backgroundcolor": "white", "gridcolor": "#dddddd", "showbackground": True, "nticks": 6}
    ztitle = "log<sub>10</sub>(L − L<sub>min</sub>)" if sc.log_levels else "loss L"
    zaxis = {**axis, "title": {"text": ztitle}, "range": list(ctx.zrange)}
    if elev > math.radians(70):  # seen from above, the z axis is a point: its ticks and title
        zaxis.update(showticklabels=False, title={"text": ""})  # would pile onto a corner
    out = {
        "xaxis": {**axis, "title": {"text": ctx.names[0]}, "range": list(sc.bounds[0])},
        "yaxis": {**axis, "title": {"text": ctx.names[1]}, "range": list(sc.bounds[1])},
        "zaxis": zaxis,
        "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": _ASPECT_Z},
        "camera": {"eye": {"x": float(ex), "y": float(ey), "z": float(ez)},
                   "center": {"x": 0, "y": 0, "z": -0.12}},
    }
    if domain is not None:
        out["domain"] = domain
    return out


