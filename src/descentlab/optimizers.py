r"""The update rules of "Understanding Deep Learning", chapter 6, exactly as the book writes them.

Each optimizer is a pair of pure functions, optax-style::

    opt = nesterov(lr=0.01, beta=0.9)
    state = opt.init(phi0)                         # m_0 = 0
    state = opt.step(state, grad_fn, batch)        # one update; returns a new State

``grad_fn(point, batch)`` is a *gradient oracle*: it returns
:math:`\sum_{i\in\mathcal{B}_t} \partial\ell_i[\text{point}]/\partial\phi`, the **sum** over the
batch (the book's convention; ``batch=None`` means all examples). The optimizer, not the
caller, decides where the gradient is taken: Nesterov asks for it at the look-ahead point
:math:`\phi_t - \alpha\beta\,m_t`. Each new state records that point (``evaluated_at``) and the
gradient it got (``grad``), so a run can be replayed and drawn.

Conventions (the book's, which differ from PyTorch's and Optax's; see ``tests/test_torch_equivalence.py``):

* the gradient is the sum over the batch, not the mean;
* the momentum starts at :math:`m_0 = 0` and carries the factor :math:`(1-\beta)`;
* PyTorch's ``SGD(lr=α(1−β), momentum=β)`` is the book's momentum; with ``nesterov=True`` its
  parameter is the book's look-ahead point :math:`\phi_t - \alpha\beta\,m_t`.

The functions use only array arithmetic, so ``params`` may have any number of entries (and a
leading batch of configurations broadcasts through unchanged).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from descentlab import validation

GradFn = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


class State(NamedTuple):
    """The state after ``step`` updates.

    Attributes:
        params: φ_t.
        step: t, the number of updates made so far.
        momentum: m_t (momentum, Nesterov, Adam); None for gradient descent.
        second_moment: v_t (Adam only).
        evaluated_at: where the gradient of the last update was taken (φ_{t−1} for most methods,
            the look-ahead point φ_{t−1} − αβ·m_{t−1} for Nesterov); None before the first update.
        grad: the gradient used by the last update (the sum over its batch).
    """

    params: np.ndarray
    step: int = 0
    momentum: np.ndarray | None = None
    second_moment: np.ndarray | None = None
    evaluated_at: np.ndarray | None = None
    grad: np.ndarray | None = None


class Optimizer(NamedTuple):
    """An update rule: ``init(φ_0) -> State`` and ``step(state, grad_fn, batch) -> State``.

    ``gradient_point(state)`` says where the next step will take its gradient (φ_t, or the
    look-ahead point for Nesterov), so figures can show it without running a step.
    """

    name: str
    hyperparams: dict[str, float]
    init: Callable[[np.ndarray], State]
    step: Callable[..., State]
    gradient_point: Callable[[State], np.ndarray]

    @property
    def label(self) -> str:
        """``"nesterov (α=0.01, β=0.9)"``: the name with its hyper-parameters in the book's symbols."""
        return describe(self.name, self.hyperparams)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{self.name}({args})"


SYMBOLS = {"lr": "α", "beta": "β", "gamma": "γ", "eps": "ε"}


def describe(name: str, hyperparams: dict[str, float]) -> str:
    """``describe("nesterov", {"lr": 0.01, "beta": 0.9}) == "nesterov (α=0.01, β=0.9)"``."""
    parts = ", ".join(f"{SYMBOLS.get(k, k)}={v:g}" for k, v in hyperparams.items())
    return f"{name} ({parts})"


def _params(params: Any) -> np.ndarray:
    return np.array(params, dtype=np.float64)


def _at_params(state: State) -> np.ndarray:
    return state.params


def gd(lr: float) -> Optimizer:
    r"""Gradient descent (book eq. 6.3).

    .. math::
        \phi_{t+1} \leftarrow \phi_t - \alpha \cdot \frac{\partial L}{\partial \phi}[\phi_t]

    Args:
        lr: the learning rate α > 0.
    """
    alpha = validation.positive("lr (α)", lr)

    def init(params: Any) -> State:
        return State(params=_params(params))

    def step(state: State, grad_fn: GradFn, batch: np.ndarray | None = None) -> State:
        g = grad_fn(state.params, batch)
        return State(params=state.params - alpha * g, step=state.step + 1,
                     evaluated_at=state.params, grad=g)

    return Optimizer("gd", {"lr": alpha}, init, step, _at_params)


def sgd(lr: float) -> Optimizer:
    r"""Stochastic gradient descent (book eq. 6.9): the gradient step on a minibatch :math:`\mathcal{B}_t`.

    .. math::
        \phi_{t+1} \leftarrow \phi_t - \alpha \cdot \sum_{i \in \mathcal{B}_t}
            \frac{\partial \ell_i[\phi_t]}{\partial \phi}

    The update is gradient descent's; what makes it stochastic is the batch sequence, which
    :func:`descentlab.run` draws (``batch_size=``) or takes from the caller (``batches=``).

    Args:
        lr: the learning rate α > 0.
    """
    return gd(lr)._replace(name="sgd")


