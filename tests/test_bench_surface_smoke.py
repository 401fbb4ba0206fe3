"""Smoke test of benchmarks/bench_surface.py at tiny sizes, so that the script cannot rot."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_surface.py"
TINY = ["--grid", "20", "--sizes", "10,100", "--repeat", "1"]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, env=env)


def summary_lines(output: str) -> tuple[list[str], list[str]]:
    lines = output.splitlines()
    growth = [s for s in lines if s.startswith("ours N=") and s.endswith("(target ≤ 2)")]
    speedup = [s for s in lines
               if s.startswith("naive / ours at N=") and s.endswith("(target ≥ 100×)")]
    return growth, speedup


def test_script_runs_and_prints_summary():
    done = run_script(*TINY)
    assert done.returncode == 0, done.stderr
    growth, speedup = summary_lines(done.stdout)
    assert growth == [growth[0]] and growth[0].startswith("ours N=1e2 / ours N=1e1 = ")
    assert speedup == [speedup[0]] and speedup[0].startswith("naive / ours at N=1e2 = ")
    assert "CHECK FAILED" not in done.stdout
    assert "naive and ours agree" in done.stdout
    assert "extrapolated" not in done.stdout  # 20²·100 is far below the default budget


def test_script_extrapolates_large_sizes():
    # 20²·100 = 40000 > 10000, so the naive sum is timed on 10000 // (20·100) = 5 rows
    done = run_script(*TINY, "--naive-max-ops", "1e4")
    assert done.returncode == 0, done.stderr
    assert "(extrapolated from 5 rows)" in done.stdout
    assert "CHECK FAILED" not in done.stdout
    growth, speedup = summary_lines(done.stdout)
    assert len(growth) == 1 and len(speedup) == 1


def test_script_rejects_bad_arguments():
    done = run_script("--sizes", "1,abc")
    assert done.returncode == 2
    assert "sizes" in done.stderr


def test_main_in_process(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_surface", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_surface", module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    assert module.main(["--grid", "8", "--sizes", "5,50", "--repeat", "1"]) == 0
    growth, speedup = summary_lines(capsys.readouterr().out)
    assert len(growth) == 1 and len(speedup) == 1
