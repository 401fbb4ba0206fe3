"""The explorer's server side, without a browser: each callback called as a plain function.

The numbers must be the command line's (Config.run), every value a client sends is checked, and a
bad one gives one line of message while the app goes on answering.
"""

from __future__ import annotations

import base64
import builtins
import importlib.util
import inspect
import json
import math
import pathlib
import re

import dash
import numpy as np
import pytest

from descentlab.config import Config, OptimizerSpec
from descentlab.web import app as web_app
from descentlab.web import controls as ctl
from descentlab.web.app import Explorer, create_app, page_outputs, update_request

ALL = ["gd", "sgd", "momentum", "nesterov", "adam"]
CSV = "hours,score\n" + "\n".join(f"{x / 4:.2f},{0.5 + 0.8 * x / 4 + 0.1 * (-1) ** x:.3f}"
                                  for x in range(20)) + "\n"


def data_url(text: str | bytes, mime: str = "text/csv") -> str:
    raw = text.encode() if isinstance(text, str) else text
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer()


def controls(explorer: Explorer, problem: str = "line-fit", **over) -> dict:
    """The controls as the page sends them after choosing ``problem`` (its suggested settings)."""
    d = explorer.defaults(problem, 1.0)
    values = {"problem": problem, "kappa": 1.0, "optimizers": ["gd", "momentum", "nesterov", "adam"],
              "batch_size": None, "seed": 0, "start": None,
              **{k: d[k] for k in ("gd_lr", "lr", "beta", "adam_lr", "adam_beta", "gamma", "eps", "steps")}}
    return values | over


def cli_config(problem: str, names, steps: int, **top) -> Config:
    """What ``descentlab compare --problem P --optimizers names --steps N`` runs."""
    return Config(problem=problem, steps=steps, optimizers=tuple(OptimizerSpec(n, n) for n in names), **top)


# ---- the numbers are the command line's ----------------------------------------------------------

@pytest.mark.parametrize("problem", ["line-fit", "gabor", "quadratic", "rosenbrock", "beale", "himmelblau"])
def test_default_settings_run_exactly_what_the_command_line_runs(explorer, problem):
    values = controls(explorer, problem, optimizers=ALL, steps=30)
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    outcome = explorer.outcome(*explorer.request(values, None).cache_key)
    _, expected = cli_config(problem, ALL, 30, kappa=10.0 if problem == "quadratic" else None).run()
    assert outcome.trajectories == expected  # every array bit for bit, hyper-parameters, batches
    views = {"surface", "contour", "loss"} | ({"data"} if problem in ("line-fit", "gabor") else set())
    assert set(result["figures"]) == views


def test_moved_sliders_and_a_clicked_start_reach_the_runs(explorer):
    values = controls(explorer, optimizers=["sgd", "nesterov", "adam"], gd_lr=-2.0, lr=-1.5, beta=0.55,
                      adam_lr=-1.2, adam_beta=0.8, gamma=2.0, eps=-6.0, steps=25, batch_size=4, seed=7,
                      start=[0.25, 1.5])
    assert not explorer.update(values, None, None, None)["error"]
    got = explorer.outcome(*explorer.request(values, None).cache_key).trajectories
    config = Config(problem="line-fit", steps=25, batch_size=4, seed=7, start=(0.25, 1.5), optimizers=(
        OptimizerSpec("sgd", "sgd", {"lr": 0.01}),
        OptimizerSpec("nesterov", "nesterov", {"lr": 0.0316, "beta": 0.55}),
        OptimizerSpec("adam", "adam", {"lr": 0.0631, "beta": 0.8, "gamma": 0.99, "eps": 1e-6})))
    assert got == config.run()[1]
    assert got[0].meta["shared_batches"] and all(np.array_equal(a, b) for a, b in
                                                 zip(got[0].batches, got[1].batches, strict=True))


def test_quadratic_kappa_slider_is_log_scaled(explorer):
    values = controls(explorer, "quadratic", kappa=2.0)
    outcome = explorer.outcome(*explorer.request(values, None).cache_key)
    assert outcome.problem.name == "quadratic (κ=100)"
    assert explorer.request(values, None).config.kappa == 100.0


