"""The commands that run optimizers and draw them: figure, run, compare, lookahead, animate, html,
serve, and convert."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path
from typing import Annotated

import typer

from descentlab import optimizers
from descentlab.cli.options import (
    ConfigOpt,
    DumpOpt,
    LookaheadOpt,
    OptimizersOpt,
    Options,
    SetOpt,
    SingleOpt,
    UsageError,
    _all_data_only,
    _check_output,
    _check_suffix,
    _diverged_note,
    _dump,
    _flag,
    _inches,
    _inputs,
    _levels,
    _multi,
    _never_overwrite,
    _parse_limits,
    _run,
    _shown,
    _single,
    _two_params,
    _view,
    app,
    with_options,
)
from descentlab.cli.output import _echo, _summary, _table
from descentlab.errors import InputError
from descentlab.files import Terminated


@app.command(help=(
    "Draw the book's Figure 6.1: (a) the data, (b) the 3-D loss surface with the path, (c) the contour "
    "map with the iterates numbered 0, 1, 2, …, (d) the data with the model line of every iterate. "
    "Surfaces without data (rosenbrock, …) get the 3-D surface, the contours and the loss per step. "
    "The book's own figure: --optimizer linesearch --steps 4. --from run.json draws a saved run."))
@with_options()
def figure(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; the suffix picks the format "
                                         "(.png, .svg, .pdf).")] = Path("figure-6-1.png"),
    optimizer: SingleOpt = None, config: ConfigOpt = None, dump_config: DumpOpt = False,
    saved: Annotated[Path | None, typer.Option(
        "--from", help="Draw a run saved by run --save or compare --save (.json, or .csv with its "
        ".meta.json) instead of running one; its problem is rebuilt from the run's configuration.")] = None,
    opts: Options | None = None,
) -> None:
    """Draw Figure 6.1 for a problem and an optimizer run."""
    from descentlab import plot
    from descentlab.scene import drawable

    if saved is not None:
        if dump_config or config is not None or optimizer is not None:
            raise UsageError("--from draws a saved run as it is: give it without --config, --dump-config "
                             "and --optimizer")
        prob, traj, cfg = _saved_run(saved, opts, "figure")
        inputs = _inputs(cfg, None, saved, *_sidecar(saved))
    else:
        cfg = _single(opts, optimizer, config)
        _all_data_only(cfg)
        if dump_config:
            return _dump(cfg, "figure")
        cfg = _shown(cfg, "figure")
        inputs = _inputs(cfg, config)
    _check_output(output, plot.FORMATS)
    _never_overwrite(inputs, "--output", output)
    if saved is None:
        prob, (traj,) = _run(cfg)
    view, (shown,), full = drawable(prob, [traj], cfg.slice)
    fig = plot.figure_6_1(view, shown, log_levels=_levels(cfg.levels), resolution=cfg.resolution,
                          max_labels=cfg.labels, full_params=None if full is None else full[0],
                          **_view(cfg))
    plot.save(fig, output)
    _diverged_note([traj], prob)
    _echo(f"wrote {output}: {traj!r}")


def _sidecar(path: Path) -> tuple[Path, ...]:
    """The metadata file of a trajectory CSV (``run.csv.meta.json``), if ``path`` is one."""
    from descentlab.trajectory import sidecar

    return (sidecar(path),) if path.suffix.lower() == ".csv" else ()


def _saved_run(path: Path, opts: Options, command: str):
    """(problem, trajectory, config) of a run saved by ``run --save`` or ``compare --save``: the
    problem rebuilt from the configuration the run recorded, and checked against the saved losses."""
    from descentlab.config import presentation_keys, rebuild
    from descentlab.trajectory import Trajectory

    _check_suffix(path, ("json", "csv"), "--from")
    changes = [_flag(k) for k in opts.settings if k not in presentation_keys(command)]
    changes += [_flag(k) for k in opts.hypers]
    if changes:
        raise UsageError(f"--from draws the saved run as it is: {changes[0]} would change the run (run it "
                         "again instead)")
    if not path.is_file():
        raise UsageError(f"--from {path}: no such file")
    traj = (Trajectory.from_json if path.suffix.lower() == ".json" else Trajectory.from_csv)(path)
    try:
        cfg, prob = rebuild(traj, str(path))
    except InputError as err:
        raise UsageError(f"--from {path}: {err}") from None
    shown = {k: _parse_limits(k, v) if k in ("xlim", "ylim") else v for k, v in opts.settings.items()}
    return prob, traj, _shown(dataclasses.replace(cfg, **shown), command)


@app.command("run")
@with_options()
def run_command(
    optimizer: SingleOpt = None,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write the whole trajectory to a .json file, or a .csv file (for pandas and "
        "spreadsheets) with its metadata beside it in FILE.meta.json; both load back with "
        "Trajectory.from_json/from_csv, and figure --from draws them.")] = None,
    config: ConfigOpt = None, dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Run one optimizer and print a compact table of its steps (loss, φ_t, |gradient|)."""
    cfg = _single(opts, optimizer, config)
    _all_data_only(cfg)
    if dump_config:
        return _dump(cfg, "run")
    cfg = _shown(cfg, "run")
    if save is not None:
        _check_output(save, ("csv", "json"), "--save")
        _never_overwrite(_inputs(cfg, config), "--save", save, *_sidecar(save))
    prob, (traj,) = _run(cfg, drawn=save is not None and save.suffix.lower() == ".json")
    _echo(_table(prob, traj, cfg.rows))
    if save is not None:
        if save.suffix.lower() == ".csv":
            traj.to_csv(save)
            _echo(f"saved {save} (metadata in {_sidecar(save)[0]})")
        else:
            traj.to_json(save)
            _echo(f"saved {save}")
    _diverged_note([traj], prob)


