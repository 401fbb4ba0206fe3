"""Every view in one figure with an iteration slider (plotly frames): the standalone HTML page."""

from __future__ import annotations

from descentlab import scene as scene_mod
from descentlab.scene import Scene
from descentlab.web.figures import contour, data, loss, surface
from descentlab.web.figures.look import Context, escape, figure_layout, uirevision

VIEWS = ("data", "surface", "contour", "loss")
MAX_FRAMES = 120
"""At most this many slider positions in :func:`combined` (first and last iterate always kept)."""


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
    with the first and the last kept (:func:`descentlab.scene.frame_steps`, as the GIF's frames)."""
    n = max((len(p.points) for p in scene.paths), default=1)
    return scene_mod.frame_steps(n, max_frames)


def combined(scene: Scene, *, title: str | None = None, max_frames: int = MAX_FRAMES,
             binary: bool = True) -> dict:
    """Every view of :func:`~descentlab.web.figures.views` in one figure dict, with a slider (and
    play/pause) that moves the selected iterate in all of them at once: plotly frames, so a
    standalone HTML file animates in the browser without re-running anything.

    Data problems get a 2 × 2 grid (data and model | 3-D surface / contours | loss per step), others
    a row (3-D surface | contours | loss). One legend; clicking a run toggles it in every view.

    Args:
        title: the figure's title (default: the problem's name).
        max_frames: at most this many slider positions (first and last iterate kept).
        binary: typed-array specs (default) or plain lists, as in :func:`~descentlab.web.figures.views`.
    """
    ctx = Context(scene, binary)
    steps = frame_steps(scene, max_frames)
    last = steps[-1]
    note = "" if scene.note is None else f"<br><sup>{escape(scene.note)}</sup>"  # a slice, a run leaving
    layout = figure_layout(escape(title if title is not None else scene.title) + note, uirevision(scene),
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
              "contour": contour.title(ctx), "loss": "loss per step"}

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
            # the 3-D box a little further back, or its titles and corner ticks are cut off at the
            # edges of its cell (the most in the one-row page of surfaces)
            layout["scene"] = surface.scene_layout(ctx, {"x": [x0, x1], "y": [y0, y1]},
                                                   distance=1.1 if "data" in cells else 1.2)
            static += surface.static(ctx)
            dyn_builders.append(lambda t: surface.dynamic(ctx, t))
            continue
        xa, ya = axes[name]
        xkey, ykey = "xaxis" + xa[1:], "yaxis" + ya[1:]
        if name == "data":
            ax, ay = data.axes(ctx)
            static += data.static(ctx, xa, ya, legend=True)
            dyn_builders.append(lambda t, xa=xa, ya=ya: data.dynamic(ctx, t, xa, ya))
        elif name == "contour":
            ax, ay = contour.axes(ctx, xa)
            bar = {"x": x1 + 0.01, "xanchor": "left", "y": (y0 + y1) / 2, "yanchor": "middle",
                   "len": (y1 - y0) * 0.95}
            static += contour.static(ctx, xa, ya, legend=True, colorbar=bar)
            dyn_builders.append(lambda t, xa=xa, ya=ya: contour.dynamic(ctx, t, xa, ya))
            annotations += contour.diverged_notes(ctx, xa, ya)
        else:
            ax, ay = loss.axes(ctx)
            static += loss.static(ctx, xa, ya, legend=False)
            dyn_builders.append(lambda t, xa=xa, ya=ya: loss.dynamic(ctx, t, xa, ya))
            annotations += loss.notes(ctx, xa, f"{ya} domain")
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
