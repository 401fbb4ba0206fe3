"""The explorer's views: one figure dict per view, with one iterate selected."""

from __future__ import annotations

import threading

from descentlab import theme
from descentlab.scene import Scene
from descentlab.web.figures import contour, data, loss, surface
from descentlab.web.figures import lookahead as lookahead_view
from descentlab.web.figures.look import Context, figure_layout, selected_step, uirevision


def views(scene: Scene, selected: int | None = None, *, binary: bool = True,
          lookahead: lookahead_view.Panel | None = None) -> dict[str, dict]:
    """Plotly figure dicts of ``scene`` with iterate ``selected`` marked (None: the last iterate).

    Keys: ``"data"`` (data problems only: the data and each path's model line at the selected
    iterate), ``"surface"`` (the 3-D loss surface with each path), ``"contour"`` (filled contours at
    the scene's levels, each path, the selected iterate and, for Nesterov, the look-ahead point
    φ_t − αβ·m_t of the selected step with an arrow of the gradient step taken there) and
    ``"loss"`` (L − L_min per step on a log axis, a dashed line at the selected step). Each path's
    selected iterate is ``min(selected, its last index)``.

    With ``lookahead`` (:func:`descentlab.web.figures.lookahead.prepare`, which needs the problem and
    the runs) also ``"lookahead"``: step t of the first Nesterov run, eq. 6.12 beside eq. 6.11, or
    the panel's note when no run looks ahead.

    Args:
        binary: numeric arrays as plotly typed-array specs (fast to serialise; see
            :func:`~descentlab.web.figures.arrays.decode`);
            False gives plain lists.
    """
    return Views(scene, binary=binary, lookahead=lookahead).figures(selected)


class Views:
    """The views of one scene, its static traces made once: what a server keeps per scene.

    Each view's traces are a static part (the surface, the contours, the paths, the loss curves: the
    same at every iterate) and a dynamic tail of a fixed number of traces (φ_t's marker, the model
    line, the look-ahead geometry of step t, …). :meth:`figures` at any t shares the static traces
    with every other call: read them, do not edit them (:func:`views` makes a new :class:`Views`
    per call, so its figures share nothing). :meth:`moving` is, per view, the first trace a change of
    t moves, :meth:`tail` the traces and layout from there, and :meth:`changes` the patch of a page
    that shows these views or another scene's.
    """

    def __init__(self, scene: Scene, *, binary: bool = True, lookahead: lookahead_view.Panel | None = None):
        self.scene, self.lookahead = scene, lookahead
        self.ctx = Context(scene, binary)
        self._static: dict[str, list[dict]] | None = None
        self.sizes: dict[str, int] = {}  # each view's number of traces, once :meth:`figures` made it
        self._lock = threading.Lock()

    def static(self) -> dict[str, list[dict]]:
        """Each view's traces that no iterate changes (made on the first call)."""
        with self._lock:
            if self._static is None:
                ctx = self.ctx
                parts = {"data": data.static} if self.scene.has_data else {}
                parts |= {"surface": surface.static, "contour": contour.static, "loss": loss.static}
                static = {name: make(ctx) for name, make in parts.items()}
                if self.lookahead is not None:
                    panel = self.lookahead
                    drawn = panel.run is not None
                    static["lookahead"] = lookahead_view.static(panel, ctx.binary) if drawn else []
                self._static = static
            return self._static

    def moving(self) -> dict[str, int]:
        """For each view, the index of its first trace that depends on the selected iterate."""
        return {name: len(traces) for name, traces in self.static().items()}

    def tail(self, selected: int | None) -> dict[str, dict]:
        """Per view, ``{"data": the traces from :meth:`moving` on, "layout": the layout}`` at ``selected``."""
        scene, ctx = self.scene, self.ctx
        sel = selected_step(scene, selected)
        rev = uirevision(scene)
        t_all = min(sel, ctx.last)
        out: dict[str, dict] = {}
        if scene.has_data:
            ax, ay = data.axes(ctx)
            notes = []
            outside = data.lines_outside(ctx, sel)
            if outside:
                notes.append({"x": 0.01, "y": 0.01, "xref": "paper", "yref": "paper", "showarrow": False,
                              "xanchor": "left", "yanchor": "bottom",
                              "font": {"size": 11, "color": theme.DIVERGED_COLOR},
                              "text": f"{outside} of {len(scene.paths)} model lines lie outside this view"})
            out["data"] = {"data": data.dynamic(ctx, sel),
                           "layout": figure_layout(f"data and the model at step t = {t_all}", rev, xaxis=ax,
                                                   yaxis=ay, annotations=notes)}
        out["surface"] = {"data": surface.dynamic(ctx, sel),
                          "layout": figure_layout(f"loss surface, step t = {t_all}", rev,
                                                  scene=surface.scene_layout(ctx),
                                                  margin={"l": 0, "r": 0, "t": 50, "b": 0}, showlegend=False)}
        cx, cy = contour.axes(ctx)
        out["contour"] = {"data": contour.dynamic(ctx, sel),
                          "layout": figure_layout(f"{contour.title(ctx)}, step t = {t_all}", rev, xaxis=cx,
                                                  yaxis=cy, annotations=contour.diverged_notes(ctx))}
        lx, ly = loss.axes(ctx)
        out["loss"] = {"data": loss.dynamic(ctx, sel),
                       "layout": figure_layout("loss per step", rev, xaxis=lx, yaxis=ly,
                                               annotations=loss.notes(ctx))}
        if self.lookahead is not None:
            out["lookahead"] = lookahead_view.tail(self.lookahead, t_all, ctx.binary)
        return out

    def figures(self, selected: int | None = None) -> dict[str, dict]:
        """Every view's figure dict at ``selected`` (None: the last iterate); see :func:`views`."""
        static = self.static()
        out = {name: {"data": static[name] + part["data"], "layout": part["layout"]}
               for name, part in self.tail(selected).items()}
        self.sizes = {name: len(fig["data"]) for name, fig in out.items()}
        return out

    def changes(self, figures: dict[str, dict], shown: Views) -> dict[str, dict]:
        """Patches that bring a page showing ``shown``'s views (this scene's own, at another iterate,
        or another scene's) to ``figures`` (:meth:`figures` of this one): per view, the traces that
        differ by index (``index``, ``data``) — static traces unlike ``shown``'s, and every trace the
        iterate moves — and the layout. A view whose traces are not one for one with ``shown``'s is
        left out (it is sent whole)."""
        old, new, moving = shown.static(), self.static(), self.moving()
        out = {}
        for name, fig in figures.items():
            if name not in old or len(old[name]) != moving[name] or shown.sizes.get(name) != len(fig["data"]):
                continue
            pairs = zip(old[name], new[name], strict=True)
            index = [i for i, (a, b) in enumerate(pairs) if a is not b and a != b]
            index += range(moving[name], len(fig["data"]))
            out[name] = {"index": index, "data": [fig["data"][i] for i in index], "layout": fig["layout"]}
        return out
