"""networks.data (built-in sets, CSV tables, the task rule) and networks.factory (module:function)."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from descentlab.errors import InputError
from descentlab.networks import data as data_
from descentlab.networks import factory, params
from descentlab.networks.data import detect_task, load_data

ROOT = Path(__file__).resolve().parents[1]
WAVE = ROOT / "examples" / "data" / "wave.csv"
_names = (f"dl_factory_{k}" for k in itertools.count())


# ---- built-in data -------------------------------------------------------------------------------

def test_digits_are_sklearns_scaled_to_unit_interval():
    from sklearn.datasets import load_digits

    d = load_data("digits")
    ref = load_digits()
    assert d.task == "classification" and d.classes == 10 and d.name == "digits"
    assert d.x.dtype == torch.float64 and d.y.dtype == torch.int64
    assert d.x.shape == (1797, 64) and d.y.shape == (1797,)
    np.testing.assert_array_equal(d.x.numpy(), ref.data / 16.0)
    np.testing.assert_array_equal(d.y.numpy(), ref.target)
    assert float(d.x.min()) == 0.0 and float(d.x.max()) == 1.0
    assert len(d.inputs) == 64


def test_moons_are_fixed_and_two_dimensional():
    from sklearn.datasets import make_moons

    d = load_data("moons", dtype=torch.float32)
    x, y = make_moons(200, noise=0.2, random_state=0)
    assert d.x.dtype == torch.float32 and d.y.dtype == torch.int64 and d.classes == 2
    np.testing.assert_array_equal(d.x.numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(d.y.numpy(), y)
    assert torch.equal(load_data("moons", dtype=torch.float32).x, d.x)


def test_builtin_refuses_regression_and_bad_dtype():
    with pytest.raises(InputError, match="classification data set"):
        load_data("digits", task="regression")
    with pytest.raises(InputError, match="floating torch dtype"):
        load_data("digits", dtype=torch.int64)
    with pytest.raises(InputError, match="--task"):
        load_data("digits", task="ranking")


# ---- CSV -----------------------------------------------------------------------------------------

def test_wave_csv_is_a_1d_regression_and_is_what_the_example_writes():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import networks as example
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert WAVE.read_text() == example.wave_csv()
    table = np.loadtxt(WAVE, delimiter=",", skiprows=1)
    assert table.shape == (60, 2) and table[:, 0].min() >= -2 and table[:, 0].max() <= 2
    np.testing.assert_allclose(table[:, 1], np.sin(2 * table[:, 0]), atol=0.4)  # sin(2x) + 0.1·noise
    d = load_data(str(WAVE))
    assert d.task == "regression" and d.classes is None
    assert d.inputs == ["x"] and d.target == "y" and d.name == "wave.csv"
    assert d.x.shape == (60, 1) and d.y.shape == (60, 1) and d.y.dtype == torch.float64
    np.testing.assert_array_equal(d.x.numpy()[:, 0], table[:, 0])
    np.testing.assert_array_equal(d.y.numpy()[:, 0], table[:, 1])


def test_last_numeric_column_is_the_target_ids_and_text_left_out(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("# a survey\nid;name;hours;sleep;score\n1;ann;1,5;7;3,25\n2;bob;2;6,5;4\n3;cy;3;8;5,5\n")
    d = load_data(str(path))
    assert d.inputs == ["hours", "sleep"] and d.target == "score"
    np.testing.assert_array_equal(d.x.numpy(), [[1.5, 7], [2, 6.5], [3, 8]])
    np.testing.assert_array_equal(d.y.numpy()[:, 0], [3.25, 4, 5.5])
    assert "not used: id, name" in d.describe() and "semicolon" in d.describe()


def test_csv_fast_and_careful_readers_agree(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    rows = [f"{0.1 * k:.3f},{np.cos(k):.6f},{k % 3}" for k in range(40)]
    path.write_text("a,b,label\n" + "\n".join(rows[:20]) + "\n# a comment\n" + "\n".join(rows[20:]) + "\n")
    fast = load_data(str(path))
    monkeypatch.setattr(data_.tables, "FAST_PATH", False)
    careful = load_data(str(path))
    assert torch.equal(fast.x, careful.x) and torch.equal(fast.y, careful.y)
    assert fast.task == careful.task == "classification" and fast.classes == 3


@pytest.mark.parametrize("target, n_inputs, task", [
    ([0, 1, 1, 0], 2, "classification"),
    ([0, 1, 2, 2, 1], 5, "classification"),
    ([0, 1, 1, 0], 1, "regression"),            # one input: a curve, by default
    ([1, 2, 2, 1], 2, "regression"),            # not the labels 0..K-1
    ([0, 1, 3], 2, "regression"),               # a label missing
    ([0, 1, 1.5], 2, "regression"),             # not whole numbers
    ([0, 0, 0], 2, "regression"),               # one class
    (list(range(20)), 2, "classification"),     # MAX_CLASSES
    (list(range(21)), 2, "regression"),
])
def test_task_rule(target, n_inputs, task):
    assert detect_task(np.array(target, dtype=float), n_inputs) == task


def test_task_override(tmp_path):
    path = tmp_path / "steps.csv"
    path.write_text("x,label\n0.1,0\n0.5,1\n0.9,1\n0.2,0\n")
    assert load_data(str(path)).task == "regression"
    d = load_data(str(path), task="classification", dtype=torch.float32)
    assert d.task == "classification" and d.y.dtype == torch.int64 and d.y.tolist() == [0, 1, 1, 0]
    assert d.x.dtype == torch.float32
    with pytest.raises(InputError, match=r"'y' cannot be class labels: 2\.5 is not a whole number"):
        load_data(_write(tmp_path / "f.csv", "x,y\n1,2.5\n2,0\n"), task="classification")
    with pytest.raises(InputError, match=r"not the labels 0\.\.K"):
        load_data(_write(tmp_path / "g.csv", "x,y\n1,1\n2,2\n"), task="classification")


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\n2,oops\n", r"row 3, column 'y': 'oops' is not a number"),
    ("x,y\n1,2\n2,inf\n", r"row 3, column 'y': inf is not a finite number"),
    ("x,y\n1,2\n2,1e200\n", r"column 'y': 1e\+200 is larger than 1e\+100"),
    ("x\n1\n2\n", "needs at least two numeric columns"),
    ("x,y\n1,2\n", "has 1 data row; at least 2"),
    ("", "is empty"),
])
def test_csv_errors_name_the_file_row_and_column(tmp_path, text, message):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError, match=message) as err:
        load_data(path)
    assert "bad.csv" in str(err.value) and "\n" not in str(err.value)


def test_file_errors_name_the_spec_escaped(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="'digts': no such file, and not a built-in data set"):
        load_data("digts")
    with pytest.raises(InputError, match=r"missing\.csv: no such file"):
        load_data(str(tmp_path / "missing.csv"))
    with pytest.raises(InputError, match="not a file but a directory"):
        load_data(str(tmp_path))
    with pytest.raises(InputError, match="not a file but a character device"):
        load_data("/dev/null")
    evil = tmp_path / "ev\x1b[31mil.csv"
    evil.write_text("x,y\n1,2\n2,oops\n")
    with pytest.raises(InputError) as err:
        load_data(str(evil))
    assert "\\x1b[31m" in str(err.value) and "\x1b" not in str(err.value)
    monkeypatch.setattr(data_, "MAX_CSV_BYTES", 10)
    with pytest.raises(InputError, match=r"wave.csv is 1.1 KB; CSV files of at most 10 bytes are read"):
        load_data(str(WAVE))


def test_predicted_class_and_accuracy():
    scores = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    assert data_.predicted_class(scores).tolist() == [1, 0, 2]
    assert data_.accuracy(scores, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert data_.predicted_class(np.array([[0.2], [0.7], [1.6], [np.nan]])).tolist() == [0, 1, 2, -1]


# ---- factories -----------------------------------------------------------------------------------

@pytest.fixture
def clean_path(monkeypatch):
    """sys.path restored after the test (load_factory puts the current directory first)."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def _module(tmp_path: Path, source: str) -> str:
    name = next(_names)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return name


