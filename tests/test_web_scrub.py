"""Scrubbing and playing in the browser: the views move at the frame rate, with no server request.

The explorer sends every iterate's moving traces once per scene (:mod:`descentlab.web.motion`);
the iterate slider, the keyboard and the play button then move them in the page. Driven in
Debian's Chromium by Playwright, as ``test_web_browser.py`` (same skip/fail policy: a missing
browser skips loudly, and fails under ``CI=true``), against the real server on 127.0.0.1.

Frame time: ``descentlabMotion.times`` — for each scrub step, the update's own JavaScript plus the
rendering work of the frame that shows it (from the start of that frame's animation callbacks to
the end of its paint), in ms; the wait for the next vsync is not counted.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from conftest import explorer_page, motion_loaded, serving, wait_text
from descentlab.web.app import Explorer, create_app

STEPS = 120
SCRUB = 100
P50_MS, P99_MS = 16.0, 50.0
UPDATE = "/_dash-update-component"


@pytest.fixture(scope="module")
def served():
    app = create_app()
    with serving(app) as server:
        yield app, f"http://127.0.0.1:{server.server_port}/"


@pytest.fixture
def page(browser, served):
    """The explorer at ``STEPS`` steps, its motion loaded; ``page.updates`` lists every callback
    request the page makes from then on."""
    _, url = served
    with explorer_page(browser, url, width=1500, height=950) as page:
        motion_loaded(page, STEPS)
        updates: list[str] = []
        page.on("request", lambda r: updates.append(r.url) if UPDATE in r.url else None)
        page.updates = updates
        yield page


def trajectories(app) -> list:
    """The runs the page shows (its controls on load, at ``STEPS`` steps), from the library."""
    explorer: Explorer = app.explorer
    values = explorer.page_values(steps=STEPS)
    return explorer.outcome(*explorer.request(values, None).cache_key).trajectories


def markers(page, graph: str, three_d: bool = False) -> list[list[float]]:
    """(x, y[, z]) of each selected-iterate marker ("φ_t") of a view, as plotly holds it."""
    return page.evaluate("""([graph, three]) => {
        const gd = document.querySelector(`#${graph} .js-plotly-plot`);
        return gd._fullData.filter(t => /^φ_\\d+$/.test(t.name || '') && t.mode === 'markers')
                 .map(t => [t.name, Array.from(t.x), Array.from(t.y)].concat(three ? [Array.from(t.z)] : []));
    }""", [graph, three_d])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def test_keyboard_scrub_is_client_side_and_fast(page, served):
    app, _ = served
    page.evaluate("() => { descentlabMotion.times = []; }")
    thumb = page.locator("#iterate [role=slider]")
    for t in range(1, SCRUB + 1):
        thumb.press("ArrowRight")
        wait_text(page, "#iterate-label", f"iterate t = {t} of {STEPS}")
    page.wait_for_function(f"() => descentlabMotion.times.length >= {SCRUB}")
    times = page.evaluate("() => descentlabMotion.times")
    p50, p99 = statistics.median(times), percentile(times, 99)
    print(f"\nscrub frame time over {len(times)} steps: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(times):.1f} ms")
    assert len(times) == SCRUB
    assert p50 <= P50_MS and p99 <= P99_MS, (p50, p99, sorted(times)[-5:])
    assert page.updates == [], f"the scrub asked the server: {page.updates[:3]}"

    # what the views show at t = SCRUB is the run's params[t] (float64, bit for bit)
    runs = trajectories(app)
    want = [np.asarray(r.params[min(SCRUB, len(r.params) - 1)][:2], dtype=np.float64) for r in runs]
    shown = markers(page, "view-contour")
    assert [name for name, *_ in shown] == [f"φ_{SCRUB}"] * len(runs)
    for (_, x, y), w in zip(shown, want, strict=True):
        assert x == [w[0]] and y == [w[1]]
    losses = markers(page, "view-loss")
    assert all(x == [SCRUB] for _, x, _ in losses)
    assert f"t = {SCRUB}" in page.evaluate(
        "() => document.querySelector('#view-contour .js-plotly-plot').layout.title.text")
    summary = page.inner_text("#summary")
    for r in runs:
        assert f"{r.label}: t = {SCRUB}, L = {r.losses[SCRUB]:.6g}" in summary

    # the 3-D view follows once the scrubber rests (its marker traces alone)
    page.wait_for_function("""(t) => { const gd = document.querySelector('#view-surface .js-plotly-plot');
        return gd._fullData.filter(d => d.name === 'φ_' + t).length > 0; }""", arg=SCRUB)
    three = markers(page, "view-surface", three_d=True)
    for (_, x, y, _z), w in zip(three, want, strict=True):
        assert x == [w[0]] and y == [w[1]]
    assert page.updates == []


def test_play_reaches_30_fps_without_the_server(page):
    page.click("#play")
    page.wait_for_function("() => descentlabMotion.playing && descentlabMotion.played > 5")
    before = page.evaluate("() => [descentlabMotion.played, performance.now()]")
    page.wait_for_timeout(2000)  # counting frames over two seconds is the measurement itself
    after = page.evaluate("() => [descentlabMotion.played, performance.now()]")
    fps = (after[0] - before[0]) / ((after[1] - before[1]) / 1000)
    print(f"\nplay: {fps:.1f} frames per second")
    assert fps >= 30, fps
    page.click("#play")  # pause: the slider takes the iterate shown
    page.wait_for_function("() => !descentlabMotion.playing")
    shown = page.evaluate("() => descentlabMotion.shown")
    wait_text(page, "#iterate-label", f"iterate t = {shown} of {STEPS}")
    assert page.inner_text("#play").strip() == "▶ play"
    assert page.updates == [], f"playing asked the server: {page.updates[:3]}"
