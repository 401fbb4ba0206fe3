r"""(e) The look-ahead panel: step t of a Nesterov run, its rule (eq. 6.12) beside momentum's (eq. 6.11).

Both rules move from φ_t by the momentum step −αβ·m_t to the look-ahead point φ_t − αβ·m_t, then
by a gradient step −α(1−β)·g; they differ only in where g is taken:

* Nesterov (eq. 6.12): g = ∂L/∂φ at the look-ahead point, so φ_{t+1} = φ_t − αβ·m_t − α(1−β)·g(φ_t − αβ·m_t);
* momentum (eq. 6.11): m_{t+1} = β·m_t + (1−β)·g(φ_t), φ_{t+1} = φ_t − α·m_{t+1}, i.e. the same
  momentum step and a gradient step with g taken at φ_t (dashed here).

The geometry is :func:`descentlab.scene.lookahead_step`, the very one the ``descentlab lookahead``
figure draws, and the view of step t is :func:`descentlab.scene.step_bounds` (a square, drawn with
equal scales so that a gradient is perpendicular to its contour). :func:`prepare` computes every
step once per state of the explorer's controls (two gradients a step); :func:`figure` draws step t
and :func:`dynamic` gives the traces that move with t (:mod:`descentlab.web.motion` sends them for
every t once, with each t's axis ranges). The contours behind are the scene's levels (the colours of
the contour map) on one grid over every step's view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descentlab import optimizers, theme
from descentlab import scene as scene_mod
from descentlab.errors import InputError
from descentlab.framing import Bounds
from descentlab.problems.base import Problem
from descentlab.scene import LookaheadStep, Scene
from descentlab.trajectory import Trajectory
from descentlab.web.figures.arrays import array
from descentlab.web.figures.look import (
    AXIS,
    _html_name,
    band_field,
    empty_xy,
    escape,
    figure_layout,
    loss_colorscale,
    short_number,
)

NOTE = "the look-ahead view explains Nesterov (eq. 6.12); add nesterov to the optimizers"
"""What the panel says when no run shown takes its gradient ahead of φ_t."""
NAMES = {
    "momentum": "momentum step −αβ·m<sub>t</sub><br>(eq. 6.11 and 6.12)",
    "ahead": "look-ahead point<br>φ<sub>t</sub> − αβ·m<sub>t</sub>",
    "nesterov": "Nesterov (eq. 6.12): −α(1−β)·g,<br>g at the look-ahead point",
    "nesterov next": "φ<sub>t+1</sub> by Nesterov (eq. 6.12)",
    "plain": "momentum (eq. 6.11): −α(1−β)·g,<br>g at φ<sub>t</sub> (dashed)",
    "plain next": "φ<sub>t+1</sub> by momentum (eq. 6.11)",
    "phi": "φ<sub>t</sub>",
}
"""The panel's trace names by role (legends say the equations; tests find the traces by them)."""
LEGEND = {"orientation": "v", "x": 1.03, "xanchor": "left", "y": 1.0, "yanchor": "top", "font": {"size": 11},
          "tracegroupgap": 6, "bgcolor": "rgba(255,255,255,0.8)"}
"""Beside the square plot rather than under it, where it would shrink it."""
MARGIN = {"l": 60, "r": 215, "t": 60, "b": 50}
"""Room on the right kept for the legend: at steps whose view is widened to the panel's shape the
plot would otherwise fill the width and the legend would be cut off at the figure's edge."""
DYNAMIC = ("momentum", "ahead", "nesterov", "nesterov next", "plain", "plain next", "phi")
"""The roles of the traces that move with t, in the figure's order (the last traces of the figure)."""


@dataclass(frozen=True, eq=False)
class Panel:
    """Every step of one look-ahead run, computed once; or, with ``run`` None, the ``note`` to show."""

    note: str | None
    run: Trajectory | None = None
    steps: tuple[LookaheadStep, ...] = ()   # scene.lookahead_step at t = 0 … T − 1
    bounds: tuple[Bounds, ...] = ()         # the view at each iterate t = 0 … T
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (x, y, band field) behind
    n_bands: int = 0
    names: tuple[str, str] = ("φ<sub>0</sub>", "φ<sub>1</sub>")
    problem: str = ""                       # the scene's title (the problem), for the view's revision

    @property
    def last(self) -> int:
        """T, the run's last iterate (it has no step t = T)."""
        return 0 if self.run is None else len(self.steps)


def chosen(trajectories: list[Trajectory]) -> int | None:
    """The index of the run the panel explains: the first shown whose method takes its gradient
    ahead of φ_t (``Method.lookahead``: Nesterov) and that made a step; None when none does."""
    methods = optimizers.methods()
    for i, t in enumerate(trajectories):
        m = methods.get(t.optimizer)
        if m is not None and m.lookahead and t.steps > 0:
            return i
    return None


