r"""The book's Gabor model (Figure 6.2): a non-convex fit with local minima.

.. math::
    f[x, \phi] = \sin(\phi_0 + 0.06\,\phi_1 x)\cdot
        \exp\!\Big(-\frac{(\phi_0 + 0.06\,\phi_1 x)^2}{32}\Big),
    \qquad L[\phi] = \sum_i (f[x_i, \phi] - y_i)^2

With z = φ0 + 0.06·φ1·x: ∂f/∂z = exp(−z²/32)·(cos z − z·sin z / 16),
∂z/∂φ0 = 1, ∂z/∂φ1 = 0.06·x.

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