@pytest.mark.parametrize("spec, n_params, loss", [
    ("examples.networks:digits_mlp", 64 * 64 + 64 + 64 * 10 + 10, torch.nn.CrossEntropyLoss),
    ("examples.networks:wave_mlp", 2 * 16 + 16 * 16 + 16 + 16 + 1, torch.nn.MSELoss),
    ("examples/networks.py:moons_mlp", 3 * 16 + 17 * 16 + 17 * 2, torch.nn.CrossEntropyLoss),
])
def test_example_factories(spec, n_params, loss, monkeypatch, clean_path):
    monkeypatch.chdir(ROOT)
    state = torch.random.get_rng_state()
    model, loss_fn = factory.load_factory(spec)
    again, _ = factory.load_factory(spec)
    assert torch.equal(torch.random.get_rng_state(), state)   # the global random state is left alone
    assert isinstance(loss_fn, loss) and loss_fn.reduction == "mean"
    assert params.size(model) == n_params
    assert all(p.dtype == torch.float64 for p in model.parameters())
    np.testing.assert_array_equal(params.flat(model), params.flat(again))


def test_current_directory_is_on_the_path_and_dotted_attributes(tmp_path, monkeypatch, clean_path):
    name = _module(tmp_path, """
        import torch
        class Nets:
            @staticmethod
            def small():
                return torch.nn.Linear(2, 1), torch.nn.MSELoss()
        def make(width=3):
            return torch.nn.Linear(width, 1), torch.nn.MSELoss()
    """)
    monkeypatch.chdir(tmp_path)
    model, _ = factory.load_factory(f"{name}:make")
    assert model.in_features == 3
    model, _ = factory.load_factory(f"{name}:Nets.small")
    assert model.in_features == 2
    assert sys.path[0] == str(tmp_path)


