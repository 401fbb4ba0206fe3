"""``descentlab convert``: the conventions translator on the command line (exit 2 on bad input)."""

from __future__ import annotations

import pytest

from descentlab.cli import main


def convert(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["convert", *args])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err.splitlines()


def test_book_to_pytorch_through_the_real_entry_point(cli):
    out = cli("convert", "--from", "book", "--to", "pytorch", "--lr", "0.1", "--beta", "0.9")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)"
    assert lines[1] == ("note: PyTorch's parameters are the book's look-ahead point φ − αβ·m; "
                        "book φ = θ + lr·momentum·buf, m = (1 − momentum)·buf")


@pytest.mark.parametrize(("args", "first"), [
    (["--from", "keras", "--to", "book", "--lr", "0.01", "--momentum", "0.9"],
     "descentlab.optimizers.nesterov(lr=0.1, beta=0.9)"),
    (["--from", "book", "--to", "pytorch", "--lr", "0.1", "--beta", "0.9", "--no-nesterov"],
     "torch.optim.SGD(params, lr=0.01, momentum=0.9)"),
    (["--from", "book", "--to", "optax", "--lr", "0.1", "--beta", "0.9"],
     "optax.sgd(learning_rate=0.01, momentum=0.9, nesterov=True)"),
    (["--from", "pytorch", "--to", "optax", "--lr", "0.01", "--momentum", "0.9", "--schedule"],
     "optax.sgd(learning_rate=0.01, momentum=0.9, nesterov=True)"),
    (["--from", "sutskever", "--to", "keras", "--lr", "0.01", "--momentum", "0.9"],
     "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)"),
])
def test_conversions(capsys, args, first):
    code, out, err = convert(capsys, *args)
    assert code == 0 and err == []
    assert out[0] == first
    assert len(out) >= 2 and all(line.startswith("note: ") for line in out[1:])


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "book", "--to", "pytorch", "--lr", "-0.1", "--beta", "0.9"],
     "lr (α) must be finite and > 0, got -0.1"),
    (["--from", "book", "--to", "pytorch", "--lr", "0.1", "--beta", "1"],
     "beta (β) must be in [0, 1), got 1.0"),
    (["--from", "pytorch", "--to", "book", "--lr", "0.01", "--momentum", "0.9", "--dampening", "0.5"],
     "PyTorch's Nesterov momentum requires momentum > 0 and dampening = 0"),
    (["--from", "pytorch", "--to", "book", "--lr", "0.01", "--momentum", "0.9", "--dampening", "0.5",
      "--no-nesterov"], "no exact map from PyTorch with dampening=0.5: its first step sets the buffer"),
    (["--from", "book", "--to", "tensorflow", "--lr", "0.1", "--beta", "0.9"],
     "unknown convention 'tensorflow'; choose one of book, pytorch, optax, keras, sutskever"),
    (["--from", "book", "--to", "pytorch", "--lr", "0.1", "--beta", "0.9", "--schedule"],
     "no exact map from book to pytorch under a learning-rate schedule"),
    (["--from", "keras", "--to", "book", "--lr", "0.1", "--beta", "0.9", "--dampening", "0.1"],
     "dampening is a PyTorch hyper-parameter; Keras has none"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = convert(capsys, *args)
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("descentlab convert: error: ") and message in err[0], err


@pytest.mark.parametrize("args", [
    ["--from", "book", "--lr", "0.1", "--beta", "0.9"],                    # no --to
    ["--from", "book", "--to", "pytorch", "--lr", "abc", "--beta", "0.9"],  # not a number
])
def test_usage_errors_exit_2(capsys, args):
    code, out, err = convert(capsys, *args)
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("descentlab convert: error: ")
