r"""The book's momentum (eq. 6.11) and Nesterov momentum (eq. 6.12) as ``torch.optim`` optimizers.

    from descentlab.integrations.torch import BookNesterov, BookMomentum
    opt = BookNesterov(model.parameters(), lr=0.1, beta=0.9)      # the book's α and β
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()      # the book sums over the batch: reduction="sum"
        opt.step()

The updates, with :math:`m_0 = 0` and :math:`g` whatever gradient ``backward`` left in ``.grad``
(the book's is the **sum** over the batch; PyTorch's losses default to the mean, which only
rescales α):

.. math::
    \text{momentum:}\quad m_{t+1} &= \beta m_t + (1-\beta)\, g(\phi_t), &
        \phi_{t+1} &= \phi_t - \alpha\, m_{t+1} \\
    \text{Nesterov:}\quad m_{t+1} &= \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t), &
        \phi_{t+1} &= \phi_t - \alpha\, m_{t+1}

The state ``opt.state[p]["momentum"]`` is the book's :math:`m_t` itself (PyTorch's
``momentum_buffer`` is :math:`m_t/(1-\beta)`).

**What the parameters hold** (``BookNesterov(parameters_are=...)``). Nesterov takes its gradient at
the look-ahead point :math:`\psi_t = \phi_t - \alpha\beta m_t`, not at :math:`\phi_t`:

* ``"lookahead"`` (default; PyTorch's own convention): the model's parameters are :math:`\psi_t`.
  Then :math:`\psi_{t+1} = \psi_t - \alpha(1-\beta)\, g(\psi_t) - \alpha\beta\, m_{t+1}`, so one
  gradient per step at the parameters, no closure. This is
  ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)`` (to rounding: PyTorch keeps
  m/(1−β) and adds in another order). Evaluating the model evaluates
  :math:`\psi_t`; ``with opt.at_phi(): evaluate(model)`` evaluates the book's :math:`\phi_t`
  (and restores :math:`\psi_t` bit for bit afterwards).
* ``"phi"``: the parameters are the book's :math:`\phi_t` between steps, so evaluating the model
  evaluates :math:`\phi_t`. ``step(closure)`` then needs the closure: it moves the parameters to
  :math:`\psi_t`, calls ``closure()`` there (zero the gradients, forward, backward, return the
  loss), and sets :math:`\phi_{t+1} = \psi_t - \alpha(1-\beta)\,g(\psi_t)`. The returned loss is
  :math:`L[\psi_t]`, as in look-ahead mode. A parameter that gets no gradient in a step is moved
  to :math:`\psi_t` and back, which returns it to :math:`\phi_t` up to one rounding.

Both modes take the same gradients at the same points; they differ only in which of
:math:`\phi_t`, :math:`\psi_t` the tensors hold between steps. ``BookMomentum``'s parameters are
:math:`\phi_t`.

**Weight decay** λ (``weight_decay``, default 0):

* coupled (``decoupled_weight_decay=False``): :math:`g \leftarrow g + \lambda\,\cdot` (the point
  where :math:`g` was taken), i.e. the book's rule on :math:`L + \tfrac{\lambda}{2}\lVert\phi\rVert^2`;
  PyTorch SGD's ``weight_decay``. It enters the momentum.
* decoupled (``decoupled_weight_decay=True``): :math:`\phi_{t+1} = (1-\alpha\lambda)\,\phi_t -
  \alpha m_{t+1}`, the decay applied to :math:`\phi_t` directly and kept out of the momentum
  (as AdamW does for Adam).

Updates use multi-tensor ``torch._foreach_*`` kernels, one call per (device, dtype): a Nesterov
step is three passes over memory (``lerp`` for m, two ``add`` for the parameters) where
``torch.optim.SGD(nesterov=True, foreach=True)`` makes four, and ``.grad`` is left untouched
(PyTorch's Nesterov overwrites it with g + μ·buf). Parameter groups, ``state_dict`` /
``load_state_dict`` and learning-rate schedulers (which scale α) work as for any
``torch.optim.Optimizer``; a scheduled α_t is used for step t. In look-ahead mode that is PyTorch's
SGD with lr_t = α_t(1−β); in φ mode it is the book's equations with α_t in both the look-ahead point
and the update. (With a changing α the two modes part slightly: the look-ahead parameters keep
the previous step's α in :math:`\psi_t`, see :mod:`descentlab.conventions`.)

Under ``DistributedDataParallel`` every rank applies the same update to the same all-reduced
gradient. DDP *averages* gradients over the ranks; :func:`allreduce_sum_hook` makes it sum them,
the book's convention.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import Tensor

from descentlab import validation

PARAMETERS_ARE = ("lookahead", "phi")


def _check_group(group: dict[str, Any], nesterov: bool) -> None:
    group["lr"] = validation.positive("lr (α)", group["lr"])
    group["beta"] = validation.unit_interval("beta (β)", group["beta"])
    wd = validation.real("weight_decay (λ)", group["weight_decay"])
    if not (math.isfinite(wd) and wd >= 0):
        raise ValueError(f"weight_decay (λ) must be finite and >= 0, got {group['weight_decay']!r}")
    group["weight_decay"] = wd
    if not isinstance(group["decoupled_weight_decay"], bool):
        raise TypeError("decoupled_weight_decay must be True or False, "
                        f"got {group['decoupled_weight_decay']!r}")
    if nesterov and group["parameters_are"] not in PARAMETERS_ARE:
        raise ValueError(f"parameters_are must be one of {', '.join(map(repr, PARAMETERS_ARE))}, "
                         f"got {group['parameters_are']!r}")


class _BookSGD(torch.optim.Optimizer):
    """Shared machinery of :class:`BookMomentum` and :class:`BookNesterov`."""

    _nesterov = False

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        _check_group(dict(defaults), self._nesterov)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        _check_group(self.param_groups[-1], self._nesterov)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("weight_decay", 0.0)
            group.setdefault("decoupled_weight_decay", False)
            if self._nesterov:
                group.setdefault("parameters_are", "lookahead")

    # -- helpers ----------------------------------------------------------------------------------

    def _momentum(self, p: Tensor) -> Tensor:
        state = self.state[p]
        if "momentum" not in state:
            state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] = 0
        return state["momentum"]

    def _stepping(self, group: dict[str, Any]) -> Iterator[tuple[tuple, list[Tensor], list[Tensor],
                                                                  list[Tensor]]]:
        """(device, dtype) → the group's parameters that have a gradient, their gradients and momenta."""
        buckets: dict[tuple, tuple[list[Tensor], list[Tensor], list[Tensor]]] = defaultdict(
            lambda: ([], [], []))
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            ps, gs, ms = buckets[(p.device, p.dtype)]
            ps.append(p)
            gs.append(p.grad)
            ms.append(self._momentum(p))
            self.state[p]["step"] += 1
        for key, (ps, gs, ms) in buckets.items():
            yield key, ps, gs, ms

    @staticmethod
    def _decay(params: list[Tensor], grads: list[Tensor], group: dict[str, Any]) -> list[Tensor]:
        """Coupled weight decay: g + λ·(the point where g was taken); a new list, .grad is kept."""
        wd = group["weight_decay"]
        if wd == 0 or group["decoupled_weight_decay"]:
            return grads
        return list(torch._foreach_add(grads, params, alpha=wd))


