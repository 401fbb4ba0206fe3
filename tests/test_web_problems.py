"""Your own problem in the explorer: a loss expression, and an uploaded CSV's columns fitted by a line,
the Gabor model or a model expression.

The oracle is the command line: a state of the page is a configuration (``Config.loss``,
``Config.model``, ``Config.x``, ``Config.y``, ``Config.problem``), and its runs must equal
``descentlab run`` given that configuration and a CSV file of the same bytes, to 1e-12. The
suggested α and β the page starts from are the problem's own (``Config.resolved``), and a bad
expression gets the command line's message with a caret line under the fault, while the page keeps
answering. The browser tests drive the real server with
Debian's Chromium (see ``conftest.chromium_browser``).
"""

from __future__ import annotations

import base64
import dataclasses
import json

import numpy as np
import pytest

from conftest import explorer_page, serving, wait_text
from descentlab import datasets
from descentlab.config import Config, OptimizerSpec
from descentlab.errors import MESSAGE_LIMIT
from descentlab.problems import ExpressionError
from descentlab.problems.expression import MAX_LENGTH
from descentlab.web import app as web_app
from descentlab.web import controls as ctl
from descentlab.web.app import Explorer, create_app, page_outputs, update_request

SHOWN = ["gd", "momentum", "nesterov", "adam"]
LOSS = "x**2 + 3*y**2"
STEEP = "(1 - x)**2 + 20*(y - x**2)**2"
MODEL = "p0 + p1*x + p2*x**2"
GABOR = datasets.gabor()
# three numeric columns and an id: x, a noisy line of x, and the book's Gabor data (Figure 6.2)
ROWS = [(i + 1, x, 0.5 + 0.08 * x + 0.1 * (-1) ** i, y)
        for i, (x, y) in enumerate(zip(GABOR.x, GABOR.y, strict=True))]
CSV = "id,x,line,wave\n" + "".join(f"{i},{x:.4f},{a:.4f},{w:.4f}\n" for i, x, a, w in ROWS)


def data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(resolution=40)


@pytest.fixture(scope="module")
def store(explorer):
    store, message, failed = explorer.upload(data_url(CSV), "waves.csv")
    assert not failed, message
    return store


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "waves.csv"
    path.write_text(CSV)
    return path


def specs(config: Config) -> tuple[OptimizerSpec, ...]:
    return config.optimizers


def assert_same_runs(got, want) -> None:
    """Two lists of runs: the same labels, every iterate, loss and gradient to 1e-12."""
    assert [t.label for t in got] == [t.label for t in want]
    for a, b in zip(got, want, strict=True):
        assert a.params.shape == b.params.shape
        np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.losses, b.losses, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.grads, b.grads, rtol=1e-12, atol=1e-12)


def assert_suggested(page_config: Config, cli: Config) -> None:
    """The page's hyper-parameters are those the command line resolves for the problem (α, β …)."""
    want = {s.name: s.hyperparams for s in cli.resolved().optimizers}
    got = {s.name: s.hyperparams for s in page_config.optimizers}
    assert list(got) == list(want)
    for name, values in want.items():
        assert list(got[name]) == list(values)
        for key, value in values.items():
            expected = value if isinstance(value, str) else pytest.approx(value, rel=1e-12)
            assert got[name][key] == expected, (name, key)


# ---- a loss expression -----------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [LOSS, STEEP])
def test_a_loss_expression_runs_what_descentlab_run_runs(explorer, loss):
    values = explorer.page_values(ctl.EXPRESSION, optimizers=SHOWN, loss=loss, steps=40)
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    req = explorer.request(values, None)
    assert req.config.loss == loss and req.upload_key is None
    cli = Config(loss=loss, steps=40, optimizers=tuple(OptimizerSpec(n, n) for n in SHOWN))
    assert_suggested(req.config, cli)  # the expression's own suggested α and β, as --loss gives them
    # the page's TOML is a configuration the command line reads back and runs the same
    again = Config.from_toml(req.config.to_toml(), "page")
    assert again == req.config
    _, want = again.run()
    assert_same_runs(explorer.outcome(*req.cache_key).trajectories, want)
    assert "data" not in result["figures"] and {"contour", "surface", "loss"} <= set(result["figures"])


