"""The explorer in a real browser: the real server on a free loopback port, driven by Chromium.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``, which ``make test`` runs
when it can; Playwright's own browser downloads are not used) and the ``playwright`` package. On a
machine without Chromium the tests skip with a loud reason (listed again at the end of the run);
under ``CI=true`` a missing browser fails them (see ``conftest.require_chromium``).

Every wait is on a selector or a condition in the page, never a fixed sleep. A screenshot of the
page is saved in the test's tmp dir (its path is printed; ``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import explorer_page, serving, wait_text
from descentlab import datasets, optimizers
from descentlab import problems as dl_problems
from descentlab.web.app import create_app

TIMEOUT_MS = 20_000
CSV = ("hours,score\n" + "".join(f"{x / 4:.2f},{0.5 + 0.8 * x / 4 + 0.1 * (-1) ** x:.3f}\n"
                                 for x in range(20))).encode()


@pytest.fixture(scope="module")
def server_url():
    """The explorer's real server (werkzeug, threaded) on 127.0.0.1 and a free port, in a thread."""
    with serving(create_app()) as server:
        yield f"http://127.0.0.1:{server.server_port}/"


@pytest.fixture
def page(browser, server_url):
    with explorer_page(browser, server_url, width=1500, height=950, timeout_ms=TIMEOUT_MS,
                       label="iterate t = 40 of 40") as page:
        yield page


def path(page, graph: str, name: str) -> list[list[float]]:
    """The (x, y) points of the trace of ``graph`` whose name starts with ``name``, as plotted."""
    return page.evaluate("""([graph, name]) => {
        const gd = document.querySelector(`#${graph} .js-plotly-plot`);
        const t = gd._fullData.find(t => (t.name || '').startsWith(name));
        return t ? [Array.from(t.x), Array.from(t.y)] : null; }""", [graph, name])


def wait_path_change(page, graph: str, name: str, before) -> None:
    page.wait_for_function("""([graph, name, before]) => {
        const gd = document.querySelector(`#${graph} .js-plotly-plot`);
        const t = gd && gd._fullData.find(t => (t.name || '').startsWith(name));
        return t && JSON.stringify([Array.from(t.x), Array.from(t.y)]) !== before; }""",
                           arg=[graph, name, json.dumps(before)])


def press(page, slider: str, key: str, times: int = 1) -> None:
    """Move a slider (its id, or the row of a hyper-parameter: ``hyper-momentum-lr-row``) from the
    keyboard, as a user can (Radix slider thumbs take arrow keys)."""
    thumb = page.locator(f"#{slider} [role=slider]")
    thumb.focus()
    for _ in range(times):
        thumb.press(key)


