"""The ``descentlab`` command: a thin shell over the library.

    descentlab figure -o fig.png
    descentlab run --problem rosenbrock --optimizer nesterov --lr 1e-3 --beta 0.9 --steps 500 --save run.csv
    descentlab compare --optimizers gd,momentum,nesterov,adam -o compare.png
    descentlab lookahead -o lookahead.png
    descentlab animate --optimizers momentum,nesterov -o race.gif
    descentlab convert --from book --to pytorch --lr 0.1 --beta 0.9
    descentlab serve                  # the interactive explorer on http://127.0.0.1:8050
    descentlab html -o explore.html   # the same views in one offline page

Heavy imports (matplotlib) happen inside the commands, so ``descentlab --help`` stays fast.
Bad input prints one line, ``descentlab <command>: error: ...``, and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from descentlab import optimizers, problems, validation
from descentlab.config import Config, OptimizerSpec, parse_optimizer_list
from descentlab.problems import NAMES as PROBLEM_NAMES

app = typer.Typer(
    name="descentlab", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Gradient descent, momentum and Nesterov momentum exactly as 'Understanding Deep Learning' "
         "(ch. 6) writes them: run them, record them, draw Figure 6.1.",
)


class UsageError(ValueError):
    """A bad command line (reported in one line, exit status 2)."""


# ---- options shared by the commands ------------------------------------------------------------

ProblemOpt = Annotated[str | None, typer.Option(
    "--problem", "-p", help=f"Built-in problem: {', '.join(PROBLEM_NAMES)} (default line-fit). "
    "With --data: the model to fit to the data (line-fit or gabor).")]
DataOpt = Annotated[Path | None, typer.Option(
    "--data", help="CSV file of x, y data to fit (default: the problem's built-in data).")]
XOpt = Annotated[str | None, typer.Option("--x", help="Column of --data used as x (default: first numeric).")]
YOpt = Annotated[str | None, typer.Option("--y", help="Column of --data used as y (default: 2nd numeric).")]
KappaOpt = Annotated[float | None, typer.Option(
    "--kappa", help="Condition number κ ≥ 1 (quadratic only; default 10).")]
AngleOpt = Annotated[float | None, typer.Option(
    "--angle", help="Rotation of the quadratic's axes in degrees (quadratic only; default 30).")]
LossOpt = Annotated[str | None, typer.Option(
    "--loss", help="Your own loss of x, y (and z) in a safe expression language, e.g. "
    "\"(1 - x)**2 + 100*(y - x**2)**2\": + - * / ** ( ), numbers, pi, e, sin cos tan exp log sqrt abs tanh "
    "sigmoid … (never evaluated as Python).")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Your own model of the data variable x with parameters p0, p1, …, e.g. "
    "\"p0 + p1*x + p2*x**2\", fitted to --data by the sum of squared errors.")]
ParamsOpt = Annotated[str | None, typer.Option(
    "--params", help="Names of the --model's parameters, e.g. a,b,c (default: the p0, p1, … it uses).")]
SliceOpt = Annotated[str | None, typer.Option(
    "--slice", help="For more than two parameters: the two to draw, e.g. p0,p2; the others are held at the "
    "run's final values (default: the first two).")]
OptimizerOpt = Annotated[str, typer.Option(
    "--optimizer", "-O", help=f"Update rule: {', '.join(optimizers.OPTIMIZERS)}.")]
OptimizersOpt = Annotated[str | None, typer.Option(
    "--optimizers", help=f"Comma-separated update rules, from {', '.join(optimizers.OPTIMIZERS)}.")]
LrOpt = Annotated[float | None, typer.Option(
    "--lr", help="Learning rate α > 0 (default: suggested for the problem and optimizer).")]
BetaOpt = Annotated[float | None, typer.Option(
    "--beta", help="Momentum β in [0, 1) for momentum, nesterov and adam "
    "(default: suggested for the problem; adam 0.9).")]
GammaOpt = Annotated[float | None, typer.Option(
    "--gamma", help="Adam's second-moment factor γ in [0, 1) (default 0.999).")]
EpsOpt = Annotated[float | None, typer.Option("--eps", help="Adam's ε > 0 (default 1e-8).")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", "-n", help="Number of updates T ≥ 0 (default: suggested for the problem).")]
StartOpt = Annotated[str | None, typer.Option(
    "--start", help="Start point φ_0 as comma-separated numbers, e.g. 1.6,-0.5 "
    "(default: suggested for the problem).")]
BatchOpt = Annotated[int | None, typer.Option(
    "--batch-size", "-b", help="Minibatch size 1..N for data problems (default: all N, "
    "except with sgd, which draws 3 examples per step). Compared optimizers share one batch sequence.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of the minibatch draw (default 0).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Per-optimizer hyper-parameter NAME.KEY=VALUE, e.g. --set nesterov.lr=0.01 "
    "(repeatable; wins over --lr/--beta).")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML file with everything needed to reproduce the figure (see --dump-config); "
    "options given on the command line override it.")]
DumpOpt = Annotated[bool, typer.Option(
    "--dump-config", help="Print the complete configuration as TOML (every default filled in) and exit.")]
LevelsOpt = Annotated[str, typer.Option(
    "--levels", help="Contour levels: auto, linear (quadratic spacing, for bowls) or log (steep surfaces).")]
ResolutionOpt = Annotated[int, typer.Option("--resolution", help="Grid points per axis of the surface "
                                            "(2..2000).")]
COMMON = ("problem", "loss", "model", "params", "data", "x", "y", "kappa", "angle", "lr", "beta", "gamma",
          "eps", "steps", "start", "batch_size", "seed")


def _parse_start(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise UsageError(f"--start must be comma-separated numbers, e.g. 1.6,-0.5; got {text!r}") from None


def _config(options: dict, methods: tuple[OptimizerSpec, ...] | None, *, config: Path | None = None,
            sets: list[str] | None = None, strict: bool = True) -> Config:
    """A Config from a file (if any), overridden by the options given on the command line.

    ``strict``: a hyper-parameter flag the (single) optimizer does not take is an error; when
    comparing, --lr/--beta/… apply to every optimizer that takes them.
    """
    cfg = Config.load(config) if config is not None else Config()
    hyper = {k: options[k] for k in ("lr", "beta", "gamma", "eps") if options[k] is not None}
    top = {k: options[k] for k in COMMON if k not in hyper and options[k] is not None}
    if "data" in top:
        top["data"] = str(top["data"])
    if "start" in top:
        top["start"] = _parse_start(top["start"])
    cfg = dataclasses.replace(cfg, **top)
    if methods is not None:
        old = {s.name: s for s in cfg.optimizers}
        cfg = dataclasses.replace(cfg, optimizers=tuple(old.get(m.name, m) for m in methods))
    specs = []
    for spec in cfg.optimizers:
        takes = optimizers.hyperparameter_names(spec.method)
        mine = {k: v for k, v in hyper.items() if k in takes}
        specs.append(dataclasses.replace(spec, hyperparams={**spec.hyperparams, **mine}))
    for key in hyper:
        if not any(key in optimizers.hyperparameter_names(s.method) for s in cfg.optimizers):
            names = ", ".join(s.method for s in cfg.optimizers)
            raise UsageError(f"--{key} does not apply to {names}")
        if strict and any(key not in optimizers.hyperparameter_names(s.method) for s in cfg.optimizers):
            raise UsageError(f"--{key} does not apply to {specs[0].method}")
    cfg = dataclasses.replace(cfg, optimizers=tuple(specs))
    for assignment in sets or ():
        cfg = cfg.with_set(assignment)
    return cfg


def _common(values: dict) -> dict:
    """The shared options out of a command's ``locals()`` (None where a command lacks one)."""
    return {k: values.get(k) for k in COMMON}