def test_a_clicked_start_on_a_loss_expression_is_the_command_line_s_start(explorer):
    values = explorer.page_values(ctl.EXPRESSION, optimizers=["nesterov"], loss=STEEP, steps=30,
                                  start=[-0.5, 0.75])
    req = explorer.request(values, None)
    assert req.config.start == (-0.5, 0.75)
    _, want = Config.from_toml(req.config.to_toml()).run()
    got = explorer.outcome(*req.cache_key).trajectories
    assert_same_runs(got, want)
    assert got[0].params[0].tolist() == [-0.5, 0.75]


BAD = [  # (the expression, the offending part the caret must sit under)
    ("x**2 + 3*sni(y)", "sni"),
    ("x**2 + 3*y^2", "^"),
    ("__import__('os').system('id')", "__import__"),
    ("x**2 + (3*y", None),
    ("x**2 + 3 y", None),
    ("x**2 + 3*y\x1b[2J", "\x1b"),
]


@pytest.mark.parametrize(("bad", "part"), BAD, ids=[b for b, _ in BAD])
def test_a_bad_loss_expression_gets_the_command_line_s_message_and_a_caret(explorer, capsys, bad, part):
    from descentlab.cli import main

    values = explorer.page_values(ctl.EXPRESSION, optimizers=SHOWN, loss=LOSS, steps=20)
    result = explorer.update(values | {"loss": bad}, None, None, None)
    assert result["error"] and result["figures"] is None
    with pytest.raises(ExpressionError) as raised:  # the oracle: the library's own error
        Config(loss=bad).build_problem()
    err = raised.value
    assert result["message"] == err.summary
    assert 0 < len(result["message"]) <= MESSAGE_LIMIT and "\n" not in result["message"]
    # the command line says the same (in one line)
    assert main(["run", "--loss", bad, "--steps", "3"]) == 2
    assert err.summary in capsys.readouterr().err
    # the block under the boxes: the message, the expression, then carets under the offending part
    said, shown, carets = result["detail"].split("\n")
    assert said == err.summary and result["detail"] == str(err)
    start = carets.index("^")
    assert set(carets[start:].rstrip()) == {"^"} and not carets[:start].strip()
    assert start == shown.index(shown.strip()[0]) + err.span[0]
    if part is not None:
        visible = part if part.isprintable() else repr(part)[1:-1]
        assert shown[start:start + len(visible)] == visible
    outputs = page_outputs(result)
    n = len(web_app.VIEWS)
    assert outputs[n] == err.summary and "monospace" in outputs[n + 3]["fontFamily"]
    said_block, caret_block = outputs[n + 2]
    assert said_block.children == err.summary and caret_block.children == f"{shown}\n{carets}"
    assert caret_block.style["whiteSpace"] == "pre"  # the caret keeps its column
    # the next good expression works again, and the block goes away
    good = explorer.update(values | {"loss": STEEP}, None, None, None)
    assert not good["error"] and good["figures"] is not None
    assert page_outputs(good)[n + 3] == {"display": "none"}


@pytest.mark.parametrize(("loss", "message"), [
    (None, f"type a loss expression, e.g. {ctl.LOSS_EXAMPLE}"),
    ("   ", f"type a loss expression, e.g. {ctl.LOSS_EXAMPLE}"),
    (12, "the loss expression must be text, got 12"),
    (["x"], "the loss expression must be text, got ['x']"),
    ("x" * (MAX_LENGTH + 1),
     f"the expression is {MAX_LENGTH + 1} characters long; at most {MAX_LENGTH} are allowed"),
    ("x*y*z + a", "column 9: unknown name 'a'"),
])
def test_what_the_loss_box_refuses_is_said_in_one_line(explorer, loss, message):
    values = explorer.page_values(ctl.EXPRESSION, optimizers=["gd"], steps=5)
    result = explorer.update(values | {"loss": loss}, None, None, None)
    assert result["error"] and message in result["message"], result["message"]
    assert "\n" not in result["message"] and len(result["message"]) <= MESSAGE_LIMIT
    assert not explorer.update(values, None, None, None)["error"]


def test_a_problem_the_loss_box_does_not_use_is_not_read(explorer):
    """The boxes of a problem not shown are neither read nor checked (as κ off the quadratic)."""
    values = explorer.page_values("rosenbrock", optimizers=["gd"], steps=5)
    for junk in (None, 7, "sni(", {"a": 1}):
        junked = values | {"loss": junk, "model": junk, "x": junk, "fit": junk}
        result = explorer.update(junked, None, None, None)
        assert not result["error"], result["message"]


# ---- an upload: its columns and its model ------------------------------------------------------------

