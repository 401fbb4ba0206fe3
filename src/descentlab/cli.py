"""The ``descentlab`` command: a thin shell over the library.

    descentlab figure -o fig.png
    descentlab figure --optimizer linesearch --steps 4 -o book.png   # the book's own Figure 6.1
    descentlab run --problem rosenbrock --optimizer nesterov --lr 1e-3 --beta 0.9 --steps 500 --save run.csv
    descentlab compare --optimizers gd,momentum,nesterov,adam -o compare.png
    descentlab lookahead -o lookahead.png
    descentlab animate --optimizers momentum,nesterov -o race.gif
    descentlab sweep --optimizer adagrad -o sweep.png
    descentlab convert --from book --to pytorch --lr 0.1 --beta 0.9
    descentlab serve                  # the interactive explorer on http://127.0.0.1:8050
    descentlab html -o explore.html   # the same views in one offline page

Everything about the optimizers comes from their registry (:mod:`descentlab.optimizers`): the
names ``--optimizer`` accepts, one option per hyper-parameter (``--lr``, ``--beta``, ``--mode``,
… and a plugin's own), the ``--set`` keys, the defaults, which methods ``lookahead`` explains and
what ``sweep`` and ``tune`` search. The other shared options are the fields of
:class:`~descentlab.config.Config`, the configuration keys.

Heavy imports (matplotlib) happen inside the commands, so ``descentlab --help`` stays fast.
Bad input (an :class:`~descentlab.errors.InputError`) prints one line,
``descentlab <command>: error: ...``, and exits with status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import NoneType
from typing import Annotated, Any

import numpy as np
import typer

from descentlab import optimizers, validation
from descentlab.config import Config, OptimizerSpec, parse_optimizer_list
from descentlab.errors import InputError, one_line

app = typer.Typer(
    name="descentlab", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Gradient descent, momentum and Nesterov momentum exactly as 'Understanding Deep Learning' "
         "(ch. 6) writes them: run them, record them, draw Figure 6.1.",
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("descentlab")
        except PackageNotFoundError:  # run from a source tree that is not installed
            from descentlab import __version__ as number
        typer.echo(f"descentlab {number}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """The descentlab command (its options come before the command's name)."""

SWEEP_POINTS = 64
"""Points per axis of a sweep over a hyper-parameter's declared search range."""
SWEEP_STEPS = 500
"""Steps per configuration of a sweep unless given."""
TUNE_BUDGET = 200
"""Steps per trial of tune unless given."""
TUNE_SEEDS = 5
"""Seeds per trial of tune unless given."""


class UsageError(InputError):
    """A bad command line (reported in one line, exit status 2)."""


# ---- options read from the registry ------------------------------------------------------------

OptimizerOpt = Annotated[str, typer.Option(
    "--optimizer", "-O", help=f"Update rule: {', '.join(optimizers.names())} "
    f"(default {optimizers.DEFAULT_METHOD}).")]
OptimizersOpt = Annotated[str | None, typer.Option(
    "--optimizers", help=f"Comma-separated update rules, from {', '.join(optimizers.names())} "
    f"(default {','.join(optimizers.featured())}).")]
SingleOpt = Annotated[str | None, typer.Option(
    "--optimizer", "-O", help=f"Update rule: {', '.join(optimizers.names())} (default "
    f"{optimizers.DEFAULT_METHOD}); with --config, also the name of one of its optimizer tables (default: "
    "its only one).")]
LookaheadOpt = Annotated[str | None, typer.Option(
    "--optimizer", "-O", help="The run the state comes from: a method with a look-ahead ("
    + ", ".join(n for n, m in optimizers.methods().items() if m.lookahead) + f"; default "
    f"{optimizers.DEFAULT_METHOD}), or with --config the name of one of its optimizer tables.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Per-optimizer hyper-parameter NAME.KEY=VALUE, e.g. --set nesterov.lr=0.01 "
    f"(repeatable; wins over the options; KEY: {', '.join(optimizers.all_hypers())}).")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML file with everything needed to reproduce the figure (see --dump-config); "
    "options given on the command line override it.")]
