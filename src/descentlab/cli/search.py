"""The commands that search hyper-parameters or predict them: rates, sweep and tune."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from descentlab import budget as limits
from descentlab import optimizers, validation
from descentlab.cli.options import (
    ConfigOpt,
    DumpOpt,
    OptimizersOpt,
    Options,
    SingleOpt,
    UsageError,
    _check_output,
    _dump,
    _flag,
    _inputs,
    _multi,
    _never_overwrite,
    _parse_hyper,
    _shown,
    _single,
    app,
    with_options,
)
from descentlab.cli.output import _columns, _echo
from descentlab.config import OptimizerSpec
from descentlab.errors import InputError

SWEEP_POINTS = 64
"""Points per axis of a sweep over a hyper-parameter's declared search range."""
SWEEP_STEPS = 500
"""Steps per configuration of a sweep unless given."""
TUNE_BUDGET = 200
"""Steps per trial of tune unless given."""
TUNE_SEEDS = 5
"""Seeds per trial of tune unless given."""
RATES_MAX_KAPPA = 1e12
"""κ up to this: beyond it, μ is below float64's resolution of L and no rate can be observed."""
RATES_MU = (1e-100, 1e100)
"""μ in this range, so that L = κμ and the runs' squared errors stay finite in float64."""
RATES_MAX_STEPS = 1_000_000
"""The real runs of ``rates`` (one per row) are at most this long."""


@app.command(help=(
    "Predicted convergence on a quadratic with Hessian eigenvalues in [μ, L], κ = L/μ: the optimal α and β "
    "of gradient descent, momentum (eq. 6.11) and Nesterov (eq. 6.12) in the book's form, their rate ρ, "
    "the steps to reduce the error ‖φ − φ*‖ a million-fold, and the rate observed in a real run at those "
    "settings. --plot draws every row's real run, its error over its envelope C·ρ^t (predicted ρ, the least "
    "C that bounds the run)."))
def rates(
    kappa: Annotated[float, typer.Option("--kappa", help="Condition number κ = L/μ ≥ 1.")] = 100.0,
    mu: Annotated[float, typer.Option("--mu", help="Smallest Hessian eigenvalue μ > 0.")] = 1.0,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Steps of the real runs (≥ 2).")] = 300,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="Also draw the runs against theory "
                                                   "(.png, .svg, .pdf).")] = None,
) -> None:
    """Optimal hyper-parameters and rates on a quadratic, checked against real runs."""
    from descentlab import plot, problems, theory
    from descentlab.runner import run

    if plot_path is not None:
        _check_output(plot_path, plot.FORMATS, "--plot")
    validation.integer("--steps", steps, 2, RATES_MAX_STEPS)
    validation.between("--kappa", kappa, 1.0, RATES_MAX_KAPPA)
    validation.between("--mu", mu, *RATES_MU)
    problem = problems.quadratic(kappa=kappa, mu=mu)
    limits.check_run(steps, 4, problem.n_params, 2, drawn=plot_path is not None, cli=True)
    mu_, big = theory.eigenvalue_range(problem)
    tunings = theory.reference_tunings(mu_, big)
    rows = [["method", "α (book)", "β", "PyTorch lr = α(1−β)", "ρ predicted", "ρ observed",
             "steps for ‖φ−φ*‖ ÷ 10⁶"]]
    trajs = {label: run(t.optimizer(), problem, steps=steps) for label, t in tunings.items()}
    for label, t in tunings.items():
        rows.append([label, f"{t.alpha:.6g}", f"{t.beta:.6g}", f"{t.alpha * (1 - t.beta):.6g}",
                     f"{t.rho:.6f}", f"{theory.observed_rate(problem, trajs[label]):.6f}", str(t.iterations)])
    _echo(f"quadratic with μ = {mu_:g}, L = {big:g}, κ = {big / mu_:g}")
    _echo(_columns(rows))
    _echo("anchors: gd (κ−1)/(κ+1), heavy ball (√κ−1)/(√κ+1), Nesterov with step 1/L 1 − 1/√κ, "
               "optimal Nesterov 1 − 2/√(3κ+1)")
    if plot_path is not None:
        plot.save(plot.rates(problem, list(trajs.values()), list(tunings.values()), labels=list(tunings)),
                  plot_path)
        _echo(f"wrote {plot_path}")


@app.command(help=(
    "Run a grid of hyper-parameters at once (× seeds) and draw the steps to reach a tolerance as a heat map "
    "over one or two of them (α and β by default): the steps until L − L_min stays below the tolerance to "
    "the end; diverged cells light grey, cells that converged to another minimum (several known) pink, the "
    "others not below it at the end dark grey; the best cell starred, and on quadratics the analytic "
    "stability boundary and optimum (with the steps its rate predicts for the loss gap, ρ^{2t}) on top. The "
    "axes are "
    "the method's searchable hyper-parameters over their declared ranges unless given: ranges are "
    "START:STOP:COUNT[:log] or lists a,b,c (--lr RANGE, --beta RANGE, or --axis NAME=RANGE); one value "
    "holds a hyper-parameter fixed."))
