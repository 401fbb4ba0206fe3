"""Figure-level functions: Figure 6.1 for any problem and run."""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure

from descentlab import scene as scene_mod
from descentlab.plot import panels, style, surface3d
from descentlab.problems.base import Problem
from descentlab.trajectory import Trajectory

# width / height of the contour panel of each layout (measured): an automatic view drawn with equal
# scales takes this shape, so the panel is filled with landscape instead of white space
PANEL_DATA, PANEL_SURFACE, PANEL_COMPARE = 1.27, 1.15, 1.3


def figure_6_1(problem: Problem, trajectory: Trajectory, *, log_levels: bool | None = None,
               resolution: int = 150, max_labels: int = 12, bounds=None, full_params=None,
               xlim=None, ylim=None, aspect: str | None = None) -> Figure:
    """The book's Figure 6.1 for ``problem`` and ``trajectory``: a matplotlib Figure.

    For data problems: (a) the data, (b) the 3-D loss surface with the path, (c) the contours
    with the iterates numbered 0, 1, 2, …, (d) the data with the model line of each iterate.
    Surfaces without data get (a) the 3-D surface, (b) the contours and (c) the loss per step.

    Args:
        log_levels: log-spaced contour levels (default: the problem's preference).
        resolution: grid points per axis of the surface.
        max_labels: at most this many iterates are numbered.
        bounds: ((φ0_min, φ0_max), (φ1_min, φ1_max)) instead of the automatic view.
        full_params: for a slice (:func:`descentlab.problems.slice_problem`), the run's iterates
            in all parameters (its model lines use them); :func:`descentlab.scene.drawable` gives
            the slice, the cut run and these together.
        xlim, ylim: (low, high) of one axis of the contour map and the surface instead of the
            automatic view (:mod:`descentlab.framing`).
        aspect: ``"equal"`` or ``"auto"`` axis scales of the contour map (default: equal where the
            view's ranges allow, so gradients are drawn perpendicular to the contours).
    """
    sc = scene_mod.build(problem, trajectory, resolution=resolution, log_levels=log_levels,
                         bounds=bounds, max_labels=max_labels,
                         full_params=None if full_params is None else [full_params],
                         xlim=xlim, ylim=ylim, aspect=aspect,
                         panel=PANEL_DATA if problem.n_examples is not None else PANEL_SURFACE)
    if sc.has_data:
        fig = style.new_figure((12, 9.5))
        grid = fig.add_gridspec(2, 2)
        panels.data(sc, fig.add_subplot(grid[0, 0]))
        panels.surface(sc, fig.add_subplot(grid[0, 1], projection="3d"))
        panels.contour(sc, fig.add_subplot(grid[1, 0]))
        panels.model_lines(sc, fig.add_subplot(grid[1, 1]))
    else:
        fig = style.new_figure((17, 5.4))
        grid = fig.add_gridspec(1, 3)
        ax = panels.surface(sc, fig.add_subplot(grid[0, 0], projection="3d"))
        ax.set_title("(a) loss surface")
        ax = panels.contour(sc, fig.add_subplot(grid[0, 1]))
        ax.set_title(ax.get_title().replace("(c)", "(b)"))
        ax = panels.loss_curve(sc, fig.add_subplot(grid[0, 2]))
        ax.set_title("(c) loss per step")
    fig.suptitle(_fit(fig, _title(problem, trajectory, full_params) + _note(sc)), fontsize=13,
                 color=style.DIVERGED_COLOR if trajectory.diverged_at else "black")
    surface3d.fit(fig)  # the 3-D panel's labels inside its own area (layout leaves them out)
    surface3d.freeze(fig)
    return fig


def _title(problem: Problem, traj: Trajectory, full_params=None) -> str:
    batch = f", batch size {traj.batch_size}" if traj.batch_size else ""
    head = f"{problem.name}: {traj.label}{batch} from ({_start(traj, full_params)}), {traj.steps} steps"
    if traj.diverged_at is not None:
        return f"{head} — {traj.status}"
    cycle = " — ends in a period-2 cycle" if traj.cycle else ""
    return f"{head}, final L = {traj.losses[-1]:.4g}{cycle}"


def _start(traj: Trajectory, full_params=None) -> str:
    """φ_0 in all its coordinates (a slice's run is cut to two; ``full_params`` has them all)."""
    first = traj.params[0] if full_params is None else full_params[0]
    return ", ".join(f"{v:g}" for v in first)