def _single(values: dict, optimizer: str) -> Config:
    return _config(_common(values), parse_optimizer_list(optimizer))


def _check_suffix(path: Path, allowed: tuple[str, ...], flag: str = "--output") -> None:
    if path.suffix.lower().lstrip(".") not in allowed:
        raise UsageError(f"{flag} {str(path)!r}: use a {', '.join('.' + a for a in allowed)} suffix")


def _levels(levels: str) -> bool | None:
    if levels not in ("auto", "linear", "log"):
        raise UsageError(f"--levels must be auto, linear or log, got {levels!r}")
    return None if levels == "auto" else levels == "log"


def _diverged_note(trajs) -> None:
    for traj in trajs:
        if traj.diverged_at is not None:
            typer.echo(f"note: {traj.optimizer} diverged at step {traj.diverged_at} (try a smaller --lr); "
                       f"showing the {traj.steps} finite steps before it", err=True)


def _two_params(problem, command: str) -> None:
    if problem.n_params != 2:
        raise UsageError(f"{command} draws 2-parameter problems; {problem.name!r} has {problem.n_params}")


@app.command(help=(
    "Draw the book's Figure 6.1: (a) the data, (b) the 3-D loss surface with the path, (c) the contour "
    "map with the iterates numbered 0, 1, 2, …, (d) the data with the model line of every iterate. "
    "Surfaces without data (rosenbrock, …) get the 3-D surface, the contours and the loss per step."))