@app.command(help=(
    "Compare optimizers on one problem from one start: paths on the contour map, loss per step (log "
    "scale, minus the minimum), and the final model lines on the data. Minibatch runs share one batch "
    "sequence. A hyper-parameter option applies to every method that takes it. --dump-config prints a "
    "TOML file that --config reads back to reproduce the figure."))
@with_options()
def compare(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("compare.png"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    dump_config: DumpOpt = False,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write every run to DIR/NAME.json (figure --from draws one) and the "
        "configuration to DIR/config.toml. DIR is created; an existing DIR must be empty or hold an "
        "earlier compare --save, whose files are replaced.")] = None,
    opts: Options | None = None,
) -> None:
    """Compare several optimizers."""
    from descentlab import saved_runs

    cfg = _multi(opts, optimizers_, config, sets)
    if dump_config:
        return _dump(cfg, "compare")
    from descentlab import plot
    from descentlab.scene import drawable

    cfg = _shown(cfg, "compare")
    _check_output(output, plot.FORMATS)
    inputs = _inputs(cfg, config)
    _never_overwrite(inputs, "--output", output)
    targets = None if save is None else saved_runs.targets(save, [s.name for s in cfg.optimizers], inputs)
    prob, trajs = _run(cfg)
    view, shown, full = drawable(prob, trajs, cfg.slice)
    plot.save(plot.compare(view, shown, log_levels=_levels(cfg.levels), resolution=cfg.resolution,
                           lookahead=cfg.trace, full_params=full, **_view(cfg)), output)
    _wrote(prob, trajs, output)
    if targets is not None:
        _echo(saved_runs.write(save, targets, trajs, _shown(cfg.resolved(prob), "compare")))


@app.command(help=(
    "Explain eq. 6.12: one step of Nesterov next to one step of momentum from the same φ_t and m_t, on "
    "the contour map, with the momentum step −αβ·m_t, the gradient step −α(1−β)·g and where g is taken. "
    "--trace instead draws the whole run with a ghost marker where every gradient was taken. Only methods "
    "with a look-ahead can be explained."))
@with_options()
def lookahead(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.png, .svg, .pdf).")]
    = Path("lookahead.png"),
    optimizer: LookaheadOpt = None, config: ConfigOpt = None, dump_config: DumpOpt = False,
    opts: Options | None = None,
) -> None:
    """Draw the look-ahead step of Nesterov momentum."""
    cfg = _single(opts, optimizer, config)
    method = cfg.optimizers[0].method
    if not optimizers.get(method).lookahead:  # a declared capability, before anything runs
        takes = ", ".join(n for n, m in optimizers.methods().items() if m.lookahead)
        raise UsageError(f"--optimizer {optimizer or method}: the look-ahead view explains methods that take "
                         f"their gradient ahead of φ_t ({takes}); {method} does not")
    if dump_config:
        return _dump(cfg, "lookahead")
    from descentlab import plot

    cfg = _shown(cfg, "lookahead")
    _check_output(output, plot.FORMATS)
    _never_overwrite(_inputs(cfg, config), "--output", output)
    prob, (traj,) = _run(cfg)
    _two_params(prob, "lookahead")
    if cfg.trace:
        fig = plot.lookahead_trace(prob, traj, resolution=cfg.resolution, **_view(cfg))
    else:
        step = cfg.step
        if step is not None and not 0 <= step < max(traj.steps, 1):
            raise UsageError(f"--step must be in 0..{traj.steps - 1} for a run of {traj.steps} steps, "
                             f"got {step}")
        fig = plot.lookahead(prob, traj, step, resolution=cfg.resolution, **_view(cfg))
    plot.save(fig, output)
    _diverged_note([traj], prob)
    _echo(f"wrote {output}")


