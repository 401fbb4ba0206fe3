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
from dataclasses import dataclass, field
from pathlib import Path
from types import NoneType

import numpy as np
import tomli_w

from descentlab import optimizers as optim
from descentlab import validation
from descentlab.catalogue import NAMES as PROBLEM_NAMES
from descentlab.datasets import MODELS as DATA_MODELS
from descentlab.errors import InputError
from descentlab.problems.base import Problem
from descentlab.trajectory import Trajectory

SGD_BATCH = 3
"""Minibatch size used when a stochastic method (sgd) runs without one (sgd with all the data would be gd)."""

HEADER = "# descentlab configuration: descentlab compare --config THIS_FILE -o figure.png\n"


class ConfigError(InputError):
    """A configuration that cannot be used; the message names the key and what is allowed."""


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a run: a display name, its update rule, its hyper-parameters."""

    name: str
    method: str
    hyperparams: dict[str, float | int | str] = field(default_factory=dict)

    def build(self) -> optim.Optimizer:
        return optim.make(self.method, **self.hyperparams)


def _key(default: object, help: str, *short: str):
    """A configuration key: a field of :class:`Config`, which is also the TOML key and the command-line
    option ``--name`` (plus ``short`` flags), with the option's ``help``."""
    return field(default=default, metadata={"help": help, "short": short})


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
    x: str | None = _key(None, "Column of --data used as x (default: first numeric).")
    y: str | None = _key(None, "Column of --data used as y (default: 2nd numeric).")
    kappa: float | None = _key(None, "Condition number κ ≥ 1 (quadratic only; default 10).")
    angle: float | None = _key(
        None, "Rotation of the quadratic's axes in degrees (quadratic only; default 30).")
    start: tuple[float, ...] | None = _key(
        None, "Start point φ_0 as comma-separated numbers, e.g. 1.6,-0.5 (default: suggested for the "
        "problem).")
    steps: int | None = _key(None, "Number of updates T ≥ 0 (default: suggested for the problem).", "-n")
    batch_size: int | None = _key(
        None, "Minibatch size 1..N for data problems (default: all N, except with a stochastic method, which "
        f"draws {SGD_BATCH} examples per step). Compared optimizers share one batch sequence.", "-b")
    seed: int = _key(0, "Seed of the minibatch draw (default 0).")
    optimizers: tuple[OptimizerSpec, ...] = ()  # the tables [optimizers.NAME]

    # ---- building ------------------------------------------------------------------------------

    def build_problem(self) -> Problem:
        """The problem this config names (built-in, or ``data`` read from CSV)."""
        from descentlab import catalogue, datasets

        if self.loss is not None or self.model is not None:
            return self._own_problem()
        if self.params is not None:
            raise ConfigError("params names the parameters of a model; give model too")
        quad = {k: v for k, v in (("kappa", self.kappa), ("angle", self.angle)) if v is not None}
        if quad and self.problem != "quadratic":
            raise ConfigError(f"{next(iter(quad))} applies to problem 'quadratic' only, not {self.problem!r}")
        if self.data is not None:
            return datasets.from_csv(self.data, model=self.problem, x=self.x, y=self.y)
        if self.x is not None or self.y is not None:
            raise ConfigError("x and y choose columns of data; give data (a CSV file) too")
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
        table = datasets.read_csv(self.data, self.x, self.y)
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
            for h in method.hypers:
                if h.name in spec.hyperparams:
                    continue
                suggested = problem.suggested.value(h.suggest) if h.suggest else None
                hyper[h.name] = h.default if suggested is None else suggested
            for key in spec.hyperparams:
                if key not in method.hyper_names:
                    raise ConfigError(f"{spec.name} ({spec.method}) has no hyper-parameter {key!r}; "
                                      f"it takes {', '.join(method.hyper_names)}")
            merged = hyper | spec.hyperparams
            specs.append(OptimizerSpec(spec.name, spec.method, {k: merged[k] for k in method.hyper_names}))
        start = problem.suggested.start if self.start is None else self.start
        batch = self.batch_size
        if batch is None and problem.n_examples is not None and any(optim.get(s.method).stochastic
                                                                    for s in specs):
            batch = min(SGD_BATCH, problem.n_examples)
        return dataclasses.replace(
            self, optimizers=tuple(specs),
            start=tuple(float(v) for v in validation.point("start", start, problem.n_params)),
            steps=problem.suggested.steps if self.steps is None else self.steps, batch_size=batch)

    def run(self) -> tuple[Problem, list[Trajectory]]:
        """Build the problem and run every optimizer from the same start on the same batches."""
        from descentlab.runner import run_many

        problem = self.build_problem()
        full = self.resolved(problem)
        opts = [s.build() for s in full.optimizers]
        return problem, run_many(opts, problem, full.start, full.steps, batch_size=full.batch_size,
                                 seed=full.seed)

    # ---- overrides -----------------------------------------------------------------------------

    def with_set(self, assignment: str) -> Config:
        """Apply ``NAME.KEY=VALUE`` (``nesterov.lr=0.01``) to the optimizer called NAME."""
        target, eq, value = assignment.partition("=")
        name, dot, key = target.strip().rpartition(".")
        if not (eq and dot and name and key and value.strip()):
            raise ConfigError(f"--set expects NAME.KEY=VALUE, e.g. nesterov.lr=0.01; got {assignment!r}")
        names = [s.name for s in self.optimizers]
        if name not in names:
            raise ConfigError(f"--set {target}: {name!r} is not among the optimizers ({', '.join(names)})")
        spec = next(s for s in self.optimizers if s.name == name)
        try:
            parsed = optim.get(spec.method).hyper(key.strip()).parse(value)
        except InputError as err:
            raise ConfigError(f"--set {target}: {err}") from None
        specs = tuple(dataclasses.replace(s, hyperparams={**s.hyperparams, key.strip(): parsed})
                      if s.name == name else s for s in self.optimizers)
        return dataclasses.replace(self, optimizers=specs)

    # ---- TOML ----------------------------------------------------------------------------------

    def to_toml(self) -> str:
        """The config as TOML (``Config.from_toml`` reads it back equal), written by tomli-w."""
        own = self.loss is not None or self.model is not None
        doc = {key: _plain(getattr(self, key)) for key in TOP_KEYS[:-1]
               if getattr(self, key) is not None and not (key == "problem" and own)}
        if self.optimizers:
            doc["optimizers"] = {
                spec.name: ({"method": spec.method} if spec.method != spec.name else {})
                | {k: _plain(v) for k, v in spec.hyperparams.items()} for spec in self.optimizers}
        return HEADER + tomli_w.dumps(doc)

    @classmethod
    def from_toml(cls, text: str, source: str = "config") -> Config:
        """Parse TOML text; ``source`` names it in error messages."""
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML: {err}") from None
        return cls.from_dict(raw, source)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        """Read a TOML file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{p}: cannot read ({getattr(err, 'strerror', None) or err})") from None
        return cls.from_toml(text, str(p))

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
    ok = _is_number(value) if kind is float else (isinstance(value, kind) and not isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{source}: {key} = {value!r} has the wrong type")
    return float(value) if kind is float else value


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
        if key == "method":
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
    return OptimizerSpec(name, method, hyper)


def _plain(value: object) -> object:
    """A value as tomli-w writes it: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def parse_optimizer_list(text: str) -> tuple[OptimizerSpec, ...]:
    """``"gd,momentum,nesterov"`` → specs with no hyper-parameters yet."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"--optimizers expects a comma-separated list, got {text!r}")
    for n in names:
        if n not in optim.names():
            raise ConfigError(f"unknown optimizer {n!r}; choose from {', '.join(optim.names())}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--optimizers lists one more than once: {text!r} (use a config file with "
                          "method = ... to compare two settings of one method)")
    return tuple(OptimizerSpec(n, n) for n in names)