DumpOpt = Annotated[bool, typer.Option(
    "--dump-config", help="Print the complete configuration as TOML (every default filled in) and exit.")]

# ---- the options every command shares: the configuration keys and the hyper-parameters ----------

@dataclass(frozen=True)
class Options:
    """The shared options as given on the command line (an option not given is absent).

    ``settings``: configuration key (a field of :class:`~descentlab.config.Config`) → value;
    ``hypers``: hyper-parameter name → its text, parsed by each method that takes it (``Hyper.parse``).
    """

    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    hypers: dict[str, str] = dataclasses.field(default_factory=dict)


def _flag(name: str) -> str:
    """``max_dist`` → ``--max-dist``."""
    return "--" + name.replace("_", "-")


def _option_type(annotation: object) -> type:
    """The command-line type of a configuration key: its field's type, a list of numbers as text."""
    args = [a for a in typing.get_args(annotation) if a is not NoneType] or [annotation]
    return str if typing.get_origin(args[0]) is tuple else args[0]


def _setting_parameters(exclude: tuple[str, ...], command: str) -> dict[str, inspect.Parameter]:
    """One option per field of Config (but ``optimizers``, ``exclude`` and the keys of how a run is
    shown that are not ``command``'s), by configuration key."""
    hints = typing.get_type_hints(Config)
    out = {}
    for f in dataclasses.fields(Config):
        if f.name == "optimizers" or f.name in exclude or command not in f.metadata.get("commands",
                                                                                         (command,)):
            continue
        flag = _flag(f.name)
        if _option_type(hints[f.name]) is bool:  # a switch both ways, so a command line can undo a file
            flag = f"{flag}/--no-{flag[2:]}"
        option = typer.Option(flag, *f.metadata.get("short", ()), help=f.metadata.get("help"))
        out[f.name] = inspect.Parameter(f"setting_{f.name}", inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[_option_type(hints[f.name]) | None, option])
    return out


def _hyper_help(name: str, ranges: bool) -> str:
    hyper = optimizers.all_hypers()[name]
    takers = ", ".join(n for n, m in optimizers.methods().items() if name in m.hyper_names)
    if ranges and hyper.kind != "choice":
        return (f"{hyper.label} values: START:STOP:COUNT[:log] or a,b,c for an axis of the map, one value to "
                f"hold it fixed — for {takers}.")
    what = hyper.help or hyper.label
    if hyper.kind == "choice" and not all(c in what for c in hyper.choices):
        what += f" ({hyper.allowed})"
    return f"{what} — for {takers}."


def _metavar(name: str, ranges: bool) -> str:
    hyper = optimizers.all_hypers()[name]
    if hyper.kind == "choice":
        return "[" + "|".join(hyper.choices) + "]"
    return "<range>" if ranges else "<int>" if hyper.kind == "int" else "<float>"


def _hyper_parameters(ranges: bool, taken: set[str]) -> dict[str, inspect.Parameter]:
    """One text option per hyper-parameter in the registry (a plugin's too), by name; a name whose
    flag a command already uses is left to ``--set``."""
    out = {}
    for name in optimizers.all_hypers():
        if _flag(name) in taken:
            continue
        option = typer.Option(_flag(name), help=_hyper_help(name, ranges), metavar=_metavar(name, ranges))
        out[name] = inspect.Parameter(f"hyper_{name}", inspect.Parameter.KEYWORD_ONLY, default=None,
                                      annotation=Annotated[str | None, option])
    return out


def _flags(parameters) -> set[str]:
    """The option names the ``typer.Option`` annotations of ``parameters`` declare."""
    flags = set()
    for p in parameters:
        for info in getattr(p.annotation, "__metadata__", ()):
            if isinstance(info, typer.models.OptionInfo):
                decls = (info.default, *(info.param_decls or ()))
                flags.update(f for d in decls if isinstance(d, str) for f in d.split("/"))
    return flags


