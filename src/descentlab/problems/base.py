"""What every problem provides: the loss L[φ] and its analytic gradient, vectorised over points.

A problem's ``loss(points, batch)`` and ``grad(points, batch)`` take ``points`` of shape
``(..., P)`` (one point, a grid, many configurations) and return shape ``(...)`` and
``(..., P)``. For problems with data, ``batch`` is an array of example indices and the result is
the **sum** over those examples (the book's Σ_{i∈B_t} ℓ_i); ``batch=None`` means all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from descentlab.errors import InputError

_SUGGESTED = ("lr", "gd_lr", "adam_lr", "beta", "max_dist", "thresh")
_STOCHASTIC_SHARE = 0.25  # a step on a minibatch is this share of 1/λ_B (see Suggested.value)


@dataclass(frozen=True)
class Suggested:
    r"""Settings that give a good first picture of a problem (used by the CLI and figures).

    Hand-picked for the built-in problems; derived from the problem itself for your own data and
    losses (:mod:`descentlab.problems.suggestions` gives the rules). Where they were derived,
    ``curvature`` is L, the largest eigenvalue of the Hessian of the loss on all the data, and
    ``example_curvature`` bounds one example's: a minibatch B of the summed loss then has curvature
    at most λ_B = min(L, |B|·that) (a mean over the batch: at most that), which :meth:`value` uses.
    ``kappa`` is the condition number where known, and ``note`` says when the suggested steps
    cannot reach the minimum (an ill-conditioned problem) and what would help.
    """

    start: tuple[float, ...]
    lr: float                       # α of the momentum family (the book's form, with 1−β)
    gd_lr: float                    # α of plain gradient steps (gd, sgd)
    adam_lr: float                  # α of adaptive methods (Adam, AdaGrad, RMSProp): a step in φ's units
    beta: float = 0.9
    steps: int = 50
    view: tuple[tuple[float, float], ...] | None = None  # parameter ranges worth showing
    max_dist: float | None = None   # a line search's bracket (None: its own default)
    thresh: float | None = None
    curvature: float | None = None  # L = λmax of the Hessian on all the data, where derived
    example_curvature: float | None = None  # a bound on one example's λmax (data problems)
    reduction: str = "sum"          # how the loss adds its examples up: "sum" (the book's) or "mean"
    kappa: float | None = None      # the condition number L/μ where known
    note: str | None = None         # why the suggested steps cannot converge, and what helps

    def value(self, key: str, batch_size: int | None = None) -> float | None:
        """The suggestion a hyper-parameter's spec names (``Hyper.suggest``: ``"lr"``, ``"gd_lr"``,
        ``"adam_lr"``, ``"beta"``, ``"max_dist"``, ``"thresh"``), or None when there is none of that name.

        ``batch_size``: the size |B| < N of the minibatches the run draws, if any. A step on a
        minibatch is stable for α < 2/λ_B (λ_B: the batch's curvature, see the class docstring),
        and a constant step leaves SGD in a noise ball whose size grows with α, so where the
        curvatures are known the gradient family gets α = ¼·1/λ_B and the momentum family
        α = ¼·1/(λ_B(1−β)) (its effective step α(1−β) being the same); adaptive methods keep their
        step in parameter units.
        """
        value = getattr(self, key, None) if key in _SUGGESTED else None
        if value is None:
            return None
        lam = self.batch_curvature(batch_size) if key in ("gd_lr", "lr") else None
        if lam is not None:
            step = _STOCHASTIC_SHARE / lam
            return round_down(step if key == "gd_lr" else step / (1.0 - self.beta))
        return float(value)

    def batch_curvature(self, batch_size: int | None) -> float | None:
        """λ_B, the bound on the curvature of a minibatch of ``batch_size`` examples, or None when
        the run uses all the data or the curvatures are not known."""
        if batch_size is None or self.curvature is None or self.example_curvature is None:
            return None
        if self.reduction == "mean":
            return float(self.example_curvature)
        return float(min(self.curvature, batch_size * self.example_curvature))


def round_down(value: float, digits: int = 2) -> float:
    """``value`` > 0 cut (not rounded) to ``digits`` significant digits: 0.001949 → 0.0019, so a
    step chosen below a stability limit stays below it."""
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        return v
    exponent = math.floor(math.log10(v)) - digits + 1
    mantissa = math.floor(v / 10.0 ** exponent * (1 + 1e-12))
    return float(f"{mantissa}e{exponent}")


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
    def examples_per_loss(self) -> int:
        """Examples one full-data loss or gradient reads: N for a data fit, 1 for a surface without
        data or a closed form (the line fit's sufficient statistics). What work budgets count."""
        return self.n_examples or 1

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

    def loss_one(self, point: np.ndarray) -> float:
        """L at one point of shape (P,) that the caller has already checked (the runner's loop):
        the same number as ``float(loss(point))``, without the checks. Problems with a cheaper
        path for one point override it."""
        return float(self.loss(point))

    def grad_one(self, point: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        """∂L/∂φ at one checked point of shape (P,): the same as ``grad(point, batch)``."""
        return self.grad(point, batch)

    def loss_and_grad_one(self, point: np.ndarray) -> tuple[float, np.ndarray] | None:
        """(``loss_one(point)``, ``grad_one(point)``) on all the data from one pass, the same numbers,
        where one pass costs less than the two calls (a torch model: one forward and one backward pass
        instead of two forwards and a backward); None where it does not (the default). The runner
        takes the loss it records at φ_{t+1} and the next gradient together when the method's
        gradient point is φ_{t+1} itself (every method but the look-ahead ones)."""
        return None

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
