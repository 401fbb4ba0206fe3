r"""Sharpness: the top eigenvalue of the loss's Hessian, along a run, against the method's limit.

The *sharpness* at :math:`\phi` is the largest eigenvalue :math:`\lambda_{\max}` of the Hessian
:math:`H = \nabla^2 L[\phi]`. On a quadratic with curvature :math:`\lambda` gradient descent (book
eq. 6.3) is stable iff :math:`\alpha < 2/\lambda`, so near a point it can only stay where
:math:`\lambda_{\max} < 2/\alpha`. Cohen et al. (2021, *Gradient descent on neural networks
typically occurs at the edge of stability*) observed that full-batch gradient descent on a network
makes :math:`\lambda_{\max}` grow ("progressive sharpening") until it reaches :math:`2/\alpha`,
and then hovers there while the loss keeps falling, non-monotonically: the *edge of stability*.

For momentum (eq. 6.11) and Nesterov (eq. 6.12) the same argument uses the stability limit the
book's α, β give on a quadratic, read from the optimiser's registration through
:func:`descentlab.theory.stability_limit`: the largest stable α for curvature :math:`L` is
:math:`c(\beta)/L` — :math:`c = 2(1+\beta)/(1-\beta)` for momentum,
:math:`2(1+\beta)/((1+2\beta)(1-\beta))` for Nesterov — so the largest curvature a step α allows
is :math:`\lambda^* = c(\beta)/\alpha` (:func:`limit`).

:math:`\lambda_{\max}` is computed without forming :math:`H` (P × P): the Lanczos method builds an
orthonormal basis :math:`Q_k` of the Krylov space :math:`\mathrm{span}\{q, Hq, \dots, H^{k-1}q\}`
from Hessian-vector products alone, in which :math:`T_k = Q_k^\top H Q_k` is tridiagonal; its
largest eigenvalue :math:`\theta` (a Ritz value) converges to :math:`\lambda_{\max}` from below.
Each product :math:`Hv = \nabla_\phi(\nabla_\phi L \cdot v)` is one backward pass through the
graph of the gradient (double backward), in float64. The basis is fully re-orthogonalised, and
the iteration stops when the Ritz residual :math:`\beta_k |s_k|` (:math:`s` the Ritz vector in the
basis) falls below ``tol`` × :math:`|\theta|`; the true residual :math:`\|Hv - \theta v\|` of the
Ritz vector :math:`v = Q_k s` is then measured with one more product and reported
(:class:`Eigen`): :math:`\theta` is within that residual of an eigenvalue of :math:`H`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.func import functional_call

from descentlab import budget, theory, validation
from descentlab.errors import InputError, one_line
from descentlab.networks import params as params_
from descentlab.networks import surface
from descentlab.progress import progress_bar

if TYPE_CHECKING:
    from descentlab.networks.record import Run

MAX_BASIS_VALUES = budget.MAX_GRID_VALUES
"""Values of the Lanczos basis (iterations × P, float64: 128 MiB): past it, fewer iterations."""

BOOK_METHODS = ("gd", "momentum", "nesterov")
"""The optimisers whose stability limit is known in the book's α, β (:func:`limit`)."""


@dataclass(frozen=True)
class Eigen:
    """The top Hessian eigenvalue found and how far to trust it.

    ``value`` is the largest Ritz value θ; ``converged`` says the Lanczos residual fell below the
    tolerance (or the Krylov space became invariant); ``iterations`` counts Hessian-vector
    products of the Lanczos basis; ``residual`` is the measured ‖Hv − θv‖ of the unit Ritz vector
    v (an eigenvalue of H lies within it of θ).
    """

    value: float
    converged: bool
    iterations: int
    residual: float


