r"""RMSProp (Tieleman & Hinton 2012; cited in the notes to the book's §6.4), with :math:`v_0 = 0`.

.. math::
    v_{t+1} &\leftarrow \gamma \cdot v_t + (1-\gamma) \Big(\sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi}\Big)^2 \\
    \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot \frac{\sum_{i \in \mathcal{B}_t}
        \partial \ell_i[\phi_t]/\partial \phi}{\sqrt{v_{t+1}} + \epsilon}

Adam's second moment without the first moment and without the bias correction; γ is the same
symbol as Adam's. Equal to ``torch.optim.RMSprop(lr=α, alpha=γ, eps=ε)`` (PyTorch calls the
decay ``alpha``; ``momentum=0``, ``centered=False``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from descentlab.optimizers.adam import epsilon, second_moment
from descentlab.optimizers.momentum import averaged
from descentlab.optimizers.registry import Rule, learning_rate, register, zero_buffers


class RMSPropState(NamedTuple):
    """φ_t and v_t, the moving average of squared gradients."""

    params: np.ndarray
    second_moment: np.ndarray


init = zero_buffers(RMSPropState)


@register("rmsprop", learning_rate("adaptive"), second_moment(0.99), epsilon(), color="#e377c2", marker="X")
def rmsprop(lr, gamma=0.99, eps=1e-8):
    r"""RMSProp: each parameter's step divided by the root of a moving average of its squared gradients.

    Equal to ``torch.optim.RMSprop(lr=α, alpha=γ, eps=ε)`` given the same (summed) gradients.

    Args:
        lr: the learning rate α > 0.
        gamma: the decay γ in [0, 1) of the squared-gradient average.
        eps: ε > 0, added to √v.
    """
    def update(state: RMSPropState, grad: np.ndarray) -> RMSPropState:
        v = averaged(gamma, state.second_moment, grad * grad)
        return RMSPropState(state.params - lr * grad / (np.sqrt(v) + eps), v)

    return Rule(init, update)
