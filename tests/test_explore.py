"""dl.explore: the explorer served on 127.0.0.1 from a thread, starting on the problem and optimizers
asked for, stopped by its handle; bad input is one line. (Inside Jupyter: tests/test_notebook.py.)

The oracle of "starts on": the page's own layout, fetched over HTTP, is sent back as the page's
first update, and the losses it reports equal ``dl.run`` at the settings asked for."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("dash")

import descentlab as dl
from descentlab.catalogue import by_name
from descentlab.config import Config, OptimizerSpec
from descentlab.errors import InputError
from descentlab.web import jupyter
from descentlab.web.app import Explorer, update_request


@pytest.fixture
def no_browser(monkeypatch):
    opened = []
    monkeypatch.setattr(jupyter.webbrowser, "open", lambda url, *a, **k: opened.append(url))
    return opened


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def layout_controls(url: str) -> dict:
    """id (plain, or (method, hyper) for a hyper-parameter control) → props, from /_dash-layout."""
    status, body = get(url + "_dash-layout")
    assert status == 200
    out = {}

    def walk(node):
        if isinstance(node, dict):
            if "type" in node and "props" in node:
                i = node["props"].get("id")
                key = (i["method"], i["hyper"]) if isinstance(i, dict) and i.get("type") == "hyper" else i
                if isinstance(key, str | tuple):
                    out[key] = node["props"]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(body))
    return out


def first_update(served, props: dict) -> list[str]:
    """POST the page's first update, built from its layout alone, to the served app: the summary."""
    hyper = {}
    for key, p in props.items():
        if isinstance(key, tuple):
            hyper.setdefault(key[0], {})[key[1]] = p.get("value")
    controls = {"problem": props["problem"]["value"], "kappa": props["kappa"]["value"],
                "optimizers": props["optimizers"]["value"], "steps": props["steps"]["value"],
                "batch_size": props["batch-size"].get("value"), "seed": props["seed"]["value"],
                "hyper": hyper, "start": props["start-store"].get("data"),
                "upload": props["upload-store"].get("data")}
    body = json.dumps(update_request(served.app, controls)).encode()
    req = urllib.request.Request(served.url + "_dash-update-component", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200
        response = json.loads(r.read())["response"]
    assert "view-contour" in response, response.get("message")
    return [li["props"]["children"] for li in response["summary"]["children"]]


def final_loss(line: str) -> float:
    return float(line.split(" L = ")[1].split(",")[0])


def three_digits(exponent: float) -> float:
    return float(f"{10.0 ** exponent:.3g}")


def test_serves_the_problem_asked_for_on_loopback_and_its_first_update_runs_it(no_browser):
    with dl.explore("rosenbrock", ["momentum", "nesterov"], open_browser=False) as ex:
        assert ex.url == f"http://127.0.0.1:{ex.port}/" and ex.running
        assert ex._server.socket.getsockname()[0] == "127.0.0.1"
        props = layout_controls(ex.url)
        assert props["problem"]["value"] == "rosenbrock"
        assert props["optimizers"]["value"] == ["momentum", "nesterov"]
        # the controls sit at the explorer's suggestions for Rosenbrock (computed apart)
        d = Explorer().defaults("rosenbrock", 1.0)
        assert props["steps"]["value"] == d["steps"] == props["iterate"]["max"]
        for method in ("momentum", "nesterov"):
            for h, position in d["hyper"][method].items():
                assert props[(method, h)]["value"] == position
        assert d["hyper"] != Explorer().defaults("line-fit", 1.0)["hyper"]  # so the check means something
        summary = first_update(ex, props)
        rosen = by_name("rosenbrock")
        assert len(summary) == 2
        for line, make in zip(summary, (dl.optimizers.momentum, dl.optimizers.nesterov), strict=True):
            method = make.__name__
            lr, beta = three_digits(props[(method, "lr")]["value"]), props[(method, "beta")]["value"]
            traj = dl.run(make(lr=lr, beta=beta), rosen, start=rosen.suggested.start, steps=d["steps"])
            assert line.startswith(method) and final_loss(line) == float(f"{traj.losses[-1]:.6g}")
    assert no_browser == []


def test_stop_frees_the_port_and_a_new_explorer_can_take_it(no_browser):
    ex = dl.explore(open_browser=False)
    port = ex.port
    assert get(ex.url)[0] == 200
    ex.stop()
    ex.stop()  # idempotent
    assert not ex.running and "stopped" in repr(ex)
    with pytest.raises(urllib.error.URLError):
        get(ex.url)
    with socket.socket() as s:  # the port is free: binding it works
        s.bind(("127.0.0.1", port))
    again = dl.explore("beale", port=port, open_browser=False)
    try:
        assert again.port == port and layout_controls(again.url)["problem"]["value"] == "beale"
    finally:
        again.stop()


def test_a_plain_session_opens_the_browser_unless_told_not_to(no_browser, capsys):
    assert not jupyter.in_kernel()
    quiet = dl.explore("gabor", open_browser=False)
    quiet.stop()
    loud = dl.explore("gabor")
    loud.stop()
    assert no_browser == [loud.url]
    out = capsys.readouterr().out
    assert f"descentlab explorer on {quiet.url}" in out and f"on {loud.url}" in out


def test_block_serves_until_stopped_then_returns_the_stopped_handle(no_browser):
    result = {}
    before = set(jupyter._served)
    thread = threading.Thread(target=lambda: result.update(ex=dl.explore(open_browser=False, block=True)))
    thread.start()
    deadline = time.monotonic() + 30
    while not set(jupyter._served) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    (port,) = set(jupyter._served) - before
    assert get(f"http://127.0.0.1:{port}/")[0] == 200 and thread.is_alive()  # still blocking
    jupyter._served[port].stop()
    thread.join(30)
    assert not thread.is_alive() and not result["ex"].running and result["ex"].port == port


def test_a_config_sets_every_control_and_the_page_runs_it(no_browser):
    config = Config(problem="quadratic", kappa=50.0, steps=30, start=(-1.5, 2.0),
                    optimizers=(OptimizerSpec("nesterov", "nesterov", {"lr": 0.2, "beta": 0.9}),
                                OptimizerSpec("gd", "gd", {"lr": 0.1})))
    with dl.explore(config, open_browser=False) as ex:
        props = layout_controls(ex.url)
        assert props["problem"]["value"] == "quadratic" and props["optimizers"]["value"] == ["gd", "nesterov"]
        assert props["kappa"]["value"] == pytest.approx(np.log10(50.0), abs=1e-15)
        assert props["steps"]["value"] == 30 and props["start-store"]["data"] == [-1.5, 2.0]
        summary = first_update(ex, props)
    bowl = dl.problems.quadratic(kappa=50.0)
    oracle = [dl.run(dl.optimizers.gd(lr=0.1), bowl, start=(-1.5, 2.0), steps=30),
              dl.run(dl.optimizers.nesterov(lr=0.2, beta=0.9), bowl, start=(-1.5, 2.0), steps=30)]
    assert [final_loss(line) for line in summary] == [float(f"{t.losses[-1]:.6g}") for t in oracle]


def test_a_problem_of_your_own_data_is_handed_to_the_page_as_an_upload(no_browser):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 5, 40)
    mine = dl.problems.linear_regression(x, 0.7 - 1.9 * x + rng.normal(0, 0.3, 40), name="mine",
                                         x_label="hours", y_label="score")
    with dl.explore(mine, "nesterov", open_browser=False) as ex:
        props = layout_controls(ex.url)
        store = props["upload-store"]["data"]
        assert props["problem"]["value"] == "upload" and store["rows"] == 40
        page_problem = ex.app.explorer.upload_problem(store["key"])
        points = rng.normal(0, 3, (50, 2))
        np.testing.assert_allclose(page_problem.loss(points), mine.loss(points), rtol=1e-13)
        (line,) = first_update(ex, props)
        lr, beta = three_digits(props[("nesterov", "lr")]["value"]), props[("nesterov", "beta")]["value"]
        start = tuple(page_problem.suggested.start)
        traj = dl.run(dl.optimizers.nesterov(lr=lr, beta=beta), mine, start=start,
                      steps=props["steps"]["value"])
        assert final_loss(line) == float(f"{traj.losses[-1]:.6g}")


