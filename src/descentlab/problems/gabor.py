r"""The book's Gabor model (Figure 6.2): a non-convex fit with local minima.

.. math::
    f[x, \phi] = \sin(\phi_0 + 0.06\,\phi_1 x)\cdot
        \exp\!\Big(-\frac{(\phi_0 + 0.06\,\phi_1 x)^2}{32}\Big),
    \qquad L[\phi] = \sum_i (f[x_i, \phi] - y_i)^2

With z = φ0 + 0.06·φ1·x: ∂f/∂z = exp(−z²/32)·(cos z − z·sin z / 16),
∂z/∂φ0 = 1, ∂z/∂φ1 = 0.06·x.

**Loss and gradient in one pass.** With r_i = f[x_i, φ] − y_i and
d_i = 2·r_i·∂f/∂z (z_i),

.. math::
    L = \sum_i r_i^2, \qquad \frac{\partial L}{\partial \phi_0} = \sum_i d_i, \qquad
    \frac{\partial L}{\partial \phi_1} = 0.06 \sum_i d_i\, x_i,

so z, sin z, cos z and exp(−z²/32) are computed once per point and the residual times the
derivative is reduced directly (:meth:`Gabor.value_and_grad`; :meth:`Gabor.grad` is its second
half): no stacked (…, N, 2) Jacobian. :func:`value_and_grad_one` and :func:`value_one` are the same
sums for one point φ as scalar loops, in the compiled-model convention ``L = vg(phi, grad_out, x, y)``
(numba compiles them as they are); the compiled sweep (:mod:`descentlab.sweep_general`) runs the
same sums vectorised across configurations and is tested against them.

**Suggested settings.** The built-in data (:func:`descentlab.datasets.gabor`) keep the hand-picked
:data:`FIGURE_6_2`. For your data the model's shape is fixed, so what carries over is where the
Gabor sits along x: the built-in start (−1.5, 8.5) and view are moved to your x by the map that
keeps z(x) the same function of the standardised x, (x − x̄)/s_x,

.. math::
    \phi_1' = \phi_1\,\frac{s_{\text{ref}}}{s_x},\qquad
    \phi_0' = \phi_0 + 0.06\,\phi_1\Big(\bar x_{\text{ref}} - \bar x\,\frac{s_{\text{ref}}}{s_x}\Big)

(x̄_ref, s_ref: the built-in data's mean and standard deviation of x), and the learning rates
come from the curvature there (:func:`~descentlab.problems.suggestions.suggest`), but for the
adaptive methods' α, a step in parameter units: the built-in 0.1, times s_ref/s_x where φ1's unit
shrinks (so every parameter moves by at most a tenth of its built-in scale per step). The minima
of your data are not known, so none are listed unless you give them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from descentlab.problems.base import Suggested, round_down
from descentlab.problems.data import check_xy
from descentlab.problems.data_fit import DataFit
from descentlab.problems.suggestions import DEFAULT_BETA, DEFAULT_STEPS, suggest

FIGURE_6_2 = Suggested(start=(-1.5, 8.5), lr=0.5, gd_lr=0.3, adam_lr=0.1, beta=0.8, steps=60,
                       view=((-10.0, 10.0), (2.5, 22.5)))
"""The hand-picked settings of the built-in Gabor data (:func:`descentlab.datasets.gabor`)."""
REFERENCE_X = (1.3890833333333332, 9.12982106842127)
"""The mean and standard deviation of x in the built-in Gabor data, where FIGURE_6_2 was chosen."""


@dataclass(frozen=True, eq=False, repr=False)
class Gabor(DataFit):
    """f[x, φ] = sin(φ0 + 0.06·φ1·x)·exp(−(φ0 + 0.06·φ1·x)²/32), sum of squared errors."""

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        z = p[..., 0, None] + 0.06 * p[..., 1, None] * np.asarray(x, dtype=np.float64)
        return np.sin(z) * np.exp(-z * z / 32.0)

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        z = p[..., 0, None] + 0.06 * p[..., 1, None] * x
        dfdz = np.exp(-z * z / 32.0) * (np.cos(z) - z * np.sin(z) / 16.0)
        return np.stack([dfdz, dfdz * 0.06 * x], axis=-1)

    def _fused(self, p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(L, ∂L/∂φ) from one pass over the data (see the module docstring)."""
        z = p[..., 0, None] + 0.06 * p[..., 1, None] * x
        s = np.sin(z)
        e = np.exp(-z * z / 32.0)
        r = s * e - y
        d = 2.0 * r * e * (np.cos(z) - z * s / 16.0)
        grad = np.empty(p.shape)
        grad[..., 0] = np.sum(d, axis=-1)
        grad[..., 1] = 0.06 * (d @ x)
        return np.sum(r * r, axis=-1), grad

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        """∂L/∂φ by the fused pass (:meth:`value_and_grad`), without the stacked Jacobian."""
        x, y = self._data(batch)
        return self._fused(self._points(points), x, y)[1]