def hvp_operator(model: torch.nn.Module, loss_fn: Callable, x, y, params: np.ndarray, *,
                 dtype: torch.dtype | None = torch.float64, subset: int | None = None,
                 seed: int = surface.DEFAULT_SUBSET_SEED
                 ) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    r"""``(hvp, phi)``: ``hvp(v)`` = :math:`H v` at ``params`` (P,), the Hessian of
    ``loss_fn(model(x), y)`` times a (P,) tensor, and φ as the tensor (dtype, device) v must match.

    The model is evaluated as :func:`descentlab.networks.surface.prepared` makes it (a private
    eval-mode copy in ``dtype``, the data cut to ``subset``); the gradient's graph is built once and
    each product is one backward pass through it (:math:`\nabla_\phi(g \cdot v)`).
    """
    net, xs, ys = surface.prepared(model, x, y, dtype=dtype, subset=subset, seed=seed)
    first = next(iter(net.parameters()))
    vector = np.asarray(params, dtype=np.float64)
    n = params_.size(net)
    if vector.shape != (n,):
        raise InputError(f"params has shape {vector.shape} but the network has {n:,} parameters: "
                         f"it must have shape ({n},)")
    if not np.all(np.isfinite(vector)):
        raise InputError("params must be finite (a NaN or infinite parameter was given)")
    theta = torch.from_numpy(vector.copy()).to(device=first.device, dtype=first.dtype).requires_grad_(True)
    buffers = dict(net.named_buffers())
    tensors, start = {}, 0
    for name, p in net.named_parameters():
        tensors[name] = theta[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
    with torch.enable_grad():
        loss = loss_fn(functional_call(net, (tensors, buffers), (xs,)), ys)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise InputError("loss_fn must return one number (a scalar tensor)")
        (grad,) = torch.autograd.grad(loss.reshape(()), theta, create_graph=True)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        if not grad.requires_grad:  # the loss is linear in φ: H = 0
            return torch.zeros_like(v)
        with torch.enable_grad():
            (hv,) = torch.autograd.grad(grad, theta, grad_outputs=v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(v) if hv is None else hv.detach()

    return hvp, theta.detach()


def lanczos_top(hvp: Callable[[torch.Tensor], torch.Tensor], like: torch.Tensor, *, iters: int = 100,
                tol: float = 1e-10, seed: int = 0) -> Eigen:
    r"""The largest eigenvalue of the symmetric operator ``hvp`` on vectors shaped like ``like`` (P,).

    Lanczos with full re-orthogonalisation (twice per step, Gram–Schmidt against the whole basis)
    from a unit Gaussian start drawn with ``numpy.random.default_rng(seed)``; at most
    min(``iters``, P) products. Stops when :math:`\beta_k |s_k| \le \mathrm{tol}\cdot|\theta|`.
    """
    n = like.numel()
    k_max = min(validation.integer("iters", iters, 1), n)
    tolerance = validation.positive("tol", tol)
    if k_max * n > MAX_BASIS_VALUES:
        most = max(1, MAX_BASIS_VALUES // n)
        raise InputError(f"iters {k_max:,} × {n:,} parameters would keep ≈ {k_max * n * 8 / 2**20:.3g} MiB "
                         f"of Lanczos basis; the limit is {MAX_BASIS_VALUES * 8 / 2**20:.3g} MiB (at most "
                         f"iters {most:,} here): lower iters")
    start = np.random.default_rng(seed).standard_normal(n)
    q = torch.from_numpy(start / np.linalg.norm(start)).to(device=like.device, dtype=like.dtype)
    basis = torch.empty((k_max, n), device=like.device, dtype=like.dtype)
    alphas: list[float] = []
    betas: list[float] = []
    theta, s = 0.0, np.ones(1)
    converged = False
    k = 0
    eps = torch.finfo(like.dtype).eps
    for k in range(1, k_max + 1):
        basis[k - 1] = q
        w = hvp(q)
        alpha = float(torch.dot(q, w))
        alphas.append(alpha)
        w = w - alpha * q - (betas[-1] * basis[k - 2] if k > 1 else 0.0)
        for _ in range(2):  # full re-orthogonalisation: keeps the Ritz values free of ghost copies
            w = w - basis[:k].T @ (basis[:k] @ w)
        beta = float(torch.linalg.vector_norm(w))
        values, vectors = _tridiagonal_eigh(alphas, betas)
        theta, s = float(values[-1]), vectors[:, -1]
        scale = max(abs(theta), float(np.max(np.abs(values))), 1e-300)
        if beta <= 100 * eps * scale * math.sqrt(k) or beta * abs(s[-1]) <= tolerance * scale:
            converged = True
            break
        if k == k_max:
            converged = k_max == n  # the whole space: T_k is H in another basis
            break
        betas.append(beta)
        q = w / beta
    ritz = basis[:k].T @ torch.from_numpy(s).to(device=like.device, dtype=like.dtype)
    ritz = ritz / torch.linalg.vector_norm(ritz)
    residual = float(torch.linalg.vector_norm(hvp(ritz) - theta * ritz))
    return Eigen(value=theta, converged=converged, iterations=k, residual=residual)


def _tridiagonal_eigh(alphas: list[float], betas: list[float]) -> tuple[np.ndarray, np.ndarray]:
    k = len(alphas)
    t = np.diag(np.asarray(alphas))
    if k > 1:
        off = np.asarray(betas[:k - 1])
        t += np.diag(off, 1) + np.diag(off, -1)
    return np.linalg.eigh(t)


def top_eigenvalue(model: torch.nn.Module, loss_fn: Callable, x, y, params: np.ndarray, *, iters: int = 100,
                   tol: float = 1e-10, seed: int = 0, dtype: torch.dtype | None = torch.float64,
                   subset: int | None = None) -> Eigen:
    r"""The sharpness :math:`\lambda_{\max}(\nabla^2 L[\phi])` at ``params`` (P,) by Lanczos.

    Args:
        model: the network (not changed; its parameters are replaced by ``params`` in a private
            eval-mode copy).
        loss_fn: ``loss_fn(model(x), y)``, a scalar.
        x, y: the data the loss is taken over (full batch; ``subset`` draws that many examples once).
        params: the point φ, flattened in ``named_parameters`` order (:func:`params.flat`).
        iters: the most Hessian-vector products of the basis (capped at P).
        tol: stop when the Ritz residual estimate is below ``tol`` × |θ|.
        seed: the seed of the random start vector.
        dtype: the dtype of the work (float64; None: the model's own).

    Returns:
        :class:`Eigen`: the value, whether it converged, the products used, the measured residual.
    """
    hvp, phi = hvp_operator(model, loss_fn, x, y, params, dtype=dtype, subset=subset)
    return lanczos_top(hvp, phi, iters=iters, tol=tol, seed=seed)


def eigens_along(run: Run, model: torch.nn.Module, loss_fn: Callable, x, y, *, progress: bool = True,
                 **kw) -> list[Eigen]:
    """:func:`top_eigenvalue` at every snapshot of ``run`` (``run.params``, (S, P)), with a progress
    bar over the snapshots; keyword arguments go to :func:`top_eigenvalue`."""
    snapshots = np.asarray(run.params, dtype=np.float64)
    if snapshots.ndim != 2:
        raise InputError(f"the run's parameters must be an (S, P) array, got shape {snapshots.shape}")
    bar = progress_bar(len(snapshots), "sharpness") if progress else None
    out = []
    for k, vector in enumerate(snapshots, start=1):
        out.append(top_eigenvalue(model, loss_fn, x, y, vector, **kw))
        if bar is not None:
            bar(k)
    return out


def along(run: Run, model: torch.nn.Module, loss_fn: Callable, x, y, *, progress: bool = True,
          **kw) -> np.ndarray:
    r"""The sharpness :math:`\lambda_{\max}` at each snapshot of ``run``, shape (S,).

    Warns (:class:`RuntimeWarning`) when some snapshot's Lanczos iteration did not converge,
    naming how many and the largest residual; :func:`eigens_along` gives each one's :class:`Eigen`.
    """
    eigens = eigens_along(run, model, loss_fn, x, y, progress=progress, **kw)
    loose = [e for e in eigens if not e.converged]
    if loose:
        worst = max(e.residual for e in loose)
        warnings.warn(f"sharpness: Lanczos did not converge at {len(loose)} of {len(eigens)} snapshots "
                      f"(largest residual ‖Hv − λv‖ = {worst:.3g}); raise iters", RuntimeWarning,
                      stacklevel=2)
    return np.array([e.value for e in eigens], dtype=np.float64)


def limit(run: Run) -> float:
    r"""The largest sharpness the run's optimiser is stable at, in the book's α, β.

    Gradient descent: :math:`2/\alpha`. Momentum and Nesterov: :math:`\lambda^*` solving
    ``theory.stability_limit(method, β, λ*) == α``; the limit scales as :math:`c(\beta)/L`, so
    :math:`\lambda^* = \texttt{stability\_limit}(\text{method}, \beta, 1)/\alpha`. Other optimisers
    (``"torch"``) have no limit in the book's terms: :class:`~descentlab.errors.InputError`.
    """
    method = run.optimizer
    if method not in BOOK_METHODS:
        raise InputError(one_line(f"the stability limit is known for the book's optimisers "
                                  f"({', '.join(BOOK_METHODS)}); this run used {method!r}"))
    if run.alpha is None:
        raise InputError(f"the {method} run has no step α recorded, so it has no stability limit")
    alpha = validation.positive("alpha (α)", run.alpha)
    if method == "gd":
        return 2.0 / alpha
    if run.beta is None:
        raise InputError(f"the {method} run has no momentum β recorded, so it has no stability limit")
    beta = validation.unit_interval("beta (β)", run.beta)
    return float(theory.stability_limit(method, beta, 1.0)) / alpha
