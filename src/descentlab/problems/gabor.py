r"""The book's Gabor model (Figure 6.2): a non-convex fit with local minima.

.. math::
    f[x, \phi] = \sin(\phi_0 + 0.06\,\phi_1 x)\cdot
        \exp\!\Big(-\frac{(\phi_0 + 0.06\,\phi_1 x)^2}{32}\Big),
    \qquad L[\phi] = \sum_i (f[x_i, \phi] - y_i)^2

With z = φ0 + 0.06·φ1·x: ∂f/∂z = exp(−z²/32)·(cos z − z·sin z / 16),
∂z/∂φ0 = 1, ∂z/∂φ1 = 0.06·x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descentlab.problems.base import Suggested
from descentlab.problems.data import check_xy
from descentlab.problems.data_fit import DataFit


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
    (see :func:`descentlab.datasets.gabor`).
    """
    x, y = check_xy(x, y)
    if suggested is None:
        suggested = Suggested(start=(-1.5, 8.5), lr=0.5, gd_lr=0.3, adam_lr=0.1, beta=0.8, steps=60,
                              view=((-10.0, 10.0), (2.5, 22.5)))
    return Gabor(name=name, param_names=("φ0", "φ1"),
                 minima=np.empty((0, 2)) if minima is None else np.asarray(minima, float).reshape(-1, 2),
                 suggested=suggested, x=x, y=y, x_label=x_label, y_label=y_label)
