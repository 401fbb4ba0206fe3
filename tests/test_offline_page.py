"""descentlab html's α/β grid: runs computed in advance, batched over the grid, embedded in the page,
swapped in live by sliders, offline.

The oracle is descentlab.run itself, one configuration at a time: every sampled grid point of the
page (decoded from its embedded JSON, and as plotted by Chromium) must equal it to 1e-12.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import descentlab as dl
from conftest import require_chromium
from descentlab import optimizers as optim
from descentlab.cli import main
from descentlab.config import PROBLEM_NAMES, Config
from descentlab.web import offline

TOL = 1e-12


def embedded(text: str, name: str = "descentlab-grid-data"):
    m = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', text, re.S)
    assert m is not None, f"no {name} in the page"
    return json.loads(m.group(1))


def reference(problem, o: dict, index, steps: int, start, batch_size=None, seed=0):
    """descentlab.run at grid point ``index`` of optimizer ``o`` (as the page describes it)."""
    hyper = dict(o["hyper"])
    for (key, values), i in zip(o["axes"].items(), index, strict=True):
        hyper[key] = values[i]
    return dl.run(optim.make(o["method"], **hyper), problem, start, steps, batch_size=batch_size, seed=seed)


def check_run(o: dict, flat: int, traj, stride: int, model_x=None, problem=None) -> None:
    r = o["runs"][flat]
    assert r["n"] == len(traj.params)
    assert r["diverged_at"] == traj.diverged_at
    assert r["stop_reason"] == traj.stop_reason
    keep = offline.kept_steps(len(traj.params), stride)
    np.testing.assert_allclose(offline.decode(r["params"], 2), traj.params[keep], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(offline.decode(r["losses"]), traj.losses[keep], rtol=TOL, atol=TOL)
    assert np.isfinite(offline.decode(r["params"], 2)).all()  # a divergent point is a truncated path
    if model_x is not None:
        np.testing.assert_allclose(offline.decode(r["model"]), problem.predict(traj.final, model_x),
                                   rtol=TOL, atol=TOL)


@pytest.fixture(scope="module")
def line_fit_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "explore.html"
    assert main(["html", "--optimizers", "momentum,nesterov,adam,gd,sgd,linesearch", "--steps", "60",
                 "-o", str(out)]) == 0
    return out.read_text()


def test_embedded_runs_equal_descentlab_run(line_fit_page):
    data = embedded(line_fit_page)
    problem = Config(problem="line-fit").build_problem()
    start = problem.suggested.start
    model_x = offline.decode(data["model_x"])
    assert data["stride"] == 1
    by_name = {o["name"]: o for o in data["optimizers"]}
    assert by_name["nesterov"]["shape"] == [9, 7] and by_name["gd"]["shape"] == [9]
    assert by_name["linesearch"]["shape"] == []
    rng = np.random.default_rng(1)
    diverged_seen = 0
    for o in data["optimizers"]:
        shape = o["shape"]
        n = int(np.prod(shape)) if shape else 1
        divergent = [k for k, r in enumerate(o["runs"]) if r["diverged_at"] is not None]
        diverged_seen += len(divergent)
        flat_default = int(np.ravel_multi_index(o["default"], shape)) if shape else 0
        sample = {0, n - 1, flat_default, *rng.choice(n, size=min(n, 3), replace=False).tolist(),
                  *divergent[:2]}
        batch = 3 if o["method"] == "sgd" else None  # sgd's own default minibatch on data
        for flat in sorted(sample):
            index = np.unravel_index(flat, shape) if shape else ()
            traj = reference(problem, o, index, 60, start, batch_size=batch, seed=0)
            check_run(o, flat, traj, data["stride"], model_x, problem)
        # the run's own hyper-parameters are a grid point: the page opens on the very run drawn above
        assert all(o["axes"][k][i] == o["hyper"].get(k, o["axes"][k][i])
                   for k, i in zip(o["axes"], o["default"], strict=True))
    assert diverged_seen > 0  # the grid reaches α large enough to diverge: shown truncated, not NaN


def test_grid_is_batched_and_keeps_the_runs_own_settings(monkeypatch):
    """All configurations of one optimizer step together in one (n, P) state: the optimizer is
    built once with α and β as columns (not once per configuration)."""
    problem = Config(problem="rosenbrock").build_problem()
    traj = dl.run(optim.make("nesterov", lr=1e-3, beta=0.9), problem, steps=30)
    built = []
    spec = optim.get("nesterov")
    real = type(spec).build

    def spy(self, **hyper):
        built.append({k: np.shape(v) for k, v in hyper.items()})
        return real(self, **hyper)

    monkeypatch.setattr(type(spec), "build", spy)
    grid = offline.run_grid(problem, traj, 30)
    monkeypatch.undo()
    assert built and built[0] == {"lr": (63, 1), "beta": (63, 1)}
    assert grid.shape == (9, 7) and grid.axes["lr"][4] == 1e-3 and 0.9 in grid.axes["beta"]
    i, j = grid.default
    np.testing.assert_array_equal(grid.params[i][j], traj.params)
    for i, j in ((0, 0), (8, 6), (3, 2)):
        ref = dl.run(optim.make("nesterov", **grid.hyperparams((i, j))), problem, steps=30)
        np.testing.assert_allclose(grid.params[i][j], ref.params, rtol=TOL, atol=TOL)
        assert grid.diverged_at[i][j] == ref.diverged_at


def test_the_grid_is_stated_in_the_page(line_fit_page):
    caption = re.search(r'<p id="descentlab-grid-caption">(.*?)</p>', line_fit_page, re.S)
    assert caption is not None
    text = caption.group(1)
    assert "nesterov — α: 9 values 0.0125…0.2 (log); β: 0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99" in text
    assert "gd — α: 9 values 0.0075…0.12 (log)" in text and "60 steps" in text
    assert 'id="descentlab-grid-0-lr"' in line_fit_page and 'id="descentlab-grid-1-beta"' in line_fit_page
    assert not re.search(r"<script[^>]+src=[\"']https?://", line_fit_page)


@pytest.mark.parametrize("problem", PROBLEM_NAMES)
def test_default_problems_fit_the_size_budget(problem, tmp_path):
    out = tmp_path / "p.html"
    assert main(["html", "--problem", problem, "-o", str(out)]) == 0
    text = out.read_text()
    assert len(text.encode()) <= offline.LIMIT_BYTES
    data = embedded(text)
    assert len(data["optimizers"]) >= 2 and 'id="descentlab-grid-caption"' in text


def test_long_runs_are_thinned_to_fit_and_say_so(tmp_path, capsys):
    out = tmp_path / "long.html"
    assert main(["html", "--problem", "rosenbrock", "--optimizers", "momentum,nesterov",
                 "--steps", "5000", "-o", str(out)]) == 0
    text = out.read_text()
    assert len(text.encode()) <= offline.LIMIT_BYTES
    data = embedded(text)
    assert data["stride"] > 1
    assert f"every {data['stride']}th iterate is kept" in text
    problem = Config(problem="rosenbrock").build_problem()
    o = data["optimizers"][1]
    flat = int(np.ravel_multi_index(o["default"], o["shape"]))
    traj = reference(problem, o, o["default"], 5000, problem.suggested.start)
    check_run(o, flat, traj, data["stride"])
    # a page whose own frames already fill the budget: no grid, and a note that says why
    assert main(["html", "--problem", "rosenbrock", "--optimizers", "momentum,nesterov,adam,gd",
                 "--steps", "20000", "-o", str(tmp_path / "huge.html")]) == 0
    assert "note: no α/β grid in the page: " in capsys.readouterr().out
    assert "descentlab-grid-data" not in (tmp_path / "huge.html").read_text()


def test_sliced_views_have_no_grid(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n" + "".join(f"{i / 10},{(i / 10) ** 2 - i / 20}\n" for i in range(20)))
    args = ["html", "--data", str(csv), "--model", "p0 + p1*x + p2*x**2", "--slice", "p0,p2",
            "--optimizers", "nesterov", "--steps", "20", "-o", str(tmp_path / "m.html")]
    assert main(args) == 0
    assert "no α/β grid" in capsys.readouterr().out
    assert "descentlab-grid-data" not in (tmp_path / "m.html").read_text()
    assert main([*args[:-2], "--grid", "-o", str(tmp_path / "n.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--grid" in err[0]


# ---- in a real browser, offline -----------------------------------------------------------------

def test_sliders_swap_the_runs_offline(line_fit_page, tmp_path):
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright (pip install playwright)", pytrace=False)
    page_file = tmp_path / "explore.html"
    page_file.write_text(line_fit_page)
    data = embedded(line_fit_page)
    k = [o["name"] for o in data["optimizers"]].index("nesterov")
    o = data["optimizers"][k]
    problem = Config(problem="line-fit").build_problem()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
        requests: list[str] = []

        def refuse(route) -> None:
            requests.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith("file://"), refuse)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(page_file.as_uri())
        page.wait_for_function("() => document.getElementById('descentlab-grid').dataset.ready === '1'")

        def plotted(role: str):
            return page.evaluate("""([k, role]) => {
                const roles = JSON.parse(document.getElementById('descentlab-grid-roles').textContent);
                const r = roles.find(r => r.optimizer === k && r.role === role);
                const t = document.getElementById('descentlab-grid')._fullData[r.trace];
                return [Array.from(t.x), Array.from(t.y), t.name]; }""", [k, role])

        def expect(index) -> None:
            traj = reference(problem, o, index, 60, problem.suggested.start)
            keep = offline.kept_steps(len(traj.params), data["stride"])
            x, y, name = plotted("path")
            np.testing.assert_allclose(np.column_stack([x, y]), traj.params[keep], rtol=TOL, atol=TOL)
            _, loss, _ = plotted("loss")
            np.testing.assert_allclose(loss, traj.losses[keep] - problem.min_loss, rtol=1e-9, atol=TOL)
            _, line, _ = plotted("model")
            np.testing.assert_allclose(line, problem.predict(traj.final, offline.decode(data["model_x"])),
                                       rtol=TOL, atol=TOL)
            assert name.startswith("nesterov (α=")

        index = list(o["default"])
        expect(index)
        before = plotted("path")
        lr = page.locator(f"#descentlab-grid-{k}-lr")
        lr.focus()
        lr.press("ArrowRight")
        lr.press("ArrowRight")
        index[0] += 2
        page.wait_for_function("(before) => JSON.stringify(Array.from(document.getElementById("
                               "'descentlab-grid')._fullData.find(t => (t.name || '').startsWith('nesterov')"
                               ").x)) !== before", arg=json.dumps(before[0]))
        assert plotted("path")[0] != before[0]
        expect(index)
        beta = page.locator(f"#descentlab-grid-{k}-beta")
        beta.focus()
        beta.press("Home")
        index[1] = 0
        page.wait_for_function("() => document.getElementById('descentlab-grid-1-beta-value')"
                               ".textContent === 'β = 0'".replace("-1-", f"-{k}-"))
        expect(index)
        # a divergent grid point: a truncated path and a note, not NaN
        flat = next(f for f, r in enumerate(o["runs"]) if r["diverged_at"] is not None)
        index = [int(v) for v in np.unravel_index(flat, o["shape"])]
        for slider, steps in ((lr, index[0]), (beta, index[1])):
            slider.focus()
            slider.press("Home")
            for _ in range(steps):
                slider.press("ArrowRight")
        run = o["runs"][flat]
        page.wait_for_function(f"() => document.getElementById('descentlab-grid-note-{k}').textContent"
                               f".includes('at step {run['diverged_at']}')")
        expect(index)
        assert len(plotted("path")[0]) == run["n"] < 61
        assert "grid-diverged" in page.get_attribute(f"#descentlab-grid-note-{k}", "class")
        page.screenshot(path=str(tmp_path / "grid-offline.png"), full_page=True)
        print(f"\nscreenshot: {tmp_path / 'grid-offline.png'}")
        assert requests == [] and errors == []
        context.close()
        browser.close()