def value_and_grad_one(phi, grad_out, x, y):
    """L[φ] for one point ``phi`` (2,), writing ∂L/∂φ into ``grad_out`` (2,): the fused sums of the
    module docstring as a scalar loop over the data, one sin, cos and exp per point, in the calling
    convention of compiled models (:mod:`descentlab.sweep_general`); numba compiles it as it is,
    and plain Python runs it too (the same numbers up to rounding)."""
    p0 = phi[0]
    p1 = 0.06 * phi[1]
    total = 0.0
    g0 = 0.0
    g1 = 0.0
    for i in range(x.shape[0]):
        z = p0 + p1 * x[i]
        s = np.sin(z)
        e = np.exp(-z * z / 32.0)
        r = s * e - y[i]
        total += r * r
        d = 2.0 * r * e * (np.cos(z) - z * s / 16.0)
        g0 += d
        g1 += d * x[i]
    grad_out[0] = g0
    grad_out[1] = 0.06 * g1
    return total


def value_one(phi, x, y):
    """L[φ] alone for one point (a sin and an exp per point): the loss a sweep records at φ_{t+1}
    when its next gradient is taken elsewhere (Nesterov's look-ahead)."""
    p0 = phi[0]
    p1 = 0.06 * phi[1]
    total = 0.0
    for i in range(x.shape[0]):
        z = p0 + p1 * x[i]
        r = np.sin(z) * np.exp(-z * z / 32.0) - y[i]
        total += r * r
    return total


def gabor(x, y, *, name: str = "gabor", minima=None, x_label: str = "x", y_label: str = "y",
          suggested: Suggested | None = None) -> Gabor:
    """The Gabor model fitted to data ``x``, ``y``.

    ``minima`` (K×2) may list known minima; the built-in data set knows its own
    (see :func:`descentlab.datasets.gabor`). ``suggested`` defaults to settings derived from the
    data (see the module docstring).
    """
    x, y = check_xy(x, y, labels=(x_label, y_label))
    problem = Gabor(name=name, param_names=("φ0", "φ1"),
                    minima=np.empty((0, 2)) if minima is None else np.asarray(minima, float).reshape(-1, 2),
                    suggested=FIGURE_6_2, x=x, y=y, x_label=x_label, y_label=y_label)
    return dataclasses.replace(problem, suggested=derived(problem) if suggested is None else suggested)


def moved(points, x) -> np.ndarray:
    """Parameter points of the built-in data moved to data with inputs ``x`` (see the module
    docstring); unchanged where every x is the same."""
    p = np.array(points, dtype=np.float64)
    mean, spread = float(np.mean(x)), float(np.std(x))
    if not spread > 0:
        return p
    ref_mean, ref_spread = REFERENCE_X
    ratio = ref_spread / spread
    out = p.copy()
    out[..., 1] = p[..., 1] * ratio
    out[..., 0] = p[..., 0] + 0.06 * p[..., 1] * (ref_mean - mean * ratio)
    return out


def derived(problem: Gabor) -> Suggested:
    """The settings that the data of ``problem`` suggest (see the module docstring)."""
    start = moved(FIGURE_6_2.start, problem.x)
    (a, b), (c, d) = FIGURE_6_2.view
    corners = moved([[a, c], [a, d], [b, c], [b, d]], problem.x)
    low, high = corners.min(axis=0), corners.max(axis=0)
    view = tuple((float(lo), float(hi)) for lo, hi in zip(low, high, strict=True))
    found = suggest(problem, start, steps=DEFAULT_STEPS, beta=DEFAULT_BETA, view=view)
    spread = float(np.std(problem.x))
    shrink = min(1.0, REFERENCE_X[1] / spread) if spread > 0 else 1.0   # φ1's unit shrinks by this
    return dataclasses.replace(found, adam_lr=round_down(FIGURE_6_2.adam_lr * shrink))
