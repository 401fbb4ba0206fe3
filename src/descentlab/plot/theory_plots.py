"""Theory next to runs: predicted envelopes over observed errors, and sweep maps over (α, β)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from descentlab import optimizers, theory
from descentlab.plot import style
from descentlab.sweep import SweepResult
from descentlab.trajectory import Trajectory

DIVERGED = "#d9d9d9"
NEVER = "#404040"


def rates(problem, trajectories: list[Trajectory], tunings: list[theory.Tuning]) -> Figure:
    """The error ‖φ_t − φ*‖ of real runs (log scale) over their predicted envelopes C·ρ^t.

    C is the smallest constant for which C·ρ^t bounds the run from above, so a run that decays at
    the predicted rate runs parallel to its envelope (and touches it).
    """
    fig = Figure(figsize=(9, 5.6), layout="constrained")
    ax = fig.add_subplot()
    names = [t.optimizer for t in trajectories]
    for traj, tuning, (color, _) in zip(trajectories, tunings, style.path_styles(names), strict=True):
        err = np.linalg.norm(traj.params - problem.minima[0], axis=1)
        steps = np.arange(len(err))
        shown = err > 1e-300
        envelope = tuning.rho ** steps.astype(float)
        scale = np.max(err[shown] / envelope[shown])
        observed = theory.observed_rate(problem, traj)
        ax.semilogy(steps[shown], err[shown], color=color, lw=1.8,
                    label=f"{traj.label}: observed ρ = {observed:.4f}")
        ax.semilogy(steps, scale * envelope, color=color, lw=1.2, ls="--",
                    label=f"predicted envelope ρ^t, ρ = {tuning.rho:.4f}")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"error $\|\phi_t - \phi^*\|$")
    ax.set_ylim(bottom=max(1e-16, ax.get_ylim()[0]))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower left")
    mu, L = theory.eigenvalue_range(problem)
    ax.set_title(f"{problem.name}: μ = {mu:g}, L = {L:g}, κ = {L / mu:g} — real runs against theory")
    return fig


def sweep_map(result: SweepResult, problem=None) -> Figure:
    """Steps to reach the tolerance over a 2-D grid (median over seeds), or over α alone.

    Diverged cells are light grey, cells that never reach the tolerance dark grey, the best
    cell is starred. For quadratic problems with momentum, Nesterov or gradient descent, the
    analytic stability boundary α_max(β) and the optimal (α*, β*) are drawn on top.
    """
    steps = np.where(result.steps_to_tol >= 0, result.steps_to_tol, -1).astype(float)
    median = np.median(np.where(result.diverged, np.nan, np.where(steps < 0, np.inf, steps)), axis=-1)
    diverged = np.mean(result.diverged, axis=-1) > 0.5
    never = ~diverged & ~np.isfinite(median)
    names = list(result.axes)
    fig = Figure(figsize=(9, 6.6), layout="constrained")
    ax = fig.add_subplot()
    if len(names) == 1:
        _line(ax, result, median, diverged)
    elif len(names) == 2:
        _heat(fig, ax, result, median, diverged, never)
        _theory_overlay(ax, result, problem)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, Patch(color=DIVERGED, label="diverged"),
                           Patch(color=NEVER, label=f"not within {result.steps} steps")],
                  loc="upper left", fontsize=8, framealpha=0.92)
    else:
        raise ValueError(f"a sweep map shows one or two axes, got {len(names)}: {', '.join(names)}")
    ax.set_title(f"{result.method} on {result.problem}: steps until L − L_min ≤ {result.tol:.2g} "
                 f"(of {result.steps}; median of {len(result.seeds)} seed{'s' * (len(result.seeds) > 1)})",
                 fontsize=11)
    return fig


def _edges(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Cell edges for pcolormesh, and whether the axis is geometric (drawn on a log scale)."""
    if len(values) == 1:
        return np.array([values[0] * 0.9, values[0] * 1.1]), False
    ratio = values[1:] / values[:-1] if np.all(values > 0) else None
    log = ratio is not None and np.allclose(ratio, ratio[0]) and not np.allclose(ratio[0], 1.0)
    v = np.log(values) if log else values
    mid = (v[1:] + v[:-1]) / 2
    edges = np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]
    return (np.exp(edges) if log else edges), log