def prepare(problem: Problem, trajectories: list[Trajectory], scene: Scene) -> Panel:
    """The panel of ``scene`` (drawn from ``problem`` and its runs ``trajectories``): the geometry of
    every step of the first look-ahead run (:func:`chosen`), each iterate's view and the contours."""
    i = chosen(list(trajectories))
    if i is None:
        return Panel(note=NOTE)
    run = trajectories[i]
    if problem.n_params != 2 or run.params.shape[1] != 2:
        return Panel(note=f"the look-ahead view needs a 2-parameter problem; {problem.name} has "
                          f"{problem.n_params}")
    try:
        steps = scene_mod.lookahead_steps(problem, run)
    except InputError as err:
        return Panel(note=str(err))
    bounds: list[Bounds] = []
    for view in scene_mod.steps_bounds(steps, run.params):
        bounds.append(view if np.isfinite(view).all() else (bounds[-1] if bounds else scene.bounds))
    bounds.append(bounds[-1])  # the last iterate φ_T: the view of the step that reached it
    gx, gy, z = scene_mod.loss_grid(problem, _cover(bounds, scene.bounds), len(scene.grid_x))
    band, n = band_field(z, scene.levels)
    names = tuple(_html_name(n) for n in scene.param_names)
    return Panel(note=None, run=run, steps=steps, bounds=tuple(bounds), grid=(gx, gy, band), n_bands=n,
                 names=names, problem=scene.title)


def _cover(views: list[Bounds], scene_bounds: Bounds, widen: float = 2.0) -> Bounds:
    """One rectangle over every step's view, each widened ``widen`` times about its centre (the page
    widens one range of the square to the panel's shape), kept within three times the scene's view
    (a run that ran far away is not worth a grid the size of its escape)."""
    v = np.asarray(views, dtype=np.float64)        # (T + 1, 2, 2)
    mid, half = v.mean(axis=2), widen * (v[:, :, 1] - v[:, :, 0]) / 2
    s = np.asarray(scene_bounds, dtype=np.float64)
    span = s[:, 1] - s[:, 0]
    lo = np.maximum((mid - half).min(axis=0), s[:, 0] - span)
    hi = np.minimum((mid + half).max(axis=0), s[:, 1] + span)
    return ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))


# ---- the figure ------------------------------------------------------------------------------------

def at(panel: Panel, selected: int) -> int:
    """The run's iterate shown at the explorer's iterate ``selected`` (a shorter run stays at its last)."""
    return min(selected, panel.last)


def _arrow(name: str, color: str, width: float, dash: str, size: int, group: str, legend: bool) -> dict:
    # an arrowhead at the end: the contour map's look-ahead arrows, drawn the same way
    return {"type": "scatter", "mode": "lines+markers", "name": name, "hoverinfo": "skip",
            "line": {"color": color, "width": width, "dash": dash},
            "marker": {"symbol": ["circle", "arrow"], "size": [0, size], "angleref": "previous",
                       "color": color}, "legendgroup": group, "showlegend": legend}


def _point(name: str, symbol: str, size: int, color: str, edge: str, group: str, legend: bool,
           names: tuple[str, str]) -> dict:
    n0, n1 = names
    return {"type": "scatter", "mode": "markers", "name": name,
            "marker": {"symbol": symbol, "size": size, "color": color, "line": {"color": edge, "width": 2}},
            "hovertemplate": (f"{name.replace('<br>', ' ')}<br>{n0} = %{{x:.8~g}}<br>{n1} = %{{y:.8~g}}"
                              "%{text}<extra></extra>"),
            "legendgroup": group, "showlegend": legend}


def dynamic(panel: Panel, selected: int, binary: bool = False) -> list[dict]:
    """The traces of step t that move with it (in :data:`DYNAMIC` order), t = :func:`at` ``selected``:
    the momentum step φ_t → φ_t − αβ·m_t, the look-ahead point, Nesterov's gradient step from it
    and its φ_{t+1}, momentum's gradient step from the same point with g(φ_t) and its φ_{t+1}, and
    φ_t. At the last iterate there is no step t: φ_t alone."""
    names = panel.names
    traces = [
        _arrow(NAMES["momentum"], theme.MOMENTUM_COLOR, 2.4, "solid", 12, "momentum", True),
        _point(NAMES["ahead"], "circle-open", 13, theme.MOMENTUM_COLOR, theme.MOMENTUM_COLOR, "ahead", True,
               names),
        _arrow(NAMES["nesterov"], theme.GRADIENT_COLOR, 2.6, "solid", 13, "nesterov", True),
        _point(NAMES["nesterov next"], "diamond", 11, theme.GRADIENT_COLOR, "black", "nesterov", False,
               names),
        _arrow(NAMES["plain"], theme.GRADIENT_COLOR, 1.8, "dash", 11, "plain", True),
        _point(NAMES["plain next"], "diamond-open", 11, theme.GHOST_COLOR, theme.GHOST_COLOR, "plain", False,
               names),
        _point(NAMES["phi"], "circle", 12, "black", "white", "phi", True, names),
    ]
    t = at(panel, selected)
    phi = panel.run.params[t, :2]
    traces[6].update(x=array(phi[:1], binary), y=array(phi[1:2], binary),
                     text=[f"<br>step t = {t}, L = {short_number(float(panel.run.losses[t]))}"])
    if t >= len(panel.steps):
        for trace in traces[:6]:
            empty_xy(trace)
            trace.pop("text", None)
        return traces
    g = panel.steps[t]
    ahead, nxt, other = g.lookahead[:2], g.nesterov_next[:2], g.momentum_next[:2]

    def line(a, b) -> dict:
        return {"x": array([a[0], b[0]], binary), "y": array([a[1], b[1]], binary)}

    def dot(p, text: str) -> dict:
        return {"x": array(p[:1], binary), "y": array(p[1:2], binary), "text": [text]}

    traces[0].update(line(phi, ahead))
    traces[1].update(dot(ahead, f"<br>g there = {_vector(g.grad_lookahead)}"))
    traces[2].update(line(ahead, nxt))
    traces[3].update(dot(nxt, ""))
    traces[4].update(line(ahead, other))
    traces[5].update(dot(other, f"<br>g(φ<sub>t</sub>) = {_vector(g.grad_here)}"))
    return traces


