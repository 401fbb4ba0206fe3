"""descentlab: gradient-descent optimisers, above all Nesterov momentum, exact, fast and visible.

    import descentlab as dl
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.9), problem, start=(1.6, -0.5), steps=40)
    fig = dl.plot.figure_6_1(problem, traj)

``dl.plot`` (matplotlib) is imported on first use, so the core never pays for it.
"""

from __future__ import annotations

import importlib
from typing import Any

from descentlab import datasets, optimizers, problems
from descentlab.runner import draw_batches, run, run_many
from descentlab.trajectory import Trajectory

__version__ = "0.1.0"
__all__ = [
    "Trajectory", "datasets", "draw_batches", "optimizers", "plot", "problems", "run", "run_many", "scene",
]


def __getattr__(name: str) -> Any:
    if name in ("plot", "scene"):
        return importlib.import_module(f"descentlab.{name}")
    raise AttributeError(f"module 'descentlab' has no attribute {name!r}")
