"""Shared fixtures: the installed ``descentlab`` script, run in a subprocess; what this machine lacks.

Two things come from outside the repository and may be missing on a fresh machine:

* ``../shared/reference/`` (beside the checkout; ``DESCENTLAB_REFERENCE`` points elsewhere): the
  book's published data, whose licence (CC BY-NC-ND) forbids copying it into this repository.
  Tests that read it skip, naming the path, when it is absent.
* Debian's Chromium (``/usr/bin/chromium``; ``DESCENTLAB_CHROMIUM`` points elsewhere), for the
  browser tests. ``make test`` installs it when it can (root or passwordless sudo, apt-get);
  otherwise those tests skip, except under ``CI=true``, where a missing browser is a failure.

Every such skip is marked ``[this machine]`` and listed again, loudly, at the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

DESCENTLAB = Path(sys.executable).with_name("descentlab")
REFERENCE = Path(os.environ.get("DESCENTLAB_REFERENCE")
                 or Path(__file__).resolve().parents[2] / "shared" / "reference")
CHROMIUM = Path(os.environ.get("DESCENTLAB_CHROMIUM") or "/usr/bin/chromium")
MARK = "[this machine]"
"""Starts the reason of every skip that is about what this machine lacks, not about descentlab."""


def in_ci() -> bool:
    """Whether this run is CI's (``CI=true``, as CI services set it), where nothing may be skipped
    for lack of a browser."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``descentlab`` script with ``args``; returns the finished process."""
    return subprocess.run([str(DESCENTLAB), *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def reference():
    """``reference(name)``: the path of a file of ``../shared/reference/``; skips the test, naming
    the path, when it is not there (a fresh clone without the team's shared folder)."""
    def path(name: str) -> Path:
        file = REFERENCE / name
        if not file.is_file():
            pytest.skip(f"{MARK} reference data {file} is absent: it is the book's published data "
                        "(CC BY-NC-ND, never copied into this repository); CI provides ../shared/reference/, "
                        "or set DESCENTLAB_REFERENCE to a folder that holds it")
        return file

    return path


def require_chromium() -> Path:
    """The Chromium the browser tests drive: a failure under CI when it is missing, else a skip
    that says how to install it."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    how = ("make test installs it when it runs as root or with passwordless sudo; or: sudo apt-get install "
           "chromium")
    if in_ci():
        pytest.fail(f"{CHROMIUM} is missing and CI=true: the browser tests must run in CI ({how})",
                    pytrace=False)
    pytest.skip(f"{MARK} BROWSER TESTS NOT RUN: no Chromium at {CHROMIUM} ({how}; DESCENTLAB_CHROMIUM "
                "points elsewhere)")


@contextlib.contextmanager
def serving(app):
    """The explorer's real server (werkzeug, threaded) for ``app`` on 127.0.0.1 and a free port, in a
    thread, shut down afterwards; yields the server (its port: ``server.server_port``)."""
    from descentlab.web.app import make_server

    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
"""How the browser tests launch Chromium: headless, offline, no GPU."""


@contextlib.contextmanager
def chromium_browser(args: list[str] = BROWSER_ARGS):
    """Debian's Chromium launched by Playwright with ``args`` (a CI failure or a skip without it)."""
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright: pip install -e '.[test]' (or pip install "
                    "playwright); its browsers are not needed, only Debian's chromium", pytrace=False)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=args)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium for a module's browser tests (:func:`chromium_browser` with :data:`BROWSER_ARGS`)."""
    with chromium_browser() as launched:
        yield launched


def wait_text(page, selector: str, text: str) -> None:
    """Wait until the text of the element ``selector`` contains ``text``."""
    page.wait_for_function("([sel, text]) => { const e = document.querySelector(sel);"
                           " return e !== null && e.innerText.includes(text); }", arg=[selector, text])


@contextlib.contextmanager
def explorer_page(browser, url: str, *, width: int = 1400, height: int = 1000, timeout_ms: int = 20_000,
                  view: str = "contour", label: str = "of 40"):
    """A new page on the explorer at ``url``, loaded: the ``view`` drawn and the iterate label
    showing ``label``. It fails afterwards if the page raised a JavaScript error, and is closed."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(url)
        page.wait_for_selector(f"#view-{view} .js-plotly-plot .main-svg")
        wait_text(page, "#iterate-label", label)
        yield page
        assert not errors, f"JavaScript errors in the page: {errors}"
    finally:
        page.close()


def motion_loaded(page, steps: int):
    """Set the explorer's steps to ``steps``, scrub once (which loads the motion the server sent for
    that scene) and go to iterate 0, once the page's work at rest there is done (so that timing
    starts on a quiet page); the scrubber's thumb, focused."""
    page.locator("#steps").fill(str(steps))
    wait_text(page, "#iterate-label", f"iterate t = {steps} of {steps}")
    thumb = page.locator("#iterate [role=slider]")
    thumb.focus()
    thumb.press("ArrowLeft")
    page.wait_for_function(f"() => descentlabMotion.motion && descentlabMotion.motion.last === {steps}")
    thumb.press("Home")
    wait_text(page, "#iterate-label", f"iterate t = 0 of {steps}")
    page.wait_for_function("() => descentlabMotion.rested(0)")  # the 3-D view and the panel at t = 0
    return thumb


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Repeat, at the very end, every test skipped because this machine lacks something."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(MARK):
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    terminalreporter.section("NOT TESTED ON THIS MACHINE", sep="!", yellow=True, bold=True)
    for reason, count in reasons.items():
        terminalreporter.line(f"{count} test{'s' if count > 1 else ''} skipped: {reason}", yellow=True,
                              bold=True)
