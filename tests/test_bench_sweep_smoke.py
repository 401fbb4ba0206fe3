"""benchmarks/bench_sweep.py runs (tiny grid, no JAX in the test environment) and finds agreement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sweep.py"


def test_bench_sweep_smoke():
    out = subprocess.run([sys.executable, str(SCRIPT), "--grid", "6", "--steps", "60", "--torch-configs", "4",
                          "--no-jax"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "(a) descentlab" in out.stdout and "(b) torch loop" in out.stdout
    assert "→ equal (1e-9)" in out.stdout
    assert "descentlab / torch loop =" in out.stdout
