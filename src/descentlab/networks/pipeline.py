r"""Figure 6.1 for a network, end to end: train from one start, cut a plane, evaluate, project.

The book draws the loss of a two-parameter model over its whole parameter space. A network has
thousands of parameters, so descentlab draws the loss over a *plane* through the final point
:math:`\phi_T` of the first run,

.. math::
    L(a, b) = L[\phi_T + a\,d_1 + b\,d_2],

with :math:`d_1, d_2` the two leading principal directions of the recorded trajectories (Li et al.
2018, §5), two filter-normalised random directions (§4) or two given vectors. Every recorded
iterate :math:`\phi_t` is projected onto the plane by least squares, :math:`(a_t, b_t)`, and drawn
*on* the surface at :math:`L(a_t, b_t)` — never floating at its true loss :math:`L[\phi_t]`, which
lies off the plane. The gap :math:`|L[\phi_t] - L(a_t, b_t)|` is reported beside the figure, so
a reader knows how much of the path the plane shows.

Several optimisers (momentum against Nesterov, eq. 6.11 against eq. 6.12) start from one
initialisation (a deep copy of the factory's model) and share one plane.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from descentlab import budget
from descentlab.errors import InputError
from descentlab.networks import directions as directions_
from descentlab.networks import params, record, surface
from descentlab.networks.data import Data


@dataclass(eq=False)
class Landscape:
    """Everything Figure 6.1 of a network draws (made by :func:`descentlab.networks.landscape.evaluate`).

    Attributes:
        runs: the recorded runs (momentum vs Nesterov from one initialisation, say).
        plane: the plane the loss is drawn over; its origin is φ_T of the first run.
        a, b: (G,) grid coordinates along d1 and d2.
        losses: (G, G) the loss on the grid, ``losses[i, j]`` at ``(a[j], b[i])`` (rows b).
        paths: per run, (S, 2) least-squares coordinates of its snapshots in the plane.
        plane_losses: per run, (S,) the loss on the plane at those coordinates (where paths are drawn).
        true_losses: per run, (S,) the loss at the snapshots themselves.
        data: the training data.
        predict: ``predict(params, x=None)`` → the model's outputs (numpy) at the flattened
            parameters ``params`` on ``x`` (a tensor of inputs; default: ``data.x``).
    """

    runs: list[record.Run]
    plane: directions_.Plane
    a: np.ndarray
    b: np.ndarray
    losses: np.ndarray
    paths: list[np.ndarray]
    plane_losses: list[np.ndarray]
    true_losses: list[np.ndarray]
    data: Data
    predict: Callable[..., np.ndarray]

    def __post_init__(self) -> None:
        self.a = np.asarray(self.a, dtype=np.float64)
        self.b = np.asarray(self.b, dtype=np.float64)
        self.losses = np.asarray(self.losses, dtype=np.float64)
        self.paths = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in self.paths]
        self.plane_losses = [np.asarray(v, dtype=np.float64).reshape(-1) for v in self.plane_losses]
        self.true_losses = [np.asarray(v, dtype=np.float64).reshape(-1) for v in self.true_losses]
        if not self.runs:
            raise InputError("a landscape needs at least one run")
        if self.losses.shape != (self.b.size, self.a.size):
            raise InputError(f"losses must be (len(b), len(a)) = ({self.b.size}, {self.a.size}), "
                             f"got {self.losses.shape}")
        for name in ("paths", "plane_losses", "true_losses"):
            sizes = [len(v) for v in getattr(self, name)]
            if sizes != [r.steps.size for r in self.runs]:
                raise InputError(f"{name} must hold one entry per snapshot of each run "
                                 f"({[r.steps.size for r in self.runs]}), got {sizes}")


# ---- what to draw ------------------------------------------------------------------------------

DIRECTIONS = ("pca", "filter")
"""The planes a landscape can be cut along without given vectors: Li et al. §5 and §4."""
BOOK_OPTIMIZERS = ("gd", "momentum", "nesterov")
"""The update rules a network run takes from the book (eqs. 6.3, 6.11 and 6.12)."""


@dataclass(frozen=True)
class Setting:
    """One optimiser run of a landscape: the book's rule and its α, β (α None: derived)."""

    optimizer: str
    alpha: float | None = None
    beta: float = 0.9


def settings(optimizers: Sequence[str], alpha: float | None, beta: float) -> list[Setting]:
    """The runs asked for by name, each with the shared α and β; unknown names are refused."""
    names = [o.strip() for o in optimizers if o.strip()]
    if not names:
        raise InputError("--optimizers: give at least one of " + ", ".join(BOOK_OPTIMIZERS))
    for name in names:
        if name not in BOOK_OPTIMIZERS:
            raise InputError(f"--optimizers: {name!r} is not one of {', '.join(BOOK_OPTIMIZERS)} "
                             "(any torch.optim optimiser works from Python: networks.record.train"
                             "(make_optimizer=...))")
    if len(set(names)) != len(names):
        raise InputError(f"--optimizers: {','.join(names)!r} names a method twice")
    return [Setting(n, alpha, 0.0 if n == "gd" else beta) for n in names]


def train_all(model: torch.nn.Module, loss_fn: Callable, data: Data, runs: Sequence[Setting], *,
              steps: int, every: int = 1, batch_size: int | None = None, seed: int = 0,
              progress: bool = True) -> list[record.Run]:
    """One recorded run per setting, each from a deep copy of ``model`` (one initialisation)."""
    start = copy.deepcopy(model)
    out = []
    for s in runs:
        net = copy.deepcopy(start)
        out.append(record.train(net, loss_fn, data.x, data.y, optimizer=s.optimizer, alpha=s.alpha,
                                beta=s.beta, steps=steps, every=every, batch_size=batch_size,
                                seed=seed, progress=progress))
    return out