@with_options(exclude=("steps", "seed", "axes", "tol", "seeds"), ranges=True)
def sweep(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("sweep.png"),
    optimizer: SingleOpt = None,
    axis: Annotated[list[str] | None, typer.Option(
        "--axis", help="NAME=RANGE: an axis of the map over the hyper-parameter NAME (repeatable; at most "
        f"two axes; default: the method's searchable hyper-parameters, {SWEEP_POINTS} points each).")]
    = None,
    steps: Annotated[int | None, typer.Option("--steps", "-n", help=f"Steps per configuration (default "
                                              f"{SWEEP_STEPS}).")] = None,
    tol: Annotated[float | None, typer.Option("--tol", help="Target for L − L_min (default: the start's "
                                              "gap divided by 10⁶).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Number of minibatch seeds (with --batch-size; "
                                              "default 1).")] = None,
    config: ConfigOpt = None, dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Sweep hyper-parameters and draw the map."""
    from descentlab import plot
    from descentlab import sweep as sweep_mod
    from descentlab.progress import progress_bar

    cfg = _single(dataclasses.replace(opts, hypers={}), optimizer, config)
    method = optimizers.get(cfg.optimizers[0].method)
    axes = _axis_texts(method, opts.hypers, axis, cfg.axes)
    table = {k: v for k, v in cfg.optimizers[0].hyperparams.items() if k not in axes}  # the file's values
    grid, fixed, texts = _sweep_axes(method, axes, sweep_mod.parse_range, table)
    cfg = dataclasses.replace(
        cfg, optimizers=(dataclasses.replace(cfg.optimizers[0], hyperparams=table | fixed),),
        steps=_given(steps, cfg.steps, SWEEP_STEPS), tol=_given(tol, cfg.tol, None),
        seeds=validation.integer("--seeds", _given(seeds, cfg.seeds, 1), 1),
        axes="; ".join(f"{name}={text}" for name, text in texts.items()))
    if dump_config:
        return _dump(cfg, "sweep")
    _check_output(output, plot.FORMATS)
    _never_overwrite(_inputs(cfg, config), "--output", output)
    prob = cfg.build_problem()
    limits.check_sweep(math.prod(len(v) for v in grid.values()) * cfg.seeds, cfg.steps, prob.n_params,
                       examples=sweep_mod.gradient_examples(prob, cfg.batch_size), batch_size=cfg.batch_size,
                       line_search=method.needs_loss, cli=True)
    full = cfg.resolved(prob)
    held = {k: v for k, v in full.optimizers[0].hyperparams.items() if k not in grid}
    result = sweep_mod.sweep(prob, method.name, grid, steps=cfg.steps, start=full.start, tol=cfg.tol,
                             fixed=held, seeds=range(cfg.seeds),
                             batch_size=cfg.batch_size, progress=progress_bar(None, "sweeping"))
    if result.tol_note:
        _echo(f"note: {result.tol_note}", err=True)
    plot.save(plot.sweep_map(result, prob), output)
    best = result.best()
    where = tuple(int(np.argmin(np.abs(values - best[name]))) for name, values in result.axes.items())
    taken = np.median(result.steps_to_tol[where])  # the best cell's steps (median over seeds)
    after = f" (L − L_min stays ≤ {result.tol:.2g} from step {taken:g})" if taken >= 0 else ""
    _echo(f"{result!r}\nbest: " + ", ".join(f"{k}={v:.6g}" for k, v in best.items()) + after)
    _echo(f"wrote {output}")


def _given(option, from_file, default):
    """A command's own option: as given, else from the configuration file, else its default."""
    return option if option is not None else from_file if from_file is not None else default


def _axis_texts(method: optimizers.Method, hypers: dict[str, str], axis: list[str] | None,
                from_file: str | None) -> dict[str, tuple[str, str]]:
    """Hyper-parameter → (the option that named it, its text): the configuration file's ``axes``,
    overridden name by name by the hyper-parameter options and ``--axis NAME=RANGE``."""
    items = [("axes", part) for part in (from_file or "").split(";") if part.strip()]
    items += [(_flag(name), f"{name}={text}") for name, text in hypers.items()]
    items += [("--axis", item) for item in axis or ()]
    given: dict[str, tuple[str, str]] = {}
    for flag, item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not (eq and name and text.strip()):
            raise UsageError(f"{flag} expects NAME=RANGE, e.g. lr=1e-4:1e-1:64:log; got {item!r}")
        if flag == "--axis" and name in given and not given[name][0].startswith("axes"):
            raise UsageError(f"--axis {name}: {name} is given twice")
        given[name] = (flag if flag.startswith("--") and flag != "--axis" else f"{flag} {name}", text.strip())
    return given


def _sweep_axes(method: optimizers.Method, given: dict[str, tuple[str, str]],
                parse_range: Callable[[str], np.ndarray], held: dict[str, Any] | None = None,
                ) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, str]]:
    """The axes of a sweep, the values held fixed, and each axis as range text (for a config file).

    ``given``: hyper-parameter → (the option that named it, its text). A range or a list is an
    axis; one value (or a choice) is held fixed. The axes are then filled up to two with the
    method's searchable hyper-parameters over their declared ranges, but those in ``held``.
    """
    grid, fixed, texts = {}, {}, {}
    for name, (flag, text) in given.items():
        if name not in method.hyper_names:
            takes = ", ".join(method.hyper_names) or "no hyper-parameters"
            raise UsageError(f"{flag} does not apply to {method.name} (it takes {takes})")
        hyper = method.hyper(name)
        if hyper.kind != "choice" and (":" in text or "," in text):
            try:
                grid[name] = parse_range(text)
            except InputError as err:
                raise UsageError(f"{flag}: {err}") from None
            texts[name] = "".join(text.split())
        else:
            fixed[name] = _parse_hyper(method, name, text, flag)
    for hyper in method.hypers:
        if len(grid) >= 2:
            break
        if hyper.search is not None and hyper.name not in grid | fixed | (held or {}):
            grid[hyper.name] = hyper.grid(SWEEP_POINTS)
            lo, hi = hyper.search
            texts[hyper.name] = f"{lo!r}:{hi!r}:{SWEEP_POINTS}" + (":log" if hyper.scale == "log" else "")
    if len(grid) > 2:
        raise UsageError(f"a sweep map has at most two axes, got {', '.join(grid)}: give the others "
                         "one value")
    if not grid:
        raise UsageError(f"nothing to sweep: give {method.name} a range, e.g. --axis NAME=START:STOP:COUNT "
                         f"(it takes {', '.join(method.hyper_names)})")
    return grid, fixed, texts


