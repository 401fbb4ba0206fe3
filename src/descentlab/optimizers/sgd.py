r"""Stochastic gradient descent (book eq. 6.9): the gradient step on a minibatch :math:`\mathcal{B}_t`.

.. math::
    \phi_{t+1} \leftarrow \phi_t - \alpha \cdot \sum_{i \in \mathcal{B}_t}
        \frac{\partial \ell_i[\phi_t]}{\partial \phi}

The update is gradient descent's; what makes it stochastic is the batch sequence, which
:func:`descentlab.run` draws (``batch_size=``) or takes from the caller (``batches=``).
"""

from __future__ import annotations

from descentlab.optimizers.gd import LINEAR, init, step_rule
from descentlab.optimizers.registry import Rule, learning_rate, register


@register("sgd", learning_rate("gd"), stochastic=True, linear=LINEAR, color="#8c564b", marker="v")
def sgd(lr):
    r"""Stochastic gradient descent (book eq. 6.9): gradient descent's rule on minibatches.

    Args:
        lr: the learning rate α > 0.
    """
    return Rule(init, step_rule(lr))
