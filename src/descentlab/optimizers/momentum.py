r"""Momentum (book eq. 6.11), with :math:`m_0 = 0`.

.. math::
    m_{t+1} &\leftarrow \beta \cdot m_t + (1-\beta) \sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi} \\
    \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot m_{t+1}

Equal to ``torch.optim.SGD(lr=α(1−β), momentum=β)``. On a quadratic, with η = α(1−β),

.. math::
    M = \begin{pmatrix} 1-\eta\lambda & -\alpha\beta \\ (1-\beta)\lambda & \beta \end{pmatrix}

Polyak's heavy ball with step η: stable iff α < 2(1+β)/((1−β)L); optimal β* = ((√κ−1)/(√κ+1))²,
η* = 4/(√L+√μ)², rate (√κ−1)/(√κ+1).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from descentlab.optimizers.registry import Linear, Rule, learning_rate, register, unit, zero_buffers


class MomentumState(NamedTuple):
    """φ_t and the book's m_t."""

    params: np.ndarray
    momentum: np.ndarray


def beta_hyper() -> Any:
    """β in [0, 1), suggested per problem (shared by momentum and Nesterov)."""
    return unit("beta", "β", 0.9, suggest="beta",
                help="momentum β in [0, 1) (default: suggested for the problem, else 0.9)")


init = zero_buffers(MomentumState)


def averaged(beta, momentum: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """m_{t+1} = β·m_t + (1−β)·g: the book's moving average of the gradient (eqs. 6.11, 6.12, 6.15)."""
    return beta * momentum + (1.0 - beta) * grad


def matrix(hyper, lam) -> np.ndarray:
    a, b, lam = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                      for v in (hyper["lr"], hyper["beta"], lam)))
    out = np.empty((*a.shape, 2, 2))
    out[..., 0, 0] = 1.0 - a * (1.0 - b) * lam
    out[..., 0, 1] = -a * b
    out[..., 1, 0] = (1.0 - b) * lam
    out[..., 1, 1] = b
    return out


def stability_limit(hyper, L: float) -> np.ndarray:
    b = np.asarray(hyper["beta"], dtype=np.float64)
    return 2.0 * (1.0 + b) / ((1.0 - b) * L)


def optimal(mu: float, L: float) -> dict[str, float]:
    root = (math.sqrt(L / mu) - 1.0) / (math.sqrt(L / mu) + 1.0)
    beta = root * root
    return {"lr": 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2 / (1.0 - beta), "beta": beta}


@register("momentum", learning_rate("momentum"), beta_hyper(),
          linear=Linear(matrix, stability_limit, tunings={"optimal": optimal}), featured=True,
          color="#1f77b4", marker="s")
def momentum(lr, beta=0.9):
    r"""Momentum (book eq. 6.11): a moving average of the gradient, then a step along it.

    Args:
        lr: the learning rate α > 0.
        beta: the momentum coefficient β in [0, 1); β = 0 is gradient descent.
    """
    def update(state: MomentumState, grad: np.ndarray) -> MomentumState:
        m = averaged(beta, state.momentum, grad)
        return MomentumState(state.params - lr * m, m)

    return Rule(init, update)
