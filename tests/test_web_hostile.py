"""Hostile requests to the explorer's server: each one is refused with a 4xx and one short line
(or, for a bad value inside a well-formed request, answered with one line of message on the
page), nothing at all is logged as an error or a traceback, and the server answers a normal
request right after.

Classes of attack: malformed callback bodies (JSON, shape, content type, size), junk values in
every input of every callback, number boxes out of range or empty, oversize and pathological
uploads (a million columns, a multi-megabyte cell, control characters), the Host header (DNS
rebinding), and the server's version banner over a real server on 127.0.0.1 and an ephemeral
port. The page's own upload-size check runs in Chromium (as ``test_web_browser.py`` drives it).
Only loopback traffic; every count and every wait is bounded.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import logging
import socket
import threading

import pytest

from conftest import require_chromium
from descentlab import optimizers as optim
from descentlab.errors import MESSAGE_LIMIT
from descentlab.web import app as web_app
from descentlab.web import controls as ctl
from descentlab.web import guard
from descentlab.web.app import create_app, make_server

CALLBACK = "/_dash-update-component"
CSV = "hours,score\n" + "".join(f"{x / 4:.2f},{0.5 + 0.8 * x / 4 + 0.1 * (-1) ** x:.3f}\n" for x in range(20))
TIMEOUT_S = 20


def data_url(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:text/csv;base64," + base64.b64encode(raw).decode()


# ---- a well-formed request for any callback, as the page's renderer builds it ------------------------

def key_of(app, output: str) -> str:
    """The callback_map key of the callback that has ``output`` (``"view-contour.figure"``)."""
    return next(k for k in app.callback_map if output in k)


def page_state(app) -> dict:
    """What each (component.property) of the page holds after it loads: the defaults of the line fit,
    10 steps (so every run is quick). ``"hyper"`` holds each hyper-parameter control's position,
    ``{method: {hyper: position}}``; a value under ``"hyper.value"`` goes to every one of them."""
    d = app.explorer.defaults("line-fit", 1.0)
    return {"problem.value": "line-fit", "kappa.value": 1.0, "optimizers.value": list(optim.featured()),
            "steps.value": 10, "batch-size.value": None, "seed.value": 0, "start-store.data": None,
            "upload-store.data": None, "iterate.value": 10, "iterate.max": 10, "shown-store.data": None,
            "upload.contents": data_url(CSV), "upload.filename": "hours.csv",
            "view-contour.clickData": {"points": [{"x": 0.5, "y": 0.5}]}, "start-reset.n_clicks": 1,
            "loss.value": "x**2 + 3*y**2", "fit.value": "line-fit", "model.value": "p0 + p1*x",
            "x-column.value": None, "y-column.value": None, "hyper": d["hyper"]}


def _matching(pattern: dict) -> list[dict]:
    """The ids on the page that fit a pattern-matching id (every registered method's controls)."""
    fixed = {k: v for k, v in pattern.items() if not guard._is_wildcard(v)}
    if "hyper" in pattern:
        return [fixed | {"method": m.name, "hyper": h.name}
                for m in optim.methods().values() for h in m.hypers]
    return [fixed | {"method": m.name} for m in optim.methods().values()]


def callback_body(app, output: str, over: dict | None = None) -> dict:
    """The JSON body the page POSTs for the callback that has ``output``, the page as
    :func:`page_state` (``over`` replaces any of its values, by ``"component.property"``)."""
    state = page_state(app) | (over or {})
    key = key_of(app, output)
    spec = app.callback_map[key]

    def entries(item: dict) -> dict | list:
        if item["id"].startswith("{"):
            pattern = json.loads(item["id"])
            out = []
            for i in _matching(pattern):
                if item["property"] == "id":
                    value = i
                elif f"{pattern['type']}.{item['property']}" in state:  # a value given for all of them
                    value = state[f"{pattern['type']}.{item['property']}"]
                else:
                    value = state["hyper"].get(i["method"], {}).get(i["hyper"])
                out.append({"id": i, "property": item["property"], "value": value})
            return out
        return {**item, "value": state[f"{item['id']}.{item['property']}"]}

    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    sent = [[{"id": i, "property": o.component_property} for i in _matching(o.component_id)]
            if isinstance(o.component_id, dict) else {"id": o.component_id, "property": o.component_property}
            for o in outputs]
    first = spec["inputs"][0]
    changed = [] if first["id"].startswith("{") else [f"{first['id']}.{first['property']}"]
    return {"output": key, "outputs": sent if isinstance(spec["output"], list) else sent[0],
            "inputs": [entries(i) for i in spec["inputs"]], "state": [entries(s) for s in spec["state"]],
            "changedPropIds": changed}


# ---- fixtures and the checks every case makes -------------------------------------------------------

@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


@pytest.fixture
def quiet(caplog):
    """Every log record of the test, at any level; the test then asserts none is an error."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_nothing_logged(caplog) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]
    assert "Traceback" not in caplog.text


def assert_refused(response, status: int) -> str:
    """``response`` is ``status`` with one short plain-text line; returns the line."""
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.endswith("\n") and "\n" not in text[:-1] and len(text) <= 500, text
    assert text.startswith(f"{status} ") and "Traceback" not in text and "<" not in text
    return text


def assert_still_answers(client, app) -> None:
    response = client.post(CALLBACK, json=callback_body(app, "view-contour.figure"))
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()["response"]
    assert "view-contour" in body and body["message"]["children"] == ""


def page_message(response, output: str = "message") -> str:
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["response"][output]["children"]


def assert_one_line(message: str) -> None:
    assert 0 < len(message) <= MESSAGE_LIMIT and "\n" not in message
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in message), repr(message)


# ---- 1. malformed callback bodies ------------------------------------------------------------------

def _mutate(path: tuple, value: object):
    """A change to a well-formed body: set (or with value ``DELETE`` remove) the item at ``path``."""
    def change(body: dict) -> dict:
        body = copy.deepcopy(body)
        *parents, last = path
        target = body
        for p in parents:
            target = target[p]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
        return body
    return change


DELETE = object()
JSON = "application/json"
ENTRIES = 2000
BODIES = [  # (name, the raw body or a change to a good body, its content type, the status)
    ("invalid JSON", b"{", JSON, 400),
    ("truncated JSON", "truncate", JSON, 400),
    ("empty body", b"", JSON, 400),
    ("not UTF-8", b'{"output": "\xff\xfe"}', JSON, 400),
    ("UTF-16", "utf16", JSON, 400),
    ("byte-order mark", "bom", JSON, 400),
    ("a list", b"[]", JSON, 400),
    ("null", b"null", JSON, 400),
    ("a number", b"12", JSON, 400),
    ("a string", b'"output"', JSON, 400),
    ("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, JSON, 400),
    ("a value nested 5000 deep", "deep-value", JSON, 400),
    ("an integer of 10000 digits", b'{"output": ' + b"9" * 10_000 + b"}", JSON, 400),
    ("output missing", _mutate(("output",), DELETE), JSON, 400),
    ("output a number", _mutate(("output",), 1e999), JSON, 400),
    ("output a list", _mutate(("output",), ["view-contour.figure"]), JSON, 400),
    ("output unknown", _mutate(("output",), "..nothing.here.."), JSON, 400),
    ("outputs missing", _mutate(("outputs",), DELETE), JSON, 400),
    ("outputs an object", _mutate(("outputs",), {"id": "message"}), JSON, 400),
    ("outputs one short", "outputs-short", JSON, 400),
    ("inputs missing", _mutate(("inputs",), DELETE), JSON, 400),
    ("inputs a string", _mutate(("inputs",), "problem"), JSON, 400),
    ("inputs an object", _mutate(("inputs",), {"0": {}}), JSON, 400),
    ("one input too many", "inputs-long", JSON, 400),
    ("an input a number", _mutate(("inputs", 0), 7), JSON, 400),
    ("an input without id", _mutate(("inputs", 0, "id"), DELETE), JSON, 400),
    ("an input of another component", _mutate(("inputs", 0, "id"), "seed"), JSON, 400),
    ("an input of another property", _mutate(("inputs", 0, "property"), "style"), JSON, 400),
    ("an input id an object", _mutate(("inputs", 0, "id"), {"a": {"b": []}}), JSON, 400),
    ("pattern entries an object", _mutate(("inputs", 6), {"id": "x"}), JSON, 400),
    ("pattern id of another type", _mutate(("inputs", 6, 0, "id", "type"), "other"), JSON, 400),
    ("pattern id with an extra key", _mutate(("inputs", 6, 0, "id", "extra"), 1), JSON, 400),
    ("pattern id wildcard a list", _mutate(("inputs", 6, 0, "id", "method"), ["gd"]), JSON, 400),
    ("pattern id a string", _mutate(("inputs", 6, 0, "id"), "hyper"), JSON, 400),
    (f"{ENTRIES} pattern entries", "many-entries", JSON, 400),
    ("pattern lists out of step", "out-of-step", JSON, 400),
    ("state missing", _mutate(("state",), DELETE), JSON, 400),
    ("state null", _mutate(("state",), None), JSON, 400),
    ("changedPropIds a string", _mutate(("changedPropIds",), "steps.value"), JSON, 400),
    ("changedPropIds unknown", _mutate(("changedPropIds",), ["nothing.value"]), JSON, 400),
    ("changedPropIds bad JSON id", _mutate(("changedPropIds",), ['{"type.value']), JSON, 400),
    ("changedPropIds a number", _mutate(("changedPropIds",), [5]), JSON, 400),
    ("text/plain", "good", "text/plain", 415),
    ("a form", "good", "application/x-www-form-urlencoded", 415),
    ("no content type", "good", None, 415),
    ("over the size limit", "huge", "application/json", 413),
]


def raw_body(app, how) -> bytes:
    good = callback_body(app, "view-contour.figure")
    text = json.dumps(good)
    if isinstance(how, bytes):
        return how
    if callable(how):
        return json.dumps(how(good)).encode()
    if how == "good":
        return text.encode()
    if how == "truncate":
        return text[: len(text) // 2].encode()
    if how == "utf16":
        return text.encode("utf-16")
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if how == "deep-value":
        assert '"value": 10}' in text
        return text.replace('"value": 10}', '"value": ' + "[" * 5000 + "]" * 5000 + "}", 1).encode()
    if how == "outputs-short":
        return json.dumps(good | {"outputs": good["outputs"][:-1]}).encode()
    if how == "inputs-long":
        return json.dumps(good | {"inputs": [*good["inputs"], good["inputs"][0]]}).encode()
    if how == "many-entries":
        entry = good["inputs"][6][0]
        many = [dict(entry, id=dict(entry["id"], hyper=f"h{i}")) for i in range(ENTRIES)]
        return json.dumps(_mutate(("inputs", 6), many)(good)).encode()
    if how == "out-of-step":  # the values of one method's controls, the ids of another's
        at = next(i for i, s in enumerate(good["state"]) if isinstance(s, list) and len(s) > 1)
        entries = good["state"][at]
        return json.dumps(_mutate(("state", at), entries[1:] + entries[:1])(good)).encode()
    if how == "huge":
        return b'{"output": "' + b"x" * web_app.MAX_REQUEST_BYTES + b'"}'
    raise AssertionError(how)


@pytest.mark.parametrize(("how", "content_type", "status"), [b[1:] for b in BODIES],
                         ids=[b[0] for b in BODIES])
def test_a_malformed_callback_body_gets_a_4xx_and_no_traceback(app, client, quiet, how, content_type, status):
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post(CALLBACK, data=raw_body(app, how), headers=headers)
    assert_refused(response, status)
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)
    assert_nothing_logged(quiet)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_the_wrong_method_on_the_callback_route_is_refused_in_plain_text(app, client, quiet, method):
    response = client.open(CALLBACK, method=method, json=callback_body(app, "view-contour.figure"))
    assert "Method Not Allowed" in assert_refused(response, 405) and "POST" in response.headers["Allow"]
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


@pytest.mark.parametrize("path", ["/_dash-component-suites/dash/nothing.js",
                                  "/_dash-component-suites/no_such_package/x.js",
                                  "/_dash-component-suites/dash/../../../../etc/passwd"])
def test_a_request_for_a_script_dash_does_not_serve_is_a_404(app, client, quiet, path):
    assert_refused(client.get(path), 404)
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


def test_the_page_s_own_requests_pass_the_checks(app, client, quiet):
    """Each callback's request as the renderer sends it is accepted (the checks refuse only what
    the page never sends)."""
    for output in ("upload-store.data", "start-store.data", "steps.value", "kappa-label.children",
                   "view-contour.figure"):
        response = client.post(CALLBACK, json=callback_body(app, output))
        assert response.status_code in (200, 204), (output, response.data[:300])
    assert_nothing_logged(quiet)


# ---- 2. junk values inside a well-formed body: a message or no change, never an error -----------------

JUNK = [None, True, -1, 1e308, float("nan"), 10**40, "x" * 5000, "", "\x1b]0;owned\x07", [], [[[[]]]],
        {}, {"key": "no-such-upload"}, {"points": "all"}, [None] * 50]
CALLBACK_OUTPUTS = ["upload-store.data", "start-store.data", "steps.value", "kappa-label.children",
                    "view-contour.figure"]


@pytest.mark.parametrize("output", CALLBACK_OUTPUTS)
@pytest.mark.parametrize("junk", JUNK, ids=[repr(j)[:20] for j in JUNK])
def test_junk_in_any_input_of_any_callback_is_answered_not_raised(app, client, quiet, output, junk):
    spec = app.callback_map[key_of(app, output)]
    slots = [f"{i['id']}.{i['property']}" for i in spec["inputs"] + spec["state"] if i["property"] != "id"]
    slots = [f"{json.loads(s.rsplit('.', 1)[0])['type']}.{s.rsplit('.', 1)[1]}" if s.startswith("{") else s
             for s in slots]
    for slot in slots:
        response = client.post(CALLBACK, json=callback_body(app, output, {slot: junk}))
        assert response.status_code in (200, 204), (slot, response.status_code, response.data[:300])
        if response.status_code == 200 and output == "view-contour.figure":
            message = page_message(response)
            if message:
                assert_one_line(message)
                assert "got None" not in message, message  # an empty control says so in words
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


# ---- 3. number boxes: the control, its range, and what was sent ---------------------------------------

BOXES = [
    ({"steps.value": 5000}, "steps must be a whole number from 1 to 2000, got 5000"),
    ({"steps.value": None}, "steps must be a whole number from 1 to 2000; the box is empty"),
    ({"steps.value": ""}, "steps must be a whole number from 1 to 2000; the box is empty"),
    ({"steps.value": 0}, "steps must be a whole number from 1 to 2000, got 0"),
    ({"steps.value": 10**30}, "steps must be a whole number from 1 to 2000, got 1" + "0" * 30),
    ({"seed.value": None}, f"seed must be a whole number from 0 to {ctl.MAX_SEED}; the box is empty"),
    ({"seed.value": -3}, f"seed must be a whole number from 0 to {ctl.MAX_SEED}, got -3"),
    ({"batch-size.value": 0}, f"batch size must be a whole number from 1 to {ctl.MAX_ROWS}, got 0"),
    ({"iterate.value": 10**6}, "iterate must be a whole number from 0 to 2000, got 1000000"),
]


@pytest.mark.parametrize(("over", "message"), BOXES, ids=[m for _, m in BOXES])
def test_an_out_of_range_or_empty_box_names_the_control_and_its_range(app, client, quiet, over, message):
    said = page_message(client.post(CALLBACK, json=callback_body(app, "view-contour.figure", over)))
    assert said == message and "None" not in said
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


def test_an_empty_hyper_parameter_box_says_its_range_and_that_it_is_empty(app, client, quiet):
    hyper = copy.deepcopy(page_state(app)["hyper"])
    hyper["linesearch"]["max_iter"] = None
    said = page_message(client.post(CALLBACK, json=callback_body(
        app, "view-contour.figure", {"hyper": hyper, "optimizers.value": ["linesearch"]})))
    assert said == ("linesearch: max_iter (n) needs a value: a whole number from 1 to 10000 "
                    "(the box is empty or out of range)")
    assert_nothing_logged(quiet)


def test_the_page_s_plain_number_boxes_send_what_was_typed(app):
    """The steps, seed and batch-size boxes carry no browser bounds (a browser sends null for a value
    outside them), so the server sees 5000 and can say "got 5000"."""
    page = web_app.layout(app.explorer)
    for box in ("steps", "seed", "batch-size"):
        found = _find(page, box)
        assert found.type == "number"
        assert getattr(found, "min", None) is None and getattr(found, "max", None) is None


def _find(component, id_):
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found = _find(child, id_)
        if found is not None:
            return found
    return None


# ---- 4. uploads: the size limit, and messages of at most 400 characters --------------------------------

def upload(client, app, contents: object, filename: object = "data.csv") -> tuple[str, dict]:
    response = client.post(CALLBACK, json=callback_body(
        app, "upload-store.data", {"upload.contents": contents, "upload.filename": filename}))
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()["response"]
    return body["upload-message"]["children"], body["upload-message"]["style"]


def _cells(n: int) -> str:
    return ",".join("a" for _ in range(n))


UPLOADS = [
    ("over the limit", data_url(b"x,y\n" + b"1,2\n" * (3 * 2**20 // 2)), "big.csv",
     "big.csv is 6.0 MB, larger than 5 MB, the limit for an upload"),
    ("just over the limit", data_url(b"x,y\n" + b"1" * ctl.MAX_UPLOAD_BYTES), "big.csv",
     "big.csv is larger than 5 MB, the limit for an upload"),
    ("a million columns", data_url(_cells(10**6) + "\n" + _cells(10**6).replace("a", "1") + "\n"), "wide.csv",
     f"wide.csv has 1,000,000 columns in its first line; at most {ctl.MAX_COLUMNS:,} are allowed"),
    ("a 2.6 MB cell", data_url("x,y\n1,2\n3," + "z" * (26 * 10**5) + "\n"), "cell.csv", "cell.csv"),
    ("a 120 kB cell", data_url("x,y\n1,2\n3," + "z" * 120_000 + "\n"), "cell.csv", "cell.csv row 3"),
    ("a 120 kB column name", data_url("h" * 120_000 + ",y\n1,2\n2,3\n3,5\n"), "name.csv", "name.csv: 3 rows"),
    ("a thousand 120-character column names", data_url(",".join(f"{i:0120d}" for i in range(1000)) + "\n1\n"),
     "names.csv", "names.csv"),
    ("escape codes in the header", data_url("\x1b[2J\x1b]0;owned\x07x,y\n1,2\n2,3\n"), "esc.csv", "esc.csv"),
    ("a file name with escape codes", data_url("x,y\n1,a\n"), "\x1b[31mred\x1b[0m.csv", "[31mred"),
    ("not base64", "data:text/csv;base64,@@@", "bad.csv", "bad.csv: the upload is not valid base64"),
]


@pytest.mark.parametrize(("contents", "filename", "message"), [u[1:] for u in UPLOADS],
                         ids=[u[0] for u in UPLOADS])
def test_a_bad_upload_gets_one_short_line(app, client, quiet, contents, filename, message):
    said, _ = upload(client, app, contents, filename)
    assert message in said, said[:500]
    assert_one_line(said)
    assert "\x1b" not in said and "\x07" not in said
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(app, client, quiet):
    contents = data_url(b"1" * (web_app.MAX_REQUEST_BYTES * 3 // 4 + 1))
    body = json.dumps(callback_body(app, "upload-store.data", {"upload.contents": contents}))
    assert "Request Entity Too Large" in assert_refused(client.post(CALLBACK, data=body,
                                                                      content_type="application/json"), 413)
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


def test_a_refused_upload_keeps_the_data_in_use_and_says_so(app, client):
    good, style = upload(client, app, data_url(CSV), "hours.csv")
    assert good == "hours.csv: 20 rows, x = hours, y = score"
    assert style["color"] == web_app.NOTE_STYLE["color"]
    response = client.post(CALLBACK, json=callback_body(app, "upload-store.data", {
        "upload.contents": data_url(b"1" * (ctl.MAX_UPLOAD_BYTES + 2**20)), "upload.filename": "big.csv",
        "upload-store.data": {"key": "k", "name": "hours.csv", "rows": 20}}))
    body = response.get_json()["response"]
    assert body["upload-message"]["children"] == (
        "big.csv is 6.0 MB, larger than 5 MB, the limit for an upload (still using hours.csv)")
    assert body["upload-message"]["style"]["color"] == web_app.ERROR_STYLE["color"]
    assert "upload-store" not in body and "problem" not in body  # the data in use stays


def test_a_cleared_upload_box_changes_nothing(app, client):
    """The page's own check clears the box's contents before it says why a file was refused; that
    must not wipe its message."""
    response = client.post(CALLBACK, json=callback_body(app, "upload-store.data", {"upload.contents": None}))
    assert response.status_code == 204


def test_every_web_message_is_cut_to_one_short_line(app):
    long = "bad " + "é\n\x1b" * 1_000_000  # a 3 MB message with newlines and escape codes
    said = web_app.say(long)
    assert_one_line(said)
    assert "characters left out" in said and said.startswith("bad é \\x1bé")
    assert web_app._one_line(ValueError(long)) == said
    assert web_app._one_line(ValueError("")) == "ValueError"


# ---- 5. the Host header: loopback names and the --host given, nothing else ------------------------------

ALLOWED = ["127.0.0.1", "127.0.0.1:8050", "localhost", "LocalHost:80", "localhost.:8050", "[::1]",
           "[::1]:8050"]
REFUSED = ["evil.example", "evil.example:8050", "127.0.0.1.evil.example", "localhost.evil.example:8050",
           "[::2]:8050", "127.0.0.2:8050", "localhost:abc", "[::1", "[::1]x",
           "user@127.0.0.1", "0.0.0.0:8050"]


@pytest.mark.parametrize("host", ALLOWED)
def test_a_loopback_host_is_answered(app, client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200
    response = client.post(CALLBACK, json=callback_body(app, "view-contour.figure"), headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", REFUSED)
@pytest.mark.parametrize("path", ["/", CALLBACK, "/_dash-layout"])
def test_another_host_is_refused(app, client, quiet, host, path):
    """DNS rebinding: a page on evil.example re-pointed at 127.0.0.1 still sends Host: evil.example."""
    if path == CALLBACK:
        response = client.post(path, json=callback_body(app, "view-contour.figure"), headers={"Host": host})
    else:
        response = client.get(path, headers={"Host": host})
    assert "does not answer to the host" in assert_refused(response, 400)
    assert_nothing_logged(quiet)
    assert_still_answers(client, app)


def test_the_host_given_to_the_server_is_answered_too():
    app = create_app()
    client = app.server.test_client()
    assert client.get("/", headers={"Host": "127.0.0.2:8050"}).status_code == 400
    server = make_server(app, "127.0.0.2", 0)  # all of 127/8 is loopback on Linux
    try:
        assert "127.0.0.2" in app.allowed_hosts and "127.0.0.3" not in app.allowed_hosts
        assert client.get("/", headers={"Host": f"127.0.0.2:{server.server_port}"}).status_code == 200
        assert client.get("/", headers={"Host": "127.0.0.3"}).status_code == 400
    finally:
        server.server_close()
    guard.allow_host(app, "Explorer.Example")
    assert client.get("/", headers={"Host": "explorer.example:8050"}).status_code == 200
    guard.allow_host(app, "0.0.0.0")  # every interface: the machine's own names too
    assert socket.gethostname().lower() in app.allowed_hosts


def test_host_names_are_read_as_a_browser_sends_them():
    assert guard.host_name("[::1]:8050") == "::1" and guard.host_name("LOCALHOST.:1") == "localhost"
    assert guard.host_name("127.0.0.1") == "127.0.0.1" and guard.host_name("::1") == "::1"
    for bad in ("[::1", "[::1]x", "a:b", "a:123456", "x:"):
        assert guard.host_name(bad) not in guard.LOOPBACK_NAMES


# ---- 6. a real server: no version banner, bounded requests ----------------------------------------------

@pytest.fixture(scope="module")
def served():
    app = create_app()
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=TIMEOUT_S)


def fetch(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read(4096)
    finally:
        connection.close()


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as s:
        s.sendall(data)
        chunks = []
        while len(b"".join(chunks)) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


SERVED = [
    ("GET /", "GET", "/", None, {}, 200),
    ("a callback", "POST", CALLBACK, "good", {"Content-Type": "application/json"}, 200),
    ("junk JSON", "POST", CALLBACK, b"{", {"Content-Type": "application/json"}, 400),
    ("a list", "POST", CALLBACK, b"[1, 2]", {"Content-Type": "application/json"}, 400),
    ("wrong content type", "POST", CALLBACK, b"{}", {"Content-Type": "text/plain"}, 415),
    ("another host", "GET", "/", None, {"Host": "evil.example"}, 400),
    ("a missing script", "GET", "/_dash-component-suites/dash/nothing.js", None, {}, 404),
    ("PUT", "PUT", CALLBACK, b"{}", {"Content-Type": "application/json"}, 405),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), [s[1:] for s in SERVED],
                         ids=[s[0] for s in SERVED])
def test_the_served_app_shows_no_versions_and_logs_no_traceback(served, quiet, method, path, body, headers,
                                                                 status):
    app, port = served
    data = json.dumps(callback_body(app, "view-contour.figure")).encode() if body == "good" else body
    got, response_headers, _ = fetch(port, method, path, data, headers)
    assert got == status
    assert response_headers["Server"] == guard.SERVER_NAME  # once: http.client would join two with ", "
    shown = " ".join(f"{k}: {v}" for k, v in response_headers.items())
    assert "Werkzeug" not in shown and "Python" not in shown
    assert_nothing_logged(quiet)
    assert fetch(port, "POST", CALLBACK, json.dumps(callback_body(app, "view-contour.figure")).encode(),
                {"Content-Type": "application/json"})[0] == 200


RAW = [  # (the request, its status, whether the answer has HTTP/1.x headers)
    ("no method", b"GARBAGE\r\n\r\n", 400, False),
    ("HTTP/9.9", b"GET / HTTP/9.9\r\n\r\n", 505, False),
    ("TLS to plain HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, False),
    ("a host with two ports", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8050:80\r\n\r\n", 400, True),
    ("a rebound name", b"GET / HTTP/1.1\r\nHost: evil.example:8050\r\n\r\n", 400, True),
    ("no Host at all (HTTP/1.0)", b"GET / HTTP/1.0\r\n\r\n", 200, True),
]


@pytest.mark.parametrize(("request_bytes", "status", "headers"), [r[1:] for r in RAW],
                         ids=[r[0] for r in RAW])
def test_raw_requests_get_no_version_banner(served, quiet, request_bytes, status, headers):
    """What Python's HTTP server answers by itself (an HTTP/0.9-style page: no headers at all), and
    Host headers exactly as sent (the test client would tidy them)."""
    _, port = served
    answer = raw_request(port, request_bytes)
    assert b"Werkzeug" not in answer and b"Python" not in answer
    if headers:
        head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        assert head[0].split(" ")[1] == str(status), head
        assert [h for h in head if h.lower().startswith("server:")] == [f"Server: {guard.SERVER_NAME}"]
    else:
        assert f"Error code: {status}".encode() in answer
    assert_nothing_logged(quiet)
    assert fetch(port, "GET", "/")[0] == 200


# ---- 7. the page's own upload check, in Chromium ----------------------------------------------------

def test_the_page_says_at_once_why_it_will_not_send_a_file(served):
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright: pip install -e '.[test]'", pytrace=False)
    _, port = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu",
                                                                         "--no-first-run"])
        try:
            page = browser.new_page()
            page.set_default_timeout(3 * TIMEOUT_S * 1000)  # a 6 MB file crosses to the browser
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#view-contour .js-plotly-plot .main-svg")
            mb = 2**20
            verdicts = page.evaluate("""(mb) => [
                [{name: 'a.csv', size: 6.2 * mb, type: 'text/csv'}],
                [{name: 'C:\\\\Users\\\\me\\\\b.csv', size: 5 * mb + 1, type: ''}],
                [{name: 'c.tsv', size: 10, type: 'text/tab-separated-values'}],
                [{name: 'd.txt', size: 10, type: 'text/plain'}],
                [{name: '\\u001b[31me.CSV', size: 5 * mb, type: ''}],
                [],
            ].map(files => window.descentlabUpload.verdict(files, 5 * mb, '.csv,text/csv,text/plain'))""", mb)
            assert verdicts == [
                {"error": True, "text": "a.csv is 6.2 MB, larger than 5 MB, the limit for an upload"},
                {"error": True, "text": "b.csv is larger than 5 MB, the limit for an upload"},
                {"error": True, "text": "c.tsv is not a CSV file (.csv, text/csv, text/plain)"},
                {"error": False, "text": "reading d.txt \u2026"},
                {"error": False, "text": "reading [31me.CSV \u2026"},
                None]
            assert page.evaluate("window.descentlabUpload.limit") == ctl.MAX_UPLOAD_BYTES

            box = "#upload input[type=file]"
            good = {"name": "hours.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
            page.set_input_files(box, files=[good])
            wait_text(page, "hours.csv: 20 rows, x = hours, y = score")
            big = b"x,y\n" + b"1,2\n" * (3 * mb // 2)  # 6 MB: the box drops it, the page says why
            page.set_input_files(box, files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big}])
            wait_text(page, "big.csv is 6.0 MB, larger than 5 MB, the limit for an upload")
            color = page.eval_on_selector("#upload-message", "e => getComputedStyle(e).color")
            assert color == "rgb(176, 0, 32)"
            # the same good file again is heard (its contents were cleared), and its message replaces
            page.set_input_files(box, files=[good])
            wait_text(page, "hours.csv: 20 rows, x = hours, y = score")
            assert not errors, errors
        finally:
            browser.close()


def wait_text(page, text: str) -> None:
    page.wait_for_function("(text) => document.querySelector('#upload-message').innerText === text", arg=text)
