"""The shared options of every command: generated from the configuration keys (the fields of
:class:`~descentlab.config.Config`) and the optimizer registry, and turned into a Config."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import NoneType
from typing import Annotated, Any

import typer

from descentlab import budget, optimizers, validation
from descentlab.cli.output import _echo
from descentlab.config import Config, OptimizerSpec, parse_optimizer_list
from descentlab.errors import InputError

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
    for key, low, high in (("resolution", 2, budget.MAX_RESOLUTION), ("labels", 2, None),
                           ("frames", 2, budget.MAX_FRAMES), ("fps", 1, 60), ("dpi", 20, 300),
                           ("step", 0, None), ("rows", 2, None), ("seeds", 1, None), ("trials", 1, None)):
        if key in keys and getattr(cfg, key) is not None:
            validation.integer(_flag(key), getattr(cfg, key), low, high)
    if cfg.steps is not None:  # a file's steps too: a dumped configuration can always run
        validation.integer("--steps", cfg.steps, 0, budget.MAX_STEPS)
    if "tol" in keys and cfg.tol is not None:
        validation.positive("--tol", cfg.tol)
    if "size" in keys:
        width, height = _inches(cfg.size, cfg.dpi)
        budget.check_frames(cfg.frames, round(width * cfg.dpi) * round(height * cfg.dpi), cli=True)
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


def _run(cfg: Config, *, drawn: bool = True):
    """``cfg.run()`` for a command: its size checked first (``drawn``: the runs are drawn or saved as
    JSON), with a progress bar on a terminal when it takes more than a moment."""
    from descentlab.progress import progress_bar

    return cfg.run(drawn=drawn, cli=True, progress=progress_bar(None, "running"))
