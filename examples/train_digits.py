"""Train a small MLP on scikit-learn's digits with the book's Nesterov, PyTorch's SGD, momentum and Adam.

    .venv/bin/python examples/train_digits.py -o docs/train-digits.png [--epochs 30] [--seed 0]

The 1,797 8×8 digits that ship with scikit-learn (``sklearn.datasets.load_digits``, no download)
are split 80/20 and fed in minibatches of 32 to a 64–64–10 tanh MLP in float64, from one initial
network and one batch order for every optimizer. The loss is the cross-entropy **summed** over the
batch (the book's convention), so the learning rates are per-sum: α = 0.1 with β = 0.9.

* ``book-nesterov``: ``BookNesterov(lr=α, beta=β)``, the book's eq. 6.12 (look-ahead mode);
* ``torch-sgd``: ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)``, the mapped setting;
  its training losses are the book's to rounding (``tests/test_train_digits.py`` checks them);
* ``book-momentum``: ``BookMomentum(lr=α, beta=β)``, eq. 6.11;
* ``adam``: ``torch.optim.Adam(lr=1e-2)`` (the book's eqs. 6.15–6.16).

Test accuracy is measured after every epoch: for the book's Nesterov at its φ_t
(``opt.at_phi()``), for PyTorch at its own parameter, which is the look-ahead point. The figure
(written atomically) shows (a) the mean training loss per epoch, (b) the test accuracy, (c) how
far apart the book's and PyTorch's per-step losses are.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from descentlab.files import write_atomic
from descentlab.integrations.torch import BookMomentum, BookNesterov

# Each learning rate was picked from a 3-point grid by the final training loss after 30 epochs
# (seed 0): α ∈ {0.01, 0.03, 0.1} for the book's Nesterov and momentum (β = 0.9), α ∈ {1e-3, 3e-3,
# 1e-2} for Adam. Test accuracies ended within a point of each other for every choice.
ALPHA, BETA = 0.1, 0.9
ADAM_LR = 1e-2
BATCH = 32
HIDDEN = 64

OPTIMIZERS: dict[str, tuple[str, Callable]] = {
    "book-nesterov": (f"book Nesterov (α={ALPHA:g}, β={BETA:g})",
                      lambda p: BookNesterov(p, lr=ALPHA, beta=BETA)),
    "torch-sgd": (f"PyTorch SGD nesterov (lr={ALPHA * (1 - BETA):.15g}, momentum={BETA:g})",
                  lambda p: torch.optim.SGD(p, lr=ALPHA * (1 - BETA), momentum=BETA, nesterov=True)),
    "book-momentum": (f"book momentum (α={ALPHA:g}, β={BETA:g})",
                      lambda p: BookMomentum(p, lr=ALPHA, beta=BETA)),
    "adam": (f"Adam (α={ADAM_LR:g})", lambda p: torch.optim.Adam(p, lr=ADAM_LR)),
}


@dataclass
class History:
    """One training run: the loss of every step (summed over its batch), per epoch the mean
    training loss per example and the test accuracy, and the final parameters."""

    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    params: list[torch.Tensor] = field(default_factory=list)


def load_digits(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1], an 80/20 split by ``seed``."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = len(x) // 5
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.Tanh(),
                               torch.nn.Linear(HIDDEN, 10)).double()


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).double().mean())


def train(name: str, epochs: int, seed: int = 0, data=None) -> History:
    """Train with optimizer ``name`` (a key of OPTIMIZERS) for ``epochs`` epochs."""
    x_train, y_train, x_test, y_test = data if data is not None else load_digits(seed)
    model = make_model(seed)
    opt = OPTIMIZERS[name][1](model.parameters())
    order_gen = torch.Generator().manual_seed(seed + 1)
    hist = History()
    for _ in range(epochs):
        perm = torch.randperm(len(x_train), generator=order_gen)
        total = 0.0
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx], reduction="sum")
            loss.backward()
            opt.step()
            hist.step_losses.append(loss.item())
            total += loss.item()
        hist.epoch_losses.append(total / len(x_train))
        if isinstance(opt, BookNesterov):
            with opt.at_phi():                 # the book's iterate φ_t, not the look-ahead point
                hist.test_accuracy.append(accuracy(model, x_test, y_test))
        else:
            hist.test_accuracy.append(accuracy(model, x_test, y_test))
    hist.params = [p.detach().clone() for p in model.parameters()]
    return hist


def figure(histories: dict[str, History]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"book-nesterov": dict(color="#1f77b4", lw=2.6),
              "torch-sgd": dict(color="#ff7f0e", lw=1.4, ls=(0, (4, 3))),
              "book-momentum": dict(color="#2ca02c", lw=1.8),
              "adam": dict(color="#d62728", lw=1.8)}
    fig, (ax_loss, ax_acc, ax_gap) = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    for name, hist in histories.items():
        epochs = np.arange(1, len(hist.epoch_losses) + 1)
        label = OPTIMIZERS[name][0]
        ax_loss.plot(epochs, hist.epoch_losses, label=label, **styles[name])
        ax_acc.plot(epochs, 100 * np.array(hist.test_accuracy), label=label, **styles[name])
    ax_loss.set(yscale="log", xlabel="epoch", ylabel="training loss per example (cross-entropy)",
                title="(a) training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="(b) test accuracy on 359 held-out digits\n"
           "(book Nesterov at φ_t; PyTorch at its θ_t = φ_t − αβ·m_t)")
    low = min(min(h.test_accuracy) for h in histories.values())
    ax_acc.set_ylim(max(0.0, 100 * low - 2), 100.5)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8.5)

    book = np.array(histories["book-nesterov"].step_losses)
    theirs = np.array(histories["torch-sgd"].step_losses)
    gap = np.abs(book - theirs) / np.abs(theirs)
    steps = np.arange(1, len(gap) + 1)
    differs = gap > 0
    ax_gap.semilogy(steps[differs], gap[differs], ".", ms=2.5, color="#555555",
                    label=f"steps where the losses differ ({differs.sum()} of {len(gap)})")
    eps = np.finfo(np.float64).eps
    ax_gap.axhline(eps, color="k", ls=":", lw=1, label="float64 rounding ε = 2.2e-16")
    ax_gap.set(ylim=(1e-17, 1e-3), xlabel="step", ylabel="|L_book − L_PyTorch| / L_PyTorch",
               title="(c) book Nesterov vs PyTorch SGD: per-step loss")
    ax_gap.text(0.03, 0.96, f"equal to rounding: largest gap {gap.max():.1e}, {(~differs).sum()} steps\n"
                "bit for bit equal (the two round m in another order,\nand training amplifies that)",
                transform=ax_gap.transAxes, va="top", fontsize=8.5)
    ax_gap.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(0.0, 0.8))
    ax_gap.grid(alpha=0.3)
    fig.suptitle("A 64–64–10 MLP on scikit-learn's digits, minibatches of 32, loss summed over the batch",
                 fontsize=12)
    return fig


def main(argv: list[str] | None = None) -> dict[str, History]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="the figure (.png, .svg or .pdf)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.output.suffix.lower() not in (".png", ".svg", ".pdf"):
        parser.error(f"--output {str(args.output)!r}: use a .png, .svg or .pdf suffix")
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if not args.output.parent.is_dir():
        parser.error(f"--output {str(args.output)!r}: no such directory {str(args.output.parent)!r}")

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny matrices: threads only add overhead
    try:
        data = load_digits(args.seed)
        start = time.perf_counter()
        histories = {name: train(name, args.epochs, args.seed, data) for name in OPTIMIZERS}
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)

    for name, hist in histories.items():
        print(f"{OPTIMIZERS[name][0]:<48} final loss/example {hist.epoch_losses[-1]:.4f}  "
              f"test accuracy {100 * hist.test_accuracy[-1]:.1f}%")
    book, torch_sgd = histories["book-nesterov"], histories["torch-sgd"]
    gap = max(abs(a - b) / abs(b) for a, b in zip(book.step_losses, torch_sgd.step_losses, strict=True))
    print(f"book Nesterov vs PyTorch SGD: {len(book.step_losses)} steps, largest relative loss difference "
          f"{gap:.1e}; trained in {elapsed:.1f} s")
    fig = figure(histories)
    write_atomic(args.output, lambda tmp: fig.savefig(tmp, dpi=110))
    print(f"wrote {args.output}")
    return histories


if __name__ == "__main__":
    main(sys.argv[1:])
