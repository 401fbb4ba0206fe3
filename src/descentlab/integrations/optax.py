r"""The book's momentum (eq. 6.11) and Nesterov momentum (eq. 6.12) as ``optax.GradientTransformation``.

    import optax
    from descentlab.integrations.optax import book_nesterov
    opt = book_nesterov(learning_rate=0.1, beta=0.9)              # the book's α and β
    state = opt.init(params)
    updates, state = opt.update(grads, state)                     # grads at params (the look-ahead point)
    params = optax.apply_updates(params, updates)

The state's ``momentum`` is the book's :math:`m_t` (:math:`m_0 = 0`). Optax hands a transformation
the gradient at the current ``params``, so with Nesterov the params are the book's **look-ahead
point** :math:`\psi_t = \phi_t - \alpha\beta m_t` (PyTorch's convention too), and

.. math::
    m_{t+1} = \beta m_t + (1-\beta)\, g(\psi_t), \qquad
    \psi_{t+1} = \psi_t - \alpha(1-\beta)\, g(\psi_t) - \alpha\beta\, m_{t+1}.

This is ``optax.sgd(learning_rate=α(1−β), momentum=β, nesterov=True)``, whose
``trace`` :math:`c_{t+1} = g_t + \beta c_t` is :math:`m_{t+1}/(1-\beta)`. :func:`book_phi` gives
the book's :math:`\phi_t = \psi_t + \alpha\beta m_t` for evaluation. :func:`book_momentum`'s params
are :math:`\phi_t`: :math:`\phi_{t+1} = \phi_t - \alpha m_{t+1}` = ``optax.sgd(α(1−β), momentum=β)``.

Needs ``optax`` (and so ``jax``): ``pip install 'descentlab[optax]'``. The learning rate is a
constant (maps under schedules are not exact, see :mod:`descentlab.conventions`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from descentlab import validation

try:
    import jax
    import optax
except ImportError as err:  # pragma: no cover - exercised only without optax
    raise ImportError("descentlab.integrations.optax needs optax (and jax): "
                      "pip install 'descentlab[optax]'") from err


class BookMomentumState(NamedTuple):
    """The book's momentum :math:`m_t`, a pytree shaped like the params."""

    momentum: Any


def _transformation(learning_rate: float, beta: float, nesterov: bool) -> optax.GradientTransformation:
    alpha = validation.positive("learning_rate (α)", learning_rate)
    b = validation.unit_interval("beta (β)", beta)

    def init_fn(params: Any) -> BookMomentumState:
        return BookMomentumState(momentum=jax.tree.map(jax.numpy.zeros_like, params))

    def update_fn(updates: Any, state: BookMomentumState, params: Any = None
                  ) -> tuple[Any, BookMomentumState]:
        del params
        m = jax.tree.map(lambda g, m: b * m + (1.0 - b) * g, updates, state.momentum)
        if nesterov:   # ψ_{t+1} − ψ_t = −α(1−β)·g − αβ·m_{t+1}
            step = jax.tree.map(lambda g, m: -(alpha * (1.0 - b)) * g - (alpha * b) * m, updates, m)
        else:          # φ_{t+1} − φ_t = −α·m_{t+1}
            step = jax.tree.map(lambda m: -alpha * m, m)
        return step, BookMomentumState(momentum=m)

    return optax.GradientTransformation(init_fn, update_fn)


def book_nesterov(learning_rate: float, beta: float = 0.9) -> optax.GradientTransformation:
    r"""The book's Nesterov momentum (eq. 6.12) in look-ahead form; params are :math:`\phi - \alpha\beta m`.

    .. math::
        m_{t+1} = \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t), \qquad
        \phi_{t+1} = \phi_t - \alpha\, m_{t+1}

    Args:
        learning_rate: the book's α > 0.
        beta: β in [0, 1).
    """
    return _transformation(learning_rate, beta, nesterov=True)


def book_momentum(learning_rate: float, beta: float = 0.9) -> optax.GradientTransformation:
    r"""The book's momentum (eq. 6.11); params are :math:`\phi_t`.

    .. math::
        m_{t+1} = \beta m_t + (1-\beta)\, g(\phi_t), \qquad \phi_{t+1} = \phi_t - \alpha\, m_{t+1}

    Args:
        learning_rate: the book's α > 0.
        beta: β in [0, 1).
    """
    return _transformation(learning_rate, beta, nesterov=False)


def book_phi(params: Any, state: BookMomentumState, learning_rate: float, beta: float) -> Any:
    r"""The book's :math:`\phi_t = \psi_t + \alpha\beta m_t` from :func:`book_nesterov`'s params and state."""
    alpha = validation.positive("learning_rate (α)", learning_rate)
    b = validation.unit_interval("beta (β)", beta)
    return jax.tree.map(lambda p, m: p + (alpha * b) * m, params, state.momentum)