def figure(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; the suffix picks the format "
                                         "(.png, .svg, .pdf).")] = Path("figure-6-1.png"),
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None,
    optimizer: OptimizerOpt = "nesterov", lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = None, levels: LevelsOpt = "auto",
    resolution: ResolutionOpt = 150,
    labels: Annotated[int, typer.Option("--labels", help="At most this many iterates are numbered "
                                        "on the contour map.")] = 12,
    slice_: SliceOpt = None,
) -> None:
    """Draw Figure 6.1 for a problem and an optimizer run."""
    from descentlab import plot

    _check_suffix(output, plot.FORMATS)
    log = _levels(levels)
    validation.integer("--labels", labels, 2)
    prob, (traj,) = _single(locals(), optimizer).run()
    view, (shown,), full = problems.drawable(prob, [traj], slice_)
    fig = plot.figure_6_1(view, shown, log_levels=log, resolution=resolution, max_labels=labels,
                          full_params=None if full is None else full[0])
    plot.save(fig, output)
    _diverged_note([traj])
    typer.echo(f"wrote {output}: {traj!r}")


@app.command("run")
def run_command(
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None,
    optimizer: OptimizerOpt = "nesterov", lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = None,
    save: Annotated[Path | None, typer.Option("--save", help="Also write the whole trajectory to a .csv "
                                              "or .json file (loads back with Trajectory.from_csv/json).")]
    = None,
    rows: Annotated[int, typer.Option("--rows", help="Rows of the printed table (even steps).")] = 12,
) -> None:
    """Run one optimizer and print a compact table of its steps (loss, φ_t, |gradient|)."""
    if save is not None:
        _check_suffix(save, ("csv", "json"), "--save")
    validation.integer("--rows", rows, 2)
    prob, (traj,) = _single(locals(), optimizer).run()
    typer.echo(_table(prob, traj, rows))
    if save is not None:
        (traj.to_csv if save.suffix.lower() == ".csv" else traj.to_json)(save)
        typer.echo(f"saved {save}")
    _diverged_note([traj])


@app.command(help=(
    "Compare optimizers on one problem from one start: paths on the contour map, loss per step (log "
    "scale, minus the minimum), and the final model lines on the data. Minibatch runs share one batch "
    "sequence. --dump-config prints a TOML file that --config reads back to reproduce the figure."))
