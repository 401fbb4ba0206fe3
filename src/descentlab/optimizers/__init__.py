r"""The update rules of "Understanding Deep Learning", chapter 6, exactly as the book writes them.

Each method is one module here: a state NamedTuple (``params`` and the method's own buffers), a
factory whose keywords are its hyper-parameters, and :func:`register` with one :class:`Hyper`
per hyper-parameter and its capabilities. Everything else reads the registry::

    opt = nesterov(lr=0.01, beta=0.9)
    state = opt.init(phi0)                          # m_0 = 0
    x = opt.gradient_point(state)                   # φ_t − αβ·m_t for Nesterov, φ_t otherwise
    state = opt.update(state, problem.grad(x))      # one step; returns a new state

Conventions (the book's, which differ from PyTorch's and Optax's; see ``tests/test_torch_equivalence.py``):

* the gradient is the **sum** over the batch, not the mean;
* momenta start at 0 and carry the factor (1−β);
* PyTorch's ``SGD(lr=α(1−β), momentum=β)`` is the book's momentum; with ``nesterov=True`` its
  parameter is the book's look-ahead point φ_t − αβ·m_t.

The functions use only array arithmetic, so ``params`` may have any number of entries (and a
leading batch of configurations, with hyper-parameters of shape ``(n, 1)``, broadcasts through).

A package adds a method by registering it (``@register``) in a module named by an entry point in
the group ``descentlab.optimizers``; it then appears in every command, config and the explorer.
"""

from __future__ import annotations

from descentlab.optimizers.registry import (
    DEFAULT_METHOD,
    STOCHASTIC_BATCH,
    Hyper,
    Linear,
    Method,
    Optimizer,
    Probe,
    Rule,
    all_hypers,
    defaults,
    describe,
    featured,
    get,
    hyperparameter_names,
    learning_rate,
    make,
    methods,
    names,
    positive,
    register,
    symbol,
    unit,
)

# The built-in methods, in the order they are listed everywhere (plugins follow).
from descentlab.optimizers.gd import gd  # isort: skip
from descentlab.optimizers.sgd import sgd  # isort: skip
from descentlab.optimizers.momentum import momentum  # isort: skip
from descentlab.optimizers.nesterov import nesterov  # isort: skip
from descentlab.optimizers.adam import adam  # isort: skip
from descentlab.optimizers.adagrad import adagrad  # isort: skip
from descentlab.optimizers.rmsprop import rmsprop  # isort: skip
from descentlab.optimizers.linesearch import linesearch  # isort: skip

__all__ = [
    "DEFAULT_METHOD", "STOCHASTIC_BATCH", "Hyper", "Linear", "Method", "Optimizer", "Probe", "Rule",
    "adagrad", "adam",
    "all_hypers", "defaults", "describe", "featured", "gd", "get", "hyperparameter_names", "learning_rate",
    "linesearch", "make", "methods", "momentum", "names", "nesterov", "positive", "register", "rmsprop",
    "sgd", "symbol", "unit",
]
