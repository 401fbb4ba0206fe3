"""examples/train_digits.py, in a short version: the book's Nesterov and PyTorch's SGD at the mapped
settings train the same network through the same losses; the script writes its figure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_digits.py"


@pytest.fixture(scope="module")
def digits():
    spec = importlib.util.spec_from_file_location("train_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_digits"] = module          # dataclasses look the module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("train_digits", None)


@pytest.fixture(scope="module")
def data(digits):
    return digits.load_digits(0)


def test_data_is_the_bundled_digits(data):
    x_train, y_train, x_test, y_test = data
    assert (len(x_train), len(x_test), len(y_test)) == (1438, 359, 359)
    assert x_train.shape[1] == 64 and float(x_train.max()) == 1.0 and float(x_train.min()) == 0.0
    assert set(y_train.tolist()) == set(range(10))


def test_book_nesterov_and_torch_sgd_have_identical_loss_curves(digits, data):
    book = digits.train("book-nesterov", epochs=2, data=data)
    sgd = digits.train("torch-sgd", epochs=2, data=data)
    assert len(book.step_losses) == len(sgd.step_losses) == 2 * 45
    np.testing.assert_allclose(book.step_losses, sgd.step_losses, rtol=1e-12, atol=0)
    for p, q in zip(book.params, sgd.params, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)
    assert book.step_losses[-1] < 0.3 * book.step_losses[0]      # it learns


def test_momentum_is_a_different_run_and_adam_learns(digits, data):
    book = digits.train("book-nesterov", epochs=2, data=data)
    mom = digits.train("book-momentum", epochs=2, data=data)
    adam = digits.train("adam", epochs=2, data=data)
    assert mom.step_losses[0] == book.step_losses[0]               # same network, same first batch
    assert abs(mom.step_losses[-1] - book.step_losses[-1]) > 1e-3
    assert adam.test_accuracy[-1] > 0.85 and book.test_accuracy[-1] > 0.85


def test_main_writes_the_figure(digits, tmp_path, capsys):
    out = tmp_path / "digits.png"
    histories = digits.main(["-o", str(out), "--epochs", "2"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(histories) == {"book-nesterov", "torch-sgd", "book-momentum", "adam"}
    text = capsys.readouterr().out
    assert "book Nesterov vs PyTorch SGD: 90 steps, largest relative loss difference" in text
    assert f"wrote {out}" in text
    assert list(tmp_path.iterdir()) == [out]                       # no temporary file left behind


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "x.gif"], "use a .png, .svg or .pdf suffix"),
    (["-o", "missing-dir/x.png"], "no such directory"),
    (["-o", "x.png", "--epochs", "0"], "--epochs must be >= 1"),
])
def test_bad_arguments(digits, args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        digits.main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