@app.command(help=(
    "Animate one or more optimizers as a GIF or MP4: every panel of Figure 6.1 advances together (the "
    "path grows on the contours and the 3-D surface, the model line moves on the data, the loss curve "
    "extends). Long runs are subsampled to --frames. Takes the same --config/--set as compare."))
@with_options()
def animate(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .gif (Pillow) or .mp4 "
                                         "(needs pip install 'descentlab\\[video]').")] = Path("race.gif"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Animate a run or a race of runs."""
    cfg = _multi(opts, optimizers_, config, sets)
    if dump_config:
        return _dump(cfg, "animate")
    from descentlab import plot
    from descentlab.progress import progress_bar

    cfg, prob, trajs, (view, shown, full) = _drawn_runs(cfg, "animate", config, output, ("gif", "mp4"))
    plot.animate(view, shown, output, fps=cfg.fps, frames=cfg.frames, size=_inches(cfg.size, cfg.dpi),
                 dpi=cfg.dpi, progress=progress_bar(None, f"rendering {output.name}"), full_params=full,
                 **_view(cfg))
    _wrote(prob, trajs, output)


def _drawn_runs(cfg, command: str, config: Path | None, output: Path, formats: tuple[str, ...]):
    """The steps every drawing of a comparison takes before it draws: the view keys checked, the
    output checked (before any work), the runs run, and what to draw of them:
    (config, problem, runs, :func:`descentlab.scene.drawable`'s (view, shown, full))."""
    from descentlab.scene import drawable

    cfg = _shown(cfg, command)
    _check_output(output, formats)
    _never_overwrite(_inputs(cfg, config), "--output", output)
    prob, trajs = _run(cfg)
    return cfg, prob, trajs, drawable(prob, trajs, cfg.slice)


def _wrote(prob, trajs, output: Path) -> None:
    """The summary table, the notes and where the drawing went."""
    _echo(_summary(prob, trajs))
    _diverged_note(trajs, prob)
    _echo(f"wrote {output}")


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
    _echo(conversion.describe())


@app.command(help=(
    "Write one self-contained HTML page to explore the runs in any browser, offline: the data and "
    "the model, the 3-D loss surface, the contour map with every path (for Nesterov, the look-ahead "
    "point and the gradient step taken there) and the loss per step, with a slider over the iterates. "
    "On two-parameter problems it also embeds, per optimizer, runs over a grid of α (9 values, α/4 … 4α) "
    "and β (7 values) computed in advance, with α and β sliders that swap the path, loss curve and "
    "model line live (the page stays under 15 MB; long runs keep every k-th iterate)."))
@with_options()
def html(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.html).")]
    = Path("explore.html"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Write the interactive HTML explorer."""

    cfg = _multi(opts, optimizers_, config, sets)
    if dump_config:
        return _dump(cfg, "html")
    try:
        from descentlab.web.export import write_html
    except ImportError:
        raise UsageError("descentlab html needs plotly: pip install 'descentlab[web]'") from None
    cfg, prob, trajs, (view, shown, full) = _drawn_runs(cfg, "html", config, output, ("html", "htm"))
    grid = cfg.grid
    plain = full is None and view is prob and prob.n_params == 2
    if grid and not plain:
        raise UsageError("--grid needs a two-parameter problem drawn without --slice: its runs are "
                         "drawn as they are")
    notes: list[str] = []
    try:
        write_html(view, shown, output, title=cfg.title, resolution=cfg.resolution,
                   log_levels=_levels(cfg.levels), full_params=full, max_frames=cfg.frames,
                   grid=grid if plain or grid is not None else False, steps=cfg.resolved(prob).steps,
                   names=[s.name for s in cfg.optimizers], source=prob, note=notes.append, **_view(cfg))
    except InputError as err:
        raise UsageError(str(err)) from None
    _wrote(prob, trajs, output)
    if grid is None and not plain:
        notes.append("no α/β grid in the page (it needs a two-parameter problem drawn without a slice)")
    for line in notes:
        _echo(f"note: {line}")


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
    try:
        run(host=host, port=port, open_browser=not no_browser)
    except Terminated as err:  # Ctrl+C is how a server is stopped: quietly, with status 0
        if err.signum != signal.SIGINT:
            raise
