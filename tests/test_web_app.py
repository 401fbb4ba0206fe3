"""The explorer's server side, without a browser: each callback called as a plain function.

The numbers must be the command line's (Config.run), every value a client sends is checked, and a
bad one gives one line of message while the app goes on answering.
"""

from __future__ import annotations

import base64
import builtins
import copy
import dataclasses
import importlib.util
import inspect
import json
import math
import pathlib
import re
from typing import NamedTuple

import dash
import numpy as np
import pytest

from descentlab import optimizers as optim
from descentlab.config import Config, OptimizerSpec
from descentlab.web import app as web_app
from descentlab.web import controls as ctl
from descentlab.web.app import Explorer, create_app, page_outputs, update_request

BUILT_IN = ["gd", "sgd", "momentum", "nesterov", "adam", "adagrad", "rmsprop", "linesearch"]
FIVE = ["gd", "sgd", "momentum", "nesterov", "adam"]
CSV = "hours,score\n" + "\n".join(f"{x / 4:.2f},{0.5 + 0.8 * x / 4 + 0.1 * (-1) ** x:.3f}"
                                  for x in range(20)) + "\n"


def data_url(text: str | bytes, mime: str = "text/csv") -> str:
    raw = text.encode() if isinstance(text, str) else text
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer()


def controls(explorer: Explorer, problem: str = "line-fit", hyper: dict | None = None, **over) -> dict:
    """The controls as the page sends them after choosing ``problem`` (its suggested settings), with
    ``hyper`` = ``{method: {hyper: position}}`` moved and the plain controls in ``over`` set."""
    values = explorer.page_values(problem, **over)
    return moved(values, **(hyper or {}))


def moved(values: dict, **hyper: dict) -> dict:
    """``values`` with some hyper-parameter controls moved: ``moved(v, adam={"lr": -1.5})``."""
    out = copy.deepcopy(values)
    for method, given in hyper.items():
        out["hyper"].setdefault(method, {}).update(given)
    return out


def cli_config(problem: str, names, steps: int, **top) -> Config:
    """What ``descentlab compare --problem P --optimizers names --steps N`` runs."""
    return Config(problem=problem, steps=steps, optimizers=tuple(OptimizerSpec(n, n) for n in names), **top)


# ---- the numbers are the command line's ----------------------------------------------------------

@pytest.mark.parametrize("problem", ["line-fit", "gabor", "quadratic", "rosenbrock", "beale", "himmelblau"])
def test_default_settings_run_exactly_what_the_command_line_runs(explorer, problem):
    values = controls(explorer, problem, optimizers=BUILT_IN, steps=30)
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    outcome = explorer.outcome(*explorer.request(values, None).cache_key)
    _, expected = cli_config(problem, BUILT_IN, 30, kappa=10.0 if problem == "quadratic" else None).run()
    assert outcome.trajectories == expected  # every array bit for bit, hyper-parameters, batches
    data = {"data"} if problem in ("line-fit", "gabor") else set()
    assert set(result["figures"]) == {"surface", "contour", "loss", "lookahead"} | data


