"""Everything needed to reproduce a run or a comparison, as a small TOML file.

    problem = "line-fit"
    start = [1.6, -0.5]
    steps = 60
    seed = 0

    [optimizers.nesterov]
    lr = 0.05
    beta = 0.8

``Config.resolved()`` fills every default (start, steps, each optimizer's α, β…) from the
problem's suggestions, so a dumped config keeps reproducing the same figure even if defaults
change. Tables under ``[optimizers]`` are named freely; ``method = "nesterov"`` picks the update
rule when the name is not one (e.g. ``[optimizers."nesterov β=0.99"]``).
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import NoneType

import numpy as np
import tomli_w

from descentlab import budget, validation
from descentlab import optimizers as optim
from descentlab.catalogue import NAMES as PROBLEM_NAMES
from descentlab.datasets import MODELS as DATA_MODELS
from descentlab.errors import InputError, escaped
from descentlab.problems.base import Problem
from descentlab.problems.data_fit import REDUCTIONS
from descentlab.trajectory import Trajectory

SGD_BATCH = optim.STOCHASTIC_BATCH
"""Minibatch size a stochastic method (sgd) draws when no batch size is given (see
:data:`descentlab.optimizers.registry.STOCHASTIC_BATCH`)."""

HEADER = "# descentlab configuration: descentlab {command} --config THIS_FILE{output}\n"
"""The first line of a dumped config: the command that reads it back."""


class ConfigError(InputError):
    """A configuration that cannot be used; the message names the key and what is allowed."""


MAX_CONFIG_BYTES = 256 * 1024
"""The largest configuration file read (a complete dump of a comparison is a few KB)."""
MAX_NESTING = 16
"""The deepest nesting of arrays and inline tables in a configuration (a dump nests two deep)."""
MAX_KEY_PARTS = 8
"""The most dotted parts in one key or table header (a dump's deepest is ``[optimizers.NAME]``)."""


def _check_shape(text: str, source: str) -> None:
    """Refuse TOML nested deeper than :data:`MAX_NESTING` or with a key of more than
    :data:`MAX_KEY_PARTS` parts (at the top, in a table header or in an inline table), in one pass
    that skips strings and comments."""
    open_: list[str] = []          # the brackets open at this point: "[" arrays, "{" inline tables
    dots, in_key, i, n = 0, True, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                i += 2 if (c == '"' and text[i] == "\\") else 1
            i += len(quote)
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if (c == "\n" and not open_) or (c == "," and open_ and open_[-1] == "{"):
            in_key, dots = True, 0
        elif c == "{" or (c == "[" and not in_key):
            open_.append(c)
            in_key, dots = c == "{", 0
            if len(open_) > MAX_NESTING:
                raise ConfigError(f"{source}: arrays or tables nested more than {MAX_NESTING} deep")
        elif c in "]}" and open_:
            open_.pop()
        elif c == "=":
            in_key = False
        elif c == "." and in_key:
            dots += 1
            if dots >= MAX_KEY_PARTS:
                raise ConfigError(f"{source}: a key or table name with more than {MAX_KEY_PARTS} parts")
        i += 1


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a run: a display name, its update rule, its hyper-parameters and, optionally,
    its own minibatch size (``batch_size = 5`` in its TOML table, ``--set NAME.batch_size=5``)."""

    name: str
    method: str
    hyperparams: dict[str, float | int | str] = field(default_factory=dict)
    batch_size: int | None = None

    def build(self) -> optim.Optimizer:
        return optim.make(self.method, **self.hyperparams)


def _key(default: object, help: str, *short: str, choices: tuple[str, ...] = ()):
    """A configuration key: a field of :class:`Config`, which is also the TOML key and the command-line
    option ``--name`` (plus ``short`` flags), with the option's ``help`` (``choices``: the values a
    text key allows)."""
    return field(default=default, metadata={"help": help, "short": short, "choices": choices})


def _shown(help: str, commands: tuple[str, ...], default: object = None, choices: tuple[str, ...] = ()):
    """A key of how a run is shown (not of the run itself): an option of ``commands`` only, unset
    (None) until a command fills in its ``default`` (see :func:`presentation_defaults`);
    ``choices``: the values a text key allows."""
    return field(default=None, metadata={"help": help, "short": (), "commands": commands,
                                         "command_default": default, "choices": choices})


_VIEWS = ("figure", "compare", "lookahead", "animate", "html")
"""The commands that draw a 2-D view of the loss (they take --xlim, --ylim, --aspect)."""


@dataclass(frozen=True)
class Config:
    """A problem, a start, a budget and one or more optimizers.

    Its fields are the one list of configuration keys: the TOML keys, the checks of
    :meth:`from_dict` and the command line's shared options all come from them.
    """

    problem: str = _key(
        "line-fit", f"Built-in problem: {', '.join(PROBLEM_NAMES)} (default line-fit). With --data: the "
        f"model to fit to the data ({' or '.join(DATA_MODELS)}).", "-p")
    loss: str | None = _key(
        None, "Your own loss of x, y (and z) in a safe expression language, e.g. "
        "\"(1 - x)**2 + 100*(y - x**2)**2\": + - * / ** ( ), numbers, pi, e, sin cos tan exp log sqrt abs "
        "tanh sigmoid … (never evaluated as Python).")
    model: str | None = _key(
        None, "Your own model of the data variable x with parameters p0, p1, …, e.g. "
        "\"p0 + p1*x + p2*x**2\", fitted to --data by the sum of squared errors.")
    params: str | None = _key(
        None, "Names of the --model's parameters, e.g. a,b,c (default: the p0, p1, … it uses).")
    data: str | None = _key(None, "CSV file of x, y data to fit (default: the problem's built-in data).")
    x: str | None = _key(None, "Column of --data used as x (default: the first numeric one, not an id).")
    y: str | None = _key(None, "Column of --data used as y (default: the next numeric one, not an id).")
    delimiter: str | None = _key(
        None, "Column separator of --data: , ; tab (or any one character); default: detected from the file.")
    kappa: float | None = _key(None, "Condition number κ ≥ 1 (quadratic only; default 10).")
    angle: float | None = _key(
        None, "Rotation of the quadratic's axes in degrees (quadratic only; default 30).")
    start: tuple[float, ...] | None = _key(
        None, "Start point φ_0 as comma-separated numbers, e.g. 1.6,-0.5 (default: suggested for the "
        "problem).")
    steps: int | None = _key(None, "Number of updates T ≥ 0 (default: suggested for the problem).", "-n")
    batch_size: int | None = _key(
        None, "Minibatch size 1..N for data problems, for every optimizer that takes minibatches (default: "
        f"all N; a stochastic method such as sgd then draws {SGD_BATCH} examples per step for itself only). "
        "Optimizers with the same batch size share one batch sequence; --set NAME.batch_size=B sets one "
        "optimizer's own.", "-b")
    seed: int = _key(0, "Seed of the minibatch draw (default 0).")
    reduction: str | None = _key(
        None, "How a data problem's loss adds up its examples: sum (the book's L = Σ ℓ_i; default) or mean "
        "(Σ ℓ_i / N on all the data, / |B| on a minibatch). mean multiplies the suggested gradient and "
        "momentum α by N: the same run, with κ unchanged.", choices=REDUCTIONS)
    # how the run is shown: each key is an option of the commands it names (see presentation_keys)
    levels: str | None = _shown(
        "Contour levels: auto, linear (quadratic spacing, for bowls) or log (steep surfaces).",
        ("figure", "compare", "html"), "auto", ("auto", "linear", "log"))
    resolution: int | None = _shown("Grid points per axis of the surface (2..2000; default 150).",
                                    ("figure", "compare", "lookahead", "html"), 150)
    labels: int | None = _shown("At most this many iterates are numbered on the contour map (default 12).",
                                ("figure",), 12)
    slice: str | None = _shown(
        "For more than two parameters: the two to draw, e.g. p0,p2; the others are held at the run's "
        "final values (default: the first two).", ("figure", "compare", "animate", "html"))
    xlim: tuple[float, ...] | None = _shown(
        "Range of the first drawn parameter, LOW,HIGH, e.g. -2,2 (default: the function's interesting "
        "region: minima, start and path).", _VIEWS)
    ylim: tuple[float, ...] | None = _shown(
        "Range of the second drawn parameter, LOW,HIGH (default: as --xlim).", _VIEWS)
    aspect: str | None = _shown(
        "Axis scales of the contour map: equal (gradients drawn perpendicular to the contours) or auto "
        "(fill the panel); default: equal unless the view's two ranges differ more than 3×.", _VIEWS,
        None, ("equal", "auto"))
    trace: bool | None = _shown(
        "Also mark where each gradient was taken (Nesterov's look-ahead points); lookahead: draw the "
        "whole run with its look-ahead points instead of one step.", ("compare", "lookahead"), False)
    step: int | None = _shown("The step t to explain (0..T−1; default: the step where the two rules "
                              "part most).", ("lookahead",))
    frames: int | None = _shown(
        "Frames of the animation, or positions of the page's slider: at most this many (≥ 2), spread "
        "evenly over the run, the first and last step kept (default 120).", ("animate", "html"), 120)
    fps: int | None = _shown("Frames per second (1..60; default 12).", ("animate",), 12)
    size: str | None = _shown("Frame size in pixels, WIDTHxHEIGHT (default 960x760).", ("animate",),
                              "960x760")
    dpi: int | None = _shown("Pixels per inch of the drawing (20..300; default 80): larger draws text and "
                             "lines smaller.", ("animate",), 80)
    grid: bool | None = _shown(
        "Embed the α/β grid of runs and its sliders (default: on for a two-parameter problem drawn "
        "without a slice).", ("html",))
    title: str | None = _shown("Title of the page and the figure (default: problem, optimizers, start, "
                               "steps).", ("html",))
    rows: int | None = _shown("Rows of the printed table (even steps; default 12).", ("run",), 12)
    # what sweep and tune search (their own options: --axis/--lr RANGE, --tol, --seeds, --trials)
    axes: str | None = _shown(
        "The axes of a sweep map, NAME=RANGE separated by ';', e.g. \"lr=1e-4:1e-1:64:log; beta=0:0.99:64\".",
        ("sweep",))
    tol: float | None = _shown("A sweep's target for L − L_min (default: the start's gap divided by 10⁶).",
                               ("sweep",))
    seeds: int | None = _shown("Seeds per configuration (sweep: minibatch seeds, default 1; tune: batches or "
                               "start points, default 5).", ("sweep", "tune"))
    trials: int | None = _shown("Trials per optimizer of tune (default 64).", ("tune",), 64)
    optimizers: tuple[OptimizerSpec, ...] = ()  # the tables [optimizers.NAME]

    # ---- building ------------------------------------------------------------------------------

    def build_problem(self) -> Problem:
        """The problem this config names (built-in, or ``data`` read from CSV), its loss summed or
        averaged over the examples as ``reduction`` says."""
        from descentlab.problems import with_reduction

        if self.reduction is not None and self.reduction not in REDUCTIONS:
            raise ConfigError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {self.reduction!r}")
        problem = self._summed_problem()
        if self.reduction is None or self.reduction == "sum":
            return problem
        if problem.n_examples is None:
            raise ConfigError(f"reduction {self.reduction} applies to problems with data (line-fit, gabor, "
                              f"--data, --model); {problem.name!r} has none")
        return with_reduction(problem, self.reduction)

    def _summed_problem(self) -> Problem:
        """The problem as the book writes it, its loss the sum over the examples."""
        from descentlab import catalogue, datasets

        if self.loss is not None or self.model is not None:
            return self._own_problem()
        if self.params is not None:
            raise ConfigError("params names the parameters of a model; give model too")
        quad = {k: v for k, v in (("kappa", self.kappa), ("angle", self.angle)) if v is not None}
        if quad and self.problem != "quadratic":
            raise ConfigError(f"{next(iter(quad))} applies to problem 'quadratic' only, not {self.problem!r}")
        if self.data is not None:
            return datasets.from_csv(self.data, model=self.problem, x=self.x, y=self.y,
                                     delimiter=self.delimiter)
        if self.x is not None or self.y is not None or self.delimiter is not None:
            raise ConfigError("x, y and delimiter say how to read data; give data (a CSV file) too")
        return catalogue.by_name(self.problem, **quad)

    def _own_problem(self) -> Problem:
        from descentlab import datasets, problems

        if self.loss is not None and self.model is not None:
            raise ConfigError("give either loss (a surface) or model (fitted to data), not both")
        if self.kappa is not None or self.angle is not None:
            raise ConfigError("kappa and angle apply to problem 'quadratic' only")
        if self.loss is not None:
            if self.data is not None:
                raise ConfigError("a loss expression takes no data; to fit data give model instead")
            return problems.from_expression(self.loss, start=self.start, params=self.params)
        if self.data is None:
            raise ConfigError("a model is fitted to data: give data (a CSV file) too")
        table = datasets.read_csv(self.data, self.x, self.y, self.delimiter)
        return problems.from_expression(self.model, data=table, start=self.start, params=self.params)

    def resolved(self, problem: Problem | None = None) -> Config:
        """This config with every default made explicit for ``problem`` (built if not given)."""
        problem = self.build_problem() if problem is None else problem
        if not self.optimizers:
            raise ConfigError("no optimizers: give at least one")
        specs = []
        for spec in self.optimizers:
            method = optim.get(spec.method)
            hyper = {}
            drawn = self.batch_for(spec, problem)  # a minibatch's curvature sets its suggested step
            drawn = drawn if drawn is not None and drawn < (problem.n_examples or 0) else None
            for h in method.hypers:
                if h.name in spec.hyperparams:
                    continue
                suggested = problem.suggested.value(h.suggest, drawn) if h.suggest else None
                hyper[h.name] = h.default if suggested is None else suggested
            for key in spec.hyperparams:
                if key not in method.hyper_names:
                    raise ConfigError(f"{spec.name} ({spec.method}) has no hyper-parameter {key!r}; "
                                      f"it takes {', '.join(method.hyper_names)}")
            merged = hyper | spec.hyperparams
            specs.append(OptimizerSpec(spec.name, spec.method, {k: merged[k] for k in method.hyper_names},
                                       spec.batch_size))
        start = problem.suggested.start if self.start is None else self.start
        data = None if self.data is None else str(Path(self.data).absolute())  # valid from anywhere
        specs = [dataclasses.replace(s, batch_size=self.batch_for(s, problem)) for s in specs]
        return dataclasses.replace(
            self, optimizers=tuple(specs), data=data,
            start=tuple(float(v) for v in validation.point("start", start, problem.n_params)),
            steps=problem.suggested.steps if self.steps is None else self.steps)

    def batch_for(self, spec: OptimizerSpec, problem: Problem) -> int | None:
        """The minibatch size of one optimizer's run (None: all the data): its own ``batch_size``,
        else this config's, else — a stochastic method (sgd) on data — its own default of
        :data:`SGD_BATCH`. A method that takes its gradient on all the data (gd) always gets None;
        no optimizer's batches depend on which others are compared with it."""
        method = optim.get(spec.method)
        if method.full_batch:
            if spec.batch_size is not None:
                raise ConfigError(f"{spec.name}: {spec.method} takes its gradient on all the data, so it "
                                  "takes no batch_size (use sgd for minibatches)")
            return None
        if spec.batch_size is not None:
            return spec.batch_size
        if self.batch_size is not None:
            return self.batch_size
        if method.stochastic and problem.n_examples is not None:
            return min(SGD_BATCH, problem.n_examples)
        return None

    def default_batch(self, spec: OptimizerSpec, problem: Problem) -> bool:
        """Whether ``spec`` draws minibatches only because its method is stochastic (sgd's default)."""
        own = spec.batch_size is None and self.batch_size is None
        return own and self.batch_for(spec, problem) is not None

    def run(self, *, drawn: bool = False, cli: bool = False,
            progress: Callable[[int, int], None] | None = None) -> tuple[Problem, list[Trajectory]]:
        """Build the problem and run every optimizer from the same start on the same batches.

        The size of the runs is checked first (:func:`descentlab.runner.check_budget`; ``drawn``: the
        runs will be drawn or saved as JSON, a smaller record limit; ``cli``: name ``--steps``);
        ``progress(done, total)`` is called as the steps go (see :func:`descentlab.runner.run_many`)."""
        from descentlab.runner import check_budget, run_many

        problem = self.build_problem()
        full = self.resolved(problem)
        opts = [s.build() for s in full.optimizers]
        sizes = [s.batch_size for s in full.optimizers]
        check_budget(opts, problem, full.start, full.steps, batch_size=sizes, drawn=drawn, cli=cli)
        if drawn and full.resolution is not None:  # the surface it is drawn over, checked before the runs
            budget.check_surface(full.resolution, problem.examples_per_loss, cli=cli)
        slow = sum(o.method.needs_loss for o in opts)
        if not budget.needs_progress(full.steps, len(opts), slow):
            progress = None  # done in well under ~2 s: no bar
        trajs = run_many(opts, problem, full.start, full.steps, seed=full.seed, batch_size=sizes,
                         progress=progress)
        # each run remembers its configuration, so a saved run can be drawn again (figure --from),
        # and whether its minibatches are sgd's own default (said in compare's table and title)
        default = [{"default_batch": True} if self.default_batch(s, problem) else {} for s in self.optimizers]
        return problem, [dataclasses.replace(t, meta={**t.meta, "config": full.for_run(spec).to_dict(), **d})
                         for t, spec, d in zip(trajs, full.optimizers, default, strict=True)]

    def for_run(self, spec: OptimizerSpec) -> Config:
        """The configuration of the run of one optimizer: this config's run keys and ``spec`` alone
        (the keys of how it is shown are left out)."""
        return dataclasses.replace(self, optimizers=(spec,), **{k: None for k in PRESENTATION_KEYS})

    # ---- how a run is shown --------------------------------------------------------------------

    def with_defaults_for(self, command: str) -> Config:
        """This config with every key of how ``command`` shows the run that is unset given the
        command's default (so that a dumped config states them)."""
        return dataclasses.replace(self, **{
            key: default for key, default in presentation_defaults(command).items()
            if getattr(self, key) is None and default is not None})

    # ---- overrides -----------------------------------------------------------------------------

    def with_set(self, assignment: str) -> Config:
        """Apply ``NAME.KEY=VALUE`` (``nesterov.lr=0.01``) to the optimizer called NAME; KEY is one of
        its hyper-parameters or ``batch_size`` (its own minibatch size)."""
        target, eq, value = assignment.partition("=")
        name, dot, key = target.strip().rpartition(".")
        if not (eq and dot and name and key and value.strip()):
            raise ConfigError(f"--set expects NAME.KEY=VALUE, e.g. nesterov.lr=0.01; got {assignment!r}")
        names = [s.name for s in self.optimizers]
        if name not in names:
            raise ConfigError(f"--set {target}: {name!r} is not among the optimizers ({', '.join(names)})")
        spec = next(s for s in self.optimizers if s.name == name)
        if key.strip() == BATCH_KEY:
            size = _own_batch(spec.method, value.strip(), f"--set {target}")
            return dataclasses.replace(self, optimizers=tuple(
                dataclasses.replace(s, batch_size=size) if s.name == name else s for s in self.optimizers))
        try:
            parsed = optim.get(spec.method).hyper(key.strip()).parse(value)
        except InputError as err:
            raise ConfigError(f"--set {target}: {err}") from None
        specs = tuple(dataclasses.replace(s, hyperparams={**s.hyperparams, key.strip(): parsed})
                      if s.name == name else s for s in self.optimizers)
        return dataclasses.replace(self, optimizers=specs)

    # ---- TOML ----------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The config as plain TOML/JSON values: the keys that are set, then the optimizer tables."""
        own = self.loss is not None or self.model is not None
        doc = {key: _plain(getattr(self, key)) for key in TOP_KEYS[:-1]
               if getattr(self, key) is not None and not (key == "problem" and own)}
        if self.optimizers:
            doc["optimizers"] = {
                spec.name: ({"method": spec.method} if spec.method != spec.name else {})
                | {k: _plain(v) for k, v in spec.hyperparams.items()}
                | ({BATCH_KEY: spec.batch_size} if spec.batch_size is not None else {})
                for spec in self.optimizers}
        return doc

    def to_toml(self, command: str = "compare") -> str:
        """The config as TOML (``Config.from_toml`` reads it back equal), written by tomli-w, under a
        comment line naming the ``command`` that reads it back."""
        output = "" if command == "run" else " -o OUTPUT"
        return HEADER.format(command=command, output=output) + tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str, source: str = "config") -> Config:
        """Parse TOML text; ``source`` names it in error messages. Text nested deeper than
        :data:`MAX_NESTING` or with a key of more than :data:`MAX_KEY_PARTS` dotted parts is refused
        before parsing (the parser's time, memory and recursion grow with both)."""
        _check_shape(text, source)
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML: {err}") from None
        return cls.from_dict(raw, source)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        """Read a TOML file: a regular file of at most :data:`MAX_CONFIG_BYTES`."""
        from descentlab.paths import read_text

        p = Path(path)
        try:
            text = read_text(p, f"--config {escaped(str(p))}", MAX_CONFIG_BYTES,
                             f"configuration files of at most {MAX_CONFIG_BYTES // 1024} KB are read")
        except InputError as err:
            raise ConfigError(str(err)) from None
        cfg = cls.from_toml(text, str(p))
        if cfg.data is not None and not Path(cfg.data).expanduser().is_absolute():
            # a relative data path is read from the configuration file's directory, not the cwd
            cfg = dataclasses.replace(cfg, data=str(p.parent / Path(cfg.data)))
        elif cfg.data is not None:
            cfg = dataclasses.replace(cfg, data=str(Path(cfg.data).expanduser()))
        return cfg

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> Config:
        """A config from parsed TOML, every key and value checked against the fields of Config."""
        unknown = [k for k in raw if k not in TOP_KEYS]
        if unknown:
            raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed: {', '.join(TOP_KEYS)}")
        values = {}
        for key, kind in _KINDS.items():
            if key in raw:
                values[key] = _checked(key, raw[key], kind, source)
        if "problem" in values:
            _check_problem(values["problem"], f"{source}: ")
        tables = raw.get("optimizers", {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{source}: optimizers must be tables, e.g. [optimizers.nesterov]")
        specs = tuple(_spec(name, table, source) for name, table in tables.items())
        return cls(optimizers=specs, **values)


TOP_KEYS = tuple(f.name for f in dataclasses.fields(Config))
"""The configuration keys, in the order a TOML file lists them (the ``optimizers`` tables last)."""

PRESENTATION_KEYS = tuple(f.name for f in dataclasses.fields(Config) if "commands" in f.metadata)
"""The keys of how a run is shown (levels, resolution, frames …), each an option of some commands only;
the others are the keys of the run itself."""


def rebuild(traj: Trajectory, source: str) -> tuple[Config, Problem]:
    """The configuration a saved run recorded and its problem, rebuilt and checked: the rebuilt
    problem must give the loss the run recorded at φ_0 (``source`` names the file in messages)."""
    raw = traj.meta.get("config")
    if not isinstance(raw, dict):
        raise InputError(f"cannot rebuild its problem {traj.problem!r}: the file records no "
                         "configuration (save runs with descentlab run --save or compare --save)")
    try:
        cfg = Config.from_dict(raw, f"{source} (its configuration)")
        prob = cfg.build_problem()
    except ConfigError as err:
        raise InputError(f"cannot rebuild its problem: {err}") from None
    except InputError as err:
        raise InputError(f"cannot rebuild its problem {traj.problem!r}: {err}") from None
    loss = float(prob.loss(traj.params[0])) if prob.n_params == traj.params.shape[1] else np.nan
    if not np.isclose(loss, traj.losses[0], rtol=1e-9, atol=1e-300):
        raise InputError(f"its problem rebuilt from the configuration gives L[φ_0] = {loss:.6g}, the run "
                         f"recorded {traj.losses[0]:.6g} (has the data file changed?)")
    return cfg, prob


def presentation_keys(command: str) -> tuple[str, ...]:
    """The presentation keys that are options of ``command`` (e.g. ``"figure"``)."""
    return tuple(f.name for f in dataclasses.fields(Config) if command in f.metadata.get("commands", ()))


def presentation_defaults(command: str) -> dict[str, object]:
    """Key → the value ``command`` uses when the key is unset (None: the command decides, e.g. the
    step where two rules part most)."""
    return {f.name: f.metadata["command_default"] for f in dataclasses.fields(Config)
            if command in f.metadata.get("commands", ())}


def _kind(annotation: object) -> type:
    """The type a key holds, without its ``| None``: ``str``, ``float``, ``int`` or ``tuple``."""
    args = [a for a in typing.get_args(annotation) if a is not NoneType]
    base = args[0] if typing.get_origin(annotation) is not tuple and len(args) == 1 else annotation
    return typing.get_origin(base) or base


_KINDS = {k: _kind(t) for k, t in typing.get_type_hints(Config).items() if k != "optimizers"}
"""Configuration key → the type of its value (``tuple`` for a list of numbers)."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked(key: str, value: object, kind: type, source: str) -> object:
    """A TOML value of ``key``, checked against its field's type (numbers as float where floats go)."""
    if kind is tuple:
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise ConfigError(f"{source}: {key} must be a list of numbers, got {value!r}")
        return tuple(float(v) for v in value)
    ok = _is_number(value) if kind is float else (isinstance(value, kind)
                                                  and (kind is bool or not isinstance(value, bool)))
    if not ok:
        raise ConfigError(f"{source}: {key} = {value!r} has the wrong type")
    choices = _FIELDS[key].metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{source}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return float(value) if kind is float else value


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _check_problem(name: str, prefix: str = "") -> None:
    if name not in PROBLEM_NAMES:
        raise ConfigError(f"{prefix}unknown problem {name!r}; choose one of {', '.join(PROBLEM_NAMES)}")


def _spec(name: str, table: object, source: str) -> OptimizerSpec:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: optimizers.{name} must be a table of hyper-parameters")
    method = table.get("method", name)
    if not isinstance(method, str) or method not in optim.names():
        raise ConfigError(f"{source}: optimizers.{name}: unknown method {method!r}; "
                          f"choose one of {', '.join(optim.names())} (or set method = ...)")
    spec = optim.get(method)
    hyper = {}
    for key, value in table.items():
        if key in ("method", BATCH_KEY):
            continue
        if key not in spec.hyper_names:
            raise ConfigError(f"{source}: optimizers.{name}: {method} has no hyper-parameter {key!r}; "
                              f"it takes {', '.join(spec.hyper_names)}")
        h = spec.hyper(key)
        if h.kind == "real" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        try:
            hyper[key] = h.check(value)
        except InputError as err:
            raise ConfigError(f"{source}: optimizers.{name}.{key}: {err}") from None
    size = table.get(BATCH_KEY)
    if size is not None:
        size = _own_batch(method, size, f"{source}: optimizers.{name}.{BATCH_KEY}")
    return OptimizerSpec(name, method, hyper, size)


BATCH_KEY = "batch_size"
"""The key of an optimizer's own minibatch size, in its TOML table and in ``--set NAME.batch_size=B``."""


def _own_batch(method: str, value: object, where: str) -> int:
    """One optimizer's own batch size (a whole number ≥ 1; its upper end N is checked by the run)."""
    if optim.get(method).full_batch:
        raise ConfigError(f"{where}: {method} takes its gradient on all the data, so it takes no batch size "
                          "(use sgd for minibatches)")
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"{where}: a batch size is a whole number ≥ 1, got {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: a batch size is a whole number ≥ 1, got {value!r}")
    return value


def _plain(value: object) -> object:
    """A value as tomli-w writes it: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def parse_optimizer_list(text: str) -> tuple[OptimizerSpec, ...]:
    """``"gd,momentum,nesterov"`` → specs with no hyper-parameters yet."""
    names = [n.strip() for n in text.split(",")]
    if not any(names):
        raise ConfigError(f"--optimizers expects a comma-separated list, got {text!r}")
    if not all(names):
        raise ConfigError(f"--optimizers {text!r} has an empty name between commas")
    for n in names:
        if n not in optim.names():
            raise ConfigError(f"unknown optimizer {n!r}; choose from {', '.join(optim.names())}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--optimizers lists one more than once: {text!r} (use a config file with "
                          "method = ... to compare two settings of one method)")
    return tuple(OptimizerSpec(n, n) for n in names)