_REFRESH: list[Callable[[], None]] = []
"""Rebuilds the generated options of every command from the registry (plugins registered late)."""


def with_options(*, exclude: tuple[str, ...] = (), hypers: bool = True, ranges: bool = False):
    """Give a command the shared options, which it receives as ``opts: Options``.

    One option per configuration key (the fields of :class:`~descentlab.config.Config`, but
    ``exclude``; a key of how a run is shown only for the commands its field names, the command
    being the function's name without ``_command``) and, with ``hypers``, one per hyper-parameter
    name in the optimizer registry
    (``--lr``, ``--beta``, ``--mode``, … and a plugin's), taken as text (``ranges``: as sweep
    ranges). Typer reads options from the function's signature, so the decorated function gets
    one built from the command's own parameters and these.
    """
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
               for p in signature.parameters.values() if p.name != "opts"]
        generated: dict[str, dict[str, inspect.Parameter]] = {}
        name = command.__name__.removesuffix("_command")

        def refresh() -> None:
            generated["settings"] = _setting_parameters(exclude, name)
            taken = _flags([*own, *generated["settings"].values()])
            generated["hypers"] = _hyper_parameters(ranges, taken) if hypers else {}
            wrapper.__signature__ = signature.replace(parameters=[
                *own, *generated["settings"].values(), *generated["hypers"].values()])

        def wrapper(**kwargs: Any) -> None:
            given = {kind: {key: kwargs.pop(p.name) for key, p in params.items()}
                     for kind, params in generated.items()}
            opts = Options(**{kind: {k: v for k, v in values.items() if v is not None}
                              for kind, values in given.items()})
            return command(**kwargs, opts=opts)

        wrapper.__name__, wrapper.__qualname__ = command.__name__, command.__qualname__
        wrapper.__doc__, wrapper.__module__ = command.__doc__, command.__module__
        refresh()
        _REFRESH.append(refresh)
        return wrapper

    return decorate