def test_defaults_are_the_suggested_settings_exactly(explorer):
    for problem in ctl.PROBLEMS:
        d = explorer.defaults(problem, 1.0)
        req = explorer.request(controls(explorer, "line-fit" if problem == ctl.UPLOAD else problem,
                                        optimizers=ALL), None)
        hyper = {s.name: s.hyperparams for s in req.config.optimizers}
        full = cli_config("line-fit" if problem == ctl.UPLOAD else problem, ALL, None,
                          kappa=10.0 if problem == "quadratic" else None).resolved()
        for spec in full.optimizers:
            assert hyper[spec.name] == pytest.approx(spec.hyperparams, rel=1e-12), (problem, spec.name)
        assert d["steps"] == full.steps


# ---- the scrubber and the caches ------------------------------------------------------------------

def test_scrubber_selects_an_iterate_and_follows_the_end(explorer):
    values = controls(explorer, steps=40)
    at_end = explorer.update(values, None, 40, 40)
    assert at_end["selected"] is None and at_end["last"] == 40
    middle = explorer.update(values, None, 12, 40)
    assert middle["selected"] == 12 and "t = 12" in middle["summary"][0]
    assert "t = 12" in middle["figures"]["contour"]["layout"]["title"]["text"]
    longer = explorer.update(controls(explorer, steps=60), None, 40, 40)  # was at the end: stays there
    assert longer["selected"] is None and longer["last"] == 60
    shorter = explorer.update(controls(explorer, steps=20), None, 30, 60)  # past the new end: the end
    assert shorter["selected"] is None


def test_moving_the_scrubber_only_renders(explorer):
    values = controls(explorer, steps=33)
    explorer.update(values, None, 33, 33)
    before = explorer.outcome.cache_info()
    runs = explorer.trajectory.cache_info()
    for t in range(0, 33, 4):
        assert explorer.update(values, None, t, 33)["selected"] == t
    after = explorer.outcome.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 9
    assert explorer.trajectory.cache_info().misses == runs.misses


def test_moving_one_methods_slider_runs_that_method_alone(explorer):
    values = controls(explorer, steps=31)
    explorer.update(values, None, None, None)
    misses = explorer.trajectory.cache_info().misses
    explorer.update(values | {"adam_lr": -1.5}, None, None, None)
    assert explorer.trajectory.cache_info().misses == misses + 1
    explorer.update(values | {"lr": -1.5}, None, None, None)  # momentum and Nesterov
    assert explorer.trajectory.cache_info().misses == misses + 3


# ---- bad input: a message, and the app keeps working ----------------------------------------------

