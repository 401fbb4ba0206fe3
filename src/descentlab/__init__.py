"""descentlab: gradient-descent optimisers, above all Nesterov momentum, exact, fast and visible.

    import descentlab as dl
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.9), problem, start=(1.6, -0.5), steps=40)
    fig = dl.plot.figure_6_1(problem, traj)

The core (problems, data sets, optimisers, :func:`run`) is imported with the package; the rest
is imported on first use, so ``import descentlab`` never pays for matplotlib or numba:
``dl.plot`` (matplotlib figures), ``dl.scene`` (what a figure draws), ``dl.theory``,
``dl.sweep``, ``dl.tune``, ``dl.conventions``, ``dl.config`` and ``dl.catalogue`` (the problems
by name). ``dl.run`` is the function; its module is :mod:`descentlab.runner`.
``dl.explore(problem, optimizers)`` serves the interactive explorer (inline in Jupyter, else in the
browser; :func:`descentlab.web.jupyter.explore`, needs the ``web`` extra), imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from descentlab import datasets, optimizers, problems
from descentlab.runner import draw_batches, run, run_many
from descentlab.trajectory import Trajectory

__version__ = "0.1.0"

_LAZY = ("catalogue", "config", "conventions", "plot", "scene", "sweep", "theory", "tune")
"""Modules imported on first access as ``descentlab.<name>``."""
_LAZY_FUNCTIONS = {"explore": "descentlab.web.jupyter"}
"""Functions imported on first access as ``descentlab.<name>``, from these modules."""

__all__ = [
    "Trajectory", "datasets", "draw_batches", "optimizers", "problems", "run", "run_many", *_LAZY,
    *_LAZY_FUNCTIONS,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"descentlab.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'descentlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_LAZY_FUNCTIONS})
