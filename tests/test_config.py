"""Configurations: TOML round trip, resolved defaults, --set overrides, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab.config import Config, ConfigError, OptimizerSpec, parse_optimizer_list


def test_dump_and_load_give_the_same_trajectories():
    cfg = Config(optimizers=parse_optimizer_list("sgd,momentum,nesterov,adam"), steps=25, seed=7)
    full = cfg.resolved()
    again = Config.from_toml(full.to_toml())
    assert again == full
    _, first = full.run()
    _, second = again.run()
    assert first == second


def test_resolved_fills_every_default_from_the_problem():
    problem = dl.problems.rosenbrock()
    full = Config(problem="rosenbrock", optimizers=parse_optimizer_list("gd,nesterov,adam")).resolved()
    assert full.start == problem.suggested.start and full.steps == problem.suggested.steps
    gd, nag, adam = full.optimizers
    assert gd.hyperparams == {"lr": problem.suggested.gd_lr}
    assert nag.hyperparams == {"lr": problem.suggested.lr, "beta": problem.suggested.beta}
    assert adam.hyperparams == {"lr": problem.suggested.adam_lr, "beta": 0.9, "gamma": 0.999, "eps": 1e-8}
    assert full.batch_size is None  # no minibatches on a surface


def test_sgd_brings_a_shared_minibatch_sequence():
    full = Config(optimizers=parse_optimizer_list("gd,sgd,nesterov"), steps=12).resolved()
    assert full.batch_size == 3
    _, (gd, sgd, nag) = full.run()
    assert gd.batches is None  # gradient descent always uses all the data
    assert all(np.array_equal(a, b) for a, b in zip(sgd.batches, nag.batches, strict=True))
    assert sgd.meta["shared_batches"] and nag.meta["shared_batches"]
    expected = dl.draw_batches(12, 3, 12, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(sgd.batches, expected, strict=True))


def test_run_many_shares_batches_and_matches_single_runs():
    problem = dl.datasets.line_fit()
    opts = [dl.optimizers.momentum(lr=0.05, beta=0.8), dl.optimizers.nesterov(lr=0.05, beta=0.8)]
    trajs = dl.run_many(opts, problem, steps=10, batch_size=4, seed=2)
    plan = dl.draw_batches(12, 4, 10, seed=2)
    for opt, traj in zip(opts, trajs, strict=True):
        alone = dl.run(opt, problem, steps=10, batches=plan)
        np.testing.assert_array_equal(traj.params, alone.params)
        assert traj.seed == 2 and traj.batch_size == 4


def test_set_overrides_one_optimizer():
    cfg = Config(optimizers=parse_optimizer_list("momentum,nesterov")).with_set("nesterov.lr=0.01")
    assert cfg.optimizers[1].hyperparams == {"lr": 0.01}
    assert cfg.optimizers[0].hyperparams == {}
    assert cfg.resolved().optimizers[1].hyperparams["lr"] == 0.01


@pytest.mark.parametrize(("assignment", "needle"), [
    ("nesterov", "NAME.KEY=VALUE"), ("nesterov.lr", "NAME.KEY=VALUE"), ("lr=0.1", "NAME.KEY=VALUE"),
    ("nesterov.lr=", "NAME.KEY=VALUE"), ("adam.lr=0.1", "not among"),
    ("nesterov.lr=fast", "must be a number"),
])
def test_malformed_set_is_a_config_error(assignment, needle):
    cfg = Config(optimizers=parse_optimizer_list("momentum,nesterov"))
    with pytest.raises(ConfigError, match=needle):
        cfg.with_set(assignment)


def test_a_hyper_parameter_the_method_lacks_is_named():
    with pytest.raises(ConfigError, match="'beta'"):
        Config(optimizers=parse_optimizer_list("gd")).with_set("gd.beta=0.5")


def test_two_settings_of_one_method_by_name_and_method():
    text = """
problem = "quadratic"
kappa = 25.0
steps = 30

[optimizers."nesterov slow"]
method = "nesterov"
lr = 0.01
beta = 0.5