def _fit(fig: Figure, text: str, points: float = 13) -> str:
    """``text`` with each line wrapped to the figure's width (about 0.55 em per character)."""
    width = max(40, int(fig.get_figwidth() * 72 / (0.55 * points)))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _note(sc: scene_mod.Scene) -> str:
    """The scene's note (a slice, a path leaving the view, stretched axes) as a smaller title line."""
    return "" if sc.note is None else "\n" + sc.note


def compare(problem: Problem, trajectories: list[Trajectory], *, log_levels: bool | None = None,
            resolution: int = 150, bounds=None, lookahead: bool = False, full_params=None,
            xlim=None, ylim=None, aspect: str | None = None) -> Figure:
    """Several optimizers on one problem from one start, in one figure.

    The paths overlaid on the contour map (a colour and marker per optimizer, hyper-parameters in
    the legend), the loss per step on a log scale (minus the minimum where it is known, so linear
    convergence is a straight line) and, for data problems, the final model line of each.

    Args:
        lookahead: also draw, for Nesterov runs, where each gradient was taken.
        full_params: for a slice, each run's iterates in all parameters (for the model lines), as
            :func:`descentlab.scene.drawable` gives them.
        xlim, ylim, aspect: as for :func:`figure_6_1`.
    """
    if len(trajectories) == 0:
        raise ValueError("compare needs at least one trajectory")
    sc = scene_mod.build(problem, trajectories, resolution=resolution, log_levels=log_levels,
                         bounds=bounds, full_params=full_params, xlim=xlim, ylim=ylim, aspect=aspect,
                         panel=PANEL_COMPARE)
    ncols = 3 if sc.has_data else 2
    fig = style.new_figure((6.2 * ncols, 5.6))
    axes = fig.subplots(1, ncols)
    ax = panels.contour(sc, axes[0], lookahead=lookahead)
    ax.set_title("paths on the loss contours" + (" (log-spaced levels)" if sc.log_levels else ""))
    panels.loss_curve(sc, axes[1])
    if sc.has_data:
        panels.final_models(sc, axes[2])
    _shared_legend(fig, ax, axes[1])
    fig.suptitle(_fit(fig, _compare_title(problem, trajectories, full_params) + _note(sc)), fontsize=13)
    return fig


def _shared_legend(fig: Figure, contours, *others) -> None:
    """One legend for the paths, below the panels (never over the paths or the star): the contour
    map's markers and colours, which the loss curves share."""
    handles, labels = contours.get_legend_handles_labels()
    for ax in (contours, *others):
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4), fontsize=9,
               frameon=False)


def _compare_title(problem: Problem, trajs: list[Trajectory], full_params=None) -> str:
    steps = max(t.steps for t in trajs)
    start = _start(trajs[0], None if full_params is None else full_params[0])
    head = f"{problem.name}: {len(trajs)} optimizers from ({start}), {steps} steps"
    line = batch_line(trajs, problem.n_examples)
    return head if line is None else f"{head}\n{line}"


def batch_line(trajs: list[Trajectory], n_examples: int | None) -> str | None:
    """What data each run's gradients saw, when any run used minibatches (None otherwise):
    ``"batches (seed 0, one shared draw per size): gd all 12 · sgd 3 (its default) · momentum 3"``."""
    drawn = [t for t in trajs if t.batches is not None]
    if not drawn:
        return None
    seeds = sorted({t.seed for t in drawn if t.seed is not None})
    shared = all(t.meta.get("shared_batches", False) for t in drawn)
    parts = [f"seed {', '.join(map(str, seeds))}"] if seeds else []
    if len(drawn) > 1:
        parts.append("one shared draw per size" if shared else "each run its own draw")
    how = ", ".join(parts) or "given"
    return f"batches ({how}): " + " · ".join(f"{t.optimizer} {batch_text(t, n_examples)}" for t in trajs)


def batch_text(traj: Trajectory, n_examples: int | None) -> str:
    """A run's batch size in words: ``"3"``, ``"3 (its default)"`` (sgd's own), ``"all 12"``, ``"given"``."""
    if traj.batches is None:
        return "all" if n_examples is None else f"all {n_examples}"
    if traj.batch_size is None:
        return "given"
    return f"{traj.batch_size}" + (" (its default)" if traj.meta.get("default_batch") else "")