def plane_for(runs: Sequence[record.Run], model: torch.nn.Module, kind: str, *,
              seed: int = 0) -> directions_.Plane:
    """The plane through the first run's φ_T along ``kind`` (``pca`` or ``filter``)."""
    if kind == "pca":
        return directions_.pca(list(runs))
    if kind == "filter":
        end = copy.deepcopy(model)
        params.load(end, runs[0].params[-1])
        return directions_.filter_normalized(end, seed=seed)
    raise InputError(f"--directions: {kind!r} is not one of {', '.join(DIRECTIONS)}")


def evaluate(model: torch.nn.Module, loss_fn: Callable, data: Data, runs: Sequence[record.Run],
             plane: directions_.Plane, *, resolution: int = 41, margin: float = 0.25,
             workers: int | None = None, scheduler: str | None = None,
             progress: bool = True) -> Landscape:
    """The grid over the plane, every run's projected path, and the true and plane losses there."""
    budget.check_grid(resolution)
    paths = [directions_.project(plane, r.params) for r in runs]
    a, b = surface.axes_for(plane, np.concatenate(paths), resolution=resolution, margin=margin)
    losses = surface.grid(model, loss_fn, data.x, data.y, plane, a, b, workers=workers,
                          scheduler=scheduler, progress=progress)
    plane_losses = [surface.evaluate_points(model, loss_fn, data.x, data.y, plane, p) for p in paths]
    true_losses = [r.losses[r.steps] for r in runs]
    return Landscape(runs=list(runs), plane=plane, a=a, b=b, losses=losses, paths=paths,
                     plane_losses=plane_losses, true_losses=true_losses, data=data,
                     predict=_predictor(model, data))


def _predictor(model: torch.nn.Module, data: Data) -> Callable[[np.ndarray], np.ndarray]:
    """The model's predictions on the data at a flattened parameter vector (panels a and d)."""
    net = copy.deepcopy(model)

    def predict(vector: np.ndarray, x: torch.Tensor | None = None) -> np.ndarray:
        params.load(net, vector)
        with torch.no_grad():
            return net(data.x if x is None else x).detach().cpu().numpy().astype(np.float64)

    return predict


def landscape(model: torch.nn.Module, loss_fn: Callable, data: Data, *,
              optimizers: Sequence[str] = ("momentum", "nesterov"), alpha: float | None = None,
              beta: float = 0.9, steps: int = 300, every: int = 1, batch_size: int | None = None,
              directions: str = "pca", resolution: int = 41, seed: int = 0,
              workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> Landscape:
    """Train each optimiser from one start, cut the plane, evaluate it: everything Figure 6.1 needs.

    Args:
        model, loss_fn: the network and its loss on (prediction, target), as a factory returns them;
            the model is not changed (every run trains a deep copy).
        data: the inputs and targets (:func:`descentlab.networks.data.load_data`).
        optimizers: book rules by name (``gd``, ``momentum``, ``nesterov``), sharing α and β.
        alpha: the book's α; None derives it from the curvature at the start
            (:func:`descentlab.networks.record.train`).
        directions: ``pca`` (Li et al. §5) or ``filter`` (filter-normalised random, §4).
        workers, scheduler: evaluate the grid on a Dask ``LocalCluster`` of that many processes, or
            on the existing cluster at that address (:mod:`descentlab.networks.distribute`).
    """
    budget.check_run(steps, len(optimizers), n_params=params.flat(model).size, n_buffers=1)
    runs = train_all(model, loss_fn, data, settings(optimizers, alpha, beta), steps=steps, every=every,
                     batch_size=batch_size, seed=seed, progress=progress)
    plane = plane_for(runs, model, directions, seed=seed)
    return evaluate(model, loss_fn, data, runs, plane, resolution=resolution, workers=workers,
                    scheduler=scheduler, progress=progress)


def summary_rows(result: Landscape) -> list[list[str]]:
    """Per run: the final loss, and how far the plane's loss at the projected iterates strays from
    the true loss (the part of the path the plane does not show)."""
    rows = [["run", "steps", "final loss", "max |L − L_plane|", "at step"]]
    for run, true, flat in zip(result.runs, result.true_losses, result.plane_losses, strict=True):
        gap = np.abs(np.asarray(true) - np.asarray(flat))
        worst = int(np.nanargmax(gap)) if np.isfinite(gap).any() else 0
        rows.append([run.label, str(int(run.steps[-1])), f"{run.losses[-1]:.6g}", f"{gap[worst]:.3g}",
                     str(int(run.steps[worst]))])
    return rows


def sharpness_rows(runs: Sequence[record.Run], values: Sequence[np.ndarray]) -> list[list[str]]:
    """Per run: the top Hessian eigenvalue at the start, its largest and its last value, beside the
    stability limit it is measured against."""
    from descentlab.networks import sharpness

    rows = [["run", "λ_max at start", "largest λ_max", "final λ_max", "stability limit"]]
    for run, v in zip(runs, values, strict=True):
        rows.append([run.label, f"{v[0]:.4g}", f"{np.max(v):.4g}", f"{v[-1]:.4g}",
                     f"{sharpness.limit(run):.4g}"])
    return rows