def compare(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("compare.png"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    dump_config: DumpOpt = False,
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = None, levels: LevelsOpt = "auto",
    resolution: ResolutionOpt = 150,
    trace: Annotated[bool, typer.Option("--trace", help="Also mark where each gradient was taken "
                                        "(Nesterov's look-ahead points).")] = False,
    slice_: SliceOpt = None,
) -> None:
    """Compare several optimizers."""
    from descentlab import plot

    cfg = _multi(locals(), optimizers_, "gd,momentum,nesterov,adam", config, sets)
    if dump_config:
        typer.echo(cfg.resolved().to_toml(), nl=False)
        return
    _check_suffix(output, plot.FORMATS)
    log = _levels(levels)
    prob, trajs = cfg.run()
    view, shown, full = problems.drawable(prob, trajs, slice_)
    plot.save(plot.compare(view, shown, log_levels=log, resolution=resolution, lookahead=trace,
                           full_params=full), output)
    typer.echo(_summary(prob, trajs))
    _diverged_note(trajs)
    typer.echo(f"wrote {output}")


def _multi(values: dict, text: str | None, default: str, config: Path | None, sets) -> Config:
    methods = parse_optimizer_list(text) if text is not None else (
        None if config is not None else parse_optimizer_list(default))
    return _config(_common(values), methods, config=config, sets=sets, strict=False)


@app.command(help=(
    "Explain eq. 6.12: one step of Nesterov next to one step of momentum from the same φ_t and m_t, on "
    "the contour map, with the momentum step −αβ·m_t, the gradient step −α(1−β)·g and where g is taken. "
    "--trace instead draws the whole run with a ghost marker where every gradient was taken."))
def lookahead(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("lookahead.png"),
    step: Annotated[int | None, typer.Option("--step", help="The step t to explain (0..T−1; default: "
                                             "the step where the two rules part most).")] = None,
    trace: Annotated[bool, typer.Option("--trace", help="Draw the whole run with its look-ahead points "
                                        "instead of one step.")] = False,
    optimizer: Annotated[str, typer.Option("--optimizer", "-O", help="The run the state comes from: "
                                           "nesterov or momentum.")] = "nesterov",
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, lr: LrOpt = None, beta: BetaOpt = None,
    steps: StepsOpt = None, start: StartOpt = None, batch_size: BatchOpt = None, seed: SeedOpt = None,
    resolution: ResolutionOpt = 150,
) -> None:
    """Draw the look-ahead step of Nesterov momentum."""
    from descentlab import plot

    if optimizer not in ("nesterov", "momentum"):
        raise UsageError(f"--optimizer must be nesterov or momentum here, got {optimizer!r}")
    _check_suffix(output, plot.FORMATS)
    prob, (traj,) = _single(locals(), optimizer).run()
    _two_params(prob, "lookahead")
    if trace:
        fig = plot.lookahead_trace(prob, traj, resolution=resolution)
    else:
        if step is not None and not 0 <= step < max(traj.steps, 1):
            raise UsageError(f"--step must be in 0..{traj.steps - 1} for a run of {traj.steps} steps, "
                             f"got {step}")
        fig = plot.lookahead(prob, traj, step, resolution=resolution)
    plot.save(fig, output)
    _diverged_note([traj])
    typer.echo(f"wrote {output}")


@app.command(help=(
    "Animate one or more optimizers as a GIF or MP4: every panel of Figure 6.1 advances together (the "
    "path grows on the contours and the 3-D surface, the model line moves on the data, the loss curve "
    "extends). Long runs are subsampled to --frames. Takes the same --config/--set as compare."))
def animate(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .gif (Pillow) or .mp4 "
                                         "(needs pip install 'descentlab\\[video]').")] = Path("race.gif"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = None,
    fps: Annotated[int, typer.Option("--fps", help="Frames per second (1..60).")] = 12,
    frames: Annotated[int | None, typer.Option("--frames", help="Number of frames ≥ 2, spread evenly over "
                                               "the run (default: one per step, at most 120).")] = None,
    size: Annotated[str, typer.Option("--size", help="Frame size in pixels, WIDTHxHEIGHT.")] = "960x760",
    dpi: Annotated[int, typer.Option("--dpi", help="Pixels per inch of the drawing (20..300): "
                                     "larger draws text and lines smaller.")] = 80,
    slice_: SliceOpt = None,
) -> None:
    """Animate a run or a race of runs."""
    from descentlab import plot
    from descentlab.progress import progress_bar

    _check_suffix(output, ("gif", "mp4"))
    inches = _inches(size, validation.integer("--dpi", dpi, 20, 300))
    cfg = _multi(locals(), optimizers_, "momentum,nesterov", config, sets)
    prob, trajs = cfg.run()
    view, shown, full = problems.drawable(prob, trajs, slice_)
    plot.animate(view, shown, output, fps=fps, frames=frames, size=inches, dpi=dpi,
                 progress=progress_bar(None, f"rendering {output.name}"), full_params=full)
    typer.echo(_summary(prob, trajs))
    _diverged_note(trajs)
    typer.echo(f"wrote {output}")


