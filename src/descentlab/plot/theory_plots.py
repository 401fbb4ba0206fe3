"""Theory next to runs: predicted envelopes over observed errors, and sweep maps over (α, β)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from descentlab import optimizers, theory
from descentlab.plot import style
from descentlab.trajectory import Trajectory

if TYPE_CHECKING:  # annotations only: drawing a sweep's result never needs the sweep engine itself
    from descentlab.sweep import SweepResult

DIVERGED = "#d9d9d9"
NEVER = "#404040"
OTHER_MINIMUM = "#e377c2"


def rates(problem, trajectories: list[Trajectory], tunings: list[theory.Tuning],
          labels: list[str] | None = None) -> Figure:
    """The error ‖φ_t − φ*‖ of real runs (log scale) over their predicted envelopes C·ρ^t.

    One curve per tuning (``labels`` name them, e.g. ``"nesterov (step 1/L)"``; default: the
    runs' labels). Theory fixes the rate ρ, not the constant: C is the smallest constant for which
    C·ρ^t bounds the run from above, so a run that decays at the predicted rate runs parallel to its
    envelope and touches it; the legend gives C as a multiple of the start's error ‖φ_0 − φ*‖ (it
    exceeds 1 when the run first moves away, as heavy ball does). Errors at or below float64's
    resolution near φ* are not drawn: the curve stops there with a ▼ on the dotted floor line.
    """
    fig = style.new_figure((9.5, 7.0))
    ax = fig.add_subplot()
    labels = [t.label for t in trajectories] if labels is None else list(labels)
    names = [t.optimizer for t in trajectories]
    centre = problem.minima[0]
    start_error = max(float(np.linalg.norm(t.params[0] - centre)) for t in trajectories)
    floor = _error_floor(centre, start_error)
    last = 1
    for traj, tuning, label, (color, _) in zip(trajectories, tunings, labels, style.path_styles(names),
                                               strict=True):
        err = np.linalg.norm(traj.params - centre, axis=1)
        steps = np.arange(len(err))
        shown = err > floor
        last = max(last, int(np.max(steps[shown], initial=0)) + 1)
        envelope = tuning.rho ** steps.astype(float)
        scale = np.max(err[shown] / envelope[shown])
        observed = theory.observed_rate(problem, traj)
        _floored(ax, steps, err, floor, color, lw=1.8, label=f"{label}: observed ρ = {observed:.4f}")
        bound = scale * envelope
        ax.semilogy(steps, np.where(bound > floor, bound, np.nan), color=color, lw=1.2, ls="--",
                    label=f"theory $C\\rho^t$: ρ = {tuning.rho:.4f}, C = {scale / err[0]:.3g}·‖φ₀ − φ*‖"
                    if err[0] > 0 else f"theory $C\\rho^t$: ρ = {tuning.rho:.4f}")
    ax.set_xlabel("step t")
    ax.set_xlim(-0.02 * last - 0.5, min(len(trajectories[0].params) - 1, int(1.1 * last) + 2) + 0.5)
    ax.set_ylabel(r"error $\|\phi_t - \phi^*\|$")
    bottom = max(1e-16, floor / 3, ax.get_ylim()[0])
    ax.set_ylim(bottom=bottom)
    if floor > bottom:
        ax.axhline(floor, color="0.35", lw=0.9, ls=":",
                   label=f"float64 resolution near φ* ({floor:.1e}); ▼ a curve reaches it")
    ax.grid(alpha=0.3, which="both")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if last <= 2:
        note = "every run reaches φ* in one step\n(on a round bowl, κ = 1, one step of 1/L lands on it)"
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="0.3")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8,
               frameon=False)  # below the axes: no curve is hidden
    mu, L = theory.eigenvalue_range(problem)
    ax.set_title(f"{problem.name}: μ = {mu:g}, L = {L:g}, κ = {L / mu:g} — real runs against theory\n"
                 r"dashed: $C\rho^t$ with the predicted ρ and the least C that bounds the run", fontsize=11)
    return fig


def _error_floor(centre: np.ndarray, start_error: float = 0.0) -> float:
    """The smallest ‖φ − φ*‖ float64 resolves near φ* (a few ulps of its largest coordinate), and at
    least a few ulps of the start's error (below that, the steps' own rounding; a run that lands on
    φ* exactly, as every tuned method does at κ = 1, reaches it in one step)."""
    eps = float(np.finfo(np.float64).eps)
    return 4.0 * eps * max(float(np.max(np.abs(centre), initial=0.0)), start_error)


def _floored(ax, steps: np.ndarray, values: np.ndarray, floor: float, color: str, **line) -> None:
    """A log-scale curve that is not drawn where it is at or below ``floor`` (rounding, not the
    optimizer): it breaks there, and a ▼ on the floor marks each step where it reaches it."""
    low = ~(values > floor)
    few = int(np.sum(~low)) <= 3        # a curve of one or two points: show them as dots
    ax.semilogy(steps, np.where(low, np.nan, values), color=color, marker="o" if few else None, ms=5, **line)
    starts = low & ~np.r_[False, low[:-1]]
    if starts.any() and floor > 0:
        ax.plot(steps[starts], np.full(int(starts.sum()), floor), ls="none", marker="v", ms=6, color=color,
                mec="white", mew=0.6, zorder=4)


def sweep_map(result: SweepResult, problem=None) -> Figure:
    """Steps until L − L_min stays at or below the tolerance, over a 2-D grid (median over seeds), or
    over α alone.

    Diverged cells are light grey, cells that ended at a known minimum other than the global one
    pink, the others that are not below the tolerance at the end of the budget dark grey; the best
    cell is starred. For a method with an iteration matrix on a quadratic problem, the analytic
    stability boundary α_max(β) and the optimal (α*, β*) are drawn on top, with the steps its rate
    predicts for the same quantity (the loss gap falls like ρ^{2t}).
    """
    steps = np.where(result.steps_to_tol >= 0, result.steps_to_tol, -1).astype(float)
    median = np.median(np.where(result.diverged, np.nan, np.where(steps < 0, np.inf, steps)), axis=-1)
    diverged = np.mean(result.diverged, axis=-1) > 0.5
    other = ~diverged & ~np.isfinite(median) & (np.mean(result.other_minimum, axis=-1) > 0.5)
    never = ~diverged & ~np.isfinite(median) & ~other
    names = list(result.axes)
    fig = style.new_figure((9, 6.6))
    ax = fig.add_subplot()
    masks = _categories(result, diverged, other, never)
    if len(names) == 1:
        _line(ax, result, median, masks)
    elif len(names) == 2:
        _heat(fig, ax, result, median, masks)
        _theory_overlay(ax, result, problem, median)
        handles, _ = ax.get_legend_handles_labels()
        # below the map, so that no cell is hidden
        fig.legend(handles=[*handles, *(Patch(color=color, label=label) for _, color, label in masks)],
                   loc="outside lower center", ncols=2 if len(handles) + len(masks) > 3 else 1, fontsize=8,
                   frameon=False)
    else:
        raise ValueError(f"a sweep map shows one or two axes, got {len(names)}: {', '.join(names)}")
    ax.set_title(f"{result.method} on {result.problem}: steps until L − L_min stays ≤ {result.tol:.2g} "
                 f"to the end\n(of {result.steps}; median of {len(result.seeds)} "
                 f"seed{'s' * (len(result.seeds) > 1)})", fontsize=11)
    return fig


def _categories(result: SweepResult, diverged, other, never) -> list[tuple[np.ndarray, str, str]]:
    """(mask, colour, legend label) of the cells without a number, for the categories present."""
    out = []
    if diverged.any():
        out.append((diverged, DIVERGED, "diverged"))
    if other.any():
        ends = result.final_loss[..., 0][other]
        values = sorted({f"{v:.3g}" for v in ends}, key=float)
        span = ", ".join(values) if len(values) <= 4 else f"{values[0]} to {values[-1]}"
        best = f"; the global minimum's is {result.min_loss:.3g}" if result.min_loss is not None else ""
        out.append((other, OTHER_MINIMUM, f"converged elsewhere: another minimum or a plateau "
                    f"(final L {span}{best})"))
    if never.any():
        out.append((never, NEVER, f"not below the tolerance after {result.steps} steps"))
    return out


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


def _heat(fig, ax, result, median, masks) -> None:
    (xname, xs), (yname, ys) = result.axes.items()
    xe, xlog = _edges(xs)
    ye, ylog = _edges(ys)
    finite = median[np.isfinite(median)]
    vmax = max(float(finite.max()), 1.0) if finite.size else 1.0
    mesh = ax.pcolormesh(xe, ye, np.where(np.isfinite(median), median, np.nan).T, cmap="viridis_r",
                         vmin=0, vmax=vmax, shading="flat")
    fig.colorbar(mesh, ax=ax, label="steps until the gap stays below the tolerance (fewer is better)")
    for mask, color, _ in masks:
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


def _theory_overlay(ax, result, problem, median) -> None:
    """The stability limit α_max(β) and the optimal tuning over an (α, β) map, for a method that
    declares an iteration matrix with both (:class:`descentlab.optimizers.Linear`).

    The optimum's label gives the steps its rate ρ* predicts for what the cells count — the loss
    gap, a quadratic form in the error, falls like ρ^{2t} — from this sweep's start gap down to its
    tolerance (:meth:`SweepResult.predicted_steps`), next to the measured steps of the nearest cell.
    """
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
    inside = x0 <= best.alpha <= x1 and y0 <= best.beta <= y1
    predicted = result.predicted_steps(best.rho)
    if inside:
        xs, ys = result.axes["lr"], result.axes["beta"]
        i, j = np.argmin(np.abs(np.log(xs / best.alpha))), np.argmin(np.abs(ys - best.beta))
        cell = median[i, j]
        measured = f" (nearest cell: {int(cell)})" if np.isfinite(cell) else " (nearest cell: not reached)"
    else:
        measured = " (outside this grid)"
    ax.plot(best.alpha, best.beta, marker="P", ms=13, color="#d62728", mec="white", mew=1.2, ls="none",
            zorder=7, label=f"theory: optimum α*={best.alpha:.3g}, β*={best.beta:.3g}, ρ*={best.rho:.3g}: "
            rf"$L - L_{{\min}} \propto \rho_*^{{2t}}$ predicts {predicted} steps{measured}")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _line(ax, result, median, masks) -> None:
    """One axis: steps to tolerance per value; cells that diverged, ended at another minimum or are
    not below the tolerance at the end are marked at the budget (coloured as in the two-axis map),
    so no value of the axis goes missing."""
    (name, xs), = result.axes.items()
    ax.plot(xs, np.where(np.isfinite(median), median, np.nan), color="#1f77b4", lw=1.8, marker=".",
            label="steps until the gap stays below the tolerance")
    for mask, color, label in masks:
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
    from the best to the worst seed (log scale). Gaps at or below float64's resolution of
    L − L_min are not drawn as a flat line: the curve breaks there, a ▼ on the dotted floor line
    marks where it reaches it."""
    fig = style.new_figure((9, 5.6))
    ax = fig.add_subplot()
    names = [r.method for r in result.results]
    floor = style.gap_floor(result.floor)
    for tuned, (color, _) in zip(result.results, style.path_styles(names), strict=True):
        curves = np.full((len(tuned.runs), result.budget + 1), np.nan)
        for i, traj in enumerate(tuned.runs):
            gap = traj.losses - result.floor
            curves[i, : len(gap)] = np.maximum(gap, floor)
        median = np.nanmedian(curves, axis=0)
        steps = np.arange(result.budget + 1)
        label = ", ".join(f"{_symbol(k)}={v:.3g}" for k, v in tuned.hyperparams.items())
        _floored(ax, steps, median, floor, color, lw=1.8, label=f"{tuned.method} ({label})")
        ax.fill_between(steps, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=color, alpha=0.18)
    ax.axhline(floor, color="0.35", lw=0.9, ls=":",
               label=f"float64 resolution of L − L_min ({floor:.1e}); ▼ a curve reaches it")
    ax.set_xlabel("step t")
    ax.set_ylim(bottom=floor / 3)
    ax.set_ylabel(r"$L[\phi_t] - L_{\min}$ (median over seeds, band: best to worst)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(f"{result.problem}: best of {result.trials} trials per optimizer, {result.budget} steps, "
                 f"{len(result.seeds)} seeds", fontsize=11)
    return fig