def _heat(fig, ax, result, median, diverged, never) -> None:
    (xname, xs), (yname, ys) = result.axes.items()
    xe, xlog = _edges(xs)
    ye, ylog = _edges(ys)
    finite = median[np.isfinite(median)]
    vmax = max(float(finite.max()), 1.0) if finite.size else 1.0
    mesh = ax.pcolormesh(xe, ye, np.where(np.isfinite(median), median, np.nan).T, cmap="viridis_r",
                         vmin=0, vmax=vmax, shading="flat")
    fig.colorbar(mesh, ax=ax, label="steps to tolerance (fewer is better)")
    for mask, color in ((diverged, DIVERGED), (never, NEVER)):
        ax.pcolormesh(xe, ye, np.where(mask, 1.0, np.nan).T, cmap=ListedColormap([color]), shading="flat")
    best = result.best()
    i, j = np.argmin(np.abs(xs - best[xname])), np.argmin(np.abs(ys - best[yname]))
    if np.isfinite(median[i, j]):
        ax.plot(xs[i], ys[j], marker="*", ms=18, color="white", mec="black", mew=1.2, ls="none",
                zorder=6, label=f"best run: {_symbol(xname)}={xs[i]:.3g}, {_symbol(yname)}={ys[j]:.3g} "
                f"({int(median[i, j])} steps)")
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlabel(f"{_symbol(xname)} ({xname})")
    ax.set_ylabel(f"{_symbol(yname)} ({yname})")


def _theory_overlay(ax, result, problem) -> None:
    """The stability limit α_max(β) and the optimal tuning over an (α, β) map, for a method that
    declares an iteration matrix with both (:class:`descentlab.optimizers.Linear`)."""
    method = result.method
    if problem is None or method not in theory.linear_methods() or list(result.axes) != ["lr", "beta"]:
        return
    linear = optimizers.get(method).linear
    if linear.stability_limit is None or not linear.tunings:
        return
    try:
        mu, L = theory.eigenvalue_range(problem)
    except ValueError:
        return
    betas = np.linspace(result.axes["beta"].min(), result.axes["beta"].max(), 400)
    limit = theory.stability_limit(method, betas, L)
    ax.plot(limit, betas, color="white", lw=2.4, zorder=5)
    ax.plot(limit, betas, color="#d62728", lw=1.4, ls="--", zorder=5,
            label=r"theory: stability limit $\alpha_{\max}(\beta)$")
    best = theory.optimal(method, mu, L)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    outside = "" if x0 <= best.alpha <= x1 and y0 <= best.beta <= y1 else ", outside this grid"
    ax.plot(best.alpha, best.beta, marker="P", ms=13, color="#d62728", mec="white", mew=1.2, ls="none",
            zorder=7, label=f"theory: optimum α*={best.alpha:.3g}, β*={best.beta:.3g} "
            f"({best.iterations} steps per 10⁶×{outside})")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _line(ax, result, median, diverged) -> None:
    """One axis: steps to tolerance per value; cells that diverged or never reached it are marked
    at the budget (grey, as in the two-axis map), so no value of the axis goes missing."""
    (name, xs), = result.axes.items()
    ax.plot(xs, np.where(np.isfinite(median), median, np.nan), color="#1f77b4", lw=1.8, marker=".",
            label="steps to tolerance")
    never = ~diverged & ~np.isfinite(median)
    for mask, color, label in ((diverged, DIVERGED, "diverged"),
                               (never, NEVER, f"not within {result.steps} steps")):
        if mask.any():
            ax.plot(xs[mask], np.full(int(mask.sum()), result.steps), ls="none", marker="s", ms=6,
                    color=color, mec="black", mew=0.5, label=label)
    ax.axhline(result.steps, color="black", lw=0.8, ls=":")
    if np.all(xs > 0) and xs.max() / xs.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{_symbol(name)} ({name})")
    ax.set_ylabel("steps to tolerance")
    ax.set_ylim(0, result.steps * 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.92)


def _symbol(name: str) -> str:
    return optimizers.symbol(name)   # the book's symbol the registry declares (α, β, γ, ε …)



def tuning(result) -> Figure:
    """Each optimizer's best configuration: L − L_min per step, median over seeds with a band
    from the best to the worst seed (log scale)."""
    fig = Figure(figsize=(9, 5.6), layout="constrained")
    ax = fig.add_subplot()
    names = [r.method for r in result.results]
    for tuned, (color, _) in zip(result.results, style.path_styles(names), strict=True):
        curves = np.full((len(tuned.runs), result.budget + 1), np.nan)
        for i, traj in enumerate(tuned.runs):
            gap = traj.losses - result.floor
            curves[i, : len(gap)] = np.maximum(gap, style.gap_floor(result.floor))
        median = np.nanmedian(curves, axis=0)
        steps = np.arange(result.budget + 1)
        label = ", ".join(f"{_symbol(k)}={v:.3g}" for k, v in tuned.hyperparams.items())
        ax.semilogy(steps, median, color=color, lw=1.8, label=f"{tuned.method} ({label})")
        ax.fill_between(steps, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=color, alpha=0.18)
    ax.set_xlabel("step t")
    ax.set_ylim(bottom=style.gap_floor(result.floor) / 2)
    ax.set_ylabel(r"$L[\phi_t] - L_{\min}$ (median over seeds, band: best to worst)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(f"{result.problem}: best of {result.trials} trials per optimizer, {result.budget} steps, "
                 f"{len(result.seeds)} seeds", fontsize=11)
    return fig
