"""The explorer's look-ahead panel: step t of the first Nesterov run, eq. 6.12 beside eq. 6.11.

The panel draws :func:`descentlab.scene.lookahead_step` (the ``descentlab lookahead`` figure's
geometry). Here its points are checked against what the run recorded (its iterates, look-ahead
points and gradients), against a plain loop of eq. 6.11's momentum over the recorded gradients, and
against the problem's gradient at φ_t; the page's client-side frames against the server's render;
and, in Debian's Chromium, the keyboard scrub against the recorded values with no server request.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from conftest import explorer_page, motion_loaded, serving, wait_text
from descentlab.web import motion
from descentlab.web.app import Explorer, create_app
from descentlab.web.figures import decode
from descentlab.web.figures import lookahead as panel_mod

STEPS = 30
UPDATE = "/_dash-update-component"


@pytest.fixture(scope="module")
def explorer():
    return Explorer(resolution=60)


def outcome_of(explorer: Explorer, problem: str = "line-fit", **over):
    values = explorer.page_values(problem, steps=STEPS, **over)
    return explorer.outcome(*explorer.request(values, None).cache_key)


def by_name(fig: dict) -> dict[str, dict]:
    return {tr.get("name"): tr for tr in fig["data"]}


def xy(trace: dict) -> np.ndarray:
    """(n, 2) points of a trace."""
    return np.column_stack([decode(trace.get("x", [])), decode(trace.get("y", []))])


def nesterov(outcome):
    (run,) = [t for t in outcome.trajectories if t.optimizer == "nesterov"]
    return run


# ---- (a) the panel's points are the run's --------------------------------------------------------

@pytest.mark.parametrize("problem", ["line-fit", "rosenbrock"])
def test_the_panel_draws_the_recorded_lookahead_and_gradients(explorer, problem):
    outcome = outcome_of(explorer, problem)
    run = nesterov(outcome)
    alpha, beta = run.hyperparams["lr"], run.hyperparams["beta"]
    names = panel_mod.NAMES
    # eq. 6.11's momentum by a plain loop over the gradients the run recorded: m_{t+1} = β·m_t + (1−β)·g_t
    m = np.zeros(2)
    momenta = []
    for g in run.grads:
        momenta.append(m.copy())
        m = beta * m + (1 - beta) * g
    for t in (0, 1, 2, 7, STEPS - 1):
        traces = by_name(explorer.views(outcome, t)["lookahead"])
        phi, ahead = run.params[t], run.lookahead[t]
        np.testing.assert_allclose(xy(traces[names["phi"]]), [phi], rtol=0, atol=1e-12)
        np.testing.assert_allclose(xy(traces[names["ahead"]]), [ahead], rtol=0, atol=1e-12)
        np.testing.assert_allclose(ahead, phi - alpha * beta * momenta[t], rtol=0, atol=1e-12)  # eq. 6.12
        np.testing.assert_allclose(xy(traces[names["momentum"]]), [phi, ahead], rtol=0, atol=1e-12)
        # Nesterov: the gradient recorded at the look-ahead point, from it, to φ_{t+1}
        end = ahead + (-alpha * (1 - beta)) * run.grads[t]
        np.testing.assert_allclose(xy(traces[names["nesterov"]]), [ahead, end], rtol=0, atol=1e-12)
        np.testing.assert_allclose(xy(traces[names["nesterov next"]]), [end], rtol=0, atol=1e-12)
        np.testing.assert_allclose(end, run.params[t + 1], rtol=0, atol=1e-12)
        # momentum (eq. 6.11): the same look-ahead point, the gradient at φ_t
        other = ahead + (-alpha * (1 - beta)) * outcome.problem.grad(phi)
        np.testing.assert_allclose(xy(traces[names["plain"]]), [ahead, other], rtol=0, atol=1e-12)
        np.testing.assert_allclose(xy(traces[names["plain next"]]), [other], rtol=0, atol=1e-12)
        if t > 0:  # the rules part once m_t ≠ 0
            assert np.linalg.norm(other - end) > 0
        fig = explorer.views(outcome, t)["lookahead"]
        assert f"{run.label}, step t = {t}" in fig["layout"]["title"]["text"]
        assert fig["layout"]["yaxis"]["scaleanchor"] == "x"  # equal scales
        (x0, x1), (y0, y1) = fig["layout"]["xaxis"]["range"], fig["layout"]["yaxis"]["range"]
        assert x1 - x0 == pytest.approx(y1 - y0, rel=1e-12)  # step_bounds: a square around the step
        for p in (phi, ahead, end, other):
            assert x0 < p[0] < x1 and y0 < p[1] < y1
    # the last iterate has no step: φ_T alone, and the panel says so
    fig = explorer.views(outcome, STEPS)["lookahead"]
    traces = by_name(fig)
    np.testing.assert_array_equal(xy(traces[names["phi"]]), [run.params[STEPS]])
    assert all(len(xy(traces[names[k]])) == 0 for k in panel_mod.DYNAMIC if k != "phi")
    assert "last iterate" in fig["layout"]["annotations"][0]["text"]
    # t = 0: m_0 = 0, so the look-ahead point is φ_0 and both rules take the same step
    assert "m<sub>t</sub> = 0" in explorer.views(outcome, 0)["lookahead"]["layout"]["annotations"][0]["text"]


def test_the_first_nesterov_run_is_explained_and_named(explorer):
    outcome = outcome_of(explorer, optimizers=["gd", "nesterov", "momentum"])
    assert outcome.lookahead.run is nesterov(outcome)
    shown = [t.optimizer for t in outcome.trajectories]
    assert panel_mod.chosen(outcome.trajectories) == shown.index("nesterov")
    assert "look-ahead of nesterov (α=" in explorer.views(outcome, 3)["lookahead"]["layout"]["title"]["text"]


# ---- (d) no look-ahead run: a note, not an empty plot --------------------------------------------

def test_without_a_lookahead_run_the_panel_says_what_to_add(explorer):
    outcome = outcome_of(explorer, optimizers=["gd", "adam"])
    fig = explorer.views(outcome, 3)["lookahead"]
    assert fig["data"] == []
    assert [a["text"] for a in fig["layout"]["annotations"]] == [panel_mod.NOTE]
    assert "add nesterov to the optimizers" in panel_mod.NOTE and "6.12" in panel_mod.NOTE
    assert "lookahead" not in motion.frames(outcome.scene, outcome.lookahead)["views"]


# ---- (b) the page's frames are the server's render -----------------------------------------------

def unpack(col: dict, t: int):
    """The value at iterate t of one packed column of :func:`descentlab.web.motion.frames`."""
    if "v" in col:
        return col["v"][t]
    kind = "f8" if "f8" in col else "f4"
    a = np.frombuffer(base64.b64decode(col[kind]), dtype="<" + kind)[col["off"][t]:col["off"][t + 1]]
    return a.reshape(-1, col["w"]).tolist() if col["w"] else a.tolist()


def flat(trace: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in trace.items():
        out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v}
    return out


def test_the_page_frames_equal_the_server_render_at_every_t(explorer):
    outcome = outcome_of(explorer, optimizers=["momentum", "nesterov"])
    from descentlab.web.figures import views

    frames = motion.frames(outcome.scene, outcome.lookahead)["views"]["lookahead"]
    n = frames["n"]
    assert n == len(panel_mod.DYNAMIC)
    first = views(outcome.scene, 0, binary=False, lookahead=outcome.lookahead)["lookahead"]
    for t in range(STEPS + 1):
        server = views(outcome.scene, t, binary=False, lookahead=outcome.lookahead)["lookahead"]
        assert server["data"][:-n] == first["data"][:-n]  # the contours and the path never move
        for k, (trace, cols) in enumerate(zip(server["data"][-n:], frames["traces"], strict=True)):
            # the page's trace at t: the first render with the columns of t put in
            page = flat(first["data"][-n:][k]) | {key: unpack(col, t) for key, col in cols.items()}
            page = {key: v for key, v in page.items() if v is not None and v != []}
            want = {key: v for key, v in flat(trace).items() if v is not None and v != []}
            assert page == want, (t, k)
        x0, x1, y0, y1 = frames["ranges"][t]
        layout = server["layout"]
        assert [x0, x1] == layout["xaxis"]["range"] and [y0, y1] == layout["yaxis"]["range"]
        assert frames["notes"][t] == server["layout"]["annotations"]


# ---- (c) in the browser: the keyboard moves the panel, with no request ---------------------------

@pytest.fixture(scope="module")
def served():
    app = create_app(resolution=80)
    with serving(app) as server:
        yield app, f"http://127.0.0.1:{server.server_port}/"


PANEL = """(names) => { const gd = document.querySelector('#view-lookahead .js-plotly-plot');
    const get = (n) => { const d = gd.data.find(tr => tr.name === n);
                         return [Array.from(d.x || []), Array.from(d.y || [])]; };
    return {ahead: get(names.ahead), phi: get(names.phi), nesterov: get(names.nesterov),
            title: gd.layout.title.text, x: gd._fullLayout.xaxis.range, y: gd._fullLayout.yaxis.range,
            px: [gd._fullLayout.xaxis._length, gd._fullLayout.yaxis._length],
            drawn: gd.querySelectorAll('.scatterlayer .trace').length,
            contour: gd.querySelectorAll('.contourlayer .trace, .contour').length}; }"""


def test_the_keyboard_scrub_moves_the_panel_to_the_recorded_step_without_the_server(browser, served):
    app, url = served
    with explorer_page(browser, url, view="lookahead") as page:
        thumb = motion_loaded(page, STEPS)
        updates: list[str] = []
        page.on("request", lambda r: updates.append(r.url) if UPDATE in r.url else None)

        explorer: Explorer = app.explorer
        outcome = explorer.outcome(*explorer.request(explorer.page_values(steps=STEPS), None).cache_key)
        run = nesterov(outcome)
        names = panel_mod.NAMES
        before = page.evaluate(PANEL, names)
        assert before["ahead"] == [[run.lookahead[0][0]], [run.lookahead[0][1]]]
        t = 7
        for k in range(1, t + 1):
            thumb.press("ArrowRight")
            wait_text(page, "#iterate-label", f"iterate t = {k} of {STEPS}")
        # the panel's view follows once the scrubber rests
        page.wait_for_function(f"() => descentlabMotion.shown === {t} && descentlabMotion.zoomed === {t}")
        after = page.evaluate(PANEL, names)
        # the look-ahead marker and φ_t moved to what the run recorded at t (float64, bit for bit)
        assert after["ahead"] == [[run.lookahead[t][0]], [run.lookahead[t][1]]]
        assert after["phi"] == [[run.params[t][0]], [run.params[t][1]]]
        end = run.lookahead[t] + (-run.hyperparams["lr"] * (1 - run.hyperparams["beta"])) * run.grads[t]
        np.testing.assert_allclose(np.array(after["nesterov"]).T, [run.lookahead[t], end], rtol=0, atol=1e-12)
        assert f"step t = {t}" in after["title"]
        # moving a view's dynamic traces leaves its other traces drawn (a full replot of the moving traces
        # alone would remove the contours, the paths, the data, the loss curves)
        drawn = page.evaluate("""() => Object.fromEntries(['data', 'contour', 'loss', 'lookahead'].map(v => {
            const gd = document.querySelector(`#view-${v} .js-plotly-plot`);
            const count = type => gd.data.filter(d => d.type === type).length;
            const drawn = type => {
              const l = gd.querySelector(`.${type}layer`);
              return l ? l.children.length : 0;
            };
            return [v, [count('scatter'), drawn('scatter'), count('contour'), drawn('contour')]];
        }))""")
        for view, (scatter, scatter_drawn, contours, contours_drawn) in drawn.items():
            assert (scatter_drawn, contours_drawn) == (scatter, contours), view
        # the view is step t's (a square, widened on one axis to the panel's shape), and every trace is drawn
        (x0, x1), (y0, y1) = outcome.lookahead.bounds[t]
        assert after["x"][0] <= x0 + 1e-12 and after["x"][1] >= x1 - 1e-12
        assert after["y"][0] <= y0 + 1e-12 and after["y"][1] >= y1 - 1e-12
        width, height = after["x"][1] - after["x"][0], after["y"][1] - after["y"][0]
        assert min(width, height) < 1.1 * (x1 - x0)  # zoomed on step t, not on the whole run
        assert width / after["px"][0] == pytest.approx(height / after["px"][1], rel=1e-6)  # equal scales
        assert after["drawn"] == 1 + len(panel_mod.DYNAMIC) and after["contour"] >= 1
        assert updates == [], f"the scrub asked the server: {updates[:3]}"

        # (d) in the page: without Nesterov, the panel says what to add
        page.locator("#optimizers label", has_text="nesterov").click()
        page.wait_for_function("(note) => document.querySelector('#view-lookahead').innerText.includes(note)",
                               arg=panel_mod.NOTE)


def test_the_panel_is_made_again_only_when_what_it_draws_changed():
    """Moving momentum's α keeps the Nesterov run (the run cache), the line fit's view and so the
    panel object; moving Nesterov's α makes a new one, equal to a panel made from scratch."""
    from descentlab.web.app import Explorer
    from descentlab.web.figures import lookahead as lookahead_view

    explorer = Explorer(resolution=40)
    values = explorer.page_values(steps=500, optimizers=["gd", "momentum", "nesterov", "adam"])
    hyper = values["hyper"]

    def outcome(method: str, by: float):
        moved = hyper | {method: hyper[method] | {"lr": hyper[method]["lr"] + by}}
        return explorer.outcome(*explorer.request(values | {"hyper": moved}, None).cache_key)

    first, second = outcome("momentum", 0.0), outcome("momentum", -0.1)
    assert second is not first and second.trajectories[2] is first.trajectories[2]
    assert second.scene.bounds == first.scene.bounds   # the line fit's view: its minimum and start
    assert second.lookahead is first.lookahead
    third = outcome("nesterov", -0.1)
    assert third.lookahead is not first.lookahead
    fresh = lookahead_view.prepare(third.problem, third.trajectories, third.scene)
    assert fresh.run is third.lookahead.run and fresh.bounds == third.lookahead.bounds
    for a, b in zip(fresh.steps, third.lookahead.steps, strict=True):
        assert np.array_equal(a.lookahead, b.lookahead) and np.array_equal(a.grad_here, b.grad_here)
