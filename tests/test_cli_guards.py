"""Small promises of the command line: --version, tune's progress bar, rates at κ = 1, inputs that
are never overwritten, and the README's own-problem snippet, executed."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest

import descentlab as dl
from conftest import DESCENTLAB
from descentlab import problems, theory
from descentlab.cli import main
from descentlab.runner import run

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_installed_distributions(cli):
    out = cli("--version")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert out.returncode == 0 and out.stdout == f"descentlab {version}\n" and out.stderr == ""
    assert dl.__version__ == version


def _on_a_terminal(*args: str) -> str:
    """Run ``descentlab ARGS`` with stderr on a pseudo-terminal; what the terminal showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(DESCENTLAB), *args], stdout=subprocess.DEVNULL, stderr=follower,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    return shown.decode()


def test_tune_draws_a_progress_bar_on_a_terminal_and_nothing_when_piped(cli):
    args = ("tune", "--optimizers", "gd,nesterov", "--trials", "4", "--seeds", "3", "--budget", "20")
    shown = _on_a_terminal(*args)
    states = re.findall(r"tuning \[[# ]+\] +(\d+)/(\d+)", shown)
    assert [int(d) for d, _ in states] == list(range(1, 7)) and {t for _, t in states} == {"6"}
    piped = cli(*args)
    assert piped.returncode == 0 and piped.stderr == ""


def test_rates_at_kappa_one_converge_in_one_step(capsys):
    """κ = 1: every optimal tuning is α = 1/L, β = 0, and lands on the minimum in one step."""
    assert main(["rates", "--kappa", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("gd", "momentum", "nesterov"))]
    assert len(rows) == 4
    for row in rows:
        assert row[-3:] == ["0.000000", "0.000000", "1"], row  # ρ predicted, ρ observed, steps
    problem = problems.quadratic(kappa=1.0)
    mu, big = theory.eigenvalue_range(problem)
    for tuning in theory.reference_tunings(mu, big).values():
        traj = run(tuning.optimizer(), problem, steps=5)
        assert np.linalg.norm(traj.params[1] - problem.minima[0]) <= 1e-12
        assert theory.observed_rate(problem, traj) == 0.0


def test_rates_at_kappa_one_draws_its_plot(tmp_path, capsys):
    assert main(["rates", "--kappa", "1", "--steps", "10", "--plot", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_observed_rate_still_refuses_a_run_it_cannot_measure():
    problem = problems.quadratic(kappa=10.0)
    with pytest.raises(dl.errors.InputError, match="too short"):
        theory.observed_rate(problem, run(dl.optimizers.gd(lr=0.01), problem, steps=1))


# ---- never overwrite a file being read ----------------------------------------------------------

DATA = "hours,score\n" + "".join(f"{1.5 + 0.5 * i:.1f},{38 + 2.5 * i}\n" for i in range(12))


@pytest.mark.parametrize("args", [
    ["run", "--save", "d.csv"],
    ["run", "--save", "./sub/../d.csv"],
    ["figure", "-o", "d.png", "--data", "d.png"],
    ["compare", "-o", "d.png", "--data", "d.png"],
    ["html", "-o", "d.html", "--data", "d.html"],
    ["animate", "-o", "d.gif", "--data", "d.gif"],
    ["lookahead", "-o", "d.png", "--data", "d.png"],
    ["sweep", "-o", "d.png", "--data", "d.png"],
    ["tune", "-o", "d.png", "--data", "d.png"],
    ["figure", "--config", "c.png", "-o", "c.png"],
], ids=lambda a: " ".join(a))
def test_an_input_file_is_never_overwritten(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("d.csv", "d.png", "d.html", "d.gif"):
        (tmp_path / name).write_text(DATA, encoding="utf-8")
    (tmp_path / "c.png").write_text("steps = 3\n", encoding="utf-8")  # a TOML file, oddly named
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    full = [*args, "--data", "d.csv"] if "--data" not in args and "--config" not in args else args
    assert main(full) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to overwrite" in err[0], err
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_the_sidecar_of_a_csv_is_not_an_input_either(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv.meta.json").write_text(DATA, encoding="utf-8")
    assert main(["run", "--data", "r.csv.meta.json", "--save", "r.csv"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "r.csv.meta.json").read_text(encoding="utf-8") == DATA


# ---- the README's own-problem snippet runs ------------------------------------------------------

def test_the_readme_own_problem_snippet_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import numpy as np\nimport descentlab as dl\n\ndata = .*?)```", text,
                      re.S)
    assert block, "the README's own-problem snippet is missing"
    assert "from_model" in block.group(1)
    monkeypatch.chdir(tmp_path)
    x = np.linspace(0.0, 3.0, 20)
    rows = "".join(f"{float(a)!r},{float(2.0 * np.exp(-0.7 * a))!r}\n" for a in x)
    (tmp_path / "scores.csv").write_text("x,y\n" + rows, encoding="utf-8")
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    problem = namespace["problem"]                     # the last one: from_model
    assert problem.gradient_method in ("expression", "torch", "jax", "finite differences")
    # its loss and gradient are the sum of squared errors of p0·exp(−p1·x): checked in closed form
    p = np.array([1.5, 0.4])
    resid = p[0] * np.exp(-p[1] * x) - 2.0 * np.exp(-0.7 * x)
    assert float(problem.loss(p)) == pytest.approx(float(resid @ resid), rel=1e-12)
    grad = 2 * np.array([resid @ np.exp(-p[1] * x), resid @ (-p[0] * x * np.exp(-p[1] * x))])
    np.testing.assert_allclose(problem.grad(p), grad, rtol=1e-6)
    traj = dl.run(dl.optimizers.nesterov(lr=0.01, beta=0.8), problem, start=(1.0, 1.0), steps=300)
    np.testing.assert_allclose(traj.final, [2.0, 0.7], atol=1e-3)