def test_an_upload_offers_its_numeric_columns_and_picks_as_the_command_line(explorer, store):
    up = explorer.uploaded(store)
    table = datasets.parse_csv(CSV, "waves.csv")  # what --data picks without --x/--y: the id is left out
    assert up.columns == ("id", "x", "line", "wave")
    assert (up.table.x_name, up.table.y_name) == (table.x_name, table.y_name) == ("x", "line")
    assert [o["value"] for o in web_app.column_options(up)] == list(up.columns)
    text = "n,name,a,b\n" + "".join(f"{i},row{i},{i / 2},{i * i}\n" for i in range(5))
    named = explorer.uploaded(explorer.upload(data_url(text), "mixed.csv")[0])
    assert named.columns == ("n", "a", "b")  # a column of text is not offered


@pytest.mark.parametrize(("fit", "x", "y"), [("line-fit", "x", "wave"), ("gabor", "x", "wave"),
                                             ("line-fit", "line", "x"), ("expression", "x", "line")])
def test_a_column_and_model_choice_fits_what_the_command_line_fits(explorer, store, csv_file, fit, x, y):
    values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=SHOWN, fit=fit, x=x, y=y,
                                  model=MODEL, steps=25)
    result = explorer.update(values, store, None, None)
    assert not result["error"], result["message"]
    req = explorer.request(values, store)
    top = {"model": MODEL} if fit == "expression" else {"problem": fit}
    cli = Config(data=str(csv_file), x=x, y=y, steps=25, optimizers=tuple(OptimizerSpec(n, n) for n in SHOWN),
                 **top)
    assert (req.config.x, req.config.y, req.config.model) == (x, y, top.get("model"))
    assert req.config.problem == (fit if fit != "expression" else "line-fit")
    assert_suggested(req.config, cli)  # α from this column's scale, as --data --x --y suggests it
    page_problem = explorer.outcome(*req.cache_key).problem
    file_problem = cli.build_problem()
    np.testing.assert_array_equal(page_problem.x, file_problem.x)
    np.testing.assert_array_equal(page_problem.y, file_problem.y)
    want_columns = {"x": GABOR.x, "wave": GABOR.y, "line": [r[2] for r in ROWS]}
    np.testing.assert_allclose(page_problem.x, want_columns[x], atol=5e-5)
    np.testing.assert_allclose(page_problem.y, want_columns[y], atol=5e-5)
    _, want = dataclasses.replace(cli, optimizers=req.config.optimizers).run()
    assert_same_runs(explorer.outcome(*req.cache_key).trajectories, want)
    scene = explorer.outcome(*req.cache_key).scene  # what the data view draws
    assert scene.data_labels == (x, y)
    np.testing.assert_array_equal(scene.data[1], page_problem.y)
    assert "data" in result["figures"]


def test_a_model_of_three_parameters_is_drawn_through_a_slice(explorer, store, csv_file):
    values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["nesterov"], fit="expression",
                                  model=MODEL, x="x", y="line", steps=20)
    result = explorer.update(values, store, None, None)
    assert not result["error"], result["message"]
    outcome = explorer.outcome(*explorer.request(values, store).cache_key)
    assert outcome.problem.n_params == 3 and outcome.trajectories[0].params.shape == (21, 3)
    assert "2-D slice at p2=" in outcome.scene.title
    # a click on the contour map gives two numbers: the 3-parameter model asks for a reset
    clicked = explorer.update(values | {"start": [0.1, 0.2]}, store, None, None)
    assert clicked["error"] and "press reset" in clicked["message"] and "p0, p1, p2" in clicked["message"]


def test_suggested_alpha_follows_the_scale_of_the_chosen_column(explorer):
    """A column 1000 times larger: α 10⁶ times smaller (the sum of squares' curvature), outside the
    slider's usual decades, which move to hold it; the run uses that α exactly."""
    base = "a,b,c\n" + "".join(f"{i / 10},{1 + i / 20 + 0.05 * (-1) ** i},{i * 100}\n" for i in range(30))
    store, _, failed = explorer.upload(data_url(base), "scale.csv")
    assert not failed
    alphas = {}
    for x in ("a", "c"):
        values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["gd"], x=x, y="b", steps=10)
        config = explorer.request(values, store).config
        cli = Config(x=x, y="b", optimizers=(OptimizerSpec("gd", "gd"),))
        prob = explorer.outcome(*explorer.request(values, store).cache_key).problem
        assert config.optimizers[0].hyperparams["lr"] == pytest.approx(
            cli.resolved(prob).optimizers[0].hyperparams["lr"], rel=1e-12)
        alphas[x] = config.optimizers[0].hyperparams["lr"]
        assert not explorer.update(values, store, None, None)["error"]
    assert alphas["c"] < alphas["a"] * 1e-4
    assert explorer.moved_for({"problem": ctl.UPLOAD, "x": "c", "y": "b"}, store)[("gd", "lr")][1] < -3