@pytest.mark.parametrize("source, attr, message", [
    ("def f():\n    raise ValueError('bad width\\nsecond line')\n", "f",
     r"--model '{spec}' raised ValueError: bad width\\nsecond line$"),
    ("import sys\ndef f():\n    sys.exit(3)\n", "f", r"called exit\(3\)"),
    ("def f():\n    return 3\n", "f", r"returned an int; it must return \(model, loss_fn\)"),
    ("import torch\ndef f():\n    return torch.nn.Linear(1, 1), 3\n", "f", r"returned an int as the loss"),
    ("import torch\ndef f():\n    return 'net', torch.nn.MSELoss()\n", "f", r"returned a str as the model"),
    ("import torch\ndef f():\n    return torch.nn.ReLU(), torch.nn.MSELoss()\n", "f",
     "no trainable parameters"),
    ("import torch\ndef f():\n    return (torch.nn.Linear(1, 1),)\n", "f", r"returned a tuple of 1 items"),
    ("def f(width, depth):\n    pass\n", "f", "must take no arguments, but it needs width, depth"),
    ("def make():\n    pass\n", "f", "has no attribute 'f'; its functions: make"),
    ("f = 3\n", "f", "f is an int, not a function"),
    ("import not_a_module_anywhere_xyz\n", "f", "raised ModuleNotFoundError: No module named 'not_a_module"),
    ("def f(:\n", "f", "raised SyntaxError"),
    ("raise RuntimeError('at import')\n", "f", "raised RuntimeError: at import"),
])
def test_factory_failures_are_one_line(tmp_path, monkeypatch, clean_path, source, attr, message):
    name = _module(tmp_path, source)
    monkeypatch.chdir(tmp_path)
    spec = f"{name}:{attr}"
    with pytest.raises(InputError, match=message.replace("{spec}", spec)) as err:
        factory.load_factory(spec)
    text = str(err.value)
    assert text.startswith(f"--model '{spec}'") and "\n" not in text and "Traceback" not in text


@pytest.mark.parametrize("spec, message", [
    ("examples.networks", "give it as module:function"),
    (":f", "give it as module:function"),
    ("mod:1abc", "is not a Python name"),
    ("my-mod:f", "is not a module name"),
    ("no_such_module_abc:f", "no module named 'no_such_module_abc'"),
    ("missing/file.py:f", "no such file"),
    ("bad\x1b[2Jname:f", r"\\x1b\[2J"),
])
def test_factory_spec_errors(spec, message, clean_path):
    with pytest.raises(InputError, match=message) as err:
        factory.load_factory(spec)
    assert "\x1b" not in str(err.value)
