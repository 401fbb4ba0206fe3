"""Configurations: TOML round trip, resolved defaults, --set overrides, and bad files."""

from __future__ import annotations

import os

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


def test_sgd_draws_its_own_default_batch_for_itself_only():
    """Without a batch size, sgd draws SGD_BATCH examples per step for itself; every other optimizer
    keeps all the data (adding sgd to a comparison never changes another's data)."""
    full = Config(optimizers=parse_optimizer_list("gd,sgd,nesterov"), steps=12).resolved()
    assert full.batch_size is None and [s.batch_size for s in full.optimizers] == [None, 3, None]
    _, (gd, sgd, nag) = Config(optimizers=parse_optimizer_list("gd,sgd,nesterov"), steps=12).run()
    assert gd.batches is None and nag.batches is None  # all the data
    expected = dl.draw_batches(12, 3, 12, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(sgd.batches, expected, strict=True))
    assert sgd.meta["default_batch"] and sgd.batch_size == 3 and "default_batch" not in nag.meta
    _, (alone,) = Config(optimizers=parse_optimizer_list("nesterov"), steps=12).run()
    np.testing.assert_array_equal(alone.params, nag.params)


@pytest.mark.parametrize("names", ["sgd,momentum", "gd,sgd,momentum,adam", "momentum,sgd"])
def test_adding_sgd_never_changes_another_optimizers_data(names):
    alone = {n: Config(optimizers=parse_optimizer_list(n), steps=15).run()[1][0] for n in ("momentum", "sgd")}
    _, trajs = Config(optimizers=parse_optimizer_list(names), steps=15).run()
    got = {t.optimizer: t for t in trajs}
    np.testing.assert_array_equal(got["momentum"].params, alone["momentum"].params)
    assert got["momentum"].batches is None
    np.testing.assert_array_equal(got["sgd"].params, alone["sgd"].params)


def test_an_explicit_batch_size_is_shared_and_one_optimizer_may_have_its_own():
    cfg = Config(optimizers=parse_optimizer_list("gd,sgd,momentum,nesterov"), steps=10, batch_size=4, seed=2)
    cfg = cfg.with_set("nesterov.batch_size=6")
    _, (gd, sgd, mom, nag) = cfg.run()
    four, six = dl.draw_batches(12, 4, 10, seed=2), dl.draw_batches(12, 6, 10, seed=2)
    assert gd.batches is None
    for traj, plan in ((sgd, four), (mom, four), (nag, six)):  # one shared draw per batch size
        assert all(np.array_equal(a, b) for a, b in zip(traj.batches, plan, strict=True))
        assert traj.meta["shared_batches"] and "default_batch" not in traj.meta
    assert (sgd.batch_size, mom.batch_size, nag.batch_size) == (4, 4, 6)
    alone = dl.run(dl.optimizers.make("nesterov", **nag.hyperparams), dl.datasets.line_fit(), steps=10,
                   batch_size=6, seed=2)
    np.testing.assert_array_equal(alone.params, nag.params)
    # the per-optimizer size is part of the configuration: dumped, read back, the same
    full = cfg.resolved()
    again = Config.from_toml(full.to_toml())
    assert [s.batch_size for s in again.optimizers] == [None, 4, 4, 6] and again.to_toml() == full.to_toml()


@pytest.mark.parametrize(("assignment", "needle"), [
    ("gd.batch_size=4", "takes its gradient on all the data"), ("sgd.batch_size=0", "whole number"),
    ("sgd.batch_size=two", "'two'"), ("sgd.batch_size=2.5", "'2.5'")])
def test_bad_own_batch_sizes_are_refused(assignment, needle):
    with pytest.raises(ConfigError, match=needle):
        Config(optimizers=parse_optimizer_list("gd,sgd")).with_set(assignment)
    table = assignment.replace(".batch_size=", "]\nbatch_size = ").replace("two", '"two"')
    with pytest.raises(ConfigError, match="batch"):
        Config.from_toml(f"[optimizers.{table}\n")


def test_run_many_takes_one_batch_size_per_optimizer():
    problem = dl.datasets.line_fit()
    opts = [dl.optimizers.gd(0.03), dl.optimizers.sgd(0.03), dl.optimizers.momentum(0.05, 0.8),
            dl.optimizers.nesterov(0.05, 0.8)]
    trajs = dl.run_many(opts, problem, steps=8, batch_size=[None, 3, None, 3], seed=1)
    assert [t.batch_size for t in trajs] == [None, 3, None, 3] and trajs[2].batches is None
    assert all(np.array_equal(a, b) for a, b in zip(trajs[1].batches, trajs[3].batches, strict=True))
    with pytest.raises(ValueError, match="gd takes its gradient on all the data"):
        dl.run_many(opts, problem, steps=8, batch_size=[2, 3, None, None])
    with pytest.raises(ValueError, match="4 optimizers"):
        dl.run_many(opts, problem, steps=8, batch_size=[3, None])


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
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        Config.load(tmp_path / "bin.toml")
    with pytest.raises(ConfigError, match="not a file but a directory"):
        Config.load(tmp_path)
    os.mkfifo(tmp_path / "pipe.toml")           # would block for ever if it were opened
    with pytest.raises(ConfigError, match="not a file but a named pipe"):
        Config.load(tmp_path / "pipe.toml")
    with pytest.raises(ConfigError, match="not a file but a character device"):
        Config.load("/dev/zero")
    (tmp_path / "big.toml").write_text("# padding\n" * 30_000)
    with pytest.raises(ConfigError, match=r"big\.toml is 300.0 KB; configuration files of at most 256 KB"):
        Config.load(tmp_path / "big.toml")


@pytest.mark.parametrize(("text", "needle"), [
    ("a = " + "[" * 500 + "]" * 500, "nested more than 16 deep"),
    ("a = " + "{b = " * 500 + "1" + "}" * 500, "nested more than 16 deep"),
    ("a" + ".a" * 100_000 + " = 1", "more than 8 parts"),
    ("[" + ".".join(["o"] * 100) + "]", "more than 8 parts"),
    ("a = {" + ".".join(["b"] * 50) + " = 1}", "more than 8 parts"),
])
def test_hostile_shapes_are_refused_before_parsing(text, needle):
    """Nesting and dotted keys that would make the TOML parser recurse or grow without bound."""
    with pytest.raises(ConfigError, match=needle):
        Config.from_toml(text, "run.toml")


def test_brackets_and_dots_in_strings_and_comments_are_not_counted():
    text = ('problem = "quadratic"\n'
            'title = "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{ a.b.c.d.e.f.g.h.i.j"  # [[[[[[[[[\n'
            "[optimizers.'a.b.c.d.e.f.g.h.i.j'] # a.b.c.d.e.f.g.h.i.j\nmethod = \"gd\"\nlr = 0.1\n")
    cfg = Config.from_toml(text)
    assert cfg.title.startswith("[[[[") and cfg.optimizers[0].name == "a.b.c.d.e.f.g.h.i.j"


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
