"""Smoke test of benchmarks/bench_animation.py at a tiny size, so that the script cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_animation.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, env=env)


def test_script_runs_and_prints_both_times_and_the_ratio():
    done = run_script("--frames", "4")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "4 frames of 12×9.5 in at 80 dpi" in out
    assert "frames are 960×760 px RGB" in out
    assert re.search(r"^ours  \(blitting\): setup [\d.]+ s \+ frames [\d.]+ s = [\d.]+ s", out, re.M)
    assert re.search(r"^naive \(rebuild\) : [\d.]+ s", out, re.M)
    assert "extrapolated" not in out
    ratios = re.findall(r"^naive / ours = ([\d.]+)× \(target ≥ 3×\)$", out, re.M)
    assert len(ratios) == 1 and float(ratios[0]) > 0
    assert "animate(...) to GIF end to end" in out


def test_script_extrapolates_when_asked_and_rejects_bad_arguments():
    done = run_script("--frames", "4", "--naive-frames", "2")
    assert done.returncode == 0, done.stderr
    assert "(extrapolated from 2 of 4 frames)" in done.stdout
    done = run_script("--frames", "1")
    assert done.returncode == 2
    assert "--frames" in done.stderr
