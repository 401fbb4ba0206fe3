r"""Adam (book eqs. 6.15–6.16), with :math:`m_0 = v_0 = 0`.

.. math::
    m_{t+1} &\leftarrow \beta \cdot m_t + (1-\beta) \sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi} \\
    v_{t+1} &\leftarrow \gamma \cdot v_t + (1-\gamma) \Big(\sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi}\Big)^2 \\
    \tilde m_{t+1} &\leftarrow \frac{m_{t+1}}{1-\beta^{t+1}}, \qquad
    \tilde v_{t+1} \leftarrow \frac{v_{t+1}}{1-\gamma^{t+1}} \\
    \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot \frac{\tilde m_{t+1}}{\sqrt{\tilde v_{t+1}} + \epsilon}

Equal to ``torch.optim.Adam(lr=α, betas=(β, γ), eps=ε)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from descentlab.optimizers.momentum import averaged
from descentlab.optimizers.registry import Rule, learning_rate, positive, register, unit, zero_buffers


class AdamState(NamedTuple):
    """φ_t, the first moment m_t, the second moment v_t and the step count t (not recorded)."""

    params: np.ndarray
    momentum: np.ndarray
    second_moment: np.ndarray
    step: int = 0


def epsilon() -> Any:
    """ε > 0, added to the root of the second moment (Adam, AdaGrad, RMSProp)."""
    return positive("eps", "ε", 1e-8, help="ε > 0 added to the root of the second moment (default 1e-8)")


def second_moment(default: float) -> Any:
    """γ in [0, 1), the decay of the squared-gradient average (Adam, RMSProp)."""
    return dataclasses.replace(unit("gamma", "γ", default, search=(0.9, 0.9999),
                                    help=f"second-moment coefficient γ in [0, 1) (default {default:g})"),
                               tuned=False)


init = zero_buffers(AdamState)


@register("adam", learning_rate("adaptive"),
          unit("beta", "β", 0.9, search=(0.5, 0.99),
               help="first-moment coefficient β in [0, 1) (default 0.9)"),
          second_moment(0.999), epsilon(), featured=True, color="#2ca02c", marker="D")
def adam(lr, beta=0.9, gamma=0.999, eps=1e-8):
    r"""Adam (book eqs. 6.15–6.16): normalised moving averages of the gradient and its square.

    Args:
        lr: the learning rate α > 0.
        beta: the first-moment coefficient β in [0, 1).
        gamma: the second-moment coefficient γ in [0, 1).
        eps: ε > 0, added to √ṽ so the step is defined where the gradient is zero.
    """
    def update(state: AdamState, grad: np.ndarray) -> AdamState:
        m = averaged(beta, state.momentum, grad)
        v = averaged(gamma, state.second_moment, grad * grad)
        m_tilde = m / (1.0 - beta ** (state.step + 1))
        v_tilde = v / (1.0 - gamma ** (state.step + 1))
        return AdamState(state.params - lr * m_tilde / (np.sqrt(v_tilde) + eps), m, v, state.step + 1)

    return Rule(init, update)
