r"""Nesterov accelerated momentum (book eq. 6.12), with :math:`m_0 = 0`.

.. math::
    m_{t+1} &\leftarrow \beta \cdot m_t + (1-\beta) \sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t - \alpha\beta \cdot m_t]}{\partial \phi} \\
    \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot m_{t+1}

"Step along the momentum first, look at the slope there, then decide": the gradient is taken
at the look-ahead point :math:`\phi_t - \alpha\beta \cdot m_t` (:func:`lookahead_point`).

Equal to ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)`` when PyTorch's parameter is
read as the look-ahead point. On a quadratic, with η = α(1−β),

.. math::
    M = \begin{pmatrix} 1-\eta\lambda & -\alpha\beta(1-\eta\lambda) \\
                        (1-\beta)\lambda & \beta(1-\eta\lambda) \end{pmatrix}

stable iff α < 2(1+β)/((1+2β)(1−β)L); the usual tuning η = 1/L, β = (√κ−1)/(√κ+1) has rate
1 − 1/√κ, the optimum η* = 4/(3L+μ), β* = (√(3κ+1)−2)/(√(3κ+1)+2) has 1 − 2/√(3κ+1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from descentlab.optimizers.momentum import averaged, beta_hyper
from descentlab.optimizers.registry import Linear, Rule, learning_rate, register, zero_buffers


class NesterovState(NamedTuple):
    """φ_t and the book's m_t."""

    params: np.ndarray
    momentum: np.ndarray


init = zero_buffers(NesterovState)


def matrix(hyper, lam) -> np.ndarray:
    a, b, lam = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                      for v in (hyper["lr"], hyper["beta"], lam)))
    shrink = 1.0 - a * (1.0 - b) * lam
    out = np.empty((*a.shape, 2, 2))
    out[..., 0, 0] = shrink
    out[..., 0, 1] = -a * b * shrink
    out[..., 1, 0] = (1.0 - b) * lam
    out[..., 1, 1] = b * shrink
    return out


def stability_limit(hyper, L: float) -> np.ndarray:
    b = np.asarray(hyper["beta"], dtype=np.float64)
    return 2.0 * (1.0 + b) / ((1.0 + 2.0 * b) * (1.0 - b) * L)


def step_one_over_L(mu: float, L: float) -> dict[str, float]:
    """The usual tuning: effective step 1/L, β = (√κ−1)/(√κ+1)."""
    root = math.sqrt(L / mu)
    beta = (root - 1.0) / (root + 1.0)
    return {"lr": 1.0 / L / (1.0 - beta), "beta": beta}


def optimal(mu: float, L: float) -> dict[str, float]:
    """The optimum on quadratics (Lessard, Recht & Packard 2016)."""
    s = math.sqrt(3.0 * L / mu + 1.0)
    beta = (s - 2.0) / (s + 2.0)
    return {"lr": 4.0 / (3.0 * L + mu) / (1.0 - beta), "beta": beta}


@register("nesterov", learning_rate("momentum"), beta_hyper(), lookahead=True,
          linear=Linear(matrix, stability_limit, tunings={"step 1/L": step_one_over_L, "optimal": optimal}),
          featured=True, color="#d62728", marker="^")
def nesterov(lr, beta=0.9):
    r"""Nesterov accelerated momentum (book eq. 6.12): the gradient at the look-ahead point.

    Args:
        lr: the learning rate α > 0.
        beta: the momentum coefficient β in [0, 1); β = 0 is gradient descent.
    """
    def lookahead_point(state: NesterovState) -> np.ndarray:
        return state.params - lr * beta * state.momentum

    def update(state: NesterovState, grad: np.ndarray) -> NesterovState:
        m = averaged(beta, state.momentum, grad)
        return NesterovState(state.params - lr * m, m)

    return Rule(init, update, lookahead_point)
