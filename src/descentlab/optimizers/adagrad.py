r"""AdaGrad (Duchi, Hazan & Singer 2011; cited in the notes to the book's §6.4), with :math:`v_0 = 0`.

.. math::
    v_{t+1} &\leftarrow v_t + \Big(\sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi}\Big)^2 \\
    \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot \frac{\sum_{i \in \mathcal{B}_t}
        \partial \ell_i[\phi_t]/\partial \phi}{\sqrt{v_{t+1}} + \epsilon}

Each parameter's step shrinks with the squares of all its past gradients (element-wise).
Equal to ``torch.optim.Adagrad(lr=α, eps=ε)`` (``lr_decay=0``, ``initial_accumulator_value=0``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from descentlab.optimizers.adam import epsilon
from descentlab.optimizers.registry import Rule, learning_rate, register, zero_buffers


class AdaGradState(NamedTuple):
    """φ_t and v_t, the running sum of squared gradients."""

    params: np.ndarray
    sum_of_squares: np.ndarray


init = zero_buffers(AdaGradState)


@register("adagrad", learning_rate("adaptive"), epsilon(), color="#9467bd", marker="P")
def adagrad(lr, eps=1e-8):
    r"""AdaGrad: each parameter's step divided by the root of its summed squared gradients.

    Equal to ``torch.optim.Adagrad(lr=α, eps=ε)`` given the same (summed) gradients.

    Args:
        lr: the learning rate α > 0.
        eps: ε > 0, added to √v.
    """
    def update(state: AdaGradState, grad: np.ndarray) -> AdaGradState:
        v = state.sum_of_squares + grad * grad
        return AdaGradState(state.params - lr * grad / (np.sqrt(v) + eps), v)

    return Rule(init, update)