class BookMomentum(_BookSGD):
    r"""The book's momentum (eq. 6.11), :math:`m_0 = 0`:

    .. math::
        m_{t+1} = \beta m_t + (1-\beta)\, g(\phi_t), \qquad \phi_{t+1} = \phi_t - \alpha\, m_{t+1}

    Equal to ``torch.optim.SGD(lr=α(1−β), momentum=β)`` (and to ``weight_decay=λ`` there with
    coupled decay). Decoupled decay: :math:`\phi_{t+1} = (1-\alpha\lambda)\phi_t - \alpha m_{t+1}`.

    Args:
        params: parameters or parameter groups (dicts may override any keyword below).
        lr: the book's α > 0.
        beta: β in [0, 1).
        weight_decay: λ ≥ 0.
        decoupled_weight_decay: False: λ·φ is added to the gradient (and so to the momentum);
            True: φ is shrunk by (1 − αλ) each step, outside the momentum.
    """

    def __init__(self, params: Iterable, lr: float, beta: float = 0.9, *, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update from the gradients in ``.grad``; ``closure`` (optional) recomputes them first."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            alpha, beta, wd = group["lr"], group["beta"], group["weight_decay"]
            for _, params, grads, moms in self._stepping(group):
                grads = self._decay(params, grads, group)
                if wd and group["decoupled_weight_decay"]:
                    torch._foreach_mul_(params, 1.0 - alpha * wd)
                torch._foreach_lerp_(moms, grads, 1.0 - beta)           # m ← βm + (1−β)g
                torch._foreach_add_(params, moms, alpha=-alpha)          # φ ← φ − αm
        return loss


class BookNesterov(_BookSGD):
    r"""The book's Nesterov accelerated momentum (eq. 6.12), :math:`m_0 = 0`:

    .. math::
        m_{t+1} = \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t), \qquad
        \phi_{t+1} = \phi_t - \alpha\, m_{t+1}

    ``parameters_are="lookahead"`` (default): the parameters hold the look-ahead point
    :math:`\psi_t = \phi_t - \alpha\beta m_t` and each step is

    .. math::
        \psi_{t+1} = \psi_t - \alpha(1-\beta)\, g(\psi_t) - \alpha\beta\, m_{t+1},

    which is ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)``; ``at_phi()`` shows
    :math:`\phi_t = \psi_t + \alpha\beta m_t` for evaluation. ``parameters_are="phi"``: the
    parameters hold :math:`\phi_t`, and ``step(closure)`` evaluates the closure at :math:`\psi_t`
    (see the module docstring). Weight decay as in :class:`BookMomentum`; decoupled decay shrinks
    :math:`\phi_t` (not :math:`\psi_t`) by :math:`(1-\alpha\lambda)`.

    Args:
        params: parameters or parameter groups (dicts may override any keyword below).
        lr: the book's α > 0.
        beta: β in [0, 1).
        weight_decay: λ ≥ 0.
        decoupled_weight_decay: False: coupled (added to the gradient); True: decoupled.
        parameters_are: ``"lookahead"`` or ``"phi"``.
    """

    _nesterov = True

    def __init__(self, params: Iterable, lr: float, beta: float = 0.9, *, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, parameters_are: str = "lookahead") -> None:
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      parameters_are=parameters_are))

    def _shift(self, groups: list[dict[str, Any]], sign: float) -> None:
        """params += sign·αβ·m for the parameters of ``groups`` that have a momentum."""
        for group in groups:
            ps = [p for p in group["params"] if "momentum" in self.state[p]]
            if ps:
                moms = [self.state[p]["momentum"] for p in ps]
                torch._foreach_add_(ps, moms, alpha=sign * group["lr"] * group["beta"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update. Look-ahead mode: from ``.grad`` (``closure`` optional, called first). φ mode:
        ``closure`` is required; it is called with the parameters at the look-ahead point."""
        phi_groups = [g for g in self.param_groups if g["parameters_are"] == "phi"]
        loss = None
        if phi_groups:
            if closure is None:
                raise RuntimeError(
                    "BookNesterov(parameters_are='phi') takes its gradient at the look-ahead point "
                    "φ − αβ·m, so step() needs a closure that zeroes the gradients, recomputes the loss, "
                    "calls backward() and returns the loss")
            self._shift(phi_groups, -1.0)                              # φ_t → ψ_t = φ_t − αβ m_t
            try:
                with torch.enable_grad():
                    loss = closure()
            except BaseException:
                self._shift(phi_groups, 1.0)
                raise
            for group in phi_groups:                                   # no gradient: back to φ_t
                ps = [p for p in group["params"] if p.grad is None and "momentum" in self.state[p]]
                if ps:
                    torch._foreach_add_(ps, [self.state[p]["momentum"] for p in ps],
                                        alpha=group["lr"] * group["beta"])
        elif closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            alpha, beta, wd = group["lr"], group["beta"], group["weight_decay"]
            lookahead = group["parameters_are"] == "lookahead"
            for _, params, grads, moms in self._stepping(group):
                # the parameters hold ψ_t here in both modes
                grads = self._decay(params, grads, group)
                if wd and group["decoupled_weight_decay"]:             # −αλ·φ_t, φ_t = ψ_t + αβ m_t
                    torch._foreach_mul_(params, 1.0 - alpha * wd)
                    torch._foreach_add_(params, moms, alpha=-alpha * wd * alpha * beta)
                torch._foreach_lerp_(moms, grads, 1.0 - beta)           # m_{t+1} = βm_t + (1−β)g
                torch._foreach_add_(params, grads, alpha=-alpha * (1.0 - beta))   # φ_{t+1}
                if lookahead:
                    torch._foreach_add_(params, moms, alpha=-alpha * beta)        # ψ_{t+1}
        return loss

    def phi(self, p: Tensor) -> Tensor:
        """The book's φ_t for parameter ``p`` (a new tensor): ψ_t + αβ·m_t in look-ahead mode."""
        group = next(g for g in self.param_groups if any(q is p for q in g["params"]))
        m = self.state[p].get("momentum")
        if group["parameters_are"] == "phi" or m is None:
            return p.detach().clone()
        return p.detach() + (group["lr"] * group["beta"]) * m

    @contextlib.contextmanager
    def at_phi(self) -> Iterator[None]:
        """Within the block the parameters hold the book's φ_t (for evaluation); afterwards they are
        restored exactly. A no-op for ``parameters_are="phi"``."""
        saved = []
        with torch.no_grad():
            for group in self.param_groups:
                if group["parameters_are"] != "lookahead":
                    continue
                for p in group["params"]:
                    if "momentum" in self.state[p]:
                        saved.append((p, p.detach().clone()))
                        p.add_(self.state[p]["momentum"], alpha=group["lr"] * group["beta"])
        try:
            yield
        finally:
            with torch.no_grad():
                for p, value in saved:
                    p.copy_(value)


def allreduce_sum_hook(process_group, bucket):
    """A ``DistributedDataParallel`` communication hook that *sums* gradients over the ranks.

    DDP averages them by default; with each rank's loss summed over its shard, this hook makes
    every rank's gradient the sum over the whole global batch, the book's g::

        ddp.register_comm_hook(None, allreduce_sum_hook)     # None: the default process group

    (Left unannotated: DDP compares the annotations with ``dist.GradBucket`` and this module's
    annotations are strings.)
    """
    import torch.distributed as dist

    group = process_group if process_group is not None else dist.group.WORLD
    work = dist.all_reduce(bucket.buffer(), group=group, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])
