"""Figure-level functions: Figure 6.1 for any problem and run."""

from __future__ import annotations

from matplotlib.figure import Figure

from descentlab import scene as scene_mod
from descentlab.plot import panels, style
from descentlab.problems.base import Problem
from descentlab.trajectory import Trajectory


def figure_6_1(problem: Problem, trajectory: Trajectory, *, log_levels: bool | None = None,
               resolution: int = 150, max_labels: int = 12, bounds=None, full_params=None) -> Figure:
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
    """
    sc = scene_mod.build(problem, trajectory, resolution=resolution, log_levels=log_levels,
                         bounds=bounds, max_labels=max_labels,
                         full_params=None if full_params is None else [full_params])
    if sc.has_data:
        fig = Figure(figsize=(12, 9.5), layout="constrained")
        grid = fig.add_gridspec(2, 2)
        panels.data(sc, fig.add_subplot(grid[0, 0]))
        panels.surface(sc, fig.add_subplot(grid[0, 1], projection="3d"))
        panels.contour(sc, fig.add_subplot(grid[1, 0]))
        panels.model_lines(sc, fig.add_subplot(grid[1, 1]))
    else:
        fig = Figure(figsize=(17, 5.4), layout="constrained")
        fig.get_layout_engine().set(wspace=0.08)  # room for the 3-D panel's z label, which layout ignores
        grid = fig.add_gridspec(1, 3)
        ax = panels.surface(sc, fig.add_subplot(grid[0, 0], projection="3d"))
        ax.set_title("(a) loss surface")
        ax = panels.contour(sc, fig.add_subplot(grid[0, 1]))
        ax.set_title(ax.get_title().replace("(c)", "(b)"))
        ax = panels.loss_curve(sc, fig.add_subplot(grid[0, 2]))
        ax.set_title("(c) loss per step")
    fig.suptitle(_title(problem, trajectory), fontsize=13,
                 color=style.DIVERGED_COLOR if trajectory.diverged_at else "black")
    return fig


def _title(problem: Problem, traj: Trajectory) -> str:
    batch = f", batch size {traj.batch_size}" if traj.batch_size else ""
    head = f"{problem.name}: {traj.label}{batch}, {traj.steps} steps"
    if traj.diverged_at is not None:
        return f"{head} — diverged at step {traj.diverged_at}"
    return f"{head}, final L = {traj.losses[-1]:.4g}"


def compare(problem: Problem, trajectories: list[Trajectory], *, log_levels: bool | None = None,
            resolution: int = 150, bounds=None, lookahead: bool = False, full_params=None) -> Figure:
    """Several optimizers on one problem from one start, in one figure.

    The paths overlaid on the contour map (a colour and marker per optimizer, hyper-parameters in
    the legend), the loss per step on a log scale (minus the minimum where it is known, so linear
    convergence is a straight line) and, for data problems, the final model line of each.

    Args:
        lookahead: also draw, for Nesterov runs, where each gradient was taken.
        full_params: for a slice, each run's iterates in all parameters (for the model lines), as
            :func:`descentlab.scene.drawable` gives them.
    """
    if len(trajectories) == 0:
        raise ValueError("compare needs at least one trajectory")
    sc = scene_mod.build(problem, trajectories, resolution=resolution, log_levels=log_levels,
                         bounds=bounds, full_params=full_params)
    ncols = 3 if sc.has_data else 2
    fig = Figure(figsize=(6.2 * ncols, 5.6), layout="constrained")
    axes = fig.subplots(1, ncols)
    ax = panels.contour(sc, axes[0], lookahead=lookahead)
    ax.set_title("paths on the loss contours" + (" (log-spaced levels)" if sc.log_levels else ""))
    panels.loss_curve(sc, axes[1])
    if sc.has_data:
        panels.final_models(sc, axes[2])
    fig.suptitle(_compare_title(problem, trajectories), fontsize=13)
    return fig


def _compare_title(problem: Problem, trajs: list[Trajectory]) -> str:
    steps = max(t.steps for t in trajs)
    start = ", ".join(f"{v:g}" for v in trajs[0].params[0])
    head = f"{problem.name}: {len(trajs)} optimizers from ({start}), {steps} steps"
    first = trajs[0]
    if first.batches is not None:
        how = f"batch size {first.batch_size}, seed {first.seed}" if first.batch_size else "given batches"
        shared = first.meta.get("shared_batches", False)
        head += f"\n{'all share the same' if shared else 'each draws its own'} minibatch sequence ({how})"
    return head
