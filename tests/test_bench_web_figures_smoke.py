"""Smoke test of benchmarks/bench_web_figures.py at a tiny size, so that the script cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_web_figures.py"

pytest.importorskip("plotly")


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=300, env=env)


def test_script_prints_percentiles_the_ratio_and_the_target():
    done = run_script("--steps", "20", "--resolution", "20", "--repeat", "3", "--naive-repeat", "2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "gd,momentum,nesterov,adam × 20 steps, 20×20 grid; 3 repeats (naive 2)" in out
    for label in ("runs (Config.run, 4 optimizers)", "scene.build", "views()", "to_json_plotly", "total",
                  "slider move: views() + JSON", "naive: go.Figure + to_json"):
        assert re.search(rf"^\s*{re.escape(label)}\s+p50\s+[\d.]+ ms\s+p99\s+[\d.]+ ms$", out, re.M), label
    ratio = re.findall(r"^naive / ours \(p50\) = ([\d.]+)×$", out, re.M)
    assert len(ratio) == 1 and float(ratio[0]) > 0
    assert re.search(r"^full update p50 [\d.]+ ms vs target ≤ 50 ms: (met|TARGET MISSED)", out, re.M)


def test_script_rejects_bad_arguments():
    done = run_script("--repeat", "0")
    assert done.returncode == 2
    assert "--repeat" in done.stderr
