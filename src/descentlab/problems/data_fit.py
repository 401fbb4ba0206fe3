r"""Problems that fit a model f[x, φ] to data {x_i, y_i} by the sum of squared errors (book eq. 2.5).

.. math::
    L[\phi] = \sum_{i=1}^{N} \ell_i = \sum_{i=1}^{N} (f[x_i, \phi] - y_i)^2, \qquad
    \frac{\partial L}{\partial \phi} = \sum_{i=1}^{N} 2\,(f[x_i, \phi] - y_i)\,
        \frac{\partial f[x_i, \phi]}{\partial \phi}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descentlab.problems.base import Problem, check_batch


@dataclass(frozen=True, eq=False, repr=False)
class DataFit(Problem):
    """A model fitted to x, y data. Subclasses give ``predict`` and ``jacobian``."""

    x: np.ndarray = None  # type: ignore[assignment]
    y: np.ndarray = None  # type: ignore[assignment]
    x_label: str = "x"
    y_label: str = "y"

    @property
    def n_examples(self) -> int:
        return len(self.x)

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        """f[x, φ] for ``points`` (..., P) and inputs ``x`` (M,): shape (..., M)."""
        raise NotImplementedError

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        """∂f[x, φ]/∂φ: shape (..., M, P)."""
        raise NotImplementedError

    def _data(self, batch: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        idx = check_batch(batch, self.n_examples, self.name)
        return (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        r = self.predict(self._points(points), x) - y
        return np.sum(r * r, axis=-1)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        x, y = self._data(batch)
        p = self._points(points)
        r = self.predict(p, x) - y
        return 2.0 * np.einsum("...n,...np->...p", r, self.jacobian(p, x))
