r"""Suggested settings for your own problems: a start, and learning rates from the curvature.

**Suggested settings** (:func:`suggest`, used by every constructor of your own problems): ``minima`` is empty
unless given; the start is the one given or :func:`default_start`; ``steps`` = 100; and the
learning rates come from the curvature at the start: with L the largest |eigenvalue| of the
finite-difference Hessian there (when L cannot be estimated, not finite or numerically zero,
L = ‖g‖∞ / (0.1·max(1, ‖φ‖∞)), the curvature that makes the first step 10 % of the scale, or 1
when the gradient is zero too),

* ``gd_lr`` = 1/L (gradient descent and SGD; stable on a quadratic up to 2/L);
* ``lr`` = 1/(2L(1 − β)) for momentum and Nesterov in the book's form, whose steps carry the
  factor (1 − β): α(1 − β)·L = ½, safely inside both methods' stability limits;
* ``adam_lr`` = 0.1·s, where s is a length scale: the largest of 1, ‖φ‖∞ and the length ‖H⁻¹g‖∞
  of the Newton step when the Hessian is positive definite (at most 100·max(1, ‖φ‖∞)), since
  Adam moves each parameter by about α per step;

each rounded to two significant digits. ``view`` (the parameter box to draw, for P = 2) is None
unless given: the figures then frame the paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from descentlab import validation
from descentlab.errors import InputError
from descentlab.problems.base import Problem, Suggested

DEFAULT_STEPS = 100
DEFAULT_BETA = 0.9
_HESSIAN_STEP = 1e-4                   # differences of the gradient, for the curvature estimate
PLACEHOLDER = Suggested(start=(0.0,), lr=1.0, gd_lr=1.0, adam_lr=1.0)
"""What a problem carries until :func:`with_suggestion` replaces it with :func:`suggest`'s."""


def candidates(p: int) -> np.ndarray:
    rows = [np.resize([-1.5, 1.0, -0.5, 1.5, -1.0, 0.5], p), np.resize([1.0, -1.0], p), np.ones(p),
            np.full(p, 0.5), np.zeros(p), -np.ones(p), np.resize([2.0, -2.0], p), np.full(p, 3.0)]
    return np.array(rows, dtype=np.float64)


def default_start(problem: Problem) -> np.ndarray:
    """The first of a fixed list of points where the loss and gradient are finite and the gradient
    is not (numerically) zero: (−1.5, 1, −0.5, 1.5, −1, 0.5, …), (1, −1, …), 1, ½, 0, −1, (2, −2, …),
    3 (each cut or repeated to P numbers); else the first with a finite loss.

    Raises:
        ValueError: when the loss is not finite at any of them.
    """
    cands = candidates(problem.n_params)
    with np.errstate(all="ignore"):
        losses = np.asarray(problem.loss(cands), dtype=np.float64)
        grads = np.asarray(problem.grad(cands), dtype=np.float64)
    finite = np.isfinite(losses) & np.all(np.isfinite(grads), axis=-1)
    moving = np.max(np.abs(grads), axis=-1) > 1e-10 * np.maximum(1.0, np.abs(losses))
    for ok in (finite & moving, np.isfinite(losses)):
        if ok.any():
            return cands[int(np.argmax(ok))]
    raise InputError(f"the loss of {problem.name!r} is not finite at any default start; give start=…")


def hessian(problem: Problem, point: Sequence[float]) -> np.ndarray:
    """The symmetrised central-difference Hessian of ``problem`` at ``point`` (from its gradient,
    with steps 1e-4·max(1, |φ_i|)), on all the data."""
    phi = validation.point("point", point, problem.n_params)
    p = len(phi)
    h = _HESSIAN_STEP * np.maximum(1.0, np.abs(phi))
    shifts = np.diag(h)
    with np.errstate(all="ignore"):
        g = np.asarray(problem.grad(np.concatenate([phi + shifts, phi - shifts])), dtype=np.float64)
    width = (phi + h) - (phi - h)
    hess = (g[:p] - g[p:]) / width[:, None]
    return 0.5 * (hess + hess.T)


def _two_digits(v: float) -> float:
    return float(f"{v:.2g}")


def suggest(problem: Problem, start: Sequence[float] | None = None, *, steps: int = DEFAULT_STEPS,
            beta: float = DEFAULT_BETA, view=None) -> Suggested:
    """Settings for ``problem`` from its curvature at ``start`` (see the module docstring).

    Raises:
        ValueError: if the loss at the start is not finite.
    """
    steps = validation.integer("steps", steps, 1)
    beta = validation.unit_interval("beta (β)", beta)
    phi = default_start(problem) if start is None else validation.point("start", start, problem.n_params)
    with np.errstate(all="ignore"):
        loss = float(problem.loss(phi))
        g = np.asarray(problem.grad(phi), dtype=np.float64)
    if not np.isfinite(loss):
        raise InputError(f"the loss of {problem.name!r} at the start {phi.tolist()} is {loss}; "
                         "choose a start where it is finite")
    size = max(1.0, float(np.max(np.abs(phi))))
    grad_size = float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else 0.0
    h = hessian(problem, phi)
    eig = np.linalg.eigvalsh(h) if np.all(np.isfinite(h)) else np.array([np.nan])
    curvature = float(np.max(np.abs(eig)))
    if not (np.isfinite(curvature) and curvature > 1e-9 * max(1.0, grad_size)):
        curvature = grad_size / (0.1 * size) if grad_size > 0 else 1.0
    scale = size
    if np.all(np.isfinite(eig)) and eig.min() > 1e-9 * eig.max() > 0 and grad_size > 0:
        newton = float(np.max(np.abs(np.linalg.solve(h, g))))
        if np.isfinite(newton):
            scale = max(scale, min(newton, 100.0 * size))
    view = None if view is None else tuple((float(lo), float(hi)) for lo, hi in view)
    return Suggested(start=tuple(float(v) for v in phi),
                     lr=_two_digits(1.0 / (2.0 * curvature * (1.0 - beta))),
                     gd_lr=_two_digits(1.0 / curvature), adam_lr=_two_digits(0.1 * scale), beta=beta,
                     steps=steps, view=view)


def with_suggestion(problem: Problem, start, steps: int, beta: float, view) -> Problem:
    return dataclasses.replace(problem, suggested=suggest(problem, start, steps=steps, beta=beta, view=view))


__all__ = ["DEFAULT_BETA", "DEFAULT_STEPS", "PLACEHOLDER", "candidates", "default_start", "hessian",
           "suggest", "with_suggestion"]
