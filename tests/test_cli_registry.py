"""The command line reads the optimizer registry: its methods, their hyper-parameter options, their
capabilities; and only bad input (not a bug) becomes one line and exit status 2."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import pytest

import descentlab as dl
from descentlab import config as config_mod
from descentlab.cli import main
from descentlab.config import Config
from descentlab.optimizers import registry


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("descentlab") and "Traceback" not in err
    return lines[0]


def test_every_registered_hyper_parameter_is_an_option(cli):
    out = cli("run", "--help")
    assert out.returncode == 0
    for name in dl.optimizers.all_hypers():
        assert "--" + name.replace("_", "-") in out.stdout
    for name in dl.optimizers.names():
        assert name in out.stdout


def test_figure_of_the_book_line_search_with_its_mode(tmp_path, capsys):
    # the book's Figure 6.1: gradient descent with line search, iterates 0…4
    assert main(["figure", "--optimizer", "linesearch", "--mode", "exact", "--steps", "4",
                 "-o", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert "linesearch" in capsys.readouterr().out
    assert main(["run", "--optimizer", "linesearch", "--mode", "exact", "--steps", "4",
                 "--save", str(tmp_path / "r.json")]) == 0
    traj = dl.Trajectory.from_json(tmp_path / "r.json")
    assert traj.steps == 4 and traj.hyperparams["mode"] == "exact"
    problem = dl.datasets.line_fit()
    # the Hessian of a linear gradient, column by column: H e_i = g(e_i) − g(0)
    hess = np.column_stack([problem.grad(e) - problem.grad(np.zeros(2)) for e in np.eye(2)])
    g = traj.grads
    np.testing.assert_allclose(traj.buffers["alpha"][1:], np.einsum("ti,ti->t", g, g)
                               / np.einsum("ti,ij,tj->t", g, hess, g), rtol=1e-10)
    np.testing.assert_allclose(np.einsum("ti,ti->t", g[1:], g[:-1]), 0.0, atol=1e-9)  # orthogonal steps


def test_run_with_every_linesearch_option_equals_the_library(tmp_path):
    args = ["--mode", "bracket", "--max-dist", "0.5", "--thresh", "1e-6", "--max-iter", "30"]
    assert main(["run", "--optimizer", "linesearch", *args, "--steps", "6",
                 "--save", str(tmp_path / "r.json")]) == 0
    expected = dl.run(dl.optimizers.linesearch(mode="bracket", max_dist=0.5, thresh=1e-6, max_iter=30),
                      dl.datasets.line_fit(), steps=6)
    assert dl.Trajectory.from_json(tmp_path / "r.json") == expected


BAD = [
    (["run", "--optimizer", "linesearch", "--mode", "bogus"], ["'bogus'", "--mode"]),
    (["figure", "--optimizer", "linesearch", "--lr", "0.1"], ["--lr", "linesearch"]),
    (["run", "--optimizer", "linesearch", "--max-iter", "2.5"], ["--max-iter", "integer"]),
    (["run", "--optimizer", "adam", "--mode", "exact"], ["--mode", "adam"]),
    (["run", "--optimizer", "linesearch", "--mode", "exact", "--problem", "rosenbrock"], ["Hessian"]),
    (["lookahead", "--optimizer", "adam"], ["look-ahead", "adam"]),
    (["lookahead", "--optimizer", "linesearch"], ["linesearch does not"]),
    (["compare", "--optimizers", "gd,adagrad", "--mode", "exact"], ["--mode", "gd, adagrad"]),
    (["compare", "--optimizers", "linesearch", "--set", "linesearch.mode=fast"], ["'fast'"]),
    (["sweep", "--optimizer", "gd", "--axis", "beta=0:0.5:3"], ["--axis beta", "gd"]),
    (["sweep", "--axis", "lr"], ["NAME=RANGE"]),
    (["sweep", "--lr", "1e-3:1e-1:3", "--axis", "lr=0.1,0.2"], ["twice"]),
    (["sweep", "--optimizer", "adam", "--lr", "1e-3:1e-1:3", "--beta", "0:0.9:3", "--gamma", "0.9,0.99"],
     ["at most two axes"]),
    (["sweep", "--optimizer", "gd", "--lr", "0.1"], ["nothing to sweep"]),
    (["sweep", "--optimizer", "linesearch", "--mode", "exact,bracket"], ["--mode"]),
    (["sweep", "--optimizer", "linesearch", "--max-iter", "1,2.5"], ["max_iter", "integer"]),
    (["sweep", "--lr", "1e-4:1e-1:0"], ["--lr", "COUNT"]),
    (["tune", "--optimizers", "gd,lion"], ["lion"]),
]


@pytest.mark.parametrize(("args", "needles"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_registry_input_is_one_line_and_exit_2(args, needles, tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(args) == 2
    line = one_error_line(capsys)
    for needle in needles:
        assert needle in line
    assert list(tmp_path.iterdir()) == []


def test_compare_new_methods_and_shared_options(tmp_path, capsys):
    args = ["compare", "--optimizers", "adagrad,rmsprop,linesearch", "--lr", "0.05", "--steps", "15"]
    assert main([*args, "-o", str(tmp_path / "c.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["adagrad", "rmsprop", "linesearch"]
    assert "α=0.05" in lines[1] and "α=0.05" in lines[2] and "α" not in lines[3]  # --lr: only those with α
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_dump_config_of_a_comparison_with_line_search_reproduces_it(tmp_path, capsys):
    args = ["compare", "--optimizers", "gd,linesearch", "--mode", "exact", "--max-iter", "7", "--steps", "9"]
    assert main([*args, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    assert 'mode = "exact"' in toml and "max_iter = 7\n" in toml
    cfg = Config.from_toml(toml)
    ls = cfg.optimizers[1]
    assert ls.method == "linesearch"
    assert ls.hyperparams == {"mode": "exact", "max_dist": 0.1, "thresh": 1e-5, "max_iter": 7}
    assert isinstance(ls.hyperparams["max_iter"], int)
    (tmp_path / "run.toml").write_text(toml)
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 0
    direct = capsys.readouterr().out
    assert main(["compare", "--config", str(tmp_path / "run.toml"), "-o", str(tmp_path / "b.png")]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == direct.splitlines()[:3]


def test_sweep_any_method_its_searchable_axes(tmp_path, capsys):
    assert main(["sweep", "--optimizer", "adagrad", "--steps", "30", "-o", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    assert "<SweepResult adagrad on 'line-fit': 64 lr × 1 seeds" in out  # one searchable hyper, one axis
    assert "best: lr=" in out and "," not in out.split("best:")[1].splitlines()[0]
    assert main(["sweep", "--optimizer", "linesearch", "--axis", "max_dist=0.01:1:5:log", "--thresh", "1e-6",
                 "--steps", "5", "-o", str(tmp_path / "l.png")]) == 0
    assert "5 max_dist × 1 seeds" in capsys.readouterr().out
    # an integer axis; max_dist, searchable, fills the other
    assert main(["sweep", "--optimizer", "linesearch", "--axis", "max_iter=1,2,4", "--steps", "3",
                 "-o", str(tmp_path / "i.png")]) == 0
    assert "3 max_iter × 64 max_dist × 1 seeds" in capsys.readouterr().out
    # --lr RANGE and --axis NAME=RANGE are the same axis; an unnamed searchable one fills the second
    assert main(["sweep", "--optimizer", "momentum", "--axis", "lr=1e-3:1e-1:4:log", "--steps", "20",
                 "-o", str(tmp_path / "m.png")]) == 0
    assert "4 lr × 64 beta × 1 seeds" in capsys.readouterr().out
    assert main(["sweep", "--optimizer", "momentum", "--lr", "1e-3:1e-1:4:log", "--beta", "0.5",
                 "--steps", "20", "-o", str(tmp_path / "m1.png")]) == 0
    assert "4 lr × 1 seeds" in capsys.readouterr().out  # one value holds β fixed


def test_tune_accepts_any_registered_method(capsys):
    assert main(["tune", "--optimizers", "adagrad,linesearch", "--budget", "20", "--trials", "3",
                 "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:3]}
    assert set(rows) == {"adagrad", "linesearch"}
    assert "lr=" in rows["adagrad"] and "max_dist=" in rows["linesearch"]


class ScaledState(NamedTuple):
    params: np.ndarray


@pytest.fixture
def plugin(monkeypatch):
    """A method registered after the CLI was imported (as a test or a late plugin does): φ ← φ − α·κ·g."""
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))

    @registry.register("scaledgd", registry.learning_rate("gd"),
                       registry.Hyper("scale", "κ", default=1.0, low=0.0, low_open=True, search=(0.1, 2.0),
                                      help="multiplies the step"))
    def scaledgd(lr, scale=1.0):
        def init(params):
            return ScaledState(np.array(params, dtype=np.float64))

        def update(state, grad):
            return ScaledState(state.params - lr * scale * grad)

        return registry.Rule(init, update)

    return scaledgd


def test_a_late_registered_method_gets_its_options(plugin, tmp_path, capsys):
    assert main(["run", "--optimizer", "scaledgd", "--lr", "0.01", "--scale", "2", "--steps", "7",
                 "--save", str(tmp_path / "p.json")]) == 0
    mine = dl.Trajectory.from_json(tmp_path / "p.json")
    gd = dl.run(dl.optimizers.gd(lr=0.02), dl.datasets.line_fit(), steps=7)
    np.testing.assert_allclose(mine.params, gd.params, rtol=1e-12, atol=1e-15)
    assert main(["run", "--optimizer", "gd", "--scale", "2"]) == 2
    assert "--scale does not apply to gd" in one_error_line(capsys)
    assert main(["sweep", "--optimizer", "scaledgd", "--lr", "0.01", "--steps", "10",
                 "-o", str(tmp_path / "s.png")]) == 0
    assert "64 scale × 1 seeds" in capsys.readouterr().out


def test_a_bug_keeps_its_traceback(monkeypatch, capsys):
    def broken(self, **kwargs):
        return 1 / 0

    monkeypatch.setattr(config_mod.Config, "run", broken)
    with pytest.raises(ZeroDivisionError):
        main(["run", "--steps", "3"])

    def plain_value_error(self, **kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(config_mod.Config, "run", plain_value_error)
    with pytest.raises(ValueError, match="a bug"):
        main(["run", "--steps", "3"])
    assert "error:" not in capsys.readouterr().err