@pytest.mark.parametrize(("over", "message"), [
    ({"x": "nope"}, "x column of waves.csv must be one of id, x, line, wave, got 'nope'"),
    ({"y": 3}, "y column of waves.csv must be one of id, x, line, wave, got 3"),
    ({"x": "wave", "y": "wave"}, "waves.csv: x and y are the same column 'wave'"),
    ({"fit": "cubic"}, "model must be one of line-fit, gabor, expression, got 'cubic'"),
    ({"fit": "expression", "model": ""}, f"type a model expression, e.g. {ctl.MODEL_EXAMPLE}"),
    ({"fit": "expression", "model": "a + b*x"},
     "the model has no parameters p0, p1, …; to use a, b as its parameters, pass params='a,b'"),
    ({"fit": "expression", "model": "p0 + p1*y"}, "y is the data's target"),
])
def test_a_bad_column_or_model_is_said_in_one_line_and_the_next_one_works(explorer, store, over, message):
    values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["gd"], steps=5)
    result = explorer.update(values | over, store, None, None)
    assert result["error"] and message in result["message"], result["message"]
    assert "\n" not in result["message"] and len(result["message"]) <= MESSAGE_LIMIT
    assert not explorer.update(values, store, None, None)["error"]


def test_a_column_with_text_further_down_gets_the_command_line_s_message(explorer, tmp_path):
    text = CSV + "31,1.0,0.7,oops\n"  # the default columns (x, line) are fine; wave is not
    store, message, failed = explorer.upload(data_url(text), "text.csv")
    assert not failed, message
    values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["gd"], steps=5)
    result = explorer.update(values | {"y": "wave"}, store, None, None)
    (tmp_path / "text.csv").write_text(text)
    with pytest.raises(datasets.DataError) as raised:  # what --data text.csv --x x --y wave says
        datasets.read_csv(tmp_path / "text.csv", "x", "wave")
    assert result["error"] and str(raised.value).endswith("row 32, column 'wave': 'oops' is not a number")
    assert result["message"] == str(raised.value).replace(str(tmp_path / "text.csv"), "text.csv")
    assert not explorer.update(values, store, None, None)["error"]


def test_a_bad_model_expression_has_its_caret_too(explorer, store):
    values = explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["gd"], steps=5)
    result = explorer.update(values | {"fit": "expression", "model": "p0 + p1*sni(x)"}, store, None, None)
    assert result["message"] == "column 9: unknown function 'sni'; did you mean 'sin'?"
    assert result["detail"] == f"{result['message']}\n  p0 + p1*sni(x)\n          ^^^"


def test_own_rows_are_shown_for_their_problem():
    off = {"display": "none"}
    loss, fit, model = web_app.own_visibility(ctl.EXPRESSION, "line-fit")
    assert fit == model == off and loss != off
    loss, fit, model = web_app.own_visibility(ctl.UPLOAD, "gabor")
    assert loss == model == off and fit != off
    assert web_app.own_visibility(ctl.UPLOAD, ctl.EXPRESSION)[2] != off
    assert web_app.own_visibility("junk", ["junk"]) == (off, off, off)


