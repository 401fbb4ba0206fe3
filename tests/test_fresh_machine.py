"""`make test` on a fresh machine: what it needs from outside the repository is either there, installed,
or skipped with a loud reason — and under CI=true a missing browser is a failure, never a skip.

Each check runs pytest (or the install script) in a subprocess with the outside world pointed at a
place where it is absent (DESCENTLAB_REFERENCE, DESCENTLAB_CHROMIUM), as on a clean clone without
``../shared`` or Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MARK, REFERENCE

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "ensure_chromium.sh"


def pytest_in_subprocess(*args: str, **env: str) -> subprocess.CompletedProcess:
    outside = ("CI", "DESCENTLAB_REFERENCE", "DESCENTLAB_CHROMIUM", "PYTEST_ADDOPTS")
    clean = {k: v for k, v in os.environ.items() if k not in outside}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**clean, **env})


def test_without_the_shared_reference_data_its_tests_skip_and_say_where(tmp_path):
    absent = tmp_path / "no-shared" / "reference"
    out = pytest_in_subprocess("tests/test_problems.py", "-k", "published or books_gabor",
                               DESCENTLAB_REFERENCE=str(absent))
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\b2 skipped\b", out.stdout) and "failed" not in out.stdout
    assert "NOT TESTED ON THIS MACHINE" in out.stdout
    assert f"reference data {absent / 'book-line-fit-12.csv'} is absent" in out.stdout
    assert f"reference data {absent / 'book-gabor-30.csv'} is absent" in out.stdout


@pytest.mark.parametrize("ci", ["", "true"])
def test_without_a_browser_the_browser_tests_skip_loudly_except_in_ci(tmp_path, ci):
    out = pytest_in_subprocess("tests/test_web_browser.py", DESCENTLAB_CHROMIUM=str(tmp_path / "chromium"),
                               CI=ci)
    text = out.stdout + out.stderr
    n = len(re.findall(r"^def test_", (Path(__file__).parent / "test_web_browser.py").read_text(), re.M))
    if ci:
        assert out.returncode != 0 and "CI=true" in text and "skipped" not in out.stdout.splitlines()[-1]
        assert re.search(rf"\b{n} errors?\b", out.stdout.splitlines()[-1]), out.stdout[-500:]
    else:
        assert out.returncode == 0, text[-2000:]
        assert re.search(rf"\b{n} skipped\b", out.stdout.splitlines()[-1])
        assert "NOT TESTED ON THIS MACHINE" in out.stdout and "BROWSER TESTS NOT RUN" in out.stdout
        assert "apt-get install chromium" in out.stdout


def run_script(**env: str) -> subprocess.CompletedProcess:
    outside = ("CI", "DESCENTLAB_CHROMIUM", "NO_BROWSER_INSTALL")
    clean = {k: v for k, v in os.environ.items() if k not in outside}
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600,
                          env={**clean, **env})


def test_the_install_script_is_silent_when_the_browser_is_there():
    out = run_script(DESCENTLAB_CHROMIUM=shutil.which("sh") or "/bin/sh")
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")


def test_the_install_script_warns_when_it_may_not_install_and_fails_under_ci(tmp_path):
    missing = str(tmp_path / "chromium")
    out = run_script(DESCENTLAB_CHROMIUM=missing, NO_BROWSER_INSTALL="1")
    assert out.returncode == 0 and "will be SKIPPED" in out.stderr and missing in out.stderr
    out = run_script(DESCENTLAB_CHROMIUM=missing, NO_BROWSER_INSTALL="1", CI="true")
    assert out.returncode == 1 and "CI=true" in out.stderr


def test_the_install_script_without_root_or_sudo_says_so(tmp_path):
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip(f"{MARK} needs root and runuser, to run the script as an unprivileged user")
    missing = str(tmp_path / "chromium")
    unprivileged = ["runuser", "-u", "nobody", "--", "env", "-u", "CI", "-u", "NO_BROWSER_INSTALL",
                    f"DESCENTLAB_CHROMIUM={missing}", "PATH=/usr/bin:/bin",
                    "bash", "-s"]  # the script on stdin: nobody may not read our files
    out = subprocess.run(unprivileged, input=SCRIPT.read_text(encoding="utf-8"), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "needs root or passwordless sudo" in out.stderr and "will be SKIPPED" in out.stderr


def test_make_test_installs_the_browser_before_the_suite_and_ci_relies_on_it():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M).group(1).splitlines()
    assert recipe[0].strip().lstrip("@") == "tools/ensure_chromium.sh"
    assert any("pytest" in line for line in recipe[1:])
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and 'CI="${CI:-true}"' in ci and "apt-get" not in ci
    assert os.access(SCRIPT, os.X_OK) and os.access(ROOT / ".ci" / "run", os.X_OK)


def test_the_reference_data_is_not_copied_into_the_repository():
    """Its licence (CC BY-NC-ND) forbids it: no tracked file may hold its rows."""
    files = sorted(REFERENCE.glob("*.csv")) if REFERENCE.is_dir() else []
    if not files:
        pytest.skip(f"{MARK} reference data {REFERENCE} is absent: nothing to compare the repository with")
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for ref in files:
        rows = [line.strip() for line in ref.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
        for name in tracked:
            path = ROOT / name
            if not path.is_file() or path.stat().st_size > 5_000_000:
                continue
            text = path.read_text(encoding="utf-8", errors="ignore")
            copied = sum(row in text for row in rows)
            assert copied < max(3, len(rows) // 2), f"{name} holds {copied} rows of {ref.name}"
