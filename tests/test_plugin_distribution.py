r"""A throwaway plugin distribution, "installed" into a temporary directory and found by its entry point.

The directory holds a package ``dl_lion_plugin`` (Lion, Chen et al. 2023: φ ← φ − α·sign(β₁m + (1−β₁)g),
m ← β₂m + (1−β₂)g) and ``dl_lion_plugin-0.1.dist-info/`` whose ``entry_points.txt`` declares
``[descentlab.optimizers] lion = dl_lion_plugin`` — what pip writes, without pip. Every check runs
descentlab in a SUBPROCESS with that directory on PYTHONPATH, so the plugin is discovered at start-up
as a user's would be, and no package file of descentlab is touched. A second, broken plugin must cost
one warning line and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

import descentlab as dl
from descentlab import datasets

SCRIPT = Path(sys.executable).with_name("descentlab")

PLUGIN = '''\
"""Lion (Chen et al. 2023) for descentlab: a throwaway plugin."""

from typing import NamedTuple

import numpy as np

from descentlab.optimizers import Hyper, Rule, register


class LionState(NamedTuple):
    params: np.ndarray
    lion_avg: np.ndarray


@register(
    "lion",
    Hyper("lr", "α", suggest="adam_lr", low=0.0, low_open=True, search=(1e-4, 1.0), scale="log",
          help="step α > 0 per parameter"),
    Hyper("beta1", "β₁", default=0.9, low=0.0, high=1.0, search=(0.0, 0.99),
          help="interpolation β₁ in [0, 1) of the sign's argument"),
    Hyper("beta2", "β₂", default=0.99, low=0.0, high=1.0, help="decay β₂ in [0, 1) of the average"),
)
def lion(lr, beta1=0.9, beta2=0.99):
    """Lion: a step of α·sign(β₁m + (1−β₁)g) in every parameter."""

    def init(params):
        p = np.array(params, dtype=np.float64)
        return LionState(p, np.zeros_like(p))

    def update(state, grad):
        direction = np.sign(beta1 * state.lion_avg + (1.0 - beta1) * grad)
        return LionState(state.params - lr * direction, beta2 * state.lion_avg + (1.0 - beta2) * grad)

    return Rule(init, update)
'''

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\nSummary: a throwaway descentlab plugin\n"


def install(root: Path, name: str, module_text: str, entry: str) -> None:
    """Write package ``name`` and its ``name-0.1.dist-info`` (METADATA, entry_points.txt) into ``root``."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(module_text)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(METADATA.format(name=name))
    (info / "entry_points.txt").write_text(f"[descentlab.optimizers]\n{entry} = {name}\n")
    (info / "RECORD").write_text("")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    install(root, "dl_lion_plugin", PLUGIN, "lion")
    return root


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    install(root, "dl_broken_plugin", "raise ImportError('this plugin needs a package that is missing')\n",
            "broken")
    return root


def environment(*paths: Path) -> dict[str, str]:
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join([*(str(p) for p in paths), *([old] if old else [])])}


def descentlab(*args: str, paths: tuple[Path, ...], cwd: Path, script: bool = False):
    """``python -m descentlab.cli ARGS`` (or the installed script) with ``paths`` on PYTHONPATH."""
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "descentlab.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=environment(*paths))


def python(code: str, paths: tuple[Path, ...], cwd: Path):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=environment(*paths))


def ok(proc) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def lion_reference(problem, start, steps, lr, beta1=0.9, beta2=0.99) -> np.ndarray:
    """Lion's iterates, written out here (the problem's own gradient, numpy)."""
    phi, m = np.array(start, dtype=np.float64), np.zeros(len(start))
    out = [phi.copy()]
    for _ in range(steps):
        g = problem.grad(phi)
        phi = phi - lr * np.sign(beta1 * m + (1 - beta1) * g)
        m = beta2 * m + (1 - beta2) * g
        out.append(phi.copy())
    return np.array(out)


# ---- discovery -------------------------------------------------------------------------------------

def test_the_plugin_is_not_visible_without_its_directory():
    assert "lion" not in dl.optimizers.names()