def _parse_start(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise UsageError(f"--start must be comma-separated numbers, e.g. 1.6,-0.5; got {text!r}") from None


def _parse_limits(key: str, text: str) -> tuple[float, float]:
    """``--xlim -2,2`` → (-2.0, 2.0): two finite numbers, low < high."""
    from descentlab.framing import check_limits

    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        values = ()
    if len(values) != 2:
        raise UsageError(f"{_flag(key)} must be two numbers LOW,HIGH, e.g. -2,2; got {text!r}")
    try:
        return check_limits(_flag(key), values)
    except InputError as err:
        raise UsageError(str(err)) from None


def _config(opts: Options, methods: tuple[OptimizerSpec, ...] | None, *, config: Path | None = None,
            sets: list[str] | None = None, strict: bool = True) -> Config:
    """A Config from a file (if any), overridden by the options given on the command line."""
    cfg = Config.load(config) if config is not None else Config()
    top = dict(opts.settings)
    if "start" in top:
        top["start"] = _parse_start(top["start"])
    for key in ("xlim", "ylim"):
        if key in top:
            top[key] = _parse_limits(key, top[key])
    cfg = dataclasses.replace(cfg, **top)
    if methods is not None:
        old = {s.name: s for s in cfg.optimizers}
        cfg = dataclasses.replace(cfg, optimizers=tuple(old.get(m.name, m) for m in methods))
    cfg = _with_hypers(cfg, opts.hypers, strict)
    for assignment in sets or ():
        cfg = cfg.with_set(assignment)
    return cfg


def _with_hypers(cfg: Config, hypers: dict[str, str], strict: bool) -> Config:
    """The hyper-parameter options applied, each parsed by every method that takes it (``Hyper.parse``).

    ``strict`` (one method): an option the method does not take is an error; when comparing, an
    option applies to every method that takes it and is an error only if none does.
    """
    specs = list(cfg.optimizers)
    for key, text in hypers.items():
        lacking = [s.method for s in specs if key not in optimizers.get(s.method).hyper_names]
        if strict and lacking:
            method = optimizers.get(lacking[0])
            takes = ", ".join(_flag(n) for n in method.hyper_names) or "no hyper-parameters"
            raise UsageError(f"{_flag(key)} does not apply to {method.name} (it takes {takes})")
        if specs and len(lacking) == len(specs):
            raise UsageError(f"{_flag(key)} does not apply to {', '.join(lacking)}")
        for i, spec in enumerate(specs):
            if spec.method not in lacking:
                value = _parse_hyper(optimizers.get(spec.method), key, text, _flag(key))
                specs[i] = dataclasses.replace(spec, hyperparams={**spec.hyperparams, key: value})
    return dataclasses.replace(cfg, optimizers=tuple(specs))


def _parse_hyper(method: optimizers.Method, key: str, text: str, flag: str):
    try:
        return method.hyper(key).parse(text)
    except InputError as err:
        raise UsageError(f"{flag}: {err}") from None


def _single(opts: Options, optimizer: str | None, config: Path | None = None) -> Config:
    """The config of one run: ``optimizer`` is a registered method or, with a ``config`` file, the
    name of one of its optimizer tables; without it, the file's only optimizer (or the default
    method). The hyper-parameter options must all apply to the method."""
    tables = Config.load(config).optimizers if config is not None else ()
    if optimizer is None:
        if len(tables) > 1:
            raise UsageError(f"--config {config} has {len(tables)} optimizers ("
                             f"{', '.join(s.name for s in tables)}): choose one with --optimizer NAME")
        chosen = tables or (OptimizerSpec(optimizers.DEFAULT_METHOD, optimizers.DEFAULT_METHOD),)
    else:
        chosen = tuple(s for s in tables if s.name == optimizer)
        if not chosen:
            optimizers.get(optimizer)
            chosen = (OptimizerSpec(optimizer, optimizer),)
    return _config(opts, chosen, config=config)


def _all_data_only(cfg: Config) -> None:
    """A batch size given for a method that always uses all the data is an error, not ignored."""
    if cfg.batch_size is None:
        return
    for spec in cfg.optimizers:
        if optimizers.get(spec.method).full_batch:
            raise UsageError(f"--batch-size {cfg.batch_size} does not apply to {spec.method}: it takes its "
                             "gradient on all the data every step (sgd, momentum, nesterov … take "
                             "minibatches)")


def _shown(cfg: Config, command: str) -> Config:
    """``cfg`` with ``command``'s defaults for how the run is shown, each value checked."""
    from descentlab.config import presentation_keys

    cfg = cfg.with_defaults_for(command)
    keys = presentation_keys(command)
    if cfg.levels is not None and "levels" in keys:
        _levels(cfg.levels)
    if cfg.aspect is not None and "aspect" in keys and cfg.aspect not in ("equal", "auto"):
        raise UsageError(f"--aspect must be equal or auto, got {cfg.aspect!r}")
    for key in ("xlim", "ylim"):  # from a config file: checked as the options are
        if getattr(cfg, key) is not None and key in keys:
            _parse_limits(key, ",".join(repr(v) for v in getattr(cfg, key)))
    for key, low, high in (("resolution", 2, 2000), ("labels", 2, None), ("frames", 2, None),
                           ("fps", 1, 60), ("dpi", 20, 300), ("step", 0, None), ("rows", 2, None)):
        if key in keys and getattr(cfg, key) is not None:
            validation.integer(_flag(key), getattr(cfg, key), low, high)
    if "size" in keys:
        _inches(cfg.size, cfg.dpi)
    return cfg


def _dump(cfg: Config, command: str) -> None:
    """Print the complete configuration of ``command`` as TOML: every default filled in."""
    _echo(_shown(cfg.resolved(), command).to_toml(command), nl=False)


def _inputs(cfg: Config | None, config: Path | None = None, *more: Path | None) -> list[tuple[str, Path]]:
    """The files a command reads: the data, the configuration file, a saved run …"""
    named = [("the data file (--data)", cfg.data if cfg is not None else None),
             ("the configuration file (--config)", config), *(("a file this command reads", m) for m in more)]
    return [(what, Path(path)) for what, path in named if path is not None]


def _never_overwrite(inputs: list[tuple[str, Path]], flag: str, *outputs: Path) -> None:
    """Refuse to write an output onto a file the command reads (never overwrite the user's input)."""
    from descentlab.paths import never_overwrite

    never_overwrite(inputs, flag, *outputs)


def _multi(opts: Options, text: str | None, config: Path | None, sets: list[str] | None) -> Config:
    """The config of a comparison: ``--optimizers`` (default: the featured methods, unless a config
    file names them); the hyper-parameter options apply to every method that takes them."""
    if text is None and config is None:
        text = ",".join(optimizers.featured())
    methods = None if text is None else parse_optimizer_list(text)
    return _config(opts, methods, config=config, sets=sets, strict=False)


def _check_suffix(path: Path, allowed: tuple[str, ...], flag: str = "--output") -> None:
    if path.suffix.lower().lstrip(".") not in allowed:
        raise UsageError(f"{flag} {str(path)!r}: use a {', '.join('.' + a for a in allowed)} suffix")


def _check_output(path: Path, allowed: tuple[str, ...], flag: str = "--output") -> None:
    """Before any work: ``path`` has one of the ``allowed`` suffixes and can be written (its folder
    exists and is writable, it is not a directory)."""
    from descentlab.paths import writable

    _check_suffix(path, allowed, flag)
    writable(path, flag)


def _view(cfg: Config) -> dict[str, Any]:
    """The view options of a 2-D figure: ``xlim``, ``ylim``, ``aspect`` (None: the view decides)."""
    return {"xlim": cfg.xlim, "ylim": cfg.ylim, "aspect": cfg.aspect}


def _levels(levels: str) -> bool | None:
    if levels not in ("auto", "linear", "log"):
        raise UsageError(f"--levels must be auto, linear or log, got {levels!r}")
    return None if levels == "auto" else levels == "log"


def _diverged_note(trajs, problem=None) -> None:
    """Notes after the runs: the problem's own (too ill-conditioned for its suggested steps), and
    for each run that diverged, the value the curvature allows (:func:`descentlab.theory.step_advice`)."""
    from descentlab.theory import step_advice

    note = getattr(getattr(problem, "suggested", None), "note", None)
    if note:
        _echo(f"note: {problem.name}: {note}", err=True)
    for traj in trajs:
        if traj.stop_reason == "unbounded below":
            _echo(f"note: {traj.optimizer}: the loss is unbounded below along the run (from "
                       f"{traj.losses[0]:.3g} to {traj.losses[-1]:.3g} in {traj.steps} steps, then past "
                       f"the bound at step {traj.diverged_at}); no minimum stops it", err=True)
        elif traj.diverged_at is not None:
            advice = step_advice(problem, traj) if problem is not None else None
            flag = None if len(trajs) == 1 or advice is None else f"--set {traj.optimizer}.{advice.hyper}="
            hint = (f"; {advice.text(flag)}" if advice is not None
                    else " (try a smaller --lr)" if "lr" in traj.hyperparams else "")
            _echo(f"note: {traj.optimizer} diverged at step {traj.diverged_at}{hint}; "
                       f"showing the {traj.steps} finite steps before it", err=True)


def _two_params(problem, command: str) -> None:
    """Refuse, in one line, a view that exists only in two dimensions (its geometry would be wrong on a
    slice: the gradients are the full problem's); say which view shows the run on a slice instead."""
    if problem.n_params != 2:
        names = tuple(problem.param_names)
        hint = (f" ({', '.join(names)}); compare --trace --slice {names[0]},{names[1]} shows its look-ahead "
                "points on a 2-D slice") if len(names) > 2 else ""
        raise UsageError(f"{command} draws 2-parameter problems; {problem.name!r} has {problem.n_params}"
                         f"{hint}")


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
        prob, (traj,) = cfg.run()
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
    prob, (traj,) = cfg.run()
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
    prob, trajs = cfg.run()
    view, shown, full = drawable(prob, trajs, cfg.slice)
    plot.save(plot.compare(view, shown, log_levels=_levels(cfg.levels), resolution=cfg.resolution,
                           lookahead=cfg.trace, full_params=full, **_view(cfg)), output)
    _echo(_summary(prob, trajs))
    _diverged_note(trajs, prob)
    _echo(f"wrote {output}")
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
    prob, (traj,) = cfg.run()
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
    from descentlab.scene import drawable

    cfg = _shown(cfg, "animate")
    _check_output(output, ("gif", "mp4"))
    _never_overwrite(_inputs(cfg, config), "--output", output)
    prob, trajs = cfg.run()
    view, shown, full = drawable(prob, trajs, cfg.slice)
    plot.animate(view, shown, output, fps=cfg.fps, frames=cfg.frames, size=_inches(cfg.size, cfg.dpi),
                 dpi=cfg.dpi, progress=progress_bar(None, f"rendering {output.name}"), full_params=full,
                 **_view(cfg))
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
    "point and the gradient step taken there) and the loss per step, with a slider over the iterates."))