@app.command(help=(
    "Translate momentum and Nesterov settings between the book (eqs. 6.11, 6.12), PyTorch, Optax, Keras and "
    "Sutskever et al. (2013), exactly, for a constant learning rate: prints the target's code and how its "
    "parameters and state relate to the book's φ and m. Maps that are not exact (PyTorch with dampening; "
    "most pairs under a learning-rate schedule) are refused with the reason."))
def convert(
    source: Annotated[str, typer.Option("--from", help="Convention of the values given: book, pytorch, "
                                        "optax, keras or sutskever.")],
    target: Annotated[str, typer.Option("--to", help="Convention to translate to (same choices).")],
    lr: Annotated[float, typer.Option("--lr", help="Learning rate: the book's α, PyTorch's lr, Optax's or "
                                      "Keras' learning_rate, Sutskever's ε.")],
    beta: Annotated[float, typer.Option("--beta", "--momentum", help="Momentum coefficient in [0, 1): the "
                                        "book's β or the library's momentum μ.")],
    nesterov: Annotated[bool, typer.Option("--nesterov/--no-nesterov", help="Nesterov momentum (eq. 6.12; "
                                           "default) or classical momentum (eq. 6.11).")] = True,
    dampening: Annotated[float, typer.Option("--dampening", help="PyTorch's dampening (--from pytorch "
                                             "only; only 0 maps exactly).")] = 0.0,
    schedule: Annotated[bool, typer.Option("--schedule", help="The learning rate will follow a schedule: "
                                           "give only maps that stay exact under any schedule.")] = False,
) -> None:
    """Translate optimizer settings between conventions."""
    from descentlab import conventions

    conversion = conventions.convert(source, target, lr=lr, momentum=beta, nesterov=nesterov,
                                     dampening=dampening, schedule=schedule)
    typer.echo(conversion.describe())


@app.command(help=(
    "Write one self-contained HTML page to explore the runs in any browser, offline: the data and "
    "the model, the 3-D loss surface, the contour map with every path (for Nesterov, the look-ahead "
    "point and the gradient step taken there) and the loss per step, with a slider over the iterates."))
def html(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.html).")]
    = Path("explore.html"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = None, levels: LevelsOpt = "auto",
    resolution: ResolutionOpt = 150,
    title: Annotated[str | None, typer.Option("--title", help="Title of the page and the figure "
                                              "(default: problem, optimizers, start, steps).")] = None,
    frames: Annotated[int, typer.Option("--frames", help="At most this many slider positions "
                                        "(≥ 2; the first and last iterate are kept).")] = 120,
    slice_: SliceOpt = None,
) -> None:
    """Write the interactive HTML explorer."""
    cfg = _multi(locals(), optimizers_, "gd,momentum,nesterov,adam", config, sets)
    try:
        from descentlab.web.export import write_html
    except ImportError:
        raise UsageError("descentlab html needs plotly: pip install 'descentlab[web]'") from None
    _check_suffix(output, ("html", "htm"))
    log = _levels(levels)
    validation.integer("--frames", frames, 2)
    prob, trajs = cfg.run()
    view, shown, full = problems.drawable(prob, trajs, slice_)
    write_html(view, shown, output, title=title, resolution=resolution, log_levels=log,
               full_params=full, max_frames=frames)
    typer.echo(_summary(prob, trajs))
    _diverged_note(trajs)
    typer.echo(f"wrote {output}")