def test_catalogue_problems_given_as_objects_are_recognised():
    explorer = Explorer()
    assert jupyter.start_values(explorer, dl.datasets.line_fit())["problem"] == "line-fit"
    bowl = jupyter.start_values(explorer, dl.problems.quadratic(kappa=50))
    assert bowl["problem"] == "quadratic" and 10 ** bowl["kappa"] == pytest.approx(50.0)
    assert jupyter.start_values(explorer, by_name("himmelblau"), ["adam"])["optimizers"] == ["adam"]


@pytest.mark.parametrize("args, says", [
    (("no-such-problem",), "unknown problem 'no-such-problem'"),
    (("gabor", ["nesterov", "zzz"]), "unknown optimizer 'zzz'"),
    (("gabor", ["nesterov", "nesterov"]), "name a method twice"),
    ((dl.problems.quadratic(kappa=5, angle=10.0),), "cannot show problem 'quadratic (κ=5)'"),
    ((dl.problems.quadratic(kappa=5000),), "κ slider spans 1 to 1000"),
    ((Config(problem="line-fit", optimizers=(OptimizerSpec("nesterov", "nesterov", {"lr": 500.0}),)),),
     "nesterov: lr"),
    ((3.5,), "problem must be a name, a Problem or a Config"),
])
def test_bad_input_is_one_line_and_serves_nothing(args, says, no_browser):
    before = dict(jupyter._served)
    with pytest.raises(InputError) as err:
        dl.explore(*args, open_browser=False)
    message = str(err.value)
    assert says in message and "\n" not in message and len(message) <= 400
    assert jupyter._served == before


@pytest.mark.parametrize("size, says", [
    ({"width": '100%" onload="alert(1)'}, "width must be pixels"), ({"width": True}, "width must be pixels"),
    ({"height": 5}, "height must be a whole number from 100"), ({"port": 70000}, "port must be"),
])
def test_bad_sizes_and_ports_are_one_line(size, says):
    with pytest.raises(InputError, match=says):
        dl.explore(open_browser=False, **size)


def test_a_taken_port_is_one_line(no_browser):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(InputError, match=f"cannot listen on http://127.0.0.1:{port}/"):
            dl.explore(port=port, open_browser=False)


def test_import_descentlab_does_not_import_dash():
    code = ("import sys, descentlab as dl; assert 'dash' not in sys.modules; "
            "assert 'explore' in dir(dl); f = dl.explore; assert 'dash' in sys.modules; "
            "assert f.__module__ == 'descentlab.web.jupyter'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
