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

**Suggested settings** for your data come from the data (the built-in Figure 6.1 data keep the
hand-picked :data:`FIGURE_6_1`): the Hessian H = 2·[[N, Σx], [Σx, Σx²]] is exact, and so is the
minimum, so :func:`~descentlab.problems.suggestions.quadratic_suggestion` applies with the gap
G = 4·Σ(y − ȳ)² (a start line about twice the spread of y off the best line) and one example's
curvature λmax(2·[[1, x], [x, x²]]) = 2(1 + x²) at most 2·max(1 + x_i²), for minibatches; μ comes
from det H = 4·N·S_xx, exact however far the data sit from x = 0 (κ of 10¹³ and more). Where
the data are too ill-conditioned for the suggested steps, the note says how far centring x
(x − x̄, Hessian 2·diag(N, S_xx)) or standardising it (κ = 1) would bring κ down.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from descentlab.problems.base import Suggested
from descentlab.problems.data import check_xy
from descentlab.problems.data_fit import DataFit
from descentlab.problems.suggestions import DATA_GAP as START_GAP
from descentlab.problems.suggestions import quadratic_suggestion

FIGURE_6_1 = Suggested(start=(1.6, -0.5), lr=0.05, gd_lr=0.03, adam_lr=0.1, beta=0.8, steps=40)
"""The hand-picked settings of the built-in line fit (:func:`descentlab.datasets.line_fit`)."""


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


    @property
    def examples_per_loss(self) -> int:
        """1: the full-data loss and gradient come from the sufficient statistics, whatever N."""
        return 1

    def loss_one(self, point: np.ndarray) -> float:
        """:meth:`loss` at one point in Python floats: the same operations in the same order, so
        the same number, at a fraction of numpy's per-call cost (the runner's loop)."""
        n, x_bar, y_bar, s_xx, b_star, l_min = self.stats
        p0, p1 = point.tolist()
        a = p0 + p1 * x_bar - y_bar
        d = p1 - b_star
        return n * a * a + s_xx * d * d + l_min

    def grad_one(self, point: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        """:meth:`grad` at one point, in Python floats (the same operations, the same number)."""
        if batch is not None:
            return self.grad(point, batch)
        n, x_bar, y_bar, s_xx, b_star, _ = self.stats
        p0, p1 = point.tolist()
        g0 = 2.0 * n * (p0 + p1 * x_bar - y_bar)
        return np.array((g0, g0 * x_bar + 2.0 * s_xx * (p1 - b_star)))


def linear_regression(x, y, *, name: str = "linear-regression", x_label: str = "x",
                      y_label: str = "y", suggested: Suggested | None = None) -> LinearRegression:
    """The book's line-fitting problem for data ``x``, ``y`` (1-D, equal length, N ≥ 2, finite);
    ``suggested`` settings default to those derived from the data (see the module docstring)."""
    x, y = check_xy(x, y, labels=(x_label, y_label))
    n = len(x)
    x_bar, y_bar = float(np.mean(x)), float(np.mean(y))
    xc, yc = x - x_bar, y - y_bar
    s_xx, s_xy = float(xc @ xc), float(xc @ yc)
    b_star = s_xy / s_xx if s_xx > 0 else 0.0
    residual = yc - b_star * xc
    l_min = float(residual @ residual)
    minimum = np.array([[y_bar - b_star * x_bar, b_star]])
    problem = LinearRegression(
        name=name, param_names=("φ0", "φ1"), minima=minimum, suggested=FIGURE_6_1,
        x=x, y=y, x_label=x_label, y_label=y_label,
        stats=(float(n), x_bar, y_bar, s_xx, b_star, l_min),
    )
    return dataclasses.replace(problem, suggested=derived(problem) if suggested is None else suggested)


def derived(problem: LinearRegression) -> Suggested:
    """The settings that the data of ``problem`` suggest (see the module docstring)."""
    n, x_bar, y_bar, s_xx, b_star, l_min = problem.stats
    s_yy = l_min + b_star * b_star * s_xx                  # Σ(y − ȳ)²
    gap = START_GAP * (s_yy if s_yy > 0 else n * max(y_bar * y_bar, 1.0))
    hessian = problem.hessian
    big = float(np.linalg.eigvalsh(hessian)[-1])
    smallest = 4.0 * n * s_xx / big            # det H = 4·N·S_xx, exact in the centred sums
    kappa = big / smallest if smallest > 0 else np.inf
    hint = ""
    if s_xx > 0 and n > 0:
        centred = max(n, s_xx) / min(n, s_xx)
        if centred < 0.1 * kappa:
            hint = f"centring x (x − {x_bar:.6g}) would make κ = {centred:.2g}"
        spread = (s_xx / n) ** 0.5
        if centred > 10:
            hint += f"{'; ' if hint else ''}standardising it ((x − {x_bar:.6g}) / {spread:.3g}) makes κ = 1"
    elif s_xx == 0:
        hint = "every x is the same, so the slope φ1 is not determined by the data"
    example = 2.0 * float(np.max(1.0 + problem.x * problem.x))
    return quadratic_suggestion(hessian, problem.minima[0], gap, smallest=smallest, example_curvature=example,
                                hint=hint)
