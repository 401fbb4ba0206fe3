"""Shared fixtures: the installed ``descentlab`` script, run in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DESCENTLAB = Path(sys.executable).with_name("descentlab")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``descentlab`` script with ``args``; returns the finished process."""
    return subprocess.run([str(DESCENTLAB), *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture
def cli():
    return run_cli