def momentum(lr: float, beta: float = 0.9) -> Optimizer:
    r"""Momentum (book eq. 6.11), with :math:`m_0 = 0`.

    .. math::
        m_{t+1} &\leftarrow \beta \cdot m_t + (1-\beta) \sum_{i \in \mathcal{B}_t}
            \frac{\partial \ell_i[\phi_t]}{\partial \phi} \\
        \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot m_{t+1}

    Equal to ``torch.optim.SGD(lr=α(1−β), momentum=β)``.

    Args:
        lr: the learning rate α > 0.
        beta: the momentum coefficient β in [0, 1); β = 0 is gradient descent.
    """
    alpha = validation.positive("lr (α)", lr)
    b = validation.unit_interval("beta (β)", beta)

    def init(params: Any) -> State:
        p = _params(params)
        return State(params=p, momentum=np.zeros_like(p))

    def step(state: State, grad_fn: GradFn, batch: np.ndarray | None = None) -> State:
        g = grad_fn(state.params, batch)
        m = b * state.momentum + (1.0 - b) * g
        return State(params=state.params - alpha * m, step=state.step + 1, momentum=m,
                     evaluated_at=state.params, grad=g)

    return Optimizer("momentum", {"lr": alpha, "beta": b}, init, step, _at_params)


def nesterov(lr: float, beta: float = 0.9) -> Optimizer:
    r"""Nesterov accelerated momentum (book eq. 6.12), with :math:`m_0 = 0`.

    .. math::
        m_{t+1} &\leftarrow \beta \cdot m_t + (1-\beta) \sum_{i \in \mathcal{B}_t}
            \frac{\partial \ell_i[\phi_t - \alpha\beta \cdot m_t]}{\partial \phi} \\
        \phi_{t+1} &\leftarrow \phi_t - \alpha \cdot m_{t+1}

    "Step along the momentum first, look at the slope there, then decide": the gradient is taken
    at the look-ahead point :math:`\phi_t - \alpha\beta \cdot m_t`, recorded as ``evaluated_at``.

    Equal to ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)`` when PyTorch's parameter
    is read as the look-ahead point :math:`\phi_t - \alpha\beta \cdot m_t`.

    Args:
        lr: the learning rate α > 0.
        beta: the momentum coefficient β in [0, 1); β = 0 is gradient descent.
    """
    alpha = validation.positive("lr (α)", lr)
    b = validation.unit_interval("beta (β)", beta)

    def init(params: Any) -> State:
        p = _params(params)
        return State(params=p, momentum=np.zeros_like(p))

    def lookahead_point(state: State) -> np.ndarray:
        return state.params - alpha * b * state.momentum

    def step(state: State, grad_fn: GradFn, batch: np.ndarray | None = None) -> State:
        ahead = lookahead_point(state)
        g = grad_fn(ahead, batch)
        m = b * state.momentum + (1.0 - b) * g
        return State(params=state.params - alpha * m, step=state.step + 1, momentum=m,
                     evaluated_at=ahead, grad=g)

    return Optimizer("nesterov", {"lr": alpha, "beta": b}, init, step, lookahead_point)


def adam(lr: float, beta: float = 0.9, gamma: float = 0.999, eps: float = 1e-8) -> Optimizer:
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

    Args:
        lr: the learning rate α > 0.
        beta: the first-moment coefficient β in [0, 1).
        gamma: the second-moment coefficient γ in [0, 1).
        eps: ε > 0, added to √ṽ so the step is defined where the gradient is zero.
    """
    alpha = validation.positive("lr (α)", lr)
    b = validation.unit_interval("beta (β)", beta)
    c = validation.unit_interval("gamma (γ)", gamma)
    e = validation.positive("eps (ε)", eps)

    def init(params: Any) -> State:
        p = _params(params)
        return State(params=p, momentum=np.zeros_like(p), second_moment=np.zeros_like(p))

    def step(state: State, grad_fn: GradFn, batch: np.ndarray | None = None) -> State:
        g = grad_fn(state.params, batch)
        m = b * state.momentum + (1.0 - b) * g
        v = c * state.second_moment + (1.0 - c) * g * g
        m_tilde = m / (1.0 - b ** (state.step + 1))
        v_tilde = v / (1.0 - c ** (state.step + 1))
        new = state.params - alpha * m_tilde / (np.sqrt(v_tilde) + e)
        return State(params=new, step=state.step + 1, momentum=m, second_moment=v,
                     evaluated_at=state.params, grad=g)

    return Optimizer("adam", {"lr": alpha, "beta": b, "gamma": c, "eps": e}, init, step, _at_params)


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": gd, "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adam": adam,
}


def hyperparameter_names(name: str) -> tuple[str, ...]:
    """The hyper-parameters an optimizer takes, e.g. ``("lr", "beta", "gamma", "eps")`` for adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return tuple(inspect.signature(OPTIMIZERS[name]).parameters)


def defaults(name: str) -> dict[str, float]:
    """The default hyper-parameters of an optimizer (all but α): ``defaults("adam")["gamma"] == 0.999``."""
    params = inspect.signature(OPTIMIZERS[name]).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def make(name: str, **hyperparams: float) -> Optimizer:
    """Build an optimizer by name: ``make("nesterov", lr=0.01, beta=0.9)``.

    Raises ValueError for an unknown name or a hyper-parameter the method does not have.
    """
    allowed = hyperparameter_names(name)
    unknown = [k for k in hyperparams if k not in allowed]
    if unknown:
        raise ValueError(f"{name} has no hyper-parameter {unknown[0]!r}; it takes {', '.join(allowed)}")
    return OPTIMIZERS[name](**hyperparams)
