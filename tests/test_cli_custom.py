"""Your own problem through the command line: --loss, --model, --params, --slice, config files."""

from __future__ import annotations

import os

import numpy as np
import pytest

import descentlab as dl
from descentlab.cli import main
from descentlab.config import Config
from descentlab.scene import slice_trajectory


@pytest.fixture
def scores(tmp_path):
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(-2, 2, 25))
    y = 0.5 - 0.8 * x + 0.6 * x**2 + rng.normal(0, 0.3, 25)
    path = tmp_path / "scores.csv"
    path.write_text("hours,score\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y, strict=True)))
    return path


def test_loss_expression_runs_like_the_built_in_surface(tmp_path, capsys):
    args = ["--start", "-1.5,2", "--optimizer", "nesterov", "--lr", "1e-3", "--beta", "0.9", "--steps", "50"]
    assert main(["run", "--loss", "(1 - x)**2 + 100*(y - x**2)**2", *args, "--save",
                 str(tmp_path / "mine.json")]) == 0
    mine = dl.Trajectory.from_json(tmp_path / "mine.json")
    builtin = dl.run(dl.optimizers.nesterov(lr=1e-3, beta=0.9), dl.problems.rosenbrock(), start=(-1.5, 2),
                     steps=50)
    np.testing.assert_allclose(mine.params, builtin.params, rtol=1e-12, atol=1e-14)
    out = str(tmp_path / "m.png")
    assert main(["figure", "--loss", "(1 - x)**2 + 100*(y - x**2)**2", *args, "-o", out]) == 0
    assert (tmp_path / "m.png").stat().st_size > 10_000


def test_compare_with_a_loss_and_config_round_trip(tmp_path, capsys):
    args = ["compare", "--loss", "x**2 + 10*y**2 + 3*sin(x*y)", "--start", "2,1",
            "--optimizers", "gd,nesterov"]
    assert main([*args, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    assert 'loss = "x**2 + 10*y**2 + 3*sin(x*y)"' in toml and "problem" not in toml
    (tmp_path / "run.toml").write_text(toml)
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 0
    direct = capsys.readouterr().out
    assert main(["compare", "--config", str(tmp_path / "run.toml"), "-o", str(tmp_path / "b.png")]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == direct.splitlines()[:3]


def test_model_with_three_parameters_on_data_and_its_slices(scores, tmp_path, capsys):
    for extra in ([], ["--slice", "p0,p2"]):
        assert main(["figure", "--data", str(scores), "--model", "p0 + p1*x + p2*x**2", *extra,
                     "-o", str(tmp_path / "f.png")]) == 0
    assert main(["compare", "--data", str(scores), "--model", "a + b*x + c*x**2", "--params", "a,b,c",
                 "--slice", "a,c", "--optimizers", "gd,nesterov", "-o", str(tmp_path / "c.png")]) == 0
    assert main(["run", "--data", str(scores), "--model", "p0 + p1*x + p2*x**2", "--optimizer", "gd",
                 "--steps", "3000", "--lr", "0.01", "--save", str(tmp_path / "r.json")]) == 0
    traj = dl.Trajectory.from_json(tmp_path / "r.json")
    table = dl.datasets.read_csv(scores)
    design = np.column_stack([np.ones_like(table.x), table.x, table.x**2])
    best, *_ = np.linalg.lstsq(design, table.y, rcond=None)
    np.testing.assert_allclose(traj.final, best, atol=1e-6)  # least squares, found by descent


def test_slice_figure_is_labelled_and_uses_full_iterates(scores):
    problem = dl.problems.from_expression("p0 + p1*x + p2*x**2", data=dl.datasets.read_csv(scores))
    traj = dl.run(dl.optimizers.nesterov(lr=0.02, beta=0.8), problem, steps=30)
    view = dl.problems.slice_problem(problem, "p0,p2", at=traj.final)
    fig = dl.plot.figure_6_1(view, slice_trajectory(traj, "p0,p2"), full_params=traj.params)
    assert "2-D slice at p1=" in fig._suptitle.get_text()
    ax = next(a for a in fig.axes if a.get_title().startswith("(d)"))
    first = next(line for line in ax.lines if len(line.get_xdata()) == 200)
    xs = first.get_xdata()
    np.testing.assert_allclose(first.get_ydata(), problem.predict(traj.params[0], xs))


BAD = [
    (["figure", "--loss", "x**2 + sni(y)"], "did you mean 'sin'"),
    (["figure", "--loss", "x**2 +"], "column"),
    (["figure", "--loss", "x.real"], "attribute"),
    (["figure", "--loss", "x**2", "--kappa", "3"], "kappa"),
    (["figure", "--loss", "x + y", "--model", "p0*x"], "not both"),
    (["figure", "--model", "p0 + p1*x"], "data"),
    (["figure", "--params", "a,b"], "model"),
    (["figure", "--loss", "x**2", "--slice", "x,q"], "'q'"),
    (["figure", "--loss", "(p0 - 1)**2"], "two parameters"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_expressions_say_where_and_exit_2(args, needle, tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.rstrip().splitlines()
    assert err[0].startswith("descentlab figure: error:") and needle in err[0], err
    assert len(err) in (1, 3)  # one line, or the line and the expression with a caret under the mistake
    if len(err) == 3:
        assert set(err[2].strip()) == {"^"}


def test_hostile_loss_runs_nothing(tmp_path, cli):
    out = cli("figure", "--loss", "__import__('os').system('touch pwned')", "-o", "x.png", cwd=tmp_path)
    assert out.returncode == 2 and "not allowed" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_config_file_names_unknown_expression_keys():
    steps = dl.problems.from_expression("x**2 + y**2").suggested.steps
    assert Config.from_toml('loss = "x**2 + y**2"\n[optimizers.gd]\nlr = 0.1\n').run()[1][0].steps == steps