[optimizers."nesterov fast"]
method = "nesterov"
lr = 0.04
beta = 0.9
"""
    cfg = Config.from_toml(text)
    assert [s.method for s in cfg.optimizers] == ["nesterov", "nesterov"]
    problem, trajs = cfg.run()
    assert problem.eigenvalues[-1] == pytest.approx(25.0)
    assert [t.hyperparams["beta"] for t in trajs] == [0.5, 0.9]
    assert Config.from_toml(cfg.resolved().to_toml()) == cfg.resolved()


@pytest.mark.parametrize(("text", "needle"), [
    ("steps = [", "not valid TOML"),
    ("steps = 'many'", "wrong type"),
    ("seed = true", "wrong type"),
    ("colour = 'red'", "unknown key 'colour'"),
    ("problem = 'banana'", "unknown problem"),
    ("start = ['a', 1]", "start must be a list of numbers"),
    ("optimizers = 3", "must be tables"),
    ("[optimizers.lion]\nlr = 0.1", "unknown method 'lion'"),
    ("[optimizers.nesterov]\nlr = 'fast'", "must be a real number"),
])
def test_bad_config_files_raise_config_errors(text, needle):
    with pytest.raises(ConfigError, match=needle):
        Config.from_toml(text, "run.toml")


def test_loading_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        Config.load(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00steps")
    with pytest.raises(ConfigError, match="cannot read"):
        Config.load(tmp_path / "bin.toml")


def test_optimizer_lists_are_checked():
    assert [s.name for s in parse_optimizer_list(" gd, adam ")] == ["gd", "adam"]
    for text, needle in [("", "comma-separated"), ("gd,foo", "unknown optimizer 'foo'"),
                         ("gd,gd", "more than once")]:
        with pytest.raises(ConfigError, match=needle):
            parse_optimizer_list(text)


def test_spec_builds_the_named_method():
    opt = OptimizerSpec("fast", "nesterov", {"lr": 0.1, "beta": 0.5}).build()
    assert opt.name == "nesterov" and opt.hyperparams == {"lr": 0.1, "beta": 0.5}


def test_numpy_values_and_control_characters_round_trip_as_toml():
    import tomllib

    cfg = Config(problem="quadratic", kappa=np.float64(10.0), angle=np.float32(15.5),
                 start=(np.float64(1.5), 2), steps=np.int64(12), optimizers=(OptimizerSpec(
                     "nag \x7f \"quoted\" \\ ö", "nesterov", {"lr": np.float64(0.02), "beta": 0.5}),))
    text = cfg.to_toml()
    assert "np.float64" not in text and "\x7f" not in text  # U+007F is escaped, numpy scalars plain
    raw = tomllib.loads(text)  # valid TOML by the standard library's parser
    assert raw["kappa"] == 10.0 and type(raw["kappa"]) is float and type(raw["steps"]) is int
    again = Config.from_toml(text)
    assert again == cfg
    assert again.optimizers[0].name == "nag \x7f \"quoted\" \\ ö"
    assert type(again.kappa) is float and again.start == (1.5, 2.0)
    assert again.run()[1] == cfg.run()[1]


def test_a_string_hyper_parameter_round_trips():
    cfg = Config(optimizers=(OptimizerSpec("ls", "linesearch", {"mode": "exact"}),), steps=5).resolved()
    text = cfg.to_toml()
    assert 'mode = "exact"' in text and 'method = "linesearch"' in text and "max_iter = 15" in text
    again = Config.from_toml(text)
    assert again == cfg and again.optimizers[0].hyperparams["mode"] == "exact"
    assert again.run()[1] == cfg.run()[1]
    with pytest.raises(ConfigError, match=r"mode .*one of bracket, exact"):
        Config.from_toml('[optimizers.linesearch]\nmode = "fastest"\n')
    with pytest.raises(ConfigError, match="max_iter"):
        Config.from_toml("[optimizers.linesearch]\nmax_iter = 2.5\n")


def test_the_fields_of_config_are_the_keys():
    import dataclasses

    from descentlab.config import TOP_KEYS

    assert TOP_KEYS == tuple(f.name for f in dataclasses.fields(Config))
    assert TOP_KEYS[-1] == "optimizers"
    # every key but the tables is type-checked, from the field's annotation
    for key, bad in [("problem", 3), ("loss", 1.0), ("kappa", "ten"), ("angle", True), ("steps", 2.5),
                     ("batch_size", "3"), ("seed", 1.0), ("start", 1.0), ("x", [1])]:
        with pytest.raises(ConfigError, match=key):
            Config.from_dict({key: bad}, "run.toml")
    assert Config.from_dict({"kappa": 3, "problem": "quadratic"}).kappa == 3.0