@app.command(help=(
    "Open the interactive explorer in a browser: Figure 6.1 live. Choose the problem (or upload a CSV), "
    "the optimizers and their α, β, γ, ε, the steps, batch size and seed; click the contour map to move "
    "the start; scrub through the iterations. Serves http://127.0.0.1:8050 (this machine only) unless "
    "--host says otherwise; needs pip install 'descentlab\\[web]'."))
def serve(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 picks a free one).")] = 8050,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 makes the explorer "
                                      "reachable from other machines.")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser tab.")] = False,
) -> None:
    """Serve the interactive explorer until Ctrl+C."""
    try:
        from descentlab.web.app import run
    except ImportError as err:
        raise UsageError(str(err)) from None
    run(host=host, port=port, open_browser=not no_browser)


def _inches(size: str, dpi: int) -> tuple[float, float]:
    """``"960x760"`` pixels at ``dpi`` → (12.0, 9.5) inches."""
    width, sep, height = size.lower().partition("x")
    try:
        pixels = (int(width), int(height)) if sep else None
    except ValueError:
        pixels = None
    if pixels is None or min(pixels) <= 0:
        raise UsageError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 960x760; got {size!r}")
    return pixels[0] / dpi, pixels[1] / dpi


@app.command(help=(
    "Predicted convergence on a quadratic with Hessian eigenvalues in [μ, L], κ = L/μ: the optimal α and β "
    "of gradient descent, momentum (eq. 6.11) and Nesterov (eq. 6.12) in the book's form, their rate ρ, "
    "the steps to reduce the error a million-fold, and the rate observed in a real run at those settings. "
    "--plot draws the real runs' errors over their predicted envelopes ρ^t."))
def rates(
    kappa: Annotated[float, typer.Option("--kappa", help="Condition number κ = L/μ ≥ 1.")] = 100.0,
    mu: Annotated[float, typer.Option("--mu", help="Smallest Hessian eigenvalue μ > 0.")] = 1.0,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Steps of the real runs (≥ 2).")] = 300,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="Also draw the runs against theory "
                                                   "(.png, .svg, .pdf).")] = None,
) -> None:
    """Optimal hyper-parameters and rates on a quadratic, checked against real runs."""
    from descentlab import plot, theory
    from descentlab.runner import run

    if plot_path is not None:
        _check_suffix(plot_path, plot.FORMATS, "--plot")
    validation.integer("--steps", steps, 2)
    problem = problems.quadratic(kappa=kappa, mu=mu)
    mu_, big = theory.eigenvalue_range(problem)
    tunings = theory.reference_tunings(mu_, big)
    rows = [["method", "α (book)", "β", "PyTorch lr = α(1−β)", "ρ predicted", "ρ observed", "steps per 10⁶×"]]
    trajs = {label: run(t.optimizer(), problem, steps=steps) for label, t in tunings.items()}
    for label, t in tunings.items():
        rows.append([label, f"{t.alpha:.6g}", f"{t.beta:.6g}", f"{t.alpha * (1 - t.beta):.6g}",
                     f"{t.rho:.6f}", f"{theory.observed_rate(problem, trajs[label]):.6f}", str(t.iterations)])
    typer.echo(f"quadratic with μ = {mu_:g}, L = {big:g}, κ = {big / mu_:g}")
    typer.echo(_columns(rows))
    typer.echo("anchors: gd (κ−1)/(κ+1), heavy ball (√κ−1)/(√κ+1), Nesterov with step 1/L 1 − 1/√κ, "
               "optimal Nesterov 1 − 2/√(3κ+1)")
    if plot_path is not None:
        shown = [label for label in tunings if label != "nesterov (step 1/L)"]  # the optimal ones
        plot.save(plot.rates(problem, [trajs[k] for k in shown], [tunings[k] for k in shown]), plot_path)
        typer.echo(f"wrote {plot_path}")


