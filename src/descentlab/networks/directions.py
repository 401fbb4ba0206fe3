r"""The plane a network's loss is drawn over: an origin and two directions in parameter space.

A :class:`Plane` is :math:`\{\,\phi_0' + a\,d_1 + b\,d_2\,\}` with origin :math:`\phi_0'` — by
default the last iterate :math:`\phi_T` of the first run — and :math:`d_1, d_2 \in \mathbb{R}^P`
(Li, Xu, Taylor, Studer & Goldstein, *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018):

* :func:`pca` (Li et al. §5): the two leading right singular vectors of the matrix whose rows are
  :math:`\phi_t - \phi_T` for every recorded snapshot of every run. By Eckart–Young this is the
  plane through :math:`\phi_T` closest to the iterates in the least-squares sense; the explained
  variance of each direction is :math:`s_i^2 / \sum_j s_j^2`. The rows are *not* centred on their
  mean (Li et al.'s code passes them to scikit-learn's PCA, which does centre them): the plane
  must pass through :math:`\phi_T`, and the uncentred SVD is the best such plane. The directions
  are orthonormal; each one's sign makes its largest entry (in absolute value) positive.
* :func:`filter_normalized` (Li et al. §4): Gaussian directions rescaled filter by filter,
  :math:`d_{i,j} \leftarrow d_{i,j}\,\lVert\theta_{i,j}\rVert / \lVert d_{i,j}\rVert`, so that
  every filter moves in proportion to its own size and the scale invariance of ReLU networks does
  not distort the picture.
* :func:`given`: any two directions (e.g. differences of checkpoints).

:func:`project` returns the least-squares coordinates :math:`(a, b)` of points in the plane; the
origin projects to (0, 0) exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from descentlab.errors import InputError
from descentlab.networks import params as params_

if TYPE_CHECKING:
    from descentlab.networks.record import Run

KINDS = ("pca", "filter", "given")


@dataclass(frozen=True, eq=False)
class Plane:
    """``origin + a·d1 + b·d2``: three read-only float64 vectors of length P.

    Attributes:
        origin: the point (0, 0) of the plane, by default φ_T of the first run.
        d1, d2: the directions of the a and b axes.
        kind: ``"pca"``, ``"filter"`` or ``"given"``.
        explained: PCA's explained-variance ratios of d1 and d2 (None for the other kinds).
    """

    origin: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    kind: str
    explained: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("origin", "d1", "d2"):
            v = np.array(getattr(self, name), dtype=np.float64)
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        if self.kind not in KINDS:
            raise InputError(f"plane kind {self.kind!r} is not one of {', '.join(KINDS)}")
        shape = self.origin.shape
        if len(shape) != 1 or self.d1.shape != shape or self.d2.shape != shape:
            raise InputError(f"a plane needs origin, d1 and d2 of one shape (P,); got {self.origin.shape}, "
                             f"{self.d1.shape}, {self.d2.shape}")

    @property
    def n_params(self) -> int:
        """P, the dimension of the parameter space."""
        return int(self.origin.size)

    def point(self, a: float, b: float) -> np.ndarray:
        """The parameter vector ``origin + a·d1 + b·d2`` (P,)."""
        return self.origin + a * self.d1 + b * self.d2


# ---- PCA of the trajectory (Li et al. §5) ----------------------------------------------------

def _vector(name: str, value, n: int | None = None) -> np.ndarray:
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a vector of numbers") from None
    if v.ndim != 1 or (n is not None and v.size != n):
        want = "(P,)" if n is None else f"({n},)"
        raise InputError(f"{name} must be a vector of shape {want}, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{name} must be finite (it holds NaN or infinity)")
    return v


def _signed(d: np.ndarray) -> np.ndarray:
    """``d`` with the sign that makes its largest entry in absolute value positive."""
    return -d if d[np.argmax(np.abs(d))] < 0 else d


def pca(runs: Run | Sequence[Run], origin=None) -> Plane:
    r"""The plane through ``origin`` (default: φ_T of the first run) along the two leading
    principal directions of the recorded snapshots (Li et al. 2018, §5).

    With :math:`M` the matrix whose rows are :math:`\phi_t - \text{origin}` for every snapshot of
    every run and :math:`M = U S V^\top` its thin SVD, :math:`d_1, d_2` are the first two rows of
    :math:`V^\top` and ``explained`` is :math:`(s_1^2, s_2^2)/\sum_j s_j^2`.

    Raises:
        InputError: runs of different sizes P, non-finite snapshots, or snapshots that do not span
            two directions (record more steps, or use :func:`filter_normalized`).
    """
    items = [runs] if hasattr(runs, "params") else list(runs)
    if not items:
        raise InputError("pca needs at least one recorded run")
    sizes = {int(r.params.shape[1]) for r in items}
    if len(sizes) != 1:
        raise InputError(f"pca: the runs have different numbers of parameters ({sorted(sizes)})")
    n = sizes.pop()
    o = items[0].params[-1].astype(np.float64) if origin is None else _vector("origin", origin, n)
    stacked = np.concatenate([np.asarray(r.params, dtype=np.float64) for r in items])
    if not np.all(np.isfinite(stacked)):
        raise InputError("pca: a recorded snapshot holds NaN or infinity (the run diverged)")
    m = stacked - o
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    tol = (s[0] if s.size else 0.0) * max(m.shape) * np.finfo(np.float64).eps
    if s.size < 2 or s[0] == 0 or s[1] <= tol:
        raise InputError(f"pca: the {m.shape[0]} recorded snapshots do not span two directions around the "
                         "origin; record more steps or use filter-normalised directions")
    energy = s**2
    explained = (float(energy[0] / energy.sum()), float(energy[1] / energy.sum()))
    return Plane(origin=o, d1=_signed(vt[0]), d2=_signed(vt[1]), kind="pca", explained=explained)


# ---- filter-normalised random directions (Li et al. §4) ---------------------------------------

def _filter_normalize(direction: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Rescale each slice along the first axis of ``direction`` (a filter / a neuron's weights) to
    the norm of the matching slice of ``theta``; zero for a parameter of fewer than two axes."""
    if theta.ndim < 2:
        return np.zeros_like(direction)
    rows = direction.reshape(theta.shape[0], -1)
    d_norm = np.linalg.norm(rows, axis=1)
    t_norm = np.linalg.norm(theta.reshape(theta.shape[0], -1), axis=1)
    scale = np.divide(t_norm, d_norm, out=np.zeros_like(d_norm), where=d_norm > 0)
    return (rows * scale[:, None]).reshape(direction.shape)


