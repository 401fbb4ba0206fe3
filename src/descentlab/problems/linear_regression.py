r"""Linear regression ŷ = φ0 + φ1·x with the sum of squared errors (book eq. 2.5, Figure 6.1).

Over the whole data the loss is a quadratic in φ, so it is evaluated from sufficient statistics
computed once in O(N): the means x̄, ȳ and the centred sums S_xx = Σ(x−x̄)², S_xy = Σ(x−x̄)(y−ȳ).
With a = φ0 + φ1·x̄ − ȳ and the least-squares slope b* = S_xy / S_xx,

.. math::
    L[\phi] = N a^2 + S_{xx} (\phi_1 - b^*)^2 + L_{\min},\qquad
    \frac{\partial L}{\partial \phi_0} = 2 N a,\qquad
    \frac{\partial L}{\partial \phi_1} = 2 N a \bar x + 2 S_{xx} (\phi_1 - b^*),

where L_min is the residual sum of squares of the least-squares line. This equals
Σ(φ0 + φ1 x_i − y_i)² expanded in Σx, Σy, Σx², Σxy, Σy², but the centred form does not
cancel catastrophically near the minimum. A loss surface on a G×G grid then costs O(G² + N).
Minibatches (``batch=`` indices) are summed example by example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descentlab.problems.base import Suggested
from descentlab.problems.data import check_xy
from descentlab.problems.data_fit import DataFit


@dataclass(frozen=True, eq=False, repr=False)
class LinearRegression(DataFit):
    """ŷ = φ0 + φ1·x fitted by the sum of squared errors; full-data loss in O(1) per point."""

    stats: tuple[float, ...] = ()  # (N, x̄, ȳ, S_xx, b*, L_min)

    @property
    def hessian(self) -> np.ndarray:
        """The constant Hessian of L over all the data: 2·[[N, Σx], [Σx, Σx²]]."""
        n, x_bar, _, s_xx, _, _ = self.stats
        return 2.0 * np.array([[n, n * x_bar], [n * x_bar, s_xx + n * x_bar * x_bar]])

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        return p[..., 0, None] + p[..., 1, None] * np.asarray(x, dtype=np.float64)

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        jac = np.stack([np.ones_like(x), x], axis=-1)
        return np.broadcast_to(jac, (*p.shape[:-1], len(x), 2))

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        if batch is not None:
            return super().loss(points, batch)
        n, x_bar, y_bar, s_xx, b_star, l_min = self.stats
        p = self._points(points)
        a = p[..., 0] + p[..., 1] * x_bar - y_bar
        d = p[..., 1] - b_star
        return n * a * a + s_xx * d * d + l_min

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        if batch is not None:
            return super().grad(points, batch)
        n, x_bar, y_bar, s_xx, b_star, _ = self.stats
        p = self._points(points)
        a = p[..., 0] + p[..., 1] * x_bar - y_bar
        out = np.empty(p.shape)
        out[..., 0] = 2.0 * n * a
        out[..., 1] = out[..., 0] * x_bar + 2.0 * s_xx * (p[..., 1] - b_star)
        return out


def linear_regression(x, y, *, name: str = "linear-regression", x_label: str = "x",
                      y_label: str = "y", suggested: Suggested | None = None) -> LinearRegression:
    """The book's line-fitting problem for data ``x``, ``y`` (1-D, equal length, N ≥ 2, finite)."""
    x, y = check_xy(x, y)
    n = len(x)
    x_bar, y_bar = float(np.mean(x)), float(np.mean(y))
    xc, yc = x - x_bar, y - y_bar
    s_xx, s_xy = float(xc @ xc), float(xc @ yc)
    b_star = s_xy / s_xx if s_xx > 0 else 0.0
    residual = yc - b_star * xc
    l_min = float(residual @ residual)
    minimum = np.array([[y_bar - b_star * x_bar, b_star]])
    if suggested is None:
        suggested = Suggested(start=(1.6, -0.5), lr=0.05, gd_lr=0.03, adam_lr=0.1, beta=0.8, steps=40)
    return LinearRegression(
        name=name, param_names=("φ0", "φ1"), minima=minimum, suggested=suggested,
        x=x, y=y, x_label=x_label, y_label=y_label,
        stats=(float(n), x_bar, y_bar, s_xx, b_star, l_min),
    )