def test_the_entry_point_is_found_and_lion_is_registered(site, tmp_path):
    out = ok(python("""
        import json
        from importlib.metadata import entry_points
        from descentlab import optimizers
        eps = [(e.name, e.value) for e in entry_points(group="descentlab.optimizers")]
        m = optimizers.get("lion")
        print(json.dumps({"eps": eps, "names": optimizers.names(), "hypers": m.hyper_names,
                          "label": optimizers.describe("lion", {"lr": 0.01, "beta1": 0.9})}))
    """, (site,), tmp_path))
    info = json.loads(out)
    assert ["lion", "dl_lion_plugin"] in info["eps"]
    assert info["names"][-1] == "lion" and "nesterov" in info["names"]
    assert info["hypers"] == ["lr", "beta1", "beta2"]
    assert info["label"] == "lion (α=0.01, β₁=0.9)"


def test_run_help_names_the_plugin_and_its_options(site, tmp_path):
    for script in (False, True):
        out = ok(descentlab("run", "--help", paths=(site,), cwd=tmp_path, script=script))
        assert "lion" in out and "--beta1" in out and "--beta2" in out


# ---- every command -----------------------------------------------------------------------------------

def test_run_with_its_own_options_equals_the_rule_written_out(site, tmp_path):
    out = ok(descentlab("run", "--optimizer", "lion", "--lr", "0.02", "--beta1", "0.8", "--beta2", "0.95",
                        "--steps", "40", "--save", "lion.json", paths=(site,), cwd=tmp_path))
    assert "lion (α=0.02, β₁=0.8, β₂=0.95)" in out
    traj = dl.Trajectory.from_json(tmp_path / "lion.json")
    assert traj.optimizer == "lion" and traj.hyperparams == {"lr": 0.02, "beta1": 0.8, "beta2": 0.95}
    assert set(traj.buffers) == {"lion_avg"}
    expected = lion_reference(datasets.line_fit(), (1.6, -0.5), 40, 0.02, 0.8, 0.95)
    np.testing.assert_allclose(traj.params, expected, rtol=1e-12, atol=1e-14)
    # the CSV format carries the plugin's buffer too
    ok(descentlab("run", "--optimizer", "lion", "--lr", "0.02", "--steps", "10", "--save", "lion.csv",
                  paths=(site,), cwd=tmp_path))
    csv = dl.Trajectory.from_csv(tmp_path / "lion.csv")
    np.testing.assert_allclose(csv.params, lion_reference(datasets.line_fit(), (1.6, -0.5), 10, 0.02),
                               rtol=1e-12, atol=1e-14)


def test_compare_lion_with_nesterov_writes_the_figure(site, tmp_path):
    out = ok(descentlab("compare", "--optimizers", "lion,nesterov", "-o", "x.png", paths=(site,),
                        cwd=tmp_path))
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    assert "lion (α=" in out and "nesterov (α=" in out


def test_sweep_over_lions_declared_ranges(site, tmp_path):
    out = ok(descentlab("sweep", "--optimizer", "lion", "--steps", "20", "-o", "s.png", paths=(site,),
                        cwd=tmp_path))
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert "lr" in out and "beta1" in out and "best:" in out
    out = ok(descentlab("sweep", "--optimizer", "lion", "--lr", "1e-3:1e-1:5:log", "--beta1", "0.9",
                        "--steps", "20", "-o", "s1.png", paths=(site,), cwd=tmp_path))
    assert "5 lr × 1 seeds" in out


def test_tune_lion_against_gd(site, tmp_path):
    out = ok(descentlab("tune", "--optimizers", "lion,gd", "--trials", "4", "--seeds", "1", "--budget", "20",
                        paths=(site,), cwd=tmp_path))
    first = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"lion", "gd"} <= first