def test_expressions_and_columns_over_http():
    """The page's own request bodies (update_request) carry the boxes; the caret block comes back."""
    app = create_app(Explorer(resolution=30))
    client = app.server.test_client()
    values = app.explorer.page_values(ctl.EXPRESSION, optimizers=["nesterov"], loss=STEEP, steps=15)

    def answer(values: dict) -> dict:
        sent = client.post("/_dash-update-component", json=update_request(app, values))
        return json.loads(sent.data)["response"]

    body = answer(values)
    assert body["message"]["children"] == "" and body["message-detail"]["style"] == {"display": "none"}
    assert "nesterov" in body["summary"]["children"][0]["props"]["children"]
    bad = answer(values | {"loss": "x**2 + 3*sni(y)"})
    assert bad["message"]["children"] == "column 10: unknown function 'sni'; did you mean 'sin'?"
    said, caret = (c["props"]["children"] for c in bad["message-detail"]["children"])
    assert (said, caret) == (bad["message"]["children"], "  x**2 + 3*sni(y)\n           ^^^")
    # an upload fills the column pickers with its numeric columns, at the command line's choice
    key = next(k for k in app.callback_map if "upload-store.data" in k)
    spec = app.callback_map[key]
    outputs = [dict(zip(("id", "property"), o.rsplit(".", 1), strict=True))
               for o in key.strip(".").split("...")]
    request = {"output": key, "outputs": outputs, "changedPropIds": ["upload.contents"],
               "inputs": [{**spec["inputs"][0], "value": data_url(CSV)}],
               "state": [{**spec["state"][0], "value": "waves.csv"}, {**spec["state"][1], "value": None}]}
    got = json.loads(client.post("/_dash-update-component", json=request).data)["response"]
    assert [o["value"] for o in got["x-column"]["options"]] == ["id", "x", "line", "wave"]
    assert (got["x-column"]["value"], got["y-column"]["value"]) == ("x", "line")
    assert got["problem"]["value"] == ctl.UPLOAD
    store = got["upload-store"]["data"]
    values = app.explorer.page_values(ctl.UPLOAD, upload_store=store, optimizers=["gd"], fit="gabor",
                                      x="x", y="wave", steps=10) | {"upload": store}
    body = answer(values)
    assert body["message"]["children"] == ""
    assert body["summary"]["children"][0]["props"]["children"].startswith("gd (α=")


# ---- in the browser ----------------------------------------------------------------------------------

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server_url():
    with serving(create_app(resolution=60)) as server:
        yield f"http://127.0.0.1:{server.server_port}/"


@pytest.fixture
def page(browser, server_url):
    with explorer_page(browser, server_url, width=1400, height=1000, timeout_ms=TIMEOUT_MS) as page:
        yield page


def choose(page, dropdown: str, option: str) -> None:
    """Pick ``option`` (its label) in the Dash dropdown ``dropdown`` (an id)."""
    page.locator(f"#{dropdown}").click()
    page.get_by_role("option", name=option, exact=True).click()


def trace(page, graph: str, name: str) -> list | None:
    """The x and y of the first trace of ``graph`` whose name starts with ``name``."""
    return page.evaluate("""([graph, name]) => {
        const gd = document.querySelector(`#${graph} .js-plotly-plot`);
        const t = gd && gd._fullData.find(t => (t.name || '').startsWith(name));
        return t ? [Array.from(t.x), Array.from(t.y)] : null; }""", [graph, name])


def wait_change(page, graph: str, name: str, before) -> None:
    page.wait_for_function("""([graph, name, before]) => {
        const gd = document.querySelector(`#${graph} .js-plotly-plot`);
        const t = gd && gd._fullData.find(t => (t.name || '').startsWith(name));
        return t && JSON.stringify([Array.from(t.x), Array.from(t.y)]) !== before; }""",
                           arg=[graph, name, json.dumps(before)])


def type_expression(page, box: str, text: str) -> None:
    """Type into an expression box and press Enter (the box sends on Enter or when it loses focus)."""
    page.locator(f"#{box}").fill(text)
    page.locator(f"#{box}").press("Enter")


def suggested_alpha(config: Config, method: str = "nesterov") -> str:
    """``"α=0.22"``: the α the command line suggests for ``method`` on the problem of ``config``."""
    (spec,) = dataclasses.replace(config, optimizers=(OptimizerSpec(method, method),)).resolved().optimizers
    return f"α={spec.hyperparams['lr']:g}"


