"""The explorer's views: one figure dict per view, with one iterate selected."""

from __future__ import annotations

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
    sel = selected_step(scene, selected)
    ctx = Context(scene, binary)
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
        out["data"] = {"data": data.static(ctx) + data.dynamic(ctx, sel),
                       "layout": figure_layout(f"data and the model at step t = {t_all}", rev, xaxis=ax,
                                               yaxis=ay, annotations=notes)}
    out["surface"] = {"data": surface.static(ctx) + surface.dynamic(ctx, sel),
                      "layout": figure_layout(f"loss surface, step t = {t_all}", rev,
                                              scene=surface.scene_layout(ctx),
                                              margin={"l": 0, "r": 0, "t": 50, "b": 0}, showlegend=False)}
    cx, cy = contour.axes(ctx)
    out["contour"] = {"data": contour.static(ctx) + contour.dynamic(ctx, sel),
                      "layout": figure_layout(f"{contour.title(ctx)}, step t = {t_all}", rev, xaxis=cx,
                                              yaxis=cy, annotations=contour.diverged_notes(ctx))}
    lx, ly = loss.axes(ctx)
    out["loss"] = {"data": loss.static(ctx) + loss.dynamic(ctx, sel),
                   "layout": figure_layout("loss per step", rev, xaxis=lx, yaxis=ly,
                                           annotations=loss.notes(ctx))}
    if lookahead is not None:
        out["lookahead"] = lookahead_view.figure(lookahead, t_all, binary)
    return out