@with_options()
def html(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.html).")]
    = Path("explore.html"),
    optimizers_: OptimizersOpt = None, sets: SetOpt = None, config: ConfigOpt = None,
    dump_config: DumpOpt = False, opts: Options | None = None,
) -> None:
    """Write the interactive HTML explorer."""
    from descentlab.scene import drawable

    cfg = _multi(opts, optimizers_, config, sets)
    if dump_config:
        return _dump(cfg, "html")
    try:
        from descentlab.web.export import write_html
    except ImportError:
        raise UsageError("descentlab html needs plotly: pip install 'descentlab[web]'") from None
    cfg = _shown(cfg, "html")
    _check_output(output, ("html", "htm"))
    _never_overwrite(_inputs(cfg, config), "--output", output)
    prob, trajs = cfg.run()
    view, shown, full = drawable(prob, trajs, cfg.slice)
    write_html(view, shown, output, title=cfg.title, resolution=cfg.resolution,
               log_levels=_levels(cfg.levels), full_params=full, max_frames=cfg.frames, **_view(cfg))
    _echo(_summary(prob, trajs))
    _diverged_note(trajs, prob)
    _echo(f"wrote {output}")


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
    full = cfg.resolved(prob)
    held = {k: v for k, v in full.optimizers[0].hyperparams.items() if k not in grid}
    result = sweep_mod.sweep(prob, method.name, grid, steps=cfg.steps, start=full.start, tol=cfg.tol,
                             fixed=held, seeds=range(cfg.seeds),
                             batch_size=cfg.batch_size, progress=progress_bar(None, "sweeping"))
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
    from descentlab import tune as tune_mod
    from descentlab.progress import progress_bar

    cfg = _multi(opts, optimizers_, config, None)
    methods = [s.method for s in cfg.optimizers]
    if len(set(methods)) < len(methods):
        raise UsageError("tune searches each method's hyper-parameters itself: list each method once")
    cfg = dataclasses.replace(cfg, steps=_given(budget, cfg.steps, TUNE_BUDGET),
                              seeds=_given(seeds, cfg.seeds, TUNE_SEEDS))
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