BAD = [
    ({"beta": 1.5}, "β must be between 0 and 0.99"),
    ({"beta": "0.5"}, "β must be a number"),
    ({"adam_beta": None}, "Adam's β must be a number"),
    ({"lr": math.nan}, "α (momentum, Nesterov) (log10) must be between"),
    ({"gd_lr": 1e308}, "α (gd, sgd) (log10) must be between"),
    ({"adam_lr": True}, "Adam's α (log10) must be a number"),
    ({"eps": 0}, "ε (log10) must be between -12 and -1"),
    ({"gamma": 0.999}, "γ (number of nines) must be between 1 and 4"),
    ({"problem": "quadratic", "kappa": 5}, "κ (log10) must be between 0 and 3"),
    ({"steps": 0}, "steps must be a whole number from 1 to 2000"),
    ({"steps": 10**9}, "steps must be a whole number from 1 to 2000"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"steps": "40"}, "steps must be a whole number"),
    ({"steps": None}, "steps must be a whole number"),
    ({"seed": -1}, "seed must be a whole number from 0"),
    ({"batch_size": 0}, "batch size must be a whole number from 1"),
    ({"batch_size": 13}, "batch_size must be an integer in 1..12"),  # the library's check, N = 12
    ({"optimizers": []}, "choose at least one optimizer"),
    ({"optimizers": ["gd", "lbfgs"]}, "optimizer must be one of gd, sgd, momentum, nesterov, adam"),
    ({"optimizers": "gd"}, "optimizers must be a list"),
    ({"optimizers": ["gd"] * 6}, "optimizers must be a list of up to 5 names"),
    ({"problem": "../../etc/passwd"}, "problem must be one of"),
    ({"problem": None}, "problem must be one of"),
    ({"problem": ctl.UPLOAD}, "upload a CSV file of x, y data first"),
    ({"start": ["a", 1]}, "start φ0 must be a number"),
    ({"start": [1e300, 0.0]}, "start φ0 must be between"),
    ({"start": [1.0, 2.0, 3.0]}, "start must be two numbers"),
    ({"start": {"x": 1}}, "start must be two numbers"),
    ({"problem": "rosenbrock", "start": [1e5, 1e5], "gd_lr": 1.0}, None),  # runs; diverges at once
    ({"optimizers": ["x" * 10_000]}, "optimizer must be one of"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_gives_one_line_and_the_app_keeps_working(explorer, change, message):
    result = explorer.update(controls(explorer) | change, None, None, None)
    if message is None:
        assert not result["error"] and "diverged at step" in result["message"]
    else:
        assert result["error"] and result["figures"] is None
        assert message in result["message"], result["message"]
        assert "\n" not in result["message"] and len(result["message"]) < 200
    assert not explorer.update(controls(explorer), None, None, None)["error"]


def test_a_bad_update_keeps_the_last_figures_on_the_page(explorer):
    outputs = page_outputs(explorer.update(controls(explorer, beta=7), None, None, None))
    assert all(o is dash.no_update for o in outputs[:4])
    assert "β must be between" in outputs[4] and outputs[5]["color"] == web_app.ERROR_STYLE["color"]


def test_a_bug_in_a_view_is_reported_not_raised(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(Explorer, "views", broken)
    result = explorer.update(controls(explorer), None, None, None)
    assert result["error"] and result["message"] == "internal error (RuntimeError): renderer exploded"


def test_scrubber_values_are_checked(explorer):
    for bad in (-1, "3", 1.5, 10**6):
        result = explorer.update(controls(explorer), None, bad, 40)
        assert result["error"] and "iterate must be a whole number" in result["message"]


# ---- the start point ---------------------------------------------------------------------------------

def test_a_click_on_the_contour_map_moves_the_start_and_anything_else_resets_it():
    click = {"points": [{"curveNumber": 0, "x": 0.7, "y": 1.25, "z": 3.1}]}
    assert Explorer.start("view-contour", click) == [0.7, 1.25]
    for trigger in ("problem", "start-reset", "upload-store"):
        assert Explorer.start(trigger, click) is None
    for bad in (None, {}, {"points": []}, {"points": [{"x": "1", "y": 2}]}, {"points": [{"x": 1e9, "y": 0}]},
                {"points": "all"}, [1, 2]):
        assert Explorer.start("view-contour", bad) is dash.no_update


# ---- uploads -----------------------------------------------------------------------------------------

def test_an_uploaded_csv_is_fitted_like_the_same_file_on_the_command_line(explorer, tmp_path):
    store, message, failed = explorer.upload(data_url(CSV), "C:\\Users\\me\\hours.csv")
    assert not failed and store["rows"] == 20 and message == "hours.csv: 20 rows, x = hours, y = score"
    values = controls(explorer, ctl.UPLOAD, optimizers=ALL, steps=30, batch_size=5, seed=3)
    result = explorer.update(values, store, None, None)
    assert not result["error"], result["message"]
    got = explorer.outcome(*explorer.request(values, store).cache_key)
    (tmp_path / "hours.csv").write_text(CSV)
    on_disk = cli_config("line-fit", ALL, 30, data=str(tmp_path / "hours.csv"), batch_size=5, seed=3)
    assert got.trajectories == on_disk.run()[1]
    assert got.problem.name == "hours.csv" and got.scene.data_labels == ("hours", "score")
    assert "data" in result["figures"]
    big = explorer.update(values | {"batch_size": 21}, store, None, None)
    assert big["error"] and "batch size must be a whole number from 1 to 20" in big["message"]


def test_an_upload_is_parsed_in_memory_and_its_name_is_never_a_path(explorer, monkeypatch):
    def no_files(*args, **kwargs):
        raise AssertionError("an upload touched the file system")

    monkeypatch.setattr(builtins, "open", no_files)
    monkeypatch.setattr(pathlib.Path, "open", no_files)
    monkeypatch.setattr(pathlib.Path, "exists", no_files)
    _, message, failed = explorer.upload(data_url(CSV), "../../../etc/passwd")
    assert not failed and message.startswith("passwd: 20 rows")
    assert ctl.display_name("a/b\\c\x00\u202e.csv") == "c.csv"


def digits_rows(n: int) -> str:
    return "x,y\n" + "1,2\n" * n


MALFORMED = [
    (data_url("x,y\n1,2\n3,abc\n"), "data.csv row 3, column 'y': 'abc' is not a number"),
    (data_url("x,y\n"), "data.csv has a header (x, y) but no data rows"),
    (data_url(""), "data.csv is empty"),
    (data_url("x,y\n1,2\n"), "at least 2 are needed"),
    (data_url("x,y\n1,nan\n2,3\n"), "is not a finite number"),
    (data_url("name\nab\ncd\n"), "needs two numeric columns"),
    (data_url(b"\xff\xfe\x00x,y\n"), "data.csv is not a UTF-8 text (CSV) file"),
    (data_url("x,y\n1,2\n3,4,5\n"), "data.csv row 3: 3 cells, but the header has 2"),
    ("data:text/csv;base64,@@@not base64@@@", "data.csv: the upload is not valid base64"),
    ("x,y\n1,2\n", "data.csv: the upload must be a base64 data URL"),
    ("data:text/csv,x,y", "the upload must be a base64 data URL"),
    ({"contents": "x"}, "data.csv: the upload must be a data URL"),
    (12, "the upload must be a data URL"),
    (data_url(digits_rows(ctl.MAX_ROWS + 5)), "at most 100,000 data rows are allowed"),
    (data_url("x,y\n" + "1," + "2" * (ctl.MAX_UPLOAD_BYTES + 10) + "\n"), "larger than 5 MB"),
]


@pytest.mark.parametrize(("contents", "message"), MALFORMED)
def test_a_malformed_upload_gives_one_line_and_keeps_the_previous_data(explorer, contents, message):
    good, _, _ = explorer.upload(data_url(CSV), "hours.csv")
    store, text, failed = explorer.upload(contents, "data.csv", good)
    assert failed and store is None
    assert message in text and text.endswith(" (still using hours.csv)"), text
    assert "\n" not in text and len(text) < 200
    assert not explorer.update(controls(explorer, ctl.UPLOAD), good, None, None)["error"]


def test_an_upload_just_under_the_limits_is_accepted(explorer):
    store, message, failed = explorer.upload(data_url(digits_rows(ctl.MAX_ROWS)), "big.csv")
    assert not failed and store["rows"] == ctl.MAX_ROWS, message


def test_a_store_naming_no_upload_asks_for_the_file_again(explorer):
    for store in ({"key": "0" * 24}, {"key": 5}, "key", ["a"]):
        result = explorer.update(controls(explorer, ctl.UPLOAD), store, None, None)
        assert result["error"] and "upload" in result["message"]
    small = Explorer()
    stores = [small.upload(data_url(CSV + f"{i},1\n"), f"{i}.csv")[0] for i in range(web_app.MAX_UPLOADS + 1)]
    evicted = small.update(controls(small, ctl.UPLOAD), stores[0], None, None)
    assert evicted["error"] and "no longer in the server's memory" in evicted["message"]
    assert not small.update(controls(small, ctl.UPLOAD), stores[-1], None, None)["error"]


# ---- the page ----------------------------------------------------------------------------------------

def test_slider_labels_and_what_is_shown():
    labels = web_app.slider_labels({"kappa": 2, "gd_lr": -1.5228787452803376, "lr": "x", "beta": 0.8,
                                    "adam_lr": -1, "adam_beta": 0.9, "gamma": 3, "eps": -8})
    assert labels == ("κ = 100", "α = 0.03", "α = ?", "β = 0.8", "α = 0.1", "β = 0.9", "γ = 0.999",
                      "ε = 1e-08")
    kappa, gd, heavy, adam, batch, data = web_app.visibility("rosenbrock", ["adam"])
    assert kappa == gd == heavy == data == {"display": "none"} and adam == {}
    assert batch == {"display": "none"}
    kappa, gd, heavy, adam, batch, data = web_app.visibility("quadratic", ["gd", "nesterov"])
    assert kappa["marginBottom"] and gd == heavy == {} and adam == {"display": "none"}
    assert web_app.visibility(ctl.UPLOAD, "junk")[5] == {"minWidth": "0"}


def test_the_app_answers_over_http_and_survives_malformed_requests():
    app = create_app()
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    explorer = app.explorer
    good = update_request(app, controls(explorer) | {"upload": None}, 40, 40)
    response = client.post("/_dash-update-component", json=good)
    assert response.status_code == 200
    body = json.loads(response.data)["response"]
    assert {"view-data", "view-surface", "view-contour", "view-loss"} <= set(body)
    bad = update_request(app, controls(explorer, beta=["not", "a", "number"]) | {"upload": None}, 40, 40)
    response = client.post("/_dash-update-component", json=bad)
    assert response.status_code == 200
    body = json.loads(response.data)["response"]
    assert "view-contour" not in body and "β must be a number" in body["message"]["children"]
    huge = b'{"output": "' + b"x" * web_app.MAX_REQUEST_BYTES + b'"}'
    for garbage in (b"{", b"[]", json.dumps({"output": "nonsense"}).encode(), huge):
        response = client.post("/_dash-update-component", data=garbage, content_type="application/json")
        assert response.status_code >= 400
    assert response.status_code == 413
    assert client.post("/_dash-update-component", json=good).status_code == 200


def test_the_server_binds_to_loopback_by_default():
    assert inspect.signature(web_app.run).parameters["host"].default == "127.0.0.1"
    server = web_app.make_server(create_app(), port=0)  # the default host, any free port
    try:
        assert server.server_address[0] == "127.0.0.1" and server.server_port > 0
    finally:
        server.server_close()
    with pytest.raises(ctl.ControlError, match="port must be a whole number from 0 to 65535"):
        web_app.make_server(create_app(), port=70000)
    assert web_app.url("::1", 8050) == "http://[::1]:8050/"


# ---- the scrubber sends only what moves ------------------------------------------------------------

def apply(figure: dict, change: dict) -> dict:
    """What the browser holds after a patch: the traces from ``first`` on and the layout replaced."""
    data = list(figure["data"])
    for i, trace in enumerate(change["data"], start=change["first"]):
        data[i] = trace
    return {"data": data, "layout": change["layout"]}


@pytest.mark.parametrize("problem", ["line-fit", "rosenbrock"])
def test_a_scrub_on_the_scene_shown_patches_it_into_the_full_views(explorer, problem):
    # Nesterov's look-ahead traces, a run that diverges early (gd), minibatches (sgd), model lines
    values = controls(explorer, problem, optimizers=ALL, gd_lr=0.3 if problem == "line-fit" else -1.0,
                      steps=24)
    first = explorer.update(values, None, 7, 24)
    assert first["changes"] is None and first["key"]
    outcome = explorer.outcome(*explorer.request(values, None).cache_key)
    assert any(t.diverged_at for t in outcome.trajectories)
    held = first["figures"]
    for t in (0, 1, 13, 23, 7, 24, 2):
        result = explorer.update(values, None, t, 24, shown=first["key"])
        assert result["changes"] is not None and result["key"] == first["key"]
        for name, change in result["changes"].items():
            assert change["first"] > 0  # the surface, contours and paths stay in the browser
            held[name] = apply(held[name], change)
            assert held[name] == result["figures"][name], (name, t)
    other = explorer.update(values | {"beta": 0.5}, None, 3, 24, shown=first["key"])
    assert other["changes"] is None and other["key"] != first["key"]


def test_patches_reach_the_page_as_dash_patches(explorer):
    values = controls(explorer)
    key = explorer.update(values, None, 40, 40)["key"]
    outputs = page_outputs(explorer.update(values, None, 5, 40, shown=key))
    assert all(isinstance(o, dash.Patch) for o in outputs[:4])
    assert outputs[-1] is dash.no_update  # the page still shows the same scene
    full = page_outputs(explorer.update(values, None, 5, 40, shown="another"))
    assert all(isinstance(o, dict) for o in full[:4]) and full[-1] == key


def test_the_scene_key_comes_back_over_http_and_a_scrub_is_a_patch():
    app = create_app()
    client = app.server.test_client()
    values = controls(app.explorer) | {"upload": None}
    full = json.loads(client.post("/_dash-update-component", json=update_request(app, values, 40, 40)).data)
    key = full["response"]["shown-store"]["data"]
    body = update_request(app, values, 3, 40, "iterate.value", shown=key)
    scrub = client.post("/_dash-update-component", json=body)
    patch = json.loads(scrub.data)["response"]["view-contour"]["figure"]
    assert patch["__dash_patch_update"] and "shown-store" not in json.loads(scrub.data)["response"]
    assert len(scrub.data) < len(json.dumps(full)) / 5


def test_the_benchmark_runs_at_tiny_sizes(capsys):
    spec = importlib.util.spec_from_file_location(
        "bench_web", pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_web.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--steps", "20", "--samples", "2", "--clients", "2", "--updates", "6"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"full update p50 = [\d.]+ ms \(target ≤ 50 ms\)", out)
    assert "12 of 12 updates" in out and "errors: 0" in out and "ERRORS" not in out