def test_the_explorer_in_a_browser(page, tmp_path):
    # every registered method is offered; the featured ones are shown, each with its own controls
    offered = page.locator("#optimizers label").all_inner_texts()
    assert [t.strip() for t in offered] == list(optimizers.names())
    for name in optimizers.names():
        state = "visible" if name in optimizers.featured() else "hidden"
        page.wait_for_selector(f"#hyper-{name}-{optimizers.get(name).hypers[0].name}-row", state=state)

    # momentum's α slider moves its path alone (and the legend reads the new α)
    before = path(page, "view-contour", "momentum")
    nesterov_before = path(page, "view-contour", "nesterov")
    assert before is not None and len(before[0]) == 41
    press(page, "hyper-momentum-lr-row", "ArrowLeft", 20)  # log10 α from log10 0.05 down by 0.2
    wait_text(page, "#hyper-momentum-lr-row .value", "α = 0.0316")
    wait_text(page, "#summary", "momentum (α=0.0316, β=0.8)")
    wait_path_change(page, "view-contour", "momentum", before)
    assert path(page, "view-contour", "momentum")[0][0] == pytest.approx(1.6)  # same start φ₀
    assert path(page, "view-contour", "nesterov") == nesterov_before
    assert "nesterov (α=0.05, β=0.8)" in page.inner_text("#summary")

    # switch optimizers: sgd on, adam off; Adam's controls go away with it
    page.locator("#optimizers label", has_text="sgd").click()
    wait_text(page, "#summary", "sgd (α=0.03)")
    page.wait_for_selector("#hyper-sgd-lr-row", state="visible")
    page.locator("#optimizers label", has_text="adam").click()
    page.wait_for_selector("#hyper-adam-lr-row", state="hidden")
    page.wait_for_function("() => !document.querySelector('#summary').innerText.includes('adam')")
    assert path(page, "view-contour", "adam") is None and path(page, "view-contour", "sgd") is not None

    # line search: its mode is a dropdown, its iteration cap a number box
    page.locator("#optimizers label", has_text="linesearch").click()
    page.wait_for_selector("#hyper-linesearch-mode-row", state="visible")
    wait_text(page, "#summary", "linesearch (bracket, d=0.1, τ=1e-05, n=15)")
    page.locator("#hyper-linesearch-max_iter-row input").fill("0")  # below its range: a message
    wait_text(page, "#message", "linesearch: max_iter (n) needs a value: a whole number from 1 to 10000")
    page.locator("#hyper-linesearch-max_iter-row input").fill("9")
    wait_text(page, "#summary", "linesearch (bracket, d=0.1, τ=1e-05, n=9)")
    page.locator("#hyper-linesearch-mode-row .dash-dropdown").click()
    page.get_by_role("option", name="exact").click()
    wait_text(page, "#hyper-linesearch-mode-row .value", "mode = exact")
    wait_text(page, "#summary", "linesearch (exact)")  # the bracket's settings do not apply to it
    shot = tmp_path / "explorer-controls.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    page.locator("#optimizers label", has_text="linesearch").click()
    page.wait_for_selector("#hyper-linesearch-mode-row", state="hidden")

    # a click on the contour map moves the start of every path there
    box = page.locator("#view-contour .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + 0.2 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_function("() => !document.querySelector('#start-label').innerText.includes('(1.6, -0.5)')")
    start = path(page, "view-contour", "nesterov")
    xr, yr = page.evaluate("""() => {
        const l = document.querySelector('#view-contour .js-plotly-plot')._fullLayout;
        return [l.xaxis.range, l.yaxis.range]; }""")
    assert xr[0] < start[0][0] < xr[1] and yr[0] < start[1][0] < yr[1]
    assert start[0][0] != pytest.approx(1.6, abs=1e-3)
    shown = page.inner_text("#start-label")
    assert f"{start[0][0]:.3g}" in shown and f"{start[1][0]:.3g}" in shown

    # scrub: every view shows the selected iterate; Nesterov's look-ahead point and gradient step
    press(page, "iterate", "Home")
    wait_text(page, "#iterate-label", "iterate t = 0 of 40")
    press(page, "iterate", "ArrowRight", 5)
    wait_text(page, "#iterate-label", "iterate t = 5 of 40")
    for graph in ("view-data", "view-surface", "view-contour"):
        page.wait_for_function("""(graph) => document.querySelector(`#${graph} .js-plotly-plot`)
                                  ._fullLayout.title.text.includes('t = 5')""", arg=graph)
    look = path(page, "view-contour", "look-ahead point")
    assert look is not None and len(look[0]) == 1
    grad = path(page, "view-contour", "gradient step")
    assert grad is not None and len(grad[0]) >= 2
    wait_text(page, "#summary", "nesterov (α=0.05, β=0.8): t = 5")

    # hovering the selected iterate shows its step, φ, loss and gradient
    nesterov = path(page, "view-contour", "nesterov")
    x, y = page.evaluate("""([x, y]) => { const gd = document.querySelector('#view-contour .js-plotly-plot');
        const l = gd._fullLayout; const r = gd.getBoundingClientRect();
        return [r.left + l.margin.l + l.xaxis.l2p(x), r.top + l.margin.t + l.yaxis.l2p(y)]; }""",
                         [nesterov[0][5], nesterov[1][5]])
    page.mouse.move(x, y)
    page.wait_for_selector("#view-contour .hoverlayer .hovertext")
    hover = page.text_content("#view-contour .hoverlayer")
    assert re.search(r"step t = \d+", hover) and re.search(r"gradient used by step t[^:]*: \(", hover), hover
    assert re.search(r"L\[φ\W*t\W*\] = \d", hover) and re.search(r"φ\W*0\W* = -?\d", hover), hover
    shot = tmp_path / "explorer-line-fit.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")

    # upload a CSV: the problem becomes a line fit to it, the data view shows its 20 points
    page.set_input_files("#upload input[type=file]",
                         files=[{"name": "hours.csv", "mimeType": "text/csv", "buffer": CSV}])
    wait_text(page, "#upload-message", "hours.csv: 20 rows, x = hours, y = score")
    wait_text(page, "#problem", "line fit to an uploaded CSV")
    page.wait_for_function("""() => { const gd = document.querySelector('#view-data .js-plotly-plot');
        return gd && gd._fullData.some(t => t.x && t.x.length === 20); }""")
    # new data: the start its data suggest (not the built-in line fit's), as `--data hours.csv` uses
    table = datasets.parse_csv(CSV.decode(), "hours.csv")
    own = dl_problems.linear_regression(table.x, table.y).suggested
    wait_text(page, "#start-label", "(" + ", ".join(f"{v:.3g}" for v in own.start) + ")")
    wait_text(page, "#iterate-label", f"of {own.steps}")

    # a malformed CSV: one clear line in red, and the page keeps the data it had
    page.set_input_files("#upload input[type=file]",
                         files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x,y\n1,2\n3,abc\n"}])
    wait_text(page, "#upload-message", "bad.csv row 3, column 'y': 'abc' is not a number")
    color = page.eval_on_selector("#upload-message", "e => getComputedStyle(e).color")
    assert color == "rgb(176, 0, 32)"
    page.locator("#steps").fill("41")  # the app still answers, on the good data
    wait_text(page, "#iterate-label", "of 41")
    assert page.locator("#view-data .js-plotly-plot").is_visible()
    shot = tmp_path / "explorer-upload.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")