def _summary(problem, trajs) -> str:
    """One line per optimizer: final loss, gap to the minimum, how it ended (``Trajectory.status``:
    ok, diverged / unbounded below at step k, or a period-2 cycle)."""
    from descentlab.plot.figure import batch_text

    floor = problem.min_loss
    batches = any(t.batches is not None for t in trajs)  # then each run's batch size is a column
    rows = [["optimizer", "steps", "final loss"] + (["L − L_min"] if floor is not None else [])
            + (["batch"] if batches else []) + ["status"]]
    for t in trajs:
        gap = [f"{t.losses[-1] - floor:.3g}"] if floor is not None else []
        batch = [batch_text(t, problem.n_examples)] if batches else []
        rows.append([t.label, str(t.steps), f"{t.losses[-1]:.6g}", *gap, *batch, t.status])
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


class _DataLine(logging.Handler):
    """Collects the line a data file's reading logs (the file, its separator, its rows and the
    columns taken as x and y: ``descentlab.problems.data.read_csv``), printed on stderr once per
    command when it succeeds — a failing command prints its error line alone."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = one_line(record.getMessage())
        if message not in self.lines:
            self.lines.append(message)

    def flush_to_stderr(self) -> None:
        for line in self.lines:
            typer.echo(line, err=True)
        self.lines.clear()


_DATA_LINE = _DataLine()


def _echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``typer.echo``, after the data line (once the command has got as far as saying something)."""
    _DATA_LINE.flush_to_stderr()
    typer.echo(message, err=err, nl=nl)