@app.command(help=(
    "Run a grid of hyper-parameters at once (× seeds) and draw the steps to reach a tolerance as a heat map "
    "over (α, β): diverged cells light grey, never-converged dark grey, the best cell starred, and on "
    "quadratics the analytic stability boundary and optimum on top. Ranges are START:STOP:COUNT[:log] or "
    "lists a,b,c."))
def sweep(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("sweep.png"),
    optimizer: OptimizerOpt = "nesterov",
    lr: Annotated[str, typer.Option("--lr", help="α values: START:STOP:COUNT[:log] or a,b,c.")]
    = "1e-4:1e-1:64:log",
    beta: Annotated[str | None, typer.Option("--beta", help="β values (momentum, nesterov, adam); default "
                                             "0:0.99:64.")] = None,
    gamma: Annotated[str | None, typer.Option("--gamma", help="γ values for adam (default 0.999).")] = None,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Steps per configuration.")] = 500,
    tol: Annotated[float | None, typer.Option("--tol", help="Target for L − L_min (default: the start's "
                                              "gap divided by 10⁶).")] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Number of minibatch seeds (with --batch-size).")] = 1,
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, start: StartOpt = None, batch_size: BatchOpt = None,
) -> None:
    """Sweep hyper-parameters and draw the map."""
    from descentlab import plot
    from descentlab import sweep as sweep_mod
    from descentlab.progress import progress_bar

    _check_suffix(output, plot.FORMATS)
    takes = optimizers.hyperparameter_names(optimizer)
    grid = {"lr": sweep_mod.parse_range(lr)}
    if "beta" in takes:
        grid["beta"] = sweep_mod.parse_range(beta or "0:0.99:64")
    elif beta is not None:
        raise UsageError(f"--beta does not apply to {optimizer}")
    if gamma is not None:
        if "gamma" not in takes:
            raise UsageError(f"--gamma does not apply to {optimizer}")
        grid["gamma"] = sweep_mod.parse_range(gamma)
    if len(grid) > 2:
        raise UsageError("a sweep map has two axes: give at most two of --lr, --beta, --gamma as ranges")
    cfg = _single({**locals(), "lr": None, "beta": None, "gamma": None, "eps": None, "seed": None,
                   "steps": steps}, optimizer)
    prob = cfg.build_problem()
    full = cfg.resolved(prob)
    result = sweep_mod.sweep(prob, optimizer, grid, steps=steps, start=full.start, tol=tol,
                             seeds=range(validation.integer("--seeds", seeds, 1)), batch_size=batch_size,
                             progress=progress_bar(None, "sweeping"))
    plot.save(plot.sweep_map(result, prob), output)
    best = result.best()
    typer.echo(f"{result!r}\nbest: " + ", ".join(f"{k}={v:.6g}" for k, v in best.items()))
    typer.echo(f"wrote {output}")


@app.command(help=(
    "Tune several optimizers fairly: the same budget of steps, the same number of trials sampled from "
    "declared search spaces, the same seeds and batches. Prints the best configuration of each with its "
    "mean and spread over seeds, and the protocol; -o draws the loss curves (median and band)."))