def test_bad_values_from_the_page_show_a_message_and_the_page_recovers(page):
    batch = page.locator("#batch-size")
    batch.fill("13")  # the built-in line fit has 12 examples: the library's own check answers
    wait_text(page, "#message", "batch_size must be an integer in 1..12, got 13")
    assert page.eval_on_selector("#message", "e => getComputedStyle(e).color") == "rgb(176, 0, 32)"
    assert page.locator("#view-contour .js-plotly-plot").is_visible()  # the last good views stay
    batch.fill("4")
    wait_text(page, "#summary", "momentum (α=0.05, β=0.8): t = 40")
    page.wait_for_function("() => document.querySelector('#message').innerText.trim() === ''")


def test_surfaces_have_no_data_view_and_the_quadratic_has_a_kappa_slider(page):
    page.locator("#problem").click()
    page.get_by_role("option", name="quadratic bowl (κ slider)").click()
    wait_text(page, "#problem", "quadratic bowl")
    page.wait_for_selector("#data-box", state="hidden")
    page.wait_for_selector("#kappa-label-row", state="visible")
    wait_text(page, "#summary", "nesterov (α=0.1, β=0.9)")  # the quadratic's suggestion, α = 1/κ
    before = page.inner_text("#summary")
    press(page, "kappa", "End")  # κ = 1000: the same α now overshoots along the steep axis
    wait_text(page, "#kappa-label", "κ = 1000")
    page.wait_for_function("(before) => document.querySelector('#summary').innerText !== before", arg=before)


def test_the_exported_page_works_offline(browser, tmp_path):
    """descentlab html's file, opened with networking off: the plots render and the slider moves
    the selected iterate (the figure's frames are played by plotly.js, nothing else)."""
    from descentlab.cli import main

    out = tmp_path / "explore.html"
    assert main(["html", "--optimizers", "momentum,nesterov", "--steps", "30", "-o", str(out)]) == 0
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1250})
    requests: list[str] = []
    def refuse(route) -> None:
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://"), refuse)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(out.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .contour, .js-plotly-plot"
                           " .scatterlayer .trace').length > 3")
    current = "() => document.querySelector('.slider-group > .slider-label').textContent"  # t = …
    first = page.evaluate(current)
    rail = page.locator(".slider-container .slider-rail-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] * 0.5, rail["y"] + rail["height"] / 2)
    page.wait_for_function(f"(before) => ({current})() !== before", arg=first)
    moved = page.evaluate(current)
    assert re.search(r"\d+", moved) and moved != first
    page.screenshot(path=str(tmp_path / "explore-offline.png"))
    assert requests == [] and errors == []
    context.close()


def test_a_slider_move_patches_the_page_into_exactly_the_new_views(browser, tmp_path):
    """Moving α sends the page a patch of the traces that differ from the scene it shows; what the
    page then plots, view by view and trace by trace, is the server's whole render of the new scene."""
    from descentlab.web.figures import decode

    app = create_app()
    with serving(app) as server, explorer_page(browser, f"http://127.0.0.1:{server.server_port}/",
                                               width=1500, height=950, timeout_ms=TIMEOUT_MS,
                                               label="iterate t = 40 of 40") as page:
        first = next(reversed(app.explorer._shown))
        press(page, "hyper-momentum-lr-row", "ArrowLeft", 5)
        wait_text(page, "#hyper-momentum-lr-row .value", "α = 0.044")  # log10 α: −1.30 → −1.35
        wait_text(page, "#summary", "momentum (α=0.044")
        key = next(reversed(app.explorer._shown))
        assert key != first
        outcome = app.explorer._shown[key]
        assert outcome.scene.bounds == app.explorer._shown[first].scene.bounds  # the patch kept the surface
        expected = outcome.render.figures(None)
        for view, figure in expected.items():
            graph = f"view-{view}"
            page.wait_for_function("([id, n]) => {"
                                   " const g = document.querySelector(`#${id} .js-plotly-plot`);"
                                   " return g && g.data.length === n; }", arg=[graph, len(figure["data"])])
            shown = page.evaluate("""(id) => document.querySelector(`#${id} .js-plotly-plot`)._fullData
                .map(t => ({name: t.name || '', type: t.type, x: t.x ? Array.from(t.x) : null}))""", graph)
            for got, want in zip(shown, figure["data"], strict=True):
                assert got["type"] == want["type"] and got["name"] == want.get("name", got["name"]), view
                if want["type"] in ("scatter", "scatter3d") and "x" in want:  # every point, exactly
                    assert np.array_equal(np.array(got["x"], dtype=float), decode(want["x"]), equal_nan=True)
        page.screenshot(path=str(tmp_path / "after-slider.png"))