EXIT_INTERRUPTED = 130
"""The exit status after Ctrl+C (128 + SIGINT), as shells report it."""


def _expression_line(err) -> str:
    """An expression error in one line: its summary and the part of the expression around it."""
    if err.span is None or not err.expression:
        return err.summary
    start = err.span[0]
    lo = max(0, start - 30)
    window = err.expression[lo:start + 30]
    more = "…" if start + 30 < len(err.expression) else ""
    return f"{err.summary} (at »{'…' if lo else ''}{window}{more}«)"


def _failure(err: BaseException) -> tuple[str, int] | None:
    """The one line and exit status for a failure the user can act on; None for a bug."""
    from descentlab.problems import ExpressionError

    if isinstance(err, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(err, ExpressionError):
        return _expression_line(err), 2
    if isinstance(err, InputError):
        return str(err), 2
    if isinstance(err, MemoryError):
        return ("out of memory: the request is larger than this machine can hold (lower --steps, "
                "--resolution, the grid or the data)"), 2
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to read", 2
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or err}{where}", 2
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every failure the user can act on into one line on stderr.

    Bad input (an :class:`~descentlab.errors.InputError`: a bad value, file or expression, or a usage
    error of the command line), a request too large for memory, input nested too deeply and an
    operating-system error on a file exit with status 2; Ctrl+C with 130. The line names the
    user's value or path, at most :data:`~descentlab.errors.MESSAGE_LIMIT` characters, control
    characters escaped. numpy's floating-point warnings never reach the terminal (divergence is
    detected and reported by the runs themselves). Anything else is a bug and keeps its traceback.
    """
    import warnings

    data_log = logging.getLogger("descentlab.data")  # every command that reads data says what it read
    _DATA_LINE.lines.clear()
    if _DATA_LINE not in data_log.handlers:
        data_log.addHandler(_DATA_LINE)
        data_log.setLevel(logging.INFO)
        data_log.propagate = False
    for refresh in _REFRESH:  # options for the hyper-parameters of methods registered since import
        refresh()
    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    sub = next((a for a in args if not a.startswith("-")), None)
    prog = f"descentlab {sub}" if sub in getattr(command, "commands", {}) else "descentlab"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = command.main(args=args, prog_name="descentlab", standalone_mode=False)
    except typer.TyperException as err:  # click's usage errors: unknown option, bad type, …
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        if not args:  # bare `descentlab` printed its help
            return 0
        typer.echo(f"{prog}: error: {one_line(message)}", err=True)
        return getattr(err, "exit_code", 2)
    except BaseException as err:  # sorted by _failure; a bug is re-raised
        failure = _failure(err)
        if failure is None:
            raise
        message, status = failure
        typer.echo(f"{prog}: error: {one_line(message)}", err=True)
        return status
    _DATA_LINE.flush_to_stderr()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
