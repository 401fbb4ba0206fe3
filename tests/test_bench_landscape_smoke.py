"""Smoke test of benchmarks/bench_landscape.py (``--quick``: a 9×9 grid, one round), so the script
cannot rot: it runs, its values agree with loss-landscapes 3.0.6, Dask agrees bit for bit, and it
prints its ratio lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_landscape.py"
RATIO = r"(\d+\.\d+)× \(min\), (\d+\.\d+)× \(median\)"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=240, env=env)


def test_quick_run_checks_values_and_prints_its_ratios():
    done = run_script("--quick")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "CHECK FAILED" not in out, out
    assert "Dask on 2 workers and one process agree bit for bit" in out
    gap = re.search(r"values: max \|loss-landscapes − descentlab\| = (\S+) over (\d+) shared points", out)
    assert gap is not None and float(gap.group(1)) <= 1e-10 and int(gap.group(2)) == 9 * 9 - 5
    speed = re.findall(rf"^loss-landscapes / descentlab = {RATIO} \(target ≥ 10×\)$", out, re.M)
    joined = re.findall(rf"^one process / 2 Dask workers \(joined\) = {RATIO}", out, re.M)
    started = re.findall(rf"^one process / 2 Dask workers \(started per call\) = {RATIO}", out, re.M)
    assert len(speed) == len(joined) == len(started) == 1, out
    assert all(float(v) > 0 for v in speed[0] + joined[0] + started[0])
    assert "9×9 grid (81 points); 1 round(s)" in out
    assert "distributed." not in done.stderr  # Dask's log lines are silenced


def test_bad_arguments_are_refused():
    done = run_script("--steps", "1")
    assert done.returncode == 2
    assert "--steps" in done.stderr
