r"""Small reference implementations of other libraries' momentum updates, in numpy.

Each is written from that library's source, one step at a time, so that
:mod:`descentlab.conventions` can test its maps between conventions without the libraries
themselves (``tests/test_conventions.py`` also checks these against PyTorch, and
``tests/test_optax.py`` against Optax). Every state is a :class:`LibState` ``(params, buffer)``
whose ``buffer`` is the library's own momentum variable:

* ``pytorch_sgd`` (buffer: ``momentum_buffer`` :math:`b`, none before the first step):
  :math:`g \leftarrow g + \lambda\theta`; first step :math:`b \leftarrow g`, later
  :math:`b \leftarrow \mu b + (1-d) g`; :math:`\theta \leftarrow \theta - \eta(g + \mu b)` (nesterov)
  or :math:`\theta - \eta b`; :math:`g` is taken at :math:`\theta`.
* ``optax_sgd`` (buffer: ``trace`` :math:`c`, from 0): :math:`c \leftarrow g + \mu c`;
  :math:`\theta \leftarrow \theta - \eta(g + \mu c)` (nesterov) or :math:`\theta - \eta c`;
  :math:`g` at :math:`\theta`.
* ``keras_sgd`` (buffer: ``velocity`` :math:`v`, from 0): :math:`v \leftarrow \mu v - \eta g`;
  :math:`w \leftarrow w + \mu v - \eta g` (nesterov) or :math:`w + v`; :math:`g` at :math:`w`.
* ``sutskever`` (buffer: :math:`v`, from 0): :math:`v \leftarrow \mu v - \varepsilon\nabla f(\theta + \mu v)`
  (NAG; classical momentum takes :math:`\nabla f(\theta)`); :math:`\theta \leftarrow \theta + v`.

(PyTorch: ``torch.optim.SGD``'s single-tensor path; Optax: ``optax.sgd`` = ``trace`` then
``scale_by_learning_rate``; Keras 3: ``keras.optimizers.SGD.update_step``; Sutskever, Martens,
Dahl & Hinton 2013, eqs. 1–4.) PyTorch keeps no buffer when ``momentum == 0`` and Keras no
velocity (``buffer`` stays None there).

``step(state, grad_fn, lr=None)`` takes ``grad_fn(point) -> gradient`` and an optional
learning rate for this step only (to follow a schedule); ``grad_fn`` is called once per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from descentlab import validation


class LibState(NamedTuple):
    """A library's state: its parameters and its momentum variable (None where it keeps none)."""

    params: np.ndarray
    buffer: np.ndarray | None = None


class Reference(NamedTuple):
    """``init(params) -> LibState``; ``step(state, grad_fn, lr=None) -> LibState``."""

    name: str
    init: Callable[[Any], LibState]
    step: Callable[..., LibState]


GradFn = Callable[[np.ndarray], np.ndarray]


def _array(params: Any) -> np.ndarray:
    return np.array(params, dtype=np.float64)


def _lr(default: float, lr: float | None) -> float:
    return default if lr is None else validation.positive("lr", lr)


def book(lr: float, beta: float, nesterov: bool = True) -> Reference:
    r"""The book's momentum (eq. 6.11) or Nesterov (eq. 6.12), buffer = :math:`m_t`, :math:`m_0 = 0`.

    .. math::
        m_{t+1} \leftarrow \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t), \qquad
        \phi_{t+1} \leftarrow \phi_t - \alpha m_{t+1}

    (momentum: :math:`g(\phi_t)`), the same arithmetic as :func:`descentlab.optimizers.nesterov`.
    With ``lr=α_t`` for a step, that step's look-ahead and update both use α_t.
    """
    alpha = validation.positive("lr (α)", lr)
    b = validation.unit_interval("beta (β)", beta)

    def init(params: Any) -> LibState:
        p = _array(params)
        return LibState(p, np.zeros_like(p))

    def step(state: LibState, grad_fn: GradFn, lr: float | None = None) -> LibState:
        phi, m = state
        a = _lr(alpha, lr)
        g = grad_fn(phi - a * b * m if nesterov else phi)
        m = b * m + (1.0 - b) * g
        return LibState(phi - a * m, m)

    return Reference("book", init, step)


