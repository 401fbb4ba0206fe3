r"""Equation 6.12 drawn: one step of Nesterov next to one step of momentum from the same state,
and the "trace" of where a whole Nesterov run took its gradients."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from descentlab import scene as scene_mod
from descentlab.errors import InputError
from descentlab.plot import panels, style
from descentlab.plot.labels import Placer, around_point, beside_segment
from descentlab.problems.base import Problem
from descentlab.theme import GHOST_COLOR, GRADIENT_COLOR, MOMENTUM_COLOR
from descentlab.trajectory import Trajectory


def _arrow(ax: Axes, labels: Placer, start, end, color: str, label: str, side: float = 1.0,
           dashed: bool = False, lw: float = 2.2) -> None:
    """An arrow from ``start`` to ``end``, with ``label`` beside it (on ``side`` ±1 if there is
    room) when it is long enough on screen to carry one (else the legend names it)."""
    start, end = np.asarray(start[:2], float), np.asarray(end[:2], float)
    ax.annotate("", xy=end, xytext=start, zorder=8,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, shrinkA=0, shrinkB=0,
                                mutation_scale=16, linestyle="--" if dashed else "-"))
    labels.segment(start, end)

    def spots():
        a, b = ax.transData.transform(start), ax.transData.transform(end)
        if not label or np.hypot(*(b - a)) < 40:
            return []
        return beside_segment(a, b, start, end, side)

    if label:
        labels.label(label, spots, color=color)


def _point(ax: Axes, labels: Placer, p, label: str, marker: str = "o", filled: bool = True,
           color: str = "black", first=(1.0, 1.0), size: float = 9) -> None:
    ax.plot(*p[:2], marker=marker, ms=size, ls="none", zorder=10, mec=color, mew=1.5,
            color=color if filled else "white")
    labels.marker(p, size + 1.5)
    if label:
        labels.label(label, around_point(p, first=first))


def _panel(ax: Axes, sc, g: scene_mod.LookaheadStep, trajectory: Trajectory, nesterov: bool) -> Placer:
    """One rule's step on the contours; returns its labels, placed once the figure is laid out."""
    panels.contour_background(sc, ax)
    ax.set_aspect("equal", adjustable="box")  # so a gradient is drawn perpendicular to its contour
    labels = Placer(ax)
    t = g.step
    ax.plot(trajectory.params[: t + 1, 0], trajectory.params[: t + 1, 1], color="black", lw=0.8,
            marker="o", ms=3, alpha=0.45, zorder=4, label=rf"the run so far, $\phi_0 \ldots \phi_{{{t}}}$")
    for q in trajectory.params[: t + 1]:
        labels.marker(q, 3)
    for m in sc.minima:
        labels.marker(m, 14)
    at = r"\phi_t - \alpha\beta\, m_t" if nesterov else r"\phi_t"
    nxt, other = (g.nesterov_next, g.momentum_next) if nesterov else (g.momentum_next, g.nesterov_next)
    grad_part = g.nesterov_grad_part if nesterov else g.momentum_grad_part
    _point(ax, labels, g.phi, r"$\phi_t$", first=(1.0, -1.0))
    _point(ax, labels, nxt, r"$\phi_{t+1}$", marker="D", color=GRADIENT_COLOR, size=8,
           first=tuple(np.sign(nxt[:2] - g.lookahead[:2]) + 1e-9))
    _point(ax, labels, g.lookahead, "", filled=False, color=MOMENTUM_COLOR)
    _point(ax, labels, other, "", marker="D", filled=False, color=GHOST_COLOR, size=7)
    _arrow(ax, labels, g.phi, g.lookahead, MOMENTUM_COLOR, r"$-\alpha\beta\, m_t$", side=1)
    if not nesterov:  # where momentum takes its gradient: at φ_t itself
        _arrow(ax, labels, g.phi, g.phi + grad_part, GRADIENT_COLOR, "", dashed=True, lw=1.2)
    _arrow(ax, labels, g.lookahead, nxt, GRADIENT_COLOR, r"$-\alpha(1-\beta)\, g$", side=-1)
    _arrow(ax, labels, g.phi, nxt, "black", "", dashed=True, lw=1.0)
    handles = [
        ([], dict(color=MOMENTUM_COLOR, lw=2), r"momentum step $-\alpha\beta\, m_t$"),
        ([], dict(marker="o", ls="none", mfc="white", mec=MOMENTUM_COLOR, mew=1.5),
         r"look-ahead point $\phi_t - \alpha\beta\, m_t$"),
        ([], dict(color=GRADIENT_COLOR, lw=2),
         rf"gradient step $-\alpha(1-\beta)\,g$, $g = \partial L/\partial\phi\ [{at}]$"),
        ([], dict(color="black", lw=1, ls="--"), r"whole step $-\alpha\, m_{t+1}$"),
        ([], dict(marker="D", ls="none", mfc="white", mec=GHOST_COLOR),
         rf"$\phi_{{t+1}}$ by {'momentum' if nesterov else 'Nesterov'}"),
    ]
    for data, kw, label in handles:
        ax.plot(data, data, label=label, **kw)
    title = ("Nesterov (eq. 6.12): gradient at the look-ahead point" if nesterov else
             r"Momentum (eq. 6.11): gradient at $\phi_t$ (dashed red)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, fontsize=8.5, frameon=False)
    return labels


def telling_step(problem: Problem, trajectory: Trajectory) -> int:
    """The step where the two rules part most relative to the step's size, among steps whose
    momentum step αβ·m_t is at least 30% of its largest (so both arrows are visible)."""
    if trajectory.steps < 2:
        return 0
    steps = [scene_mod.lookahead_step(problem, trajectory, t) for t in range(1, trajectory.steps)]
    carried = np.array([np.linalg.norm(g.momentum_part) for g in steps])
    scores = []
    for g, carry in zip(steps, carried, strict=True):
        size = np.linalg.norm(g.nesterov_next - g.phi) + np.linalg.norm(g.momentum_next - g.phi)
        parted = np.linalg.norm(g.nesterov_next - g.momentum_next) / (size or 1.0)
        scores.append(parted if carry >= 0.3 * carried.max() else -1.0)  # momentum well under way
    return steps[int(np.argmax(scores))].step


def lookahead(problem: Problem, trajectory: Trajectory, step: int | None = None, *,
              resolution: int = 150, xlim=None, ylim=None, aspect: str | None = None) -> Figure:
    r"""One step of Nesterov (left) and of momentum (right) from the same φ_t and m_t.

    Both move by :math:`-\alpha\beta\,m_t` (purple) and by :math:`-\alpha(1-\beta)\,g` (red);
    Nesterov takes the gradient g at the look-ahead point, momentum at φ_t (dashed red at φ_t).
    The dashed black arrow is the whole step :math:`-\alpha\, m_{t+1}`; the hollow diamond is
    where the other rule would have gone. ``step=None`` picks the step where they part most.
    The view is a square around the step, drawn with equal scales (``aspect="equal"``, the default
    here whatever the ranges: the figure is about the directions of the arrows); ``xlim``/``ylim``
    replace its ranges.
    """
    if problem.n_params != 2:
        raise InputError(f"the look-ahead view needs a 2-parameter problem; {problem.name!r} has "
                         f"{problem.n_params}")
    g = scene_mod.lookahead_step(problem, trajectory,
                                 telling_step(problem, trajectory) if step is None else step)
    previous = trajectory.params[g.step - 1] if g.step > 0 else None
    sc = scene_mod.build(problem, trajectory, resolution=resolution,
                         bounds=scene_mod.step_bounds(g, previous), xlim=xlim, ylim=ylim,
                         aspect="equal" if aspect is None else aspect)
    fig = style.new_figure((13, 6.4))
    left, right = fig.subplots(1, 2)
    placers = [_panel(left, sc, g, trajectory, nesterov=True),
               _panel(right, sc, g, trajectory, nesterov=False)]
    loss_n = float(problem.loss(g.nesterov_next))
    loss_m = float(problem.loss(g.momentum_next))
    batch = ", gradients on its minibatch" if g.batch is not None else ""
    note = "   (m_0 = 0: at step 0 the two rules coincide)" if g.step == 0 else ""
    fig.suptitle(f"step t = {g.step} of {trajectory.label} on {problem.name}: the same "
                 rf"$\phi_t$ and $m_t$, two update rules{batch}" + "\n"
                 + rf"loss after the step $L[\phi_{{t+1}}]$: Nesterov {loss_n:.4g}, momentum {loss_m:.4g}"
                 + note, fontsize=12)
    fig.get_layout_engine().execute(fig)  # the final axes, so labels are placed where they will be
    for placer in placers:
        placer.ax.apply_aspect()
        placer.place()
    return fig


def lookahead_trace(problem: Problem, trajectory: Trajectory, *, resolution: int = 150,
                    max_labels: int = 12, xlim=None, ylim=None, aspect: str | None = None) -> Figure:
    """The whole run on the contour map with a ghost marker where each gradient was taken
    (φ_t − αβ·m_t for Nesterov), linked to its iterate φ_t. ``xlim``, ``ylim``, ``aspect``: as
    for :func:`descentlab.scene.build`."""
    sc = scene_mod.build(problem, trajectory, resolution=resolution, max_labels=max_labels,
                         xlim=xlim, ylim=ylim, aspect=aspect, panel=1.25)  # the panel's width / height
    fig = style.new_figure((8.5, 7))
    ax = panels.contour(sc, fig.add_subplot(), lookahead=True)
    ax.set_title(f"{trajectory.label} on {problem.name}: where each gradient was taken")
    return fig