def test_typing_a_loss_expression_in_the_browser(page, tmp_path):
    before = trace(page, "view-contour", "nesterov")
    choose(page, "problem", web_app.PROBLEM_LABELS[ctl.EXPRESSION])
    page.wait_for_selector("#loss-row", state="visible")
    page.wait_for_selector("#data-box", state="hidden")
    assert page.input_value("#loss") == ctl.LOSS_EXAMPLE
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(Config(loss=ctl.LOSS_EXAMPLE))}")
    wait_change(page, "view-contour", "nesterov", before)
    start = Config(loss=ctl.LOSS_EXAMPLE).build_problem().suggested.start
    assert trace(page, "view-contour", "nesterov")[0][0] == pytest.approx(start[0])

    # another loss: its own suggested α, its own path
    before = trace(page, "view-contour", "nesterov")
    type_expression(page, "loss", STEEP)
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(Config(loss=STEEP))}")
    wait_change(page, "view-contour", "nesterov", before)
    page.wait_for_function("() => document.querySelector('#message').innerText.trim() === ''")

    # a bad one: the command line's message, the expression and a caret line in monospace
    good = trace(page, "view-contour", "nesterov")
    type_expression(page, "loss", "x**2 + 3*sni(y)")
    wait_text(page, "#message", "column 10: unknown function 'sni'; did you mean 'sin'?")
    page.wait_for_selector("#message-detail", state="visible")
    assert page.inner_text("#message-detail") == ("column 10: unknown function 'sni'; did you mean 'sin'?\n"
                                                  "  x**2 + 3*sni(y)\n           ^^^")
    font = page.eval_on_selector("#message-detail", "e => getComputedStyle(e).fontFamily")
    assert "monospace" in font
    assert page.eval_on_selector("#message", "e => getComputedStyle(e).color") == "rgb(176, 0, 32)"
    assert trace(page, "view-contour", "nesterov") == good  # the last good views stay
    page.screenshot(path=str(tmp_path / "explorer-bad-expression.png"))

    # the page keeps working: a good expression runs again and the block goes away
    type_expression(page, "loss", LOSS)
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(Config(loss=LOSS))}")
    page.wait_for_selector("#message-detail", state="hidden")
    page.wait_for_function("() => document.querySelector('#message').innerText.trim() === ''")
    wait_change(page, "view-contour", "nesterov", good)
    shot = tmp_path / "explorer-expression.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")


def test_an_upload_with_a_column_and_model_choice_in_the_browser(page, tmp_path):
    page.set_input_files("#upload input[type=file]",
                         files=[{"name": "waves.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    wait_text(page, "#upload-message", "waves.csv: 30 rows, x = x, y = line")
    page.wait_for_selector("#fit-box", state="visible")
    page.wait_for_selector("#model-row", state="hidden")
    wait_text(page, "#x-column", "x")
    wait_text(page, "#y-column", "line")

    def points():
        return page.evaluate("""() => { const gd = document.querySelector('#view-data .js-plotly-plot');
            const t = gd && gd._fullData.find(t => t.mode === 'markers' && t.x && t.x.length === 30);
            return t ? Array.from(t.y) : null; }""")

    page.wait_for_function("""() => { const gd = document.querySelector('#view-data .js-plotly-plot');
        return gd && gd._fullData.some(t => t.mode === 'markers' && t.x && t.x.length === 30); }""")
    np.testing.assert_allclose(points(), [r[2] for r in ROWS], atol=5e-5)

    # y = wave: the data view shows that column, with a line's suggested α for it
    choose(page, "y-column", "wave")
    page.wait_for_function("""(want) => { const gd = document.querySelector('#view-data .js-plotly-plot');
        const t = gd && gd._fullData.find(t => t.mode === 'markers' && t.x && t.x.length === 30);
        return t && Math.abs(t.y[0] - want) < 1e-9; }""", arg=float(f"{GABOR.y[0]:.4f}"))
    np.testing.assert_allclose(points(), GABOR.y, atol=5e-5)
    on_disk = tmp_path / "waves.csv"
    on_disk.write_text(CSV)
    line = Config(data=str(on_disk), x="x", y="wave", optimizers=(OptimizerSpec("nesterov", "nesterov"),))
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(line)}")

    # the Gabor model: its own suggested settings and model curve
    model_before = trace(page, "view-data", "model")
    choose(page, "fit", web_app.FIT_LABELS["gabor"])
    gabor = dataclasses.replace(line, problem="gabor")
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(gabor)}")
    wait_change(page, "view-data", "model", model_before)
    start = gabor.build_problem().suggested.start
    wait_text(page, "#start-label", "(" + ", ".join(f"{v:.3g}" for v in start) + ")")
    shot = tmp_path / "explorer-upload-gabor.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")

    # a model expression: its box appears; a bad one says where; a good one fits
    choose(page, "fit", web_app.FIT_LABELS[ctl.EXPRESSION])
    page.wait_for_selector("#model-row", state="visible")
    quadratic = dataclasses.replace(line, problem="line-fit", model=MODEL)
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(quadratic)}")
    type_expression(page, "model", "p0 + p1*x +")
    wait_text(page, "#message", "syntax error")
    page.wait_for_selector("#message-detail", state="visible")
    type_expression(page, "model", "p0*sin(p1*x)")
    fitted = dataclasses.replace(line, problem="line-fit", model="p0*sin(p1*x)")
    wait_text(page, "#summary", f"nesterov ({suggested_alpha(fitted)}")
    page.wait_for_selector("#message-detail", state="hidden")