@app.command(help=(
    "Tune several optimizers fairly: the same budget of steps, the same number of trials sampled from "
    "declared search spaces, the same seeds and batches. Prints the best configuration of each with its "
    "mean and spread over seeds, and the protocol; -o draws the loss curves (median and band)."))
@with_options(exclude=("steps", "seed", "seeds", "trials"), hypers=False)
def tune(
    optimizers_: OptimizersOpt = None,
    budget: Annotated[int | None, typer.Option("--budget", help=f"Steps per trial, the same for all "
                                               f"(default {TUNE_BUDGET}).")] = None,
    trials: Annotated[int | None, typer.Option("--trials", help="Trials per optimizer (default 64).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Seeds per trial (batches or start points; "
                                              f"default {TUNE_SEEDS}).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Draw the best runs "
                                                "(.png, .svg, .pdf).")] = None,
    config: ConfigOpt = None, dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Tune optimizers under one protocol."""
    from descentlab import plot
    from descentlab import sweep as sweep_mod
    from descentlab import tune as tune_mod
    from descentlab.progress import progress_bar

    cfg = _multi(opts, optimizers_, config, None)
    methods = [s.method for s in cfg.optimizers]
    if len(set(methods)) < len(methods):
        raise UsageError("tune searches each method's hyper-parameters itself: list each method once")
    cfg = dataclasses.replace(cfg, steps=_given(budget, cfg.steps, TUNE_BUDGET),
                              seeds=_given(seeds, cfg.seeds, TUNE_SEEDS))
    validation.integer("--budget", cfg.steps, 1, limits.MAX_STEPS)
    cfg = _shown(cfg, "tune")
    if trials is not None:
        cfg = dataclasses.replace(cfg, trials=validation.integer("--trials", trials, 1))
    if dump_config:  # the tables name the methods; their values are what tune searches, so none are written
        bare = tuple(OptimizerSpec(m, m, batch_size=spec.batch_size)
                     for m, spec in zip(methods, cfg.optimizers, strict=True))
        _echo(_shown(dataclasses.replace(cfg, optimizers=bare), "tune").to_toml("tune"), nl=False)
        return None
    if output is not None:
        _check_output(output, plot.FORMATS)
        _never_overwrite(_inputs(cfg, config), "--output", output)
    prob = cfg.build_problem()
    chosen = [optimizers.get(m) for m in methods]
    limits.check_tune(cfg.trials, cfg.steps, cfg.seeds, len(methods), prob.n_params,
                      examples=max(sweep_mod.gradient_examples(prob, None if m.full_batch else cfg.batch_size)
                                   for m in chosen),
                      batch_size=cfg.batch_size, line_searches=sum(m.needs_loss for m in chosen), cli=True)
    full = cfg.resolved(prob)
    result = tune_mod.tune(prob, methods, budget=cfg.steps, trials=cfg.trials, seeds=cfg.seeds,
                           batch_size=cfg.batch_size, start=full.start, progress=progress_bar(None, "tuning"))
    rows = [["optimizer", "best hyper-parameters", "final L − L_min (mean ± sd)", "steps to stay ≤ tol",
             "trials diverged"]]
    for r in result.results:
        rows.append([r.method, ", ".join(f"{k}={v:.4g}" for k, v in r.hyperparams.items()),
                     f"{r.mean_gap:.3g} ± {r.std_gap:.2g}", f"{r.mean_steps:.1f}",
                     f"{r.diverged_trials}/{cfg.trials}"])
    _echo(_columns(rows))
    _echo(result.protocol())
    if output is not None:
        plot.save(plot.tuning(result), output)
        _echo(f"wrote {output}")
