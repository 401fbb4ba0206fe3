"""Network factories for ``descentlab landscape``: each takes no arguments and returns (model, loss_fn).

    descentlab landscape --model examples.networks:digits_mlp --data digits -o digits.png
    descentlab landscape --model examples.networks:wave_mlp --data examples/data/wave.csv -o wave.png
    descentlab landscape --model examples.networks:moons_mlp --data moons -o moons.png

Run from the repository root (the current directory is on the import path, as uvicorn does). Every
model is float64 and starts from a fixed seed, drawn inside ``torch.random.fork_rng`` so that calling
a factory leaves the global random state alone; the same call gives the same network, bit for bit.

``python examples/networks.py --write-wave examples/data/wave.csv`` writes the 1-D data set of
:func:`wave_mlp` again: 60 points with x drawn uniformly in [−2, 2] and y = sin(2x) + 0.1·ε,
ε standard normal (``numpy.random.default_rng(0)``).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

WAVE_ROWS, WAVE_NOISE, WAVE_SEED = 60, 0.1, 0


def _mlp(sizes: list[int], seed: int) -> torch.nn.Sequential:
    """Linear layers of ``sizes`` with tanh between them, float64, initialised from ``seed``."""
    layers: list[torch.nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            if k:
                layers.append(torch.nn.Tanh())
            layers.append(torch.nn.Linear(n_in, n_out, dtype=torch.float64))
    return torch.nn.Sequential(*layers)


def digits_mlp() -> tuple[torch.nn.Module, Callable]:
    """The 64–64–10 tanh MLP for scikit-learn's digits (4,810 parameters), mean cross-entropy.

    With the mean (PyTorch's default) the book's α is per example: about 1 suits full-batch runs.
    """
    return _mlp([64, 64, 10], seed=0), torch.nn.CrossEntropyLoss()


def wave_mlp() -> tuple[torch.nn.Module, Callable]:
    """A 1–16–16–1 tanh MLP (321 parameters) for ``examples/data/wave.csv``, mean squared error.

    Its panel (d) draws the curve of each recorded iterate, as the book draws the model line of each.
    """
    return _mlp([1, 16, 16, 1], seed=0), torch.nn.MSELoss()


def moons_mlp() -> tuple[torch.nn.Module, Callable]:
    """A 2–16–16–2 tanh MLP (354 parameters) for ``--data moons``, mean cross-entropy: panel (a)
    shows its decision regions and panel (d) the decision boundary of each iterate."""
    return _mlp([2, 16, 16, 2], seed=0), torch.nn.CrossEntropyLoss()


def wave_table(rows: int = WAVE_ROWS, seed: int = WAVE_SEED) -> np.ndarray:
    """(rows, 2): x uniform in [−2, 2], sorted, and y = sin(2x) + 0.1·ε."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2.0, 2.0, rows))
    return np.column_stack([x, np.sin(2.0 * x) + WAVE_NOISE * rng.standard_normal(rows)])


def wave_csv() -> str:
    """The text of ``examples/data/wave.csv``."""
    lines = ["x,y"] + [f"{x:.6f},{y:.6f}" for x, y in wave_table()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write-wave", type=Path, required=True, help="where to write wave.csv")
    args = parser.parse_args(argv)
    from descentlab.files import write_text_atomic

    write_text_atomic(args.write_wave, wave_csv())
    print(f"wrote {args.write_wave}")


if __name__ == "__main__":
    main()
