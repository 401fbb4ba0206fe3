"""Every option of every drawing command survives --dump-config, and a dumped file reads back the same.

* a property test (hypothesis): for each command with --dump-config and random option values,
  dump → --config → dump is identical, and so is the run it describes;
* every option (introspected from the command, so a new one is covered at once) changes the dump
  when it is given, unless it only names where to write;
* relative data paths in a TOML file are read from the file's directory;
* ``compare --save DIR`` and ``figure --from run.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descentlab import optimizers
from descentlab.catalogue import NAMES
from descentlab.cli import app, main
from descentlab.config import PRESENTATION_KEYS, TOP_KEYS, Config, parse_optimizer_list, presentation_keys
from descentlab.errors import InputError
from descentlab.trajectory import Trajectory

COMMANDS = ("figure", "run", "compare", "lookahead", "animate", "html")
SINGLE = ("figure", "run", "lookahead")
WHERE_TO_WRITE = {"--output", "--save", "--config", "--dump-config", "--from", "--help"}
"""Options that say where to write or what to read, not what to run or draw: never in a config."""

DATA = "hours,score,group\n" + "".join(
    f"{1.5 + 0.5 * i:.2f},{38 + 2.4 * i + (-1) ** i * 1.5:.2f},{i % 3}\n" for i in range(15))


def call(*args: str) -> tuple[int, str, str]:
    """``descentlab ARGS`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def options_of(command: str) -> list[str]:
    """The long option names of ``command``, as its help lists them."""
    cmd = typer.main.get_command(app).commands[command]
    return [next(o for o in p.opts if o.startswith("--")) for p in cmd.params]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    (folder / "scores.csv").write_text(DATA, encoding="utf-8")
    return folder


# ---- random command lines -----------------------------------------------------------------------

def _hyper_value(hyper) -> st.SearchStrategy[str]:
    """Text of a valid value of one hyper-parameter (as the command line takes it)."""
    def valid(v) -> bool:
        try:
            hyper.check(v)
        except InputError:
            return False
        return True

    if hyper.kind == "choice":
        return st.sampled_from(hyper.choices)
    lo, hi = hyper.search if hyper.search is not None else (hyper.low, hyper.high)
    if hyper.kind == "int":
        lo = int(max(lo, -1000)) if np.isfinite(lo) else 1
        hi = int(min(hi, lo + 1000)) if np.isfinite(hi) else lo + 100
        return st.integers(lo, hi).filter(valid).map(str)
    lo = lo if np.isfinite(lo) else -1e3
    hi = hi if np.isfinite(hi) else 1e3
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).filter(valid).map(repr)


# what one configuration key can be, for the keys that do not depend on the problem (the others are
# drawn with the problem in ``_problem``); a key that is missing here fails the coverage test below
_SETTING_VALUES: dict[str, st.SearchStrategy[str]] = {
    "steps": st.integers(0, 300).map(str),
    "seed": st.integers(0, 2**31 - 1).map(str),
    "levels": st.sampled_from(["auto", "linear", "log"]),
    "resolution": st.integers(2, 2000).map(str),
    "labels": st.integers(2, 60).map(str),
    "xlim": st.tuples(st.floats(-50, 0), st.floats(0.5, 50)).map(lambda v: f"{v[0]!r},{v[1]!r}"),
    "ylim": st.tuples(st.floats(-50, 0), st.floats(0.5, 50)).map(lambda v: f"{v[0]!r},{v[1]!r}"),
    "aspect": st.sampled_from(["equal", "auto"]),
    "trace": st.sampled_from(["--trace", "--no-trace"]),
    "grid": st.sampled_from(["--grid", "--no-grid"]),
    "step": st.integers(0, 40).map(str),
    "frames": st.integers(2, 500).map(str),
    "fps": st.integers(1, 60).map(str),
    "size": st.tuples(st.integers(100, 2000), st.integers(100, 2000)).map(lambda v: f"{v[0]}x{v[1]}"),
    "dpi": st.integers(20, 300).map(str),
    "title": st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    "rows": st.integers(2, 60).map(str),
    # sweep and tune (their own options; see test_sweep_and_tune_dumps_round_trip)
    "axes": st.just("lr=1e-3:1e-1:4:log"),
    "tol": st.floats(1e-12, 1.0).map(repr),
    "seeds": st.integers(1, 3).map(str),
    "trials": st.integers(1, 8).map(str),
}
_PROBLEM_KEYS = {"problem", "loss", "model", "params", "data", "x", "y", "delimiter", "kappa", "angle",
                 "start", "batch_size", "slice", "reduction"}


def test_every_configuration_key_has_a_strategy():
    """A new Config field must be added to this property test (here or in ``_problem``)."""
    missing = set(TOP_KEYS) - {"optimizers"} - set(_SETTING_VALUES) - _PROBLEM_KEYS
    assert not missing, f"add these keys to the round-trip property test: {sorted(missing)}"


@st.composite
def _problem(draw, data: Path, takes_batches: bool, slices: bool) -> list[str]:
    """Options that choose a problem, with a start, batch size and slice that fit it."""
    kind = draw(st.sampled_from(["built-in", "quadratic", "data", "loss", "model"]))
    args: list[str] = []
    n_params, n_examples = 2, None
    if kind == "built-in":
        args += ["--problem", draw(st.sampled_from([n for n in NAMES if n != "quadratic"]))]
        n_examples = {"line-fit": 12, "gabor": 30}.get(args[-1])
    elif kind == "quadratic":
        args += ["--problem", "quadratic"]
        if draw(st.booleans()):
            args += ["--kappa", repr(draw(st.floats(1.0, 1e4)))]
        if draw(st.booleans()):
            args += ["--angle", repr(draw(st.floats(-180.0, 180.0)))]
    elif kind == "data":
        args += ["--data", str(data), "--problem", draw(st.sampled_from(["line-fit", "gabor"]))]
        x, y = draw(st.sampled_from([(None, None), ("hours", "score"), ("group", "score"), ("hours", None)]))
        args += ["--x", x] if x else []
        args += ["--y", y] if y else []
        args += ["--delimiter", ","] if draw(st.booleans()) else []
        n_examples = 15
    elif kind == "loss":
        loss, n_params = draw(st.sampled_from([("x**2 + 10*y**2", 2), ("(1 - x)**2 + 100*(y - x**2)**2", 2),
                                               ("x**2 + y**2 + z**2", 3)]))
        args += ["--loss", loss]
    else:
        model, params, n_params = draw(st.sampled_from([("p0 + p1*x", None, 2),
                                                        ("p0 + p1*x + p2*x**2", None, 3),
                                                        ("a + b*x", "a,b", 2)]))
        args += ["--data", str(data), "--model", model] + (["--params", params] if params else [])
        n_examples = 15
    if draw(st.booleans()):
        start = draw(st.lists(st.floats(-3, 3), min_size=n_params, max_size=n_params))
        args += ["--start", ",".join(repr(v) for v in start)]
    if n_examples is not None and draw(st.booleans()):
        args += ["--reduction", draw(st.sampled_from(["sum", "mean"]))]
    if n_examples is not None and takes_batches and draw(st.booleans()):
        args += ["--batch-size", str(draw(st.integers(1, n_examples)))]
    if n_params > 2 and slices and draw(st.booleans()):
        names = {"loss": ["x", "y", "z"]}.get(kind, ["p0", "p1", "p2"])
        args += ["--slice", ",".join(draw(st.permutations(names))[:2])]
    return args


@st.composite
def command_lines(draw, command: str, data: Path) -> list[str]:
    """A random, valid command line of ``command`` (without --dump-config)."""
    methods = optimizers.methods()
    if command == "lookahead":
        chosen = [draw(st.sampled_from([n for n, m in methods.items() if m.lookahead]))]
    elif command in SINGLE:
        chosen = [draw(st.sampled_from(list(methods)))]
    else:
        chosen = draw(st.lists(st.sampled_from(list(methods)), min_size=1, max_size=4, unique=True))
    args = ["--optimizer", chosen[0]] if command in SINGLE else ["--optimizers", ",".join(chosen)]
    full_batch = any(methods[m].full_batch for m in chosen)
    args += draw(_problem(data, takes_batches=not (full_batch and command in SINGLE),
                          slices="slice" in presentation_keys(command)))
    own = set(presentation_keys(command)) | {"steps", "seed"}
    for key in sorted(own & set(_SETTING_VALUES)):
        if draw(st.booleans()):
            value = draw(_SETTING_VALUES[key])
            args += [value] if key in ("trace", "grid") else [f"--{key.replace('_', '-')}", value]
    for name in sorted({h for m in chosen for h in methods[m].hyper_names}):
        if draw(st.booleans()):
            taker = next(methods[m] for m in chosen if name in methods[m].hyper_names)
            args += [f"--{name.replace('_', '-')}", draw(_hyper_value(taker.hyper(name)))]
    if command not in SINGLE and draw(st.booleans()):
        method = methods[chosen[-1]]
        if method.hypers:
            hyper = draw(st.sampled_from(method.hypers))
            args += ["--set", f"{method.name}.{hyper.name}={draw(_hyper_value(hyper))}"]
    return args


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_dump_load_dump_is_identical(command, data, data_dir, tmp_path):
    args = data.draw(command_lines(command, data_dir / "scores.csv"))
    status, first, err = call(command, *args, "--dump-config")
    assert status == 0, (args, err)
    assert first.startswith(f"# descentlab configuration: descentlab {command} --config")
    written = tmp_path / "dumped.toml"
    written.write_text(first, encoding="utf-8")
    status, second, err = call(command, "--config", str(written), "--dump-config")
    assert status == 0, (args, err)
    assert second == first
    # the command line over its own dump changes nothing either
    status, third, err = call(command, "--config", str(written), *args, "--dump-config")
    assert (status, third) == (0, first), err
    # and the values given are the values dumped
    cfg = Config.load(written)
    if "--steps" in args:
        assert cfg.steps == int(args[args.index("--steps") + 1])
    for key in presentation_keys(command):
        flag = f"--{key}"
        if flag in args and key not in ("xlim", "ylim", "trace", "grid"):
            assert str(getattr(cfg, key)) == args[args.index(flag) + 1]


@st.composite
def sweep_or_tune_lines(draw, command: str, data: Path) -> list[str]:
    """A random, valid command line of ``sweep`` or ``tune`` (without --dump-config)."""
    methods = optimizers.methods()
    if command == "sweep":
        method = draw(st.sampled_from(["gd", "momentum", "nesterov", "adam"]))
        args = ["--optimizer", method]
        axis = draw(st.sampled_from([[], ["--lr", "1e-3:1e-1:4:log"], ["--axis", "lr=0.01,0.02,0.05"]]))
        args += axis
        held = [h for h in methods[method].hypers if h.name != "lr" and h.kind != "choice"]
        if held and draw(st.booleans()):
            hyper = draw(st.sampled_from(held))
            args += [f"--{hyper.name}", draw(_hyper_value(hyper))]
        for key in ("tol", "seeds"):
            if draw(st.booleans()):
                args += [f"--{key}", draw(_SETTING_VALUES[key])]
        if draw(st.booleans()):
            args += ["--steps", str(draw(st.integers(1, 300)))]
        full_batch = methods[method].full_batch
    else:
        chosen = draw(st.lists(st.sampled_from(["gd", "sgd", "momentum", "nesterov", "adam"]), min_size=1,
                               max_size=3, unique=True))
        args = ["--optimizers", ",".join(chosen)]
        for flag, key in (("--trials", "trials"), ("--seeds", "seeds")):
            if draw(st.booleans()):
                args += [flag, draw(_SETTING_VALUES[key])]
        if draw(st.booleans()):
            args += ["--budget", str(draw(st.integers(1, 300)))]
        full_batch = False
    return args + draw(_problem(data, takes_batches=not full_batch, slices=False))


@pytest.mark.parametrize("command", ["sweep", "tune"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sweep_and_tune_dumps_round_trip(command, data, data_dir, tmp_path):
    """sweep and tune take --config and --dump-config too: dump → --config → dump is identical, the
    command line over the dump changes nothing, and the values given are the values dumped."""
    args = data.draw(sweep_or_tune_lines(command, data_dir / "scores.csv"))
    status, first, err = call(command, *args, "--dump-config")
    assert status == 0, (args, err)
    written = tmp_path / "dumped.toml"
    written.write_text(first, encoding="utf-8")
    status, second, err = call(command, "--config", str(written), "--dump-config")
    assert (status, second) == (0, first), (args, err)
    status, third, err = call(command, "--config", str(written), *args, "--dump-config")
    assert (status, third) == (0, first), (args, err)
    cfg = Config.load(written)
    for flag, key in (("--steps", "steps"), ("--budget", "steps"), ("--seeds", "seeds"),
                      ("--trials", "trials"), ("--tol", "tol")):
        if flag in args:
            assert str(getattr(cfg, key)) == args[args.index(flag) + 1], flag
    if "--lr" in args:
        assert cfg.axes.startswith("lr=1e-3:1e-1:4:log")
    if command == "tune":
        assert all(not spec.hyperparams for spec in cfg.optimizers)   # tune searches them itself


def test_a_sweep_runs_from_its_dump(data_dir, tmp_path):
    """The dumped sweep reproduces the sweep: the same map from the file as from the options."""
    from descentlab.sweep import SweepResult  # noqa: F401  (the result type the map is drawn from)

    args = ["--optimizer", "momentum", "--lr", "0.01,0.05,0.1", "--beta", "0.5", "--steps", "30",
            "--data", str(data_dir / "scores.csv")]
    status, dumped, err = call("sweep", *args, "--dump-config")
    assert status == 0, err
    (tmp_path / "s.toml").write_text(dumped, encoding="utf-8")
    first = call("sweep", *args, "-o", str(tmp_path / "a.png"))
    again = call("sweep", "--config", str(tmp_path / "s.toml"), "-o", str(tmp_path / "b.png"))
    assert first[0] == again[0] == 0
    assert first[1].replace("a.png", "X") == again[1].replace("b.png", "X")       # the same best cell


def test_a_dumped_configuration_reproduces_the_run(data_dir, tmp_path):
    args = ["--data", str(data_dir / "scores.csv"), "--model", "p0 + p1*x", "--optimizers", "sgd,adam",
            "--batch-size", "4", "--seed", "3", "--steps", "25", "--set", "adam.lr=0.05"]
    status, dumped, err = call("compare", *args, "--dump-config")
    assert status == 0, err
    (tmp_path / "c.toml").write_text(dumped, encoding="utf-8")
    direct = Config.load(tmp_path / "c.toml").run()[1]
    again = dataclasses.replace(Config.from_toml(dumped)).run()[1]
    assert direct == again and [t.batch_size for t in direct] == [4, 4]


# ---- every option reaches the dump --------------------------------------------------------------

# a value different from the command's default for each option, and what it needs beside it
_CHANGED = {
    "--optimizer": (["momentum"], []), "--optimizers": (["gd,adam"], []),
    "--set": (["nesterov.lr=0.0123"], ["--optimizers", "nesterov"]),
    "--problem": (["rosenbrock"], []), "--loss": (["x**2 + 3*y**2"], []),
    "--model": (["p0 + p1*x"], ["--data", "DATA"]),
    "--params": (["p1,p0"], ["--data", "DATA", "--model", "p0 + p1*x"]),
    "--data": (["DATA"], []), "--x": (["group"], ["--data", "DATA"]), "--y": (["group"], ["--data", "DATA"]),
    "--delimiter": ([","], ["--data", "DATA"]),
    "--kappa": (["25"], ["--problem", "quadratic"]), "--angle": (["10"], ["--problem", "quadratic"]),
    "--reduction": (["mean"], []),
    "--start": (["0.5,0.25"], []), "--steps": (["7"], []), "--batch-size": (["5"], []), "--seed": (["3"], []),
    "--levels": (["log"], []), "--resolution": (["77"], []), "--labels": (["5"], []),
    "--slice": (["x,z"], ["--loss", "x**2 + y**2 + z**2"]), "--xlim": (["-1,2"], []),
    "--ylim": (["-3,1"], []), "--aspect": (["auto"], []), "--trace": ([], []), "--grid": ([], []),
    "--step": (["3"], []),
    "--frames": (["30"], []), "--fps": (["5"], []), "--size": (["640x480"], []), "--dpi": (["50"], []),
    "--title": (["a title"], []), "--rows": (["5"], []),
}
_OPTIMIZER_FOR = {"--gamma": "adam", "--eps": "adam", "--mode": "linesearch", "--max-dist": "linesearch",
                  "--thresh": "linesearch", "--max-iter": "linesearch"}


def _changed_value(command: str, option: str) -> tuple[list[str], list[str]] | None:
    """(the option's value, the options it needs) — None when the command cannot take it (a
    look-ahead view of a hyper-parameter no look-ahead method has)."""
    if option in _CHANGED:
        return _CHANGED[option]
    name = option[2:].replace("-", "_")
    method = _OPTIMIZER_FOR.get(option, "nesterov")
    if command == "lookahead" and name not in optimizers.get("nesterov").hyper_names:
        return None
    hyper = optimizers.get(method).hyper(name)
    candidates = hyper.choices if hyper.kind == "choice" else [7, 23] if hyper.kind == "int" else \
        [0.0123, 0.456, 1.5e-7, 3.3]

    def fits(v) -> bool:
        try:
            return hyper.check(v) is not None and v != hyper.default
        except InputError:
            return False

    value = str(next(v for v in candidates if fits(v)))
    context = ["--optimizer" if command in SINGLE else "--optimizers", method]
    return [value], context


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_the_command_changes_its_dump(command, data_dir):
    """The bug this guards: --slice, --levels, --resolution, --trace … were left out of the dump."""
    checked = []
    for option in options_of(command):
        if option in WHERE_TO_WRITE or (command == "lookahead" and option == "--optimizer"):
            continue
        change = _changed_value(command, option)
        if change is None:
            continue
        value, context = ([str(data_dir / "scores.csv") if v == "DATA" else v for v in part]
                          for part in change)
        status, base, err = call(command, *context, "--dump-config")
        assert status == 0, (option, err)
        status, changed, err = call(command, *context, option, *value, "--dump-config")
        assert status == 0, (option, err)
        assert changed != base, f"{command} {option} {' '.join(value)} is not in --dump-config"
        checked.append(option)
    assert {"--steps", "--start", "--lr"} <= set(checked)
    assert set(presentation_keys(command)) <= {o[2:] for o in checked}


def test_each_command_has_config_and_dump_config_and_its_own_view_keys():
    every = (*COMMANDS, "sweep", "tune")
    for command in every:
        assert {"--config", "--dump-config"} <= set(options_of(command)), command
    flag = {"axes": "--axis"}          # a sweep's axes are its --axis (and --lr RANGE …) options
    for key in PRESENTATION_KEYS:
        takers = {c for c in every if flag.get(key, f"--{key}") in options_of(c)}
        assert takers and takers == {c for c in every if key in presentation_keys(c)}, key
    assert "--fps" not in options_of("figure") and "--labels" not in options_of("compare")


def test_a_view_key_from_the_file_is_used_and_a_bad_one_is_one_line(tmp_path):
    (tmp_path / "v.toml").write_text('levels = "cubic"\n', encoding="utf-8")
    status, _, err = call("figure", "--config", str(tmp_path / "v.toml"), "-o", str(tmp_path / "f.png"))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "levels" in err
    (tmp_path / "w.toml").write_text("resolution = 1\n", encoding="utf-8")
    status, _, err = call("figure", "--config", str(tmp_path / "w.toml"), "-o", str(tmp_path / "f.png"))
    assert status == 2 and "--resolution" in err and not (tmp_path / "f.png").exists()


# ---- relative data paths ------------------------------------------------------------------------

def test_a_relative_data_path_is_read_from_the_config_files_directory(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "scores.csv").write_text(DATA, encoding="utf-8")
    (project / "run.toml").write_text('data = "scores.csv"\nsteps = 5\n\n[optimizers.gd]\nlr = 0.001\n',
                                      encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "scores.csv").write_text("x,y\n0,100\n1,-50\n2,7\n", encoding="utf-8")  # a decoy
    monkeypatch.chdir(elsewhere)
    cfg = Config.load("../project/run.toml")
    assert Path(cfg.data).resolve() == (project / "scores.csv").resolve()
    status, out, err = call("run", "--config", "../project/run.toml", "--dump-config")
    assert status == 0, err
    dumped = Path(tomllib.loads(out)["data"])
    assert dumped.is_absolute() and dumped.resolve() == (project / "scores.csv").resolve()
    (_, (from_file,)) = cfg.run()
    direct = Config(data=str(project / "scores.csv"), steps=5,
                    optimizers=Config.load(project / "run.toml").optimizers).run()[1][0]
    np.testing.assert_array_equal(from_file.params, direct.params)
    # a path given on the command line is the user's, from the current directory
    status, out, err = call("run", "--config", "../project/run.toml", "--data", "scores.csv", "--dump-config")
    assert status == 0 and Path(tomllib.loads(out)["data"]).resolve() == (elsewhere / "scores.csv").resolve()


def test_figure_takes_a_config_and_picks_one_of_its_optimizers(tmp_path):
    toml = tmp_path / "two.toml"
    status, out, _ = call("compare", "--optimizers", "momentum,adam", "--steps", "9", "--levels", "log",
                          "--dump-config")
    toml.write_text(out, encoding="utf-8")
    status, _, err = call("figure", "--config", str(toml), "-o", str(tmp_path / "f.png"))
    assert status == 2 and "--optimizer NAME" in err and "momentum, adam" in err
    status, out, err = call("figure", "--config", str(toml), "--optimizer", "adam",
                            "-o", str(tmp_path / "f.png"))
    assert status == 0, err
    assert "adam" in out and "9 steps" in out and (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    status, out, _ = call("figure", "--config", str(toml), "--optimizer", "adam", "--dump-config")
    cfg = Config.from_toml(out)
    assert [s.name for s in cfg.optimizers] == ["adam"] and cfg.levels == "log" and cfg.labels == 12


def test_batch_size_for_a_full_batch_method_is_an_error(tmp_path):
    for command in ("run", "figure"):
        for method in ("gd", "linesearch"):
            where = ["-o", str(tmp_path / "f.png")] if command == "figure" else []
            status, _, err = call(command, "--optimizer", method, "--batch-size", "4", *where)
            assert status == 2 and len(err.strip().splitlines()) == 1, err
            assert f"--batch-size 4 does not apply to {method}" in err
    status, _, err = call("run", "--optimizer", "sgd", "--batch-size", "4", "--steps", "3")
    assert status == 0, err


# ---- compare --save DIR -------------------------------------------------------------------------

def _toml_named(tmp_path: Path) -> Path:
    toml = tmp_path / "named.toml"
    toml.write_text('steps = 12\nseed = 4\nbatch_size = 3\n\n[optimizers."nesterov β=0.9"]\n'
                    'method = "nesterov"\nbeta = 0.9\n\n[optimizers.sgd]\nlr = 0.01\n\n[optimizers.gd]\n',
                    encoding="utf-8")
    return toml


def test_compare_save_writes_every_run_and_its_configuration(tmp_path):
    toml, runs = _toml_named(tmp_path), tmp_path / "runs"
    status, out, err = call("compare", "--config", str(toml), "--save", str(runs),
                            "-o", str(tmp_path / "c.png"))
    assert status == 0, err
    assert sorted(p.name for p in runs.iterdir()) == ["config.toml", "gd.json", "nesterov-0.9.json",
                                                     "sgd.json"]
    assert f"saved 3 runs and config.toml in {runs}" in out
    expected = Config.load(toml).run()[1]
    for name, traj in zip(["nesterov-0.9", "sgd", "gd"], expected, strict=True):
        saved = Trajectory.from_json(runs / f"{name}.json")
        assert saved == traj
        assert saved.meta.get("shared_batches", False) == (traj.batches is not None)
    # the saved config.toml reproduces the same runs
    assert Config.load(runs / "config.toml").run()[1] == expected
    assert not list(runs.glob(".*"))  # no temporary files left


def test_compare_save_refuses_a_directory_of_other_files_and_replaces_an_earlier_save(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    status, _, err = call("compare", "--steps", "3", "--save", str(mine), "-o", str(tmp_path / "c.png"))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "notes.txt" in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert not (tmp_path / "c.png").exists()  # refused before anything was drawn
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    status, _, err = call("compare", "--steps", "3", "--save", str(afile), "-o", str(tmp_path / "c.png"))
    assert status == 2 and "not a directory" in err and afile.read_text(encoding="utf-8") == "x"
    runs = tmp_path / "runs"
    assert call("compare", "--steps", "3", "--save", str(runs), "-o", str(tmp_path / "c.png"))[0] == 0
    assert len(list(runs.glob("*.json"))) == len(optimizers.featured())
    status, out, err = call("compare", "--optimizers", "gd,adam", "--steps", "4", "--save", str(runs),
                            "-o", str(tmp_path / "c.png"))
    assert status == 0, err
    assert "earlier save" in out
    assert sorted(p.name for p in runs.iterdir()) == ["adam.json", "config.toml", "gd.json"]
    assert Trajectory.from_json(runs / "gd.json").steps == 4
    # re-running from the saved config into the same directory would overwrite the file being read
    status, _, err = call("compare", "--config", str(runs / "config.toml"), "--save", str(runs),
                          "-o", str(tmp_path / "c.png"))
    assert status == 2 and "refusing to overwrite" in err


# ---- figure --from ------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_figure_from_a_saved_run_draws_it(tmp_path, data_dir, suffix):
    saved = tmp_path / f"run.{suffix}"
    data = data_dir / "scores.csv"
    status, _, err = call("run", "--data", str(data), "--optimizer", "momentum", "--lr", "0.001", "--steps",
                          "30", "--save", str(saved))
    assert status == 0, err
    status, out, err = call("figure", "--from", str(saved), "--levels", "log", "--xlim", "-1,3",
                            "-o", str(tmp_path / "f.png"))
    assert status == 0, err
    assert "momentum (α=0.001" in out and "30 steps" in out
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_figure_from_refuses_what_it_cannot_rebuild(tmp_path, data_dir):
    import descentlab as dl

    bare = tmp_path / "bare.json"
    dl.run(dl.optimizers.gd(lr=0.01), dl.problems.from_expression("x**2 + y**2"), steps=3).to_json(bare)
    status, _, err = call("figure", "--from", str(bare), "-o", str(tmp_path / "f.png"))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "cannot rebuild" in err
    # a data file that changed since the run was saved
    data = tmp_path / "d.csv"
    data.write_text(DATA, encoding="utf-8")
    saved = tmp_path / "run.json"
    status, _, err = call("run", "--data", str(data), "--optimizer", "gd", "--lr", "0.001",
                          "--save", str(saved))
    assert status == 0, err
    data.write_text(DATA.replace("1.50,", "1.70,"), encoding="utf-8")
    status, _, err = call("figure", "--from", str(saved), "-o", str(tmp_path / "f.png"))
    assert status == 2 and "data file changed" in err
    data.unlink()
    status, _, err = call("figure", "--from", str(saved), "-o", str(tmp_path / "f.png"))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "cannot rebuild" in err
    for args, needle in [(["--lr", "0.1"], "--lr"), (["--steps", "3"], "--steps"),
                         (["--optimizer", "gd"], "--optimizer")]:
        status, _, err = call("figure", "--from", str(bare), *args)
        assert status == 2 and needle in err, err
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    status, _, err = call("figure", "--from", str(tmp_path / "junk.json"))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "not a descentlab trajectory" in err
    status, _, err = call("figure", "--from", str(tmp_path / "missing.json"))
    assert status == 2 and "no such file" in err
    assert not (tmp_path / "f.png").exists()


def test_saved_runs_record_their_configuration():
    spec = Config(optimizers=parse_optimizer_list("adam")).resolved().optimizers[0]
    _, (traj,) = Config(problem="quadratic", kappa=20.0, steps=6, levels="log", optimizers=(spec,)).run()
    recorded = Config.from_dict(traj.meta["config"])
    assert recorded.kappa == 20.0 and recorded.steps == 6 and recorded.optimizers == (spec,)
    assert json.loads(json.dumps(traj.meta))["config"] == traj.meta["config"]
    assert all(getattr(recorded, k) is None for k in PRESENTATION_KEYS)
    # where a run came from is not part of what it is: the library's run of the same thing is equal
    import descentlab as dl

    alone = dl.run(spec.build(), dl.problems.quadratic(kappa=20.0), steps=6)
    assert "config" not in alone.meta and alone == traj
    assert dataclasses.replace(alone, meta={"shared_batches": True}) != traj