def test_moved_sliders_and_a_clicked_start_reach_the_runs(explorer):
    values = controls(explorer, optimizers=["sgd", "nesterov", "adam"],
                      hyper={"sgd": {"lr": -2.0}, "nesterov": {"lr": -1.5, "beta": 0.55},
                             "adam": {"lr": -1.2, "beta": 0.8, "gamma": 0.99, "eps": 1e-6}},
                      steps=25, batch_size=4, seed=7, start=[0.25, 1.5])
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
                                        optimizers=BUILT_IN), None)
        hyper = {s.name: s.hyperparams for s in req.config.optimizers}
        assert list(hyper) == BUILT_IN
        full = cli_config("line-fit" if problem == ctl.UPLOAD else problem, BUILT_IN, None,
                          kappa=10.0 if problem == "quadratic" else None).resolved()
        for spec in full.optimizers:
            got, want = hyper[spec.name], spec.hyperparams
            assert list(got) == list(want), (problem, spec.name)
            for key, value in want.items():  # choices exactly, numbers to 1e-12
                expected = value if isinstance(value, str) else pytest.approx(value, rel=1e-12)
                assert got[key] == expected, (problem, spec.name, key)
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
    explorer.update(moved(values, adam={"lr": -1.5}), None, None, None)
    assert explorer.trajectory.cache_info().misses == misses + 1
    explorer.update(moved(values, adam={"lr": -1.5}, momentum={"lr": -1.5}), None, None, None)
    assert explorer.trajectory.cache_info().misses == misses + 2
    explorer.update(moved(values, adam={"lr": -1.5}, momentum={"lr": -1.5}, nesterov={"beta": 0.5}),
                    None, None, None)
    assert explorer.trajectory.cache_info().misses == misses + 3
    # a control of a method that is not shown runs nothing
    explorer.update(moved(values, adam={"lr": -1.5}, momentum={"lr": -1.5}, nesterov={"beta": 0.5},
                          rmsprop={"lr": -2.0}), None, None, None)
    assert explorer.trajectory.cache_info().misses == misses + 3


# ---- bad input: a message, and the app keeps working ----------------------------------------------

BUILT_IN_LIST = "gd, sgd, momentum, nesterov, adam, adagrad, rmsprop, linesearch"


def hyper(**given: dict):
    """A change of the hyper-parameter controls (applied to the page's values by the test)."""
    return lambda values: moved(values, **given)


def too_many(values: dict) -> dict:
    return values | {"optimizers": ["gd"] * (len(optim.names()) + 1)}


