"""Several recorded runs in one directory: ``DIR/<optimizer>/`` each a :class:`record.Run` folder.

``descentlab landscape --save DIR`` writes it and ``--from DIR`` reads it back; a directory that is
itself one run (it holds ``run.json``) is read as that one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from descentlab.errors import InputError, escaped
from descentlab.networks import params, record

MARKER = "run.json"
"""The file that makes a folder a recorded run (:meth:`record.Run.save`)."""


def save(runs: Sequence[record.Run], directory: str | Path) -> list[Path]:
    """Save each run into ``directory/<its optimizer>`` (numbered when two share a name)."""
    root = Path(directory)
    names: list[str] = []
    for run in runs:
        name = run.optimizer
        k = 2
        while name in names:
            name, k = f"{run.optimizer}-{k}", k + 1
        names.append(name)
    paths = [root / n for n in names]
    for run, path in zip(runs, paths, strict=True):
        run.save(path)
    return paths


def load(directory: str | Path) -> list[record.Run]:
    """The runs saved in ``directory`` (one run folder, or a folder of run folders, by name)."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"--from {escaped(str(root))!r}: not a directory of recorded runs")
    if (root / MARKER).is_file():
        return [record.Run.load(root)]
    folders = sorted(p for p in root.iterdir() if (p / MARKER).is_file())
    if not folders:
        raise InputError(f"--from {escaped(str(root))!r}: no recorded run in it (no {MARKER} in it or "
                         "in its folders); record one with --save")
    return [record.Run.load(p) for p in folders]


def check_model(runs: Sequence[record.Run], model: torch.nn.Module, where: str | Path) -> None:
    """Refuse runs recorded with another network: their parameter names and shapes must match."""
    names = [n for n, _ in params.shapes(model)]
    shapes = [tuple(s) for _, s in params.shapes(model)]
    for run in runs:
        if list(run.names) != names or [tuple(s) for s in run.shapes] != shapes:
            raise InputError(f"--from {escaped(str(where))!r}: the run {run.label!r} was recorded with "
                             f"another network ({len(run.names)} tensors, {run.params.shape[1]:,} "
                             f"parameters; --model gives {len(names)} tensors, "
                             f"{sum(int(torch.Size(s).numel()) for s in shapes):,})")