def filter_normalized(model: torch.nn.Module, seed: int = 0, origin=None) -> Plane:
    r"""Two random directions normalised filter by filter (Li et al. 2018, §4).

    Each direction starts as independent standard normal values (``numpy.random.default_rng(seed)``,
    d1 drawn first, then d2), shaped like the parameters. Then, for every parameter tensor
    :math:`\theta_i` of the origin, each filter :math:`j` — a slice along its first axis: an output
    channel of a ``Conv2d`` weight (out, in, kh, kw), a neuron's row of a ``Linear`` weight
    (out, in) — is rescaled to :math:`\lVert\theta_{i,j}\rVert`:

    .. math::
        d_{i,j} \leftarrow \frac{d_{i,j}}{\lVert d_{i,j}\rVert}\,\lVert\theta_{i,j}\rVert .

    Parameters with fewer than two axes — biases, BatchNorm and LayerNorm scales and shifts — get
    zero in both directions, as in Li et al.'s code (``ignore='biasbn'``): the plane keeps them at
    the origin's values. A filter that is zero in the origin gets a zero direction.

    Args:
        model: the network (its parameters' names and shapes; and the origin when ``origin`` is None).
        seed: same seed → same directions.
        origin: the plane's origin φ (P,), e.g. φ_T of a run; None: the model's current parameters.
            The filter norms are those of the origin.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    shapes = [tuple(int(k) for k in s) for _, s in params_.shapes(model)]
    n = sum(int(np.prod(s)) for s in shapes)
    o = params_.flat(model) if origin is None else _vector("origin", origin, n)
    rng = np.random.default_rng(int(seed))
    raw = [rng.standard_normal(n), rng.standard_normal(n)]
    dirs = []
    for d in raw:
        parts, start = [], 0
        for shape in shapes:
            k = int(np.prod(shape))
            theta = o[start:start + k].reshape(shape)
            parts.append(_filter_normalize(d[start:start + k].reshape(shape), theta).reshape(-1))
            start += k
        dirs.append(np.concatenate(parts) if parts else np.zeros(0))
    if not np.any(dirs[0]) or not np.any(dirs[1]):
        raise InputError("filter-normalised directions: the network has no nonzero weight matrix or filter "
                         "(every parameter is a bias or 1-D), so both directions are zero; give directions")
    return Plane(origin=o, d1=dirs[0], d2=dirs[1], kind="filter", explained=None)


# ---- given directions and projection ------------------------------------------------------------

def given(origin, d1, d2) -> Plane:
    """The plane through ``origin`` along ``d1`` and ``d2`` (finite (P,) vectors, linearly
    independent so that every point has one projection)."""
    o = _vector("origin", origin)
    a = _vector("d1", d1, o.size)
    b = _vector("d2", d2, o.size)
    s = np.linalg.svd(np.stack([a, b]), compute_uv=False)
    if s[1] <= s[0] * max(o.size, 2) * np.finfo(np.float64).eps:
        raise InputError("d1 and d2 must be linearly independent (nonzero and not parallel)")
    return Plane(origin=o, d1=a, d2=b, kind="given", explained=None)


def project(plane: Plane, points) -> np.ndarray:
    r"""Least-squares coordinates :math:`(a, b)` of ``points`` (K, P) in the plane, (K, 2):

    .. math::
        (a_k, b_k) = \arg\min_{a, b}\; \lVert \phi_k - \text{origin} - a\,d_1 - b\,d_2 \rVert_2 ,

    solved with the thin QR factorisation :math:`[d_1\ d_2] = QR` as
    :math:`R^{-1} Q^\top(\phi_k - \text{origin})`. A single point (P,) gives (2,). The origin itself
    projects to (0, 0) exactly.
    """
    p = np.asarray(points, dtype=np.float64)
    single = p.ndim == 1
    if single:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != plane.n_params:
        raise InputError(f"project: points must have shape (K, {plane.n_params}), got {np.shape(points)}")
    q, r = np.linalg.qr(np.stack([plane.d1, plane.d2], axis=1))
    coords = np.linalg.solve(r, q.T @ (p - plane.origin).T).T
    return coords[0] if single else coords


__all__ = ["KINDS", "Plane", "filter_normalized", "given", "pca", "project"]