BAD = [
    (hyper(nesterov={"beta": 1.5}), "nesterov: beta (β) must be in [0, 1), got 1.5"),
    (hyper(nesterov={"beta": "0.5"}), "nesterov: beta (β) must be a number, got '0.5'"),
    (hyper(adam={"beta": None}), "adam: beta (β) needs a value: a number from 0.5 to 0.99"),
    (hyper(adam={"eps": None}), "adam: eps (ε) needs a value: a number, finite and > 0"),
    (lambda v: moved(v | {"optimizers": ["linesearch"]}, linesearch={"max_iter": None}),
     "linesearch: max_iter (n) needs a value: a whole number from 1 to 10000"),
    (hyper(momentum={"lr": math.nan}), "momentum: lr (α) (log10) must be a finite number"),
    (hyper(gd={"lr": 1e308}), "gd: lr (α) (log10) must be between -5 and 1"),
    (hyper(adam={"lr": True}), "adam: lr (α) (log10) must be a number, got True"),
    (hyper(adam={"eps": 0}), "adam: eps (ε) must be finite and > 0, got 0.0"),
    (hyper(adam={"gamma": 1.5}), "adam: gamma (γ) must be in [0, 1), got 1.5"),
    (hyper(adam={"gamma": [0.9]}), "adam: gamma (γ) must be a number, got [0.9]"),
    (hyper(adam={"lr": -1.0, "delta": 3}),
     "adam has no hyper-parameter 'delta'; it takes lr, beta, gamma, eps"),
    (lambda v: v | {"hyper": {**v["hyper"], "adam": {"beta": 0.9}}}, "adam: lr (α) is missing"),
    (lambda v: v | {"hyper": {**v["hyper"], "adam": [1, 2]}}, "adam: hyper-parameters must be a mapping"),
    ({"hyper": "lr=0.1"}, "hyper-parameters must be a mapping of method to values"),
    ({"optimizers": ["linesearch"], "hyper": {"linesearch": {"mode": "golden", "max_dist": -1.0,
                                                             "thresh": 1e-5, "max_iter": 15}}},
     "linesearch: mode must be one of bracket, exact, got 'golden'"),
    (lambda v: moved(v | {"optimizers": ["linesearch"]}, linesearch={"max_iter": 2.5}),
     "linesearch: max_iter (n) must be a whole number, got 2.5"),
    (lambda v: moved(v | {"optimizers": ["linesearch"]}, linesearch={"max_iter": 0}),
     "linesearch: max_iter (n) must be a whole number from 1 to 10000, got 0"),
    (lambda v: moved(v | {"optimizers": ["linesearch"]}, linesearch={"thresh": "tiny"}),
     "linesearch: thresh (τ) must be a number, got 'tiny'"),
    (lambda v: moved(v | {"optimizers": ["linesearch"]}, linesearch={"max_dist": 2.5}),
     "linesearch: max_dist (d) (log10) must be between -4 and 2, got 2.5"),
    # a value the controls allow but the problem cannot take: the library's own check answers
    (lambda v: moved(v | {"problem": "rosenbrock", "optimizers": ["linesearch"]},
                     linesearch={"mode": "exact"}),
     "linesearch mode 'exact' needs a constant Hessian"),
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
    ({"optimizers": ["gd", "lbfgs"]}, f"optimizer must be one of {BUILT_IN_LIST}"),
    ({"optimizers": "gd"}, "optimizers must be a list"),
    (too_many, "optimizers must be a list of up to"),
    ({"problem": "../../etc/passwd"}, "problem must be one of"),
    ({"problem": None}, "problem must be one of"),
    ({"problem": ctl.UPLOAD}, "upload a CSV file of x, y data first"),
    ({"start": ["a", 1]}, "start φ0 must be a number"),
    ({"start": [1e300, 0.0]}, "start φ0 must be between"),
    ({"start": [1.0, 2.0, 3.0]}, "start must be two numbers"),
    ({"start": {"x": 1}}, "start must be two numbers"),
    (lambda v: moved(v | {"problem": "rosenbrock", "start": [1e5, 1e5]}, gd={"lr": 1.0}), None),  # diverges
    ({"optimizers": ["x" * 10_000]}, "optimizer must be one of"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_gives_one_line_and_the_app_keeps_working(explorer, change, message):
    values = controls(explorer)
    values = change(values) if callable(change) else values | change
    result = explorer.update(values, None, None, None)
    if message is None:
        assert not result["error"] and "diverged at step" in result["message"]
    else:
        assert result["error"] and result["figures"] is None
        assert message in result["message"], result["message"]
        assert "\n" not in result["message"] and len(result["message"]) < 200
        if message.startswith("optimizers must be a list of up to"):
            assert f"up to {len(optim.names())} names" in result["message"]
    assert not explorer.update(controls(explorer), None, None, None)["error"]


def test_a_bad_update_keeps_the_last_figures_on_the_page(explorer):
    outputs = page_outputs(explorer.update(controls(explorer, hyper={"nesterov": {"beta": 7}}), None, None,
                                           None))
    n = len(web_app.VIEWS)  # the figures come first, then the message and its style
    assert all(o is dash.no_update for o in outputs[:n])
    assert "β) must be in [0, 1)" in outputs[n] and outputs[n + 1]["color"] == web_app.ERROR_STYLE["color"]


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
    values = controls(explorer, ctl.UPLOAD, optimizers=BUILT_IN, steps=30, batch_size=5, seed=3,
                      upload_store=store)   # the settings the upload's own data suggest, as --data's
    result = explorer.update(values, store, None, None)
    assert not result["error"], result["message"]
    got = explorer.outcome(*explorer.request(values, store).cache_key)
    (tmp_path / "hours.csv").write_text(CSV)
    on_disk = cli_config("line-fit", BUILT_IN, 30, data=str(tmp_path / "hours.csv"), batch_size=5, seed=3)
    # the page's α are those the data suggest for sgd's own batch of 3 (the batch control does not move
    # them); the command line given the same α runs the same
    page = explorer.request(values, store).config.optimizers
    assert got.trajectories == dataclasses.replace(on_disk, optimizers=page).run()[1]
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

def hyper_id(method: str, name: str) -> dict:
    return {"type": "hyper", "method": method, "hyper": name}


def test_slider_labels_and_what_is_shown():
    sent = [(hyper_id("gd", "lr"), -1.5228787452803376), (hyper_id("momentum", "lr"), "x"),
            (hyper_id("momentum", "beta"), 0.8), (hyper_id("adam", "lr"), -1),
            (hyper_id("adam", "beta"), 0.9),
            (hyper_id("adam", "gamma"), 0.999), (hyper_id("adam", "eps"), 1e-8),
            (hyper_id("linesearch", "mode"), "exact"), (hyper_id("linesearch", "max_iter"), 7.0),
            (hyper_id("linesearch", "thresh"), -1), (hyper_id("no-such-method", "lr"), 0.1)]
    labels = web_app.hyper_labels([i for i, _ in sent], [v for _, v in sent])
    assert labels == {("gd", "lr"): "α = 0.03", ("momentum", "lr"): "α = ?", ("momentum", "beta"): "β = 0.8",
                      ("adam", "lr"): "α = 0.1", ("adam", "beta"): "β = 0.9", ("adam", "gamma"): "γ = 0.999",
                      ("adam", "eps"): "ε = 1e-08", ("linesearch", "mode"): "mode = exact",
                      ("linesearch", "max_iter"): "n = 7", ("linesearch", "thresh"): "τ = ?"}
    assert web_app.hyper_labels("junk", [1]) == {}
    assert web_app.kappa_label(2) == "κ = 100" and web_app.kappa_label("2") == "κ = ?"
    kappa, batch, data, loss = web_app.visibility("rosenbrock", ["adam"])
    assert kappa == data == batch == {"display": "none"} and "gridColumn" not in loss  # 2 × 2 views
    kappa, batch, data, loss = web_app.visibility("quadratic", ["gd", "nesterov"])
    assert kappa["marginBottom"] and batch == data == {"display": "none"}
    *_, data, loss = web_app.visibility(ctl.UPLOAD, "junk")
    assert data == {"minWidth": "0"} and loss["gridColumn"] == "1 / -1"  # five views: loss a whole row
    boxes = [{"type": "method-box", "method": n} for n in ("gd", "momentum", "adam")] + ["junk"]
    gd, heavy, adam, junk = web_app.method_styles(boxes, ["gd", "adam"])
    assert heavy == junk == {"display": "none"} and "display" not in gd and "display" not in adam
    assert all(s == {"display": "none"} for s in web_app.method_styles(boxes, "junk"))


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
    bad = update_request(app, controls(explorer, hyper={"nesterov": {"beta": ["not", "a", "number"]}})
                         | {"upload": None}, 40, 40)
    response = client.post("/_dash-update-component", json=bad)
    assert response.status_code == 200
    body = json.loads(response.data)["response"]
    assert "view-contour" not in body and "nesterov: beta (β) must be a number" in body["message"]["children"]
    # a hyper-parameter control with a malformed id: a message too
    odd = update_request(app, controls(explorer) | {"upload": None}, 40, 40)
    ids = next(s for s in odd["state"] if isinstance(s, list))
    ids[0]["value"] = {"type": "hyper", "method": 5}
    body = json.loads(client.post("/_dash-update-component", json=odd).data)["response"]
    assert "view-contour" not in body and "malformed id" in body["message"]["children"]
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
    """What the browser holds after a patch: the traces at ``index`` and the layout replaced."""
    data = list(figure["data"])
    for i, trace in zip(change["index"], change["data"], strict=True):
        data[i] = trace
    return {"data": data, "layout": change["layout"]}


@pytest.mark.parametrize("problem", ["line-fit", "rosenbrock"])
def test_a_scrub_on_the_scene_shown_patches_it_into_the_full_views(explorer, problem):
    # Nesterov's look-ahead traces, a run that diverges early (gd), minibatches (sgd), model lines
    lr = 0.3 if problem == "line-fit" else -1.0
    values = controls(explorer, problem, optimizers=FIVE, hyper={"gd": {"lr": lr}, "sgd": {"lr": lr}},
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
            assert change["index"][0] > 0  # the surface, contours and paths stay in the browser
            held[name] = apply(held[name], change)
            assert held[name] == result["figures"][name], (name, t)
    unknown = explorer.update(moved(values, nesterov={"beta": 0.5}), None, 3, 24, shown="never sent")
    assert unknown["changes"] is None and unknown["key"] != first["key"]


@pytest.mark.parametrize("beta", [0.85, 0.2])
def test_a_new_scene_is_a_patch_of_the_traces_that_differ_from_the_scene_shown(explorer, beta):
    """A slider that keeps the view (β 0.9 → 0.85) leaves the surface and the contours in the
    browser; one that moves it (β → 0.2) resends them; either way the page ends at the new views."""
    values = controls(explorer, optimizers=FIVE, steps=30)
    first = explorer.update(values, None, 30, 30)
    held = first["figures"]
    other_values = moved(values, nesterov={"beta": beta})
    other = explorer.update(other_values, None, 30, 30, shown=first["key"])
    assert other["key"] != first["key"] and not other["same"] and other["changes"]
    before = explorer.outcome(*explorer.request(values, None).cache_key).scene
    after = explorer.outcome(*explorer.request(other_values, None).cache_key).scene
    same_view = before.bounds == after.bounds
    assert same_view == (beta == 0.85)
    for name, change in other["changes"].items():
        held[name] = apply(held[name], change)
        assert held[name] == other["figures"][name], name
    for name in ("surface", "contour"):
        assert (other["changes"][name]["index"][0] >= 1) == same_view  # trace 0: the surface, the contours
    sent = json.dumps(page_outputs(other)[:len(web_app.VIEWS)], default=lambda p: p.to_plotly_json())
    whole = json.dumps(other["figures"])
    assert (len(sent) < len(whole) / 2) == same_view
    assert page_outputs(other)[-1] == other["key"]  # the page now shows the new scene


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


# ---- every optimizer of the registry, from its Hyper specs ----------------------------------------

def test_each_hyper_parameter_gets_the_control_its_spec_asks_for():
    kinds = {(c.method, c.hyper.name): c for c in ctl.controls()}
    assert set(kinds) == {(n, h) for n, m in optim.methods().items() for h in m.hyper_names}
    lr = kinds[("gd", "lr")]  # search (1e-4, 1), log: a slider of exponents, a decade wider each way
    assert (lr.kind, lr.low, lr.high, lr.step) == ("log", -5, 1, 0.01)
    assert lr.read(-1.5228787452803376) == 0.03 and lr.position(0.03) == pytest.approx(math.log10(0.03))
    beta = kinds[("momentum", "beta")]  # search (0, 0.99), linear
    assert (beta.kind, beta.low, beta.high, beta.step) == ("linear", 0.0, 0.99, 0.01)
    assert beta.read(0.123456) == 0.1235 and beta.position(1.5) == 0.99  # a slider shows its end
    gamma = kinds[("adam", "gamma")]
    assert (gamma.kind, gamma.low, gamma.high, gamma.step) == ("linear", 0.9, 0.9999, 0.001)
    assert gamma.read(0.999) == 0.999 and gamma.read(0.9999) == 0.9999
    assert kinds[("adam", "eps")].kind == "number" and kinds[("adam", "eps")].read(1e-8) == 1e-8
    assert kinds[("linesearch", "max_dist")].kind == "log"
    assert (kinds[("linesearch", "max_dist")].low, kinds[("linesearch", "max_dist")].high) == (-4, 2)
    assert kinds[("linesearch", "thresh")].kind == "number"
    mode, max_iter = kinds[("linesearch", "mode")], kinds[("linesearch", "max_iter")]
    assert mode.kind == "choice" and mode.read("exact") == "exact"
    assert (max_iter.kind, max_iter.low, max_iter.high) == ("int", 1, 10_000) and max_iter.read(7.0) == 7
    assert isinstance(max_iter.read(7.0), int)
    assert lr.id == {"type": "hyper", "method": "gd", "hyper": "lr"}
    # every value a control can show is one its hyper-parameter accepts, and reads back as itself
    for c in kinds.values():
        if c.kind == "log":
            for v in np.arange(c.low, c.high + 1e-9, 0.37):
                assert c.read(float(v)) == pytest.approx(10**v, rel=5e-3)
        elif c.kind == "linear":
            for v in np.linspace(c.low, c.high, 7):
                assert c.read(float(v)) == pytest.approx(v, abs=c.step / 100)


def test_the_page_has_every_registered_method_and_its_controls():
    app = create_app()
    client = app.server.test_client()
    layout = json.loads(client.get("/_dash-layout").data)
    found: set[tuple[str, str]] = set()
    boxes: set[str] = set()
    checklist: dict = {}

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            i = props.get("id")
            if isinstance(i, dict) and i.get("type") == "hyper":
                found.add((i["method"], i["hyper"]))
                kind = ctl.control(optim.get(i["method"]), optim.get(i["method"]).hyper(i["hyper"])).kind
                widget = {"log": "Slider", "linear": "Slider", "choice": "Dropdown"}.get(kind, "Input")
                assert node["type"] == widget, (i, node["type"])
            if isinstance(i, dict) and i.get("type") == "method-box":
                boxes.add(i["method"])
            if i == "optimizers":
                checklist.update(props)
            for v in props.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(layout)
    assert boxes == set(optim.names())
    assert found == {(n, h) for n, m in optim.methods().items() for h in m.hyper_names}
    assert [o["value"] for o in checklist["options"]] == list(optim.names())
    assert checklist["value"] == list(optim.featured()) == ["gd", "momentum", "nesterov", "adam"]


@pytest.mark.parametrize("method", BUILT_IN)
def test_every_registered_method_can_be_chosen_and_runs_as_on_the_command_line(explorer, method):
    values = controls(explorer, optimizers=[method], steps=12, batch_size=4, seed=5)
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    got = explorer.outcome(*explorer.request(values, None).cache_key).trajectories
    _, expected = cli_config("line-fit", [method], 12, batch_size=4, seed=5).run()
    assert got == expected and got[0].optimizer == method
    assert result["summary"][0].startswith(f"{method} (")


def test_line_search_modes_are_chosen_from_a_dropdown_and_reach_the_run(explorer):
    values = controls(explorer, optimizers=["linesearch"], steps=6,
                      hyper={"linesearch": {"mode": "exact", "max_iter": 9.0, "thresh": 1e-4}})
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    (traj,) = explorer.outcome(*explorer.request(values, None).cache_key).trajectories
    assert traj.hyperparams == {"mode": "exact", "max_dist": 0.1, "thresh": 1e-4, "max_iter": 9}
    config = Config(problem="line-fit", steps=6, optimizers=(OptimizerSpec(
        "linesearch", "linesearch", {"mode": "exact", "max_dist": 0.1, "thresh": 1e-4, "max_iter": 9}),))
    assert [traj] == config.run()[1]
    assert "linesearch (exact" in result["summary"][0]
    bracket = explorer.update(moved(values, linesearch={"mode": "bracket"}), None, None, None)
    assert not bracket["error"] and bracket["summary"] != result["summary"]


def test_every_method_at_once_over_http():
    app = create_app()
    client = app.server.test_client()
    values = app.explorer.page_values(optimizers=BUILT_IN, steps=15) | {"upload": None}
    body = json.loads(client.post("/_dash-update-component",
                                  json=update_request(app, values, 15, 15)).data)["response"]
    summary = [li["props"]["children"] for li in body["summary"]["children"]]
    assert [line.split(" (")[0] for line in summary] == BUILT_IN
    assert body["message"]["children"] == ""


def served_ids(client) -> list:
    """The ids of every component of the page as served."""
    out: list = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if "id" in props:
                out.append(props["id"])
            for v in props.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(client.get("/_dash-layout").data))
    return out


@pytest.fixture
def throwaway():
    """Registers, when called, an optimizer the web modules have never seen (removed afterwards):
    a gradient step η·g, halved on request; η has neither a default nor a suggestion."""
    from descentlab.optimizers import registry

    yield _register_halfstep
    registry._METHODS.pop("halfstep", None)


def _register_halfstep() -> str:
    class State(NamedTuple):
        params: np.ndarray

    @optim.register("halfstep",
                    optim.Hyper("eta", "η", low=0.0, low_open=True, search=(1e-3, 1.0), scale="log"),
                    optim.Hyper("halve", "h", default="no", kind="choice", choices=("no", "yes")))
    def halfstep(eta, halve="no"):
        """A throwaway gradient step, for the explorer's tests."""
        scale = eta * (0.5 if halve == "yes" else 1.0)
        return optim.Rule(lambda p: State(np.asarray(p, dtype=np.float64)),
                          lambda s, g: State(s.params - scale * g))

    return "halfstep"


def test_an_optimizer_registered_after_import_appears_and_runs(throwaway):
    app = create_app()
    client = app.server.test_client()
    assert "halfstep" not in client.get("/_dash-layout").data.decode()
    throwaway = throwaway()  # registered once the app exists: the page is built when served
    ids = served_ids(client)
    assert {"type": "method-box", "method": "halfstep"} in ids
    assert {"type": "hyper", "method": "halfstep", "hyper": "eta"} in ids
    assert {"type": "hyper", "method": "halfstep", "hyper": "halve"} in ids
    explorer = app.explorer
    d = explorer.defaults("line-fit", 1.0)
    assert d["hyper"]["halfstep"] == {"eta": pytest.approx(-1.5), "halve": "no"}  # the middle of its range
    values = controls(explorer, optimizers=["gd", throwaway], steps=20,
                      hyper={throwaway: {"eta": -1.0, "halve": "yes"}})
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    _, half = explorer.outcome(*explorer.request(values, None).cache_key).trajectories
    reference = Config(problem="line-fit", steps=20, optimizers=(OptimizerSpec("gd", "gd", {"lr": 0.05}),))
    np.testing.assert_array_equal(half.params, reference.run()[1][0].params)  # η/2 = 0.05
    assert half.optimizer == throwaway and "halfstep (η=0.1, yes)" in result["summary"][1]
    # and through the page's own endpoint
    body = json.loads(client.post("/_dash-update-component",
                                  json=update_request(app, values | {"upload": None}, 20, 20)).data)
    assert "halfstep (η=0.1, yes)" in json.dumps(body["response"]["summary"], ensure_ascii=False)
    bad = explorer.update(moved(values, halfstep={"halve": "maybe"}), None, None, None)
    assert bad["error"] and bad["message"] == "halfstep: halve (h) must be one of no, yes, got 'maybe'"


def test_concurrent_updates_answer_as_one_at_a_time(explorer):
    """Eight threads updating one explorer at once (new scenes, scrubs of them, patches against the
    scene each shows) get exactly the answers a fresh explorer gives them one by one."""
    import threading

    base = controls(explorer, steps=30)
    plans = [[moved(base, momentum={"lr": -1.5 - 0.05 * c}), moved(base, nesterov={"beta": 0.5 + 0.05 * c})]
             for c in range(8)]

    def session(ex: Explorer, plan: list[dict]) -> list[dict]:
        answers, shown = [], None
        for values in plan:
            for iterate in (30, 4, 17):
                answer = ex.update(values, None, iterate, 30, shown=shown)
                shown = answer["key"]
                answers.append(answer)
        return answers

    together: dict[int, list[dict]] = {}
    threads = [threading.Thread(target=lambda c=c: together.__setitem__(c, session(explorer, plans[c])))
               for c in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    alone = Explorer()
    for c in range(8):
        expected = session(alone, plans[c])
        assert len(together[c]) == len(expected)
        for got, want in zip(together[c], expected, strict=True):
            assert not got["error"] and got["key"] == want["key"] and got["figures"] == want["figures"]
            assert got["changes"] == want["changes"]