def test_a_toml_round_trip_of_a_lion_comparison(site, tmp_path):
    toml = ok(descentlab("compare", "--optimizers", "lion", "--beta1", "0.7", "--steps", "15",
                         "--dump-config", paths=(site,), cwd=tmp_path))
    data = tomllib.loads(toml)
    (tmp_path / "that.toml").write_text(toml)
    assert "lion" in toml and data  # every default filled in, valid TOML
    again = ok(descentlab("compare", "--config", "that.toml", "--dump-config", paths=(site,), cwd=tmp_path))
    assert again == toml
    ok(descentlab("compare", "--config", "that.toml", "-o", "y.png", paths=(site,), cwd=tmp_path))
    assert (tmp_path / "y.png").read_bytes()[:4] == b"\x89PNG"
    # what the file says is what runs: Config.run in a subprocess, against the rule written out
    out = ok(python("""
        import json
        from descentlab.config import Config
        cfg = Config.load("that.toml")
        _, (traj,) = cfg.run()
        print(json.dumps({"hyper": traj.hyperparams, "params": traj.params.tolist(),
                          "start": list(cfg.resolved().start)}))
    """, (site,), tmp_path))
    info = json.loads(out)
    assert info["hyper"]["beta1"] == 0.7
    expected = lion_reference(datasets.line_fit(), info["start"], 15, info["hyper"]["lr"], 0.7,
                              info["hyper"]["beta2"])
    np.testing.assert_allclose(info["params"], expected, rtol=1e-12, atol=1e-14)


def test_bad_values_for_the_plugin_are_one_line(site, tmp_path):
    proc = descentlab("run", "--optimizer", "lion", "--beta1", "1.5", paths=(site,), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "beta1" in lines[0] and "Traceback" not in proc.stderr


def test_the_explorers_callbacks_run_lion(site, tmp_path):
    out = ok(python("""
        import json
        from descentlab.web.app import Explorer, create_app

        app = create_app()
        layout = app.server.test_client().get("/_dash-layout").data.decode()
        e = Explorer()
        values = e.page_values("line-fit", optimizers=["gd", "lion"], steps=15)
        values["hyper"]["lion"] = {"lr": -2.0, "beta1": 0.8, "beta2": 0.95}
        r = e.update(values, None, None, None)
        trajs = e.outcome(*e.request(values, None).cache_key).trajectories
        bad = dict(values, hyper={**values["hyper"], "lion": {"lr": -2.0, "beta1": 2.0, "beta2": 0.95}})
        b = e.update(bad, None, None, None)
        print(json.dumps({"in_layout": '"method":"lion"' in layout.replace(" ", ""),
                          "defaults": sorted(e.defaults("line-fit", 1.0)["hyper"]["lion"]),
                          "error": r["error"], "message": r["message"], "summary": r["summary"],
                          "views": sorted(r["figures"]),
                          "runs": {t.optimizer: [t.hyperparams, t.params.tolist()] for t in trajs},
                          "bad": [b["error"], b["message"]]}, ensure_ascii=False))
    """, (site,), tmp_path))
    info = json.loads(out)
    assert info["in_layout"] and info["defaults"] == ["beta1", "beta2", "lr"]
    assert not info["error"], info["message"]
    assert set(info["views"]) >= {"contour", "loss"}
    hyper, params = info["runs"]["lion"]
    assert hyper == {"lr": 0.01, "beta1": 0.8, "beta2": 0.95}
    expected = lion_reference(datasets.line_fit(), (1.6, -0.5), 15, 0.01, 0.8, 0.95)
    np.testing.assert_allclose(params, expected, rtol=1e-12, atol=1e-14)
    assert any(line.startswith("lion (α=0.01") for line in info["summary"])
    error, message = info["bad"]
    assert error and "lion" in message and "beta1" in message and "\n" not in message


# ---- a broken plugin -----------------------------------------------------------------------------------

def test_a_broken_plugin_costs_one_warning_line(site, broken_site, tmp_path):
    proc = descentlab("run", "--optimizer", "lion", "--lr", "0.02", "--steps", "5", paths=(site, broken_site),
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "warning" in lines[0] and "broken" in lines[0] and "missing" in lines[0]
    assert "lion (α=0.02" in proc.stdout
    # descentlab alone still works, and the broken name is simply unknown
    proc = descentlab("compare", "--optimizers", "gd,broken", "-o", "z.png", paths=(broken_site,),
                      cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and "warning" in lines[0] and "unknown optimizer 'broken'" in lines[1], proc.stderr
    proc = descentlab("run", "--steps", "3", paths=(broken_site,), cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr.count("\n") == 1, proc.stderr
