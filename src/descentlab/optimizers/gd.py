r"""Gradient descent (book eq. 6.3): a step against the gradient of the loss on all the data.

.. math::
    \phi_{t+1} \leftarrow \phi_t - \alpha \cdot \frac{\partial L}{\partial \phi}[\phi_t]

On a quadratic each Hessian eigen-direction contracts by e_{t+1} = (1 − αλ)·e_t: stable for
0 < α < 2/L, fastest at α = 2/(L+μ) with rate (κ−1)/(κ+1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from descentlab.optimizers.registry import Linear, Rule, learning_rate, register, zero_buffers


class GDState(NamedTuple):
    """φ_t; gradient descent keeps nothing else."""

    params: np.ndarray


init = zero_buffers(GDState)


def step_rule(lr):
    """The update φ ← φ − α·g, shared by gradient descent and SGD (same rule, other batches)."""
    def update(state: GDState, grad: np.ndarray) -> GDState:
        return GDState(state.params - lr * grad)

    return update


def matrix(hyper, lam) -> np.ndarray:
    """diag(1 − αλ, 0): there is no momentum."""
    a, lam = np.broadcast_arrays(np.asarray(hyper["lr"], dtype=np.float64), np.asarray(lam, dtype=np.float64))
    out = np.zeros((*a.shape, 2, 2))
    out[..., 0, 0] = 1.0 - a * lam
    return out


def stability_limit(hyper, L: float) -> np.ndarray:
    return np.asarray(2.0 / L)


LINEAR = Linear(matrix, stability_limit, tunings={"α = 2/(L+μ)": lambda mu, L: {"lr": 2.0 / (L + mu)}},
                momentum=None)


@register("gd", learning_rate("gd"), full_batch=True, linear=LINEAR, featured=True,
          color="#222222", marker="o")
def gd(lr):
    r"""Gradient descent (book eq. 6.3), on all the data at every step.

    Args:
        lr: the learning rate α > 0.
    """
    return Rule(init, step_rule(lr))
