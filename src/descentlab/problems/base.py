"""What every problem provides: the loss L[φ] and its analytic gradient, vectorised over points.

A problem's ``loss(points, batch)`` and ``grad(points, batch)`` take ``points`` of shape
``(..., P)`` (one point, a grid, many configurations) and return shape ``(...)`` and
``(..., P)``. For problems with data, ``batch`` is an array of example indices and the result is
the **sum** over those examples (the book's Σ_{i∈B_t} ℓ_i); ``batch=None`` means all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from descentlab.errors import InputError

_SUGGESTED = ("lr", "gd_lr", "adam_lr", "beta")


@dataclass(frozen=True)
class Suggested:
    """Settings that give a good first picture of a problem (used by the CLI and figures)."""

    start: tuple[float, ...]
    lr: float                       # α of the momentum family (the book's form, with 1−β)
    gd_lr: float                    # α of plain gradient steps (gd, sgd)
    adam_lr: float                  # α of adaptive methods (Adam, AdaGrad, RMSProp): a step in φ's units
    beta: float = 0.9
    steps: int = 50
    view: tuple[tuple[float, float], ...] | None = None  # parameter ranges worth showing

    def value(self, key: str) -> float | None:
        """The suggestion a hyper-parameter's spec names (``Hyper.suggest``: ``"lr"``, ``"gd_lr"``,
        ``"adam_lr"``, ``"beta"``), or None when there is none of that name."""
        value = getattr(self, key, None) if key in _SUGGESTED else None
        return None if value is None else float(value)


@dataclass(frozen=True, eq=False, repr=False)
class Problem:
    """Base class: a differentiable loss over P parameters.

    Attributes:
        name: short name (``"line-fit"``, ``"rosenbrock"``…).
        param_names: one name per parameter, e.g. ``("φ0", "φ1")``.
        minima: known global/local minima, shape ``(K, P)`` (``K = 0`` when none are known).
        suggested: settings that show the problem well.
    """

    name: str
    param_names: tuple[str, ...]
    minima: np.ndarray
    suggested: Suggested
    log_levels: bool = field(default=False)  # steep surfaces read better with log-spaced contours

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @property
    def n_examples(self) -> int | None:
        """Number of examples N, or None for a surface without data."""
        return None

    @property
    def constant_hessian(self) -> np.ndarray | None:
        """The Hessian of L over all the data where it is the same everywhere (a quadratic), else None."""
        hessian = getattr(self, "hessian", None)
        return np.asarray(hessian, dtype=np.float64) if isinstance(hessian, np.ndarray) else None

    @property
    def min_loss(self) -> float | None:
        """The lowest loss among the known minima, or None when none are known."""
        if len(self.minima) == 0:
            return None
        return float(np.min(self.loss(self.minima)))

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def _points(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-1:] != (self.n_params,):
            raise InputError(
                f"points must have a last axis of {self.n_params} ({', '.join(self.param_names)}), "
                f"got shape {p.shape}")
        return p

    def __repr__(self) -> str:
        n = self.n_examples
        data = f", N={n}" if n is not None else ""
        return f"<{type(self).__name__} {self.name!r}: P={self.n_params}{data}>"


def check_batch(batch: np.ndarray | None, n_examples: int | None, name: str) -> np.ndarray | None:
    """Validate an index batch for a problem with ``n_examples`` examples."""
    if batch is None:
        return None
    if n_examples is None:
        raise InputError(f"problem {name!r} has no data, so it takes no minibatch (batch=None)")
    idx = np.asarray(batch)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(f"a batch must be a non-empty 1-D array of example indices, got {batch!r}")
    if idx.min() < 0 or idx.max() >= n_examples:
        raise InputError(f"batch indices must be in 0..{n_examples - 1}, got {idx.min()}..{idx.max()}")
    return idx