def tune(
    optimizers_: OptimizersOpt = None,
    budget: Annotated[int, typer.Option("--budget", help="Steps per trial, the same for all.")] = 200,
    trials: Annotated[int, typer.Option("--trials", help="Trials per optimizer.")] = 64,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per trial (batches or start points).")] = 5,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Draw the best runs "
                                                "(.png, .svg, .pdf).")] = None,
    problem: ProblemOpt = None, data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None, loss: LossOpt = None,
    model: ModelOpt = None, params: ParamsOpt = None, start: StartOpt = None, batch_size: BatchOpt = None,
) -> None:
    """Tune optimizers under one protocol."""
    from descentlab import plot
    from descentlab import tune as tune_mod

    if output is not None:
        _check_suffix(output, plot.FORMATS)
    methods = [s.method for s in parse_optimizer_list(optimizers_ or "gd,momentum,nesterov,adam")]
    cfg = _config({**_common(locals()), "steps": budget}, parse_optimizer_list(methods[0]))
    prob = cfg.build_problem()
    full = cfg.resolved(prob)
    result = tune_mod.tune(prob, methods, budget=budget, trials=trials, seeds=seeds, batch_size=batch_size,
                           start=full.start)
    rows = [["optimizer", "best hyper-parameters", "final L − L_min (mean ± sd)", "steps to tol",
             "trials diverged"]]
    for r in result.results:
        rows.append([r.method, ", ".join(f"{k}={v:.4g}" for k, v in r.hyperparams.items()),
                     f"{r.mean_gap:.3g} ± {r.std_gap:.2g}", f"{r.mean_steps:.1f}",
                     f"{r.diverged_trials}/{trials}"])
    typer.echo(_columns(rows))
    typer.echo(result.protocol())
    if output is not None:
        plot.save(plot.tuning(result), output)
        typer.echo(f"wrote {output}")


def _summary(problem, trajs) -> str:
    """One line per optimizer: final loss, gap to the minimum, divergence."""
    floor = problem.min_loss
    rows = [["optimizer", "steps", "final loss"] + (["L − L_min"] if floor is not None else []) + ["status"]]
    for t in trajs:
        status = f"diverged at step {t.diverged_at}" if t.diverged_at is not None else "ok"
        gap = [f"{t.losses[-1] - floor:.3g}"] if floor is not None else []
        rows.append([t.label, str(t.steps), f"{t.losses[-1]:.6g}", *gap, status])
    return _columns(rows)


def _columns(rows: list[list[str]]) -> str:
    """Rows of cells as left-aligned text columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _table(problem, traj, rows: int) -> str:
    """The trajectory as an aligned text table of about ``rows`` evenly spaced steps."""
    n = len(traj.params)
    shown = np.unique(np.linspace(0, n - 1, min(rows, n)).round().astype(int))
    names = list(traj.param_names)
    head = ["step", "loss", *names, "|grad|"]
    body = []
    for t in shown:
        g = f"{np.linalg.norm(traj.grads[t]):.4g}" if t < traj.steps else ""
        body.append([str(t), f"{traj.losses[t]:.6g}", *(f"{v:.6g}" for v in traj.params[t]), g])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    batch = f", batch size {traj.batch_size}" if traj.batch_size else ""
    lines = [f"{traj.label} on {problem.name}{batch}"]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *body]]
    if len(problem.minima):
        d = np.min(np.linalg.norm(problem.minima - traj.final, axis=1))
        lines.append(f"distance from φ_{traj.steps} to the nearest known minimum: {d:.3g}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning bad input into one line on stderr and exit status 2."""
    from descentlab.datasets import DataError
    from descentlab.problems import ExpressionError

    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    sub = next((a for a in args if not a.startswith("-")), None)
    prog = f"descentlab {sub}" if sub in getattr(command, "commands", {}) else "descentlab"
    try:
        result = command.main(args=args, prog_name="descentlab", standalone_mode=False)
    except typer.TyperException as err:  # click's usage errors: unknown option, bad type, …
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        if not args:  # bare `descentlab` printed its help
            return 0
        typer.echo(f"{prog}: error: {message}", err=True)
        return getattr(err, "exit_code", 2)
    except ExpressionError as err:  # one line, then the expression with a caret under the mistake
        typer.echo(f"{prog}: error: {err.one_line()}", err=True)
        for line in str(err).splitlines()[1:]:
            typer.echo(f"    {line}", err=True)
        return 2
    except (UsageError, DataError, ValueError, TypeError) as err:
        typer.echo(f"{prog}: error: {err}", err=True)
        return 2
    except OSError as err:
        typer.echo(f"{prog}: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