def pytorch_sgd(lr: float, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                weight_decay: float = 0.0) -> Reference:
    r"""``torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)``, one tensor.

    .. math::
        g_t &\leftarrow \nabla L(\theta_t) + \lambda\,\theta_t \\
        b_1 &\leftarrow g_0, \qquad b_{t+1} \leftarrow \mu\, b_t + (1-d)\, g_t \quad (t \ge 1) \\
        \theta_{t+1} &\leftarrow \theta_t - \eta\,(g_t + \mu\, b_{t+1}) \ \text{(nesterov)}
            \quad\text{or}\quad \theta_t - \eta\, b_{t+1}

    The first step copies the gradient into the buffer without the factor (1 − d).
    """
    eta = validation.positive("lr", lr)
    mu = validation.real("momentum", momentum)
    d = validation.real("dampening", dampening)
    wd = validation.real("weight_decay", weight_decay)
    if nesterov and (mu <= 0 or d != 0):
        raise ValueError("PyTorch's Nesterov momentum requires a momentum > 0 and zero dampening")

    def init(params: Any) -> LibState:
        return LibState(_array(params))

    def step(state: LibState, grad_fn: GradFn, lr: float | None = None) -> LibState:
        theta, buf = state
        g = grad_fn(theta)
        if wd != 0:
            g = g + wd * theta
        if mu != 0:
            buf = g.copy() if buf is None else mu * buf + (1.0 - d) * g
            g = g + mu * buf if nesterov else buf
        return LibState(theta - _lr(eta, lr) * g, buf)

    return Reference("pytorch", init, step)


def optax_sgd(learning_rate: float, momentum: float | None = None, nesterov: bool = False) -> Reference:
    r"""``optax.sgd(learning_rate, momentum, nesterov)``: ``trace(decay=μ, nesterov)`` then ``−η``.

    .. math::
        c_{t+1} &\leftarrow g_t + \mu\, c_t, \qquad c_0 = 0 \\
        \theta_{t+1} &\leftarrow \theta_t - \eta\,(g_t + \mu\, c_{t+1}) \ \text{(nesterov)}
            \quad\text{or}\quad \theta_t - \eta\, c_{t+1}

    ``momentum=None`` is plain gradient descent (Optax then keeps no trace either).
    """
    eta = validation.positive("learning_rate", learning_rate)
    mu = None if momentum is None else validation.real("momentum", momentum)

    def init(params: Any) -> LibState:
        p = _array(params)
        return LibState(p, None if mu is None else np.zeros_like(p))

    def step(state: LibState, grad_fn: GradFn, lr: float | None = None) -> LibState:
        theta, trace = state
        g = grad_fn(theta)
        if mu is None:
            return LibState(theta - _lr(eta, lr) * g, None)
        trace = g + mu * trace
        update = g + mu * trace if nesterov else trace
        return LibState(theta - _lr(eta, lr) * update, trace)

    return Reference("optax", init, step)


def keras_sgd(learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> Reference:
    r"""Keras 3 ``keras.optimizers.SGD(learning_rate, momentum, nesterov)``.

    .. math::
        v_{t+1} &\leftarrow \mu\, v_t - \eta\, g_t, \qquad v_0 = 0 \\
        w_{t+1} &\leftarrow w_t + \mu\, v_{t+1} - \eta\, g_t \ \text{(nesterov)}
            \quad\text{or}\quad w_t + v_{t+1}

    With ``momentum == 0`` Keras keeps no velocity: :math:`w \leftarrow w - \eta g`.
    """
    eta = validation.positive("learning_rate", learning_rate)
    mu = validation.real("momentum", momentum)

    def init(params: Any) -> LibState:
        p = _array(params)
        return LibState(p, None if mu == 0 else np.zeros_like(p))

    def step(state: LibState, grad_fn: GradFn, lr: float | None = None) -> LibState:
        w, v = state
        g = grad_fn(w)
        eta_t = _lr(eta, lr)
        if mu == 0:
            return LibState(w - g * eta_t, None)
        v = v * mu - g * eta_t
        return LibState(w + (v * mu - g * eta_t if nesterov else v), v)

    return Reference("keras", init, step)


def sutskever(lr: float, momentum: float, nesterov: bool = True) -> Reference:
    r"""Sutskever, Martens, Dahl & Hinton (2013): classical momentum and Nesterov's accelerated gradient.

    .. math::
        v_{t+1} &\leftarrow \mu\, v_t - \varepsilon\, \nabla f(\theta_t + \mu\, v_t)
            \ \text{(NAG; classical momentum: } \nabla f(\theta_t)\text{)}, \qquad v_0 = 0 \\
        \theta_{t+1} &\leftarrow \theta_t + v_{t+1}
    """
    eps = validation.positive("lr (ε)", lr)
    mu = validation.real("momentum (μ)", momentum)

    def init(params: Any) -> LibState:
        p = _array(params)
        return LibState(p, np.zeros_like(p))

    def step(state: LibState, grad_fn: GradFn, lr: float | None = None) -> LibState:
        theta, v = state
        g = grad_fn(theta + mu * v if nesterov else theta)
        v = mu * v - _lr(eps, lr) * g
        return LibState(theta + v, v)

    return Reference("sutskever", init, step)


def run(reference: Reference, grad_fn: GradFn, start: Any, steps: int,
        lrs: list[float] | None = None) -> list[LibState]:
    """The states after 0..steps updates (``lrs``: one learning rate per step, for schedules)."""
    state = reference.init(start)
    states = [state]
    for t in range(validation.integer("steps", steps, 0)):
        state = reference.step(state, grad_fn, None if lrs is None else lrs[t])
        states.append(state)
    return states