def _vector(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{float(x):.4g}" for x in v[:2]) + ")"


def static(panel: Panel, binary: bool = False) -> list[dict]:
    """The contours of the loss (the scene's levels, the contour map's colours) and the whole run."""
    gx, gy, band = panel.grid
    n = panel.n_bands
    run = panel.run
    return [
        {"type": "contour", "name": "loss", "x": array(gx, binary), "y": array(gy, binary),
         "z": array(band, binary, single=True), "zmin": 0, "zmax": n + 1, "autocontour": False,
         "contours": {"start": 1, "end": n, "size": 1, "coloring": "fill", "showlines": True},
         "line": {"color": "rgba(255,255,255,0.55)", "width": 0.6, "smoothing": 0},
         "colorscale": loss_colorscale([k / (n + 1) for k in range(n + 2)]), "showscale": False,
         "opacity": 0.6, "hoverinfo": "skip", "showlegend": False},  # paler: the arrows stand out
        {"type": "scatter", "mode": "lines+markers",
         "name": f"{escape(run.label)}: φ<sub>0</sub> … φ<sub>T</sub>",
         "x": array(run.params[:, 0], binary), "y": array(run.params[:, 1], binary),
         "line": {"color": "rgba(255,255,255,0.8)", "width": 1.2},
         "marker": {"size": 5, "color": "rgba(255,255,255,0.9)", "line": {"color": "#333", "width": 0.6}},
         "hoverinfo": "skip", "showlegend": False},
    ]


def title(panel: Panel, selected: int) -> str:
    """"look-ahead of nesterov (α=…, β=…), step t = 12": which run, which step (the explorer's t)."""
    return f"look-ahead of {escape(panel.run.label)}, step t = {selected}"


def notes(panel: Panel, selected: int) -> list[dict]:
    """The panel's remarks at ``selected``: the last iterate has no step; at t = 0, m_0 = 0."""
    t = at(panel, selected)
    text = None
    if t >= len(panel.steps):
        text = f"t = {t} is the run's last iterate:<br>no step from it"
    elif not np.any(panel.steps[t].momentum):
        text = "m<sub>t</sub> = 0: the look-ahead point is φ<sub>t</sub>,<br>both rules take the same step"
    if text is None:
        return []
    # centred at the top inside the plot, on two lines: clear of the tick labels beside the plot
    return [{"x": 0.5, "y": 0.98, "xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "center",
             "yanchor": "top", "text": text, "font": {"size": 11, "color": "#222"},
             "bgcolor": "rgba(255,255,255,0.8)"}]


def axes(panel: Panel, selected: int) -> tuple[dict, dict]:
    """Step t's view (:func:`descentlab.scene.step_bounds`, a square), with equal scales: the page
    widens one of its ranges to the panel's shape."""
    (x0, x1), (y0, y1) = panel.bounds[at(panel, selected)]
    # equal scales fill the box by widening one range ("constrain": "range"), not by shrinking the box
    return ({**AXIS, "title": {"text": panel.names[0]}, "range": [x0, x1], "constrain": "range"},
            {**AXIS, "title": {"text": panel.names[1]}, "range": [y0, y1], "scaleanchor": "x",
             "scaleratio": 1, "constrain": "range"})


def tail(panel: Panel, selected: int, binary: bool = True) -> dict:
    """The panel at the explorer's iterate ``selected`` but for its :func:`static` traces: the
    traces that step moves and the layout (the panel's note when no run looks ahead)."""
    if panel.run is None:
        note = {"x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper", "showarrow": False,
                "text": escape(panel.note or NOTE), "font": {"size": 14, "color": "#444"}}
        layout = figure_layout("look-ahead (eq. 6.12 vs 6.11)", f"lookahead|{panel.note}",
                               xaxis={"visible": False}, yaxis={"visible": False}, annotations=[note])
        return {"data": [], "layout": layout}
    xa, ya = axes(panel, selected)
    rev = f"lookahead|{panel.problem}|{panel.run.label}"
    return {"data": dynamic(panel, selected, binary),
            "layout": figure_layout(title(panel, selected), rev, xaxis=xa, yaxis=ya,
                                    annotations=notes(panel, selected), legend=LEGEND, margin=MARGIN)}
