"""Classic test surfaces without data: a quadratic bowl, Rosenbrock, Beale, Himmelblau.

Each knows its minima (``problem.minima``) and gives an analytic gradient. Being data-free, they
take no minibatch: the "loss" is the whole function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.errors import InputError
from descentlab.problems.base import Problem, Suggested, check_batch

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False, repr=False)
class Surface(Problem):
    """A function of two parameters (x, y) with closed-form value and gradient."""

    f: Callable[[np.ndarray, np.ndarray], np.ndarray] = None  # type: ignore[assignment]
    df: Callable[[np.ndarray, np.ndarray], Pair] = None  # type: ignore[assignment]

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        return self.f(p[..., 0], p[..., 1])

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        return np.stack(self.df(p[..., 0], p[..., 1]), axis=-1)


@dataclass(frozen=True, eq=False, repr=False)
class Quadratic(Problem):
    r"""L[φ] = ½ (φ − c)ᵀ H (φ − c) with Hessian H = R·diag(λ)·Rᵀ, λ from μ to L = κμ."""

    hessian: np.ndarray = None  # type: ignore[assignment]
    eigenvalues: np.ndarray = None  # type: ignore[assignment]

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        d = self._points(points) - self.minima[0]
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.hessian, d)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        d = self._points(points) - self.minima[0]
        return d @ self.hessian  # H is symmetric


def quadratic(kappa: float = 10.0, angle: float = 30.0, mu: float = 1.0, dim: int = 2,
              center=None) -> Quadratic:
    """A quadratic bowl with condition number κ = L/μ, its axes rotated by ``angle`` degrees.

    Args:
        kappa: condition number κ ≥ 1 (ratio of the largest to the smallest Hessian eigenvalue).
        angle: rotation of the principal axes in the (φ0, φ1) plane, in degrees.
        mu: the smallest eigenvalue μ > 0.
        dim: number of parameters (≥ 2); eigenvalues are spaced geometrically from μ to κμ.
        center: the minimum (default: the origin).
    """
    k = validation.real("kappa (κ)", kappa)
    if not (np.isfinite(k) and k >= 1):
        raise InputError(f"kappa (κ) must be finite and >= 1, got {kappa!r}")
    a = validation.real("angle", angle)
    if not np.isfinite(a):
        raise InputError(f"angle must be a finite number of degrees, got {angle!r}")
    theta = np.deg2rad(a)
    m = validation.positive("mu (μ)", mu)
    n = validation.integer("dim", dim, 2)
    c = np.zeros(n) if center is None else validation.point("center", center, n)
    eig = np.geomspace(m, k * m, n)
    rot = np.eye(n)
    rot[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    hessian = rot @ np.diag(eig) @ rot.T
    hessian = 0.5 * (hessian + hessian.T)
    start = tuple(float(v) for v in c + np.r_[-4.0, 3.0, np.ones(n - 2)])
    return Quadratic(
        name=f"quadratic (κ={k:g})", param_names=tuple(f"φ{i}" for i in range(n)),
        minima=c[None, :], hessian=hessian, eigenvalues=eig,
        suggested=Suggested(start=start, lr=1.0 / (k * m), gd_lr=1.0 / (k * m), adam_lr=0.3,
                            beta=0.9, steps=60),
    )


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(x, y):
    return -2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)


def rosenbrock() -> Surface:
    """Rosenbrock's banana: (1 − x)² + 100·(y − x²)², minimum 0 at (1, 1), a long curved valley."""
    return Surface(name="rosenbrock", param_names=("x", "y"), minima=np.array([[1.0, 1.0]]),
                   f=_rosenbrock, df=_rosenbrock_grad, log_levels=True,
                   suggested=Suggested(start=(-1.2, 1.0), lr=0.02, gd_lr=2e-3, adam_lr=0.3, beta=0.95,
                                       steps=400,
                                       view=((-2.0, 2.0), (-1.0, 3.0))))


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y ** 3


def _beale(x, y):
    a, b, c = _beale_terms(x, y)
    return a * a + b * b + c * c


def _beale_grad(x, y):
    a, b, c = _beale_terms(x, y)
    gx = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y ** 3 - 1)
    gy = 2 * a * x + 4 * b * x * y + 6 * c * x * y * y
    return gx, gy


def beale() -> Surface:
    """Beale's function: minimum 0 at (3, 0.5), flat plateaus and steep walls."""
    return Surface(name="beale", param_names=("x", "y"), minima=np.array([[3.0, 0.5]]),
                   f=_beale, df=_beale_grad, log_levels=True,
                   suggested=Suggested(start=(1.0, 1.4), lr=0.05, gd_lr=0.03, adam_lr=0.1, beta=0.9,
                                       steps=100,
                                       view=((-4.5, 4.5), (-4.5, 4.5))))


def _himmelblau(x, y):
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def _himmelblau_grad(x, y):
    a, b = x * x + y - 11.0, x + y * y - 7.0
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


# Newton-polished roots of the gradient (residual < 1e-13).
HIMMELBLAU_MINIMA = np.array([
    [3.0, 2.0],
    [-2.805118086952745, 3.131312518250573],
    [-3.779310253377747, -3.283185991286169],
    [3.5844283403304917, -1.8481265269644034],
])


def himmelblau() -> Surface:
    """Himmelblau's function: four minima of value 0, one at (3, 2)."""
    return Surface(name="himmelblau", param_names=("x", "y"), minima=HIMMELBLAU_MINIMA.copy(),
                   f=_himmelblau, df=_himmelblau_grad, log_levels=True,
                   suggested=Suggested(start=(-0.5, -0.5), lr=0.05, gd_lr=0.01, adam_lr=0.3, beta=0.9,
                                       steps=50,
                                       view=((-5.0, 5.0), (-5.0, 5.0))))
