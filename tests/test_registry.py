"""The optimizer registry: Hyper specs, registration checks, buffers recorded by name, the
trajectory format's versions, colours that never run out, and the README's own example."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import descentlab as dl
from descentlab import divergence, optimizers, problems, theme
from descentlab.errors import InputError, InputTypeError
from descentlab.optimizers import Hyper, Rule, register
from descentlab.optimizers import registry as reg
from descentlab.sweep import sweep
from descentlab.trajectory import Trajectory

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def scratch_registry():
    """Register throwaway methods and remove them afterwards."""
    before = dict(reg._METHODS)
    yield
    reg._METHODS.clear()
    reg._METHODS.update(before)


# ---- Hyper ---------------------------------------------------------------------------------

def test_hyper_checks_reals_with_open_and_closed_ends():
    beta = optimizers.get("momentum").hyper("beta")
    assert beta.check(0) == 0.0 and type(beta.check(0)) is float
    assert beta.allowed == "in [0, 1)"
    for bad in (1.0, -1e-300, math.nan, math.inf):
        with pytest.raises(InputError, match=r"beta \(β\) must be in \[0, 1\)"):
            beta.check(bad)
    with pytest.raises(InputTypeError):
        beta.check("0.5")
    lr = optimizers.get("gd").hyper("lr")
    assert lr.allowed == "finite and > 0"
    with pytest.raises(InputError, match="> 0, got 0"):
        lr.check(0)
    arr = lr.check(np.array([0.1, 0.2]))
    assert arr.dtype == np.float64
    with pytest.raises(InputError, match=r"-0\.5"):
        lr.check(np.array([0.1, -0.5]))


def test_hyper_int_and_choice_kinds_parse_text():
    ls = optimizers.get("linesearch")
    assert ls.hyper("mode").parse(" exact ") == "exact"
    with pytest.raises(InputError, match="one of bracket, exact, got 'fast'"):
        ls.hyper("mode").parse("fast")
    with pytest.raises(InputTypeError):
        ls.hyper("mode").check(1.0)
    assert ls.hyper("max_iter").parse("40") == 40
    with pytest.raises(InputError, match="an integer"):
        ls.hyper("max_iter").parse("4.5")
    with pytest.raises(InputError):
        ls.hyper("max_iter").parse("0")
    with pytest.raises(InputError, match="a number, got 'abc'"):
        ls.hyper("thresh").parse("abc")


def test_hyper_search_ranges_give_grids_and_samples():
    lr = optimizers.get("nesterov").hyper("lr")
    grid = lr.grid(5)
    np.testing.assert_allclose(np.diff(np.log(grid)), np.log(1e4) / 4)  # geometric over [1e-4, 1]
    u = np.linspace(0, 1, 11)
    np.testing.assert_allclose(lr.sample(u), np.geomspace(1e-4, 1.0, 11))
    beta = optimizers.get("nesterov").hyper("beta")
    np.testing.assert_allclose(beta.sample(u), np.linspace(0, 0.99, 11))
    with pytest.raises(InputError, match="no search range"):
        optimizers.get("linesearch").hyper("thresh").grid(3)


@pytest.mark.parametrize("kwargs", [dict(name="not a name", symbol="x"),
                                    dict(name="k", symbol="k", kind="text"),
                                    dict(name="k", symbol="k", kind="choice"),
                                    dict(name="k", symbol="k", search=(0.0, 1.0), scale="log")])
def test_bad_specs_are_refused(kwargs):
    with pytest.raises(ValueError):
        Hyper(**kwargs)


# ---- register ------------------------------------------------------------------------------

def test_register_checks_the_factory_against_its_specs(scratch_registry):
    rate = Hyper("rate", "r", default=0.1, low=0.0, low_open=True)
    with pytest.raises(ValueError, match="factory takes"):
        register("wrong-args", rate)(lambda lr: None)
    with pytest.raises(ValueError, match=r"defaults to 0\.2 in the factory but 0\.1"):
        @register("wrong-default", rate)
        def f(rate=0.2):
            return None
    with pytest.raises(ValueError, match="an optimizer name"):
        register("bad name!", rate)
    with pytest.raises(ValueError, match="'nesterov' is already registered"):  # no silent takeover
        @register("nesterov", rate)
        def impostor(rate=0.1):
            return None
    with pytest.raises(TypeError, match=r"must return a descentlab\.optimizers\.Rule"):
        @register("returns-none", rate)
        def g(rate=0.1):
            return None
        g()


def test_registry_lists_builtins_in_order_with_declared_capabilities():
    names = optimizers.names()
    assert names[:8] == ("gd", "sgd", "momentum", "nesterov", "adam", "adagrad", "rmsprop", "linesearch")
    assert optimizers.featured() == ("gd", "momentum", "nesterov", "adam")
    caps = {n: m for n, m in optimizers.methods().items()}
    assert [n for n in names if caps[n].lookahead] == ["nesterov"]
    assert [n for n in names if caps[n].full_batch] == ["gd", "linesearch"]
    assert [n for n in names if caps[n].linear is not None] == ["gd", "sgd", "momentum", "nesterov"]
    assert [n for n in names if caps[n].needs_loss] == ["linesearch"]
    with pytest.raises(InputError, match="unknown optimizer 'newton'; choose one of gd, sgd"):
        optimizers.get("newton")


def test_labels_use_the_declared_symbols():
    assert optimizers.describe("rmsprop", {"lr": 0.01, "gamma": 0.9, "eps": 1e-8}) == \
        "rmsprop (α=0.01, γ=0.9, ε=1e-08)"
    assert optimizers.linesearch(mode="exact").label == "linesearch (exact)"  # bracket settings do not apply
    assert optimizers.linesearch().label == "linesearch (bracket, d=0.1, τ=1e-05, n=15)"


# ---- run records what the state declares -------------------------------------------------

BUFFERS = {"gd": [], "sgd": [], "momentum": ["momentum"], "nesterov": ["momentum"],
           "adam": ["momentum", "second_moment"], "adagrad": ["sum_of_squares"],
           "rmsprop": ["second_moment"], "linesearch": ["alpha"]}


@pytest.mark.parametrize("name", list(BUFFERS))
def test_every_builtin_runs_records_its_buffers_and_round_trips(name):
    problem = dl.datasets.line_fit()
    hyper = {"lr": 0.01} if "lr" in optimizers.hyperparameter_names(name) else {}
    opt = optimizers.make(name, **hyper)
    traj = dl.run(opt, problem, steps=12, batch_size=3 if optimizers.get(name).stochastic else None)
    assert list(traj.buffers) == BUFFERS[name]
    # the buffers are the states a plain loop of init / gradient_point / update goes through
    state = opt.init(problem.suggested.start)
    for t in range(traj.steps):
        batch = None if traj.batches is None else traj.batches[t]
        x = opt.gradient_point(state)
        assert np.array_equal(x, traj.lookahead[t])
        g = problem.grad(x, batch)
        state = opt.update(state, g, dl.runner.probe(problem, batch)) if opt.method.needs_loss \
            else opt.update(state, g)
        assert np.array_equal(state.params, traj.params[t + 1])
        for key in BUFFERS[name]:
            assert np.array_equal(getattr(state, key), traj.buffers[key][t + 1])
    assert traj.losses[-1] < traj.losses[0]
    assert Trajectory.from_csv(traj.to_csv(), meta=traj.csv_metadata()) == traj
    assert Trajectory.from_json(traj.to_json()) == traj
    assert json.loads(traj.to_json())["format"] == "descentlab-trajectory/3"


def _as_version_1(traj: Trajectory) -> tuple[str, str]:
    """The JSON and CSV texts that version 1 wrote for ``traj`` (momentum / Adam only)."""
    has = [k for k in ("momentum", "second_moment") if k in traj.buffers]
    header = {"format": "descentlab-trajectory/1", "optimizer": traj.optimizer,
              "hyperparams": traj.hyperparams, "problem": traj.problem, "param_names": list(traj.param_names),
              "diverged_at": traj.diverged_at, "seed": traj.seed, "batch_size": traj.batch_size, "has": has,
              "meta": {}}
    d = dict(header, params=traj.params.tolist(), losses=traj.losses.tolist(),
             lookahead=traj.lookahead.tolist(), grads=traj.grads.tolist(), batches=None,
             momentum=traj.buffers["momentum"].tolist(),
             second_moment=traj.buffers["second_moment"].tolist() if "second_moment" in has else None)
    names = traj.param_names
    cols = ["step", "loss", *names]
    for key, prefix in (("momentum", "m"), ("second_moment", "v")):
        if key in has:
            cols += [f"{prefix}_{n}" for n in names]
    cols += [f"lookahead_{n}" for n in names] + [f"grad_{n}" for n in names] + ["batch"]
    lines = ["# " + json.dumps(header), ",".join(cols)]
    for t in range(len(traj.params)):
        row = [str(t), repr(float(traj.losses[t]))] + [repr(float(v)) for v in traj.params[t]]
        for key in has:
            row += [repr(float(v)) for v in traj.buffers[key][t]]
        if t < traj.steps:
            row += [repr(float(v)) for v in (*traj.lookahead[t], *traj.grads[t])] + [""]
        else:
            row += [""] * (2 * len(names) + 1)
        lines.append(",".join(row))
    return json.dumps(d), "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["nesterov", "adam"])
def test_version_1_files_still_load(name):
    traj = dl.run(optimizers.make(name, lr=0.02), dl.datasets.line_fit(), steps=7)
    text_json, text_csv = _as_version_1(traj)
    assert Trajectory.from_json(text_json) == traj
    assert Trajectory.from_csv(text_csv) == traj
    with pytest.raises(InputError, match="not a descentlab trajectory"):
        Trajectory.from_json(json.dumps({"format": "something/9"}))


# ---- one divergence rule ------------------------------------------------------------------

def test_run_and_sweep_share_the_divergence_rule():
    problem = problems.quadratic(kappa=10.0)
    lrs = np.array([0.05, 0.2, 0.5, 1.2, 3.0])
    result = sweep(problem, "nesterov", {"lr": lrs, "beta": [0.9]}, steps=200, engine="numpy")
    compiled = sweep(problem, "nesterov", {"lr": lrs, "beta": [0.9]}, steps=200, engine="numba")
    for i, lr in enumerate(lrs):
        traj = dl.run(optimizers.nesterov(lr=lr, beta=0.9), problem, steps=200)
        expected = -1 if traj.diverged_at is None else traj.diverged_at
        assert result.diverged_at[i, 0, 0] == expected == compiled.diverged_at[i, 0, 0]
    assert (result.diverged_at >= 0).any() and (result.diverged_at < 0).any()
    # the rule itself: the loss bound, NaN, and a non-finite buffer
    limit = divergence.bound(3.0)
    assert limit == divergence.FACTOR * 3.0
    assert list(divergence.diverged(np.array([1.0, 2 * limit, np.nan, 1.0]), limit,
                                    [np.array([[0.0], [0.0], [0.0], [np.inf]])])) == [False, True, True, True]


# ---- theme ---------------------------------------------------------------------------------

def test_path_styles_use_declared_colours_and_never_run_out():
    styles = theme.path_styles(["nesterov", "momentum", "gd"])
    assert styles == [("#d62728", "^"), ("#1f77b4", "s"), ("#222222", "o")]
    many = theme.path_styles(["nesterov"] * 40 + ["adam", "unregistered"])
    assert len(set(many)) == len(many) == 42
    assert many[0] == ("#d62728", "^") and many[40] == ("#2ca02c", "D")


# ---- the README's example ------------------------------------------------------------------

def test_the_readme_plugin_example_registers_a_working_method(scratch_registry):
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```python\n(import numpy as np\nfrom typing import NamedTuple\n.*?)```", text, re.S)
    assert block, "the README's registration example is missing"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert "polyak" in optimizers.names()
    assert optimizers.get("polyak").hyper("eta").symbol == "η"
    problem = dl.datasets.line_fit()
    eta, mu = 0.004, 0.8
    heavy = dl.run(optimizers.make("polyak", eta=eta, mu=mu), problem, steps=60)
    book = dl.run(optimizers.momentum(lr=eta / (1 - mu), beta=mu), problem, steps=60)
    np.testing.assert_allclose(heavy.params, book.params, rtol=1e-12, atol=1e-12)
    assert heavy.label == "polyak (η=0.004, μ=0.8)"


def test_state_types_are_namedtuples_with_params_first():
    for name in optimizers.names():
        hyper = {"lr": 0.1} if "lr" in optimizers.hyperparameter_names(name) else {}
        state = optimizers.make(name, **hyper).init([1.0, 2.0])
        assert isinstance(state, tuple) and hasattr(state, "_fields") and state._fields[0] == "params"
        assert state.params.dtype == np.float64


def test_a_method_without_a_state_class_of_its_own_fails_at_once(scratch_registry):
    class Bare(NamedTuple):
        params: np.ndarray

    @register("bare", Hyper("lr", "α", default=0.1, low=0.0, low_open=True))
    def bare(lr=0.1):
        return Rule(lambda p: Bare(np.asarray(p, dtype=float)), lambda s, g: Bare(s.params - lr * g))

    traj = dl.run(bare(), dl.datasets.line_fit(), steps=3)
    assert traj.buffers == {} and traj.steps == 3
