r"""The loss over a plane through parameter space, evaluated many points at a time.

A plane through :math:`\phi_T` spanned by :math:`d_1, d_2` (:mod:`descentlab.networks.directions`)
gives the two-parameter surface the book draws in Figure 6.1,

.. math::
    L(a, b) = L[\phi_T + a\,d_1 + b\,d_2]
            = \frac{1}{N}\sum_{i=1}^{N} \ell\bigl(f[x_i, \phi_T + a\,d_1 + b\,d_2],\, y_i\bigr)

(or whatever reduction the user's loss applies). Each point is one forward pass of the whole data
set. Rather than load every point's parameters into the model (what a per-point loop does), the
points of a chunk are stacked into one batch of parameter tensors and the model is called
functionally on all of them at once,

.. math::
    [L(a_k, b_k)]_{k \in \text{chunk}} =
    \texttt{vmap}\bigl(\phi \mapsto \texttt{loss\_fn}(\texttt{functional\_call}(\text{model},
    \phi, x), y)\bigr)\bigl([\phi_T + a_k d_1 + b_k d_2]_k\bigr),

with the data and the model's buffers shared by every point (``in_dims=None``): one batched matrix
product per layer instead of one small one per point. The work is in float64 by default.

**A first layer that is linear in the plane.** When the network is an ``nn.Sequential`` whose first
module is a plain ``nn.Linear`` (weights :math:`W`, bias :math:`c`), its output is affine in
:math:`(a, b)`, since the plane moves :math:`W` and :math:`c` linearly:

.. math::
    x\,W(a, b)^\top + c(a, b) = \underbrace{x W_T^\top + c_T}_{Z_0}
        + a\,\underbrace{(x D_1^\top + e_1)}_{Z_1} + b\,\underbrace{(x D_2^\top + e_2)}_{Z_2},

with :math:`(D_k, e_k)` the first layer's part of :math:`d_k`. :math:`Z_0, Z_1, Z_2` (N × width) are
computed once per surface, and each point's first layer becomes two scaled additions instead of a
product with the N × inputs data — the rest of the network (``net[1:]``) is evaluated as above. The
same function in exact arithmetic; in floating point it differs from a per-point evaluation only by
rounding (≈ 1e-15 relative), and it is the same for every chunk, so the bits do not depend on how
the points were cut. (Other networks are evaluated whole.)

The model is evaluated in **eval mode** on a private copy: Dropout is off and BatchNorm uses its
running statistics (buffers are passed unchanged to every point), so the surface is one
deterministic function of :math:`(a, b)`. The caller's model is never changed.

**Batches and chunks.** The points are cut into *chunks* (the unit of work: one Dask task, one tick
of the progress bar), and each chunk is evaluated in vmapped *batches* of exactly
:func:`batch_for` points — :data:`BATCH` or fewer when that many points' intermediate values would
not fit :data:`BATCH_VALUES` or the cache (:data:`CACHE_VALUES`; a batch of one is a plain call,
no vmap) — the last batch padded with copies of its last point. The batch size
depends on the network and the data only, never on the chunk, because the kernels PyTorch picks
(a convolution's in particular) depend on how many points are stacked: a fixed batch makes every
point's loss the same bits whatever the chunks, in one process or on many Dask workers. ``grid``
checks the size of the grid and its work against :data:`MAX_WORK` before it starts.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.func import functional_call, vmap

from descentlab import budget, validation
from descentlab.errors import InputError, one_line
from descentlab.networks import params as params_
from descentlab.progress import progress_bar

if TYPE_CHECKING:
    from descentlab.networks.directions import Plane

BATCH_VALUES = budget.MAX_GRID_VALUES
"""Values (all intermediates of one batch's forward pass together, float64: 128 MiB) a batch may hold.

A point needs its P parameters plus every layer's output on the N examples;
:func:`points_that_fit` measures the latter with one forward pass and divides, so a batch of points
stays within this whatever the network (at least one point)."""

BATCH = 16
"""The most points stacked into one vmapped call (fewer when :data:`BATCH_VALUES` or
:data:`CACHE_VALUES` say so). On 64 examples with a 64-64-10 MLP, 16 or 32 points a call are ≈ 6×
faster per point than one at a time (0.085 against 0.50 ms); more leave the cache."""

CACHE_VALUES = 2**17
"""Intermediate values (float64: 1 MiB, a core's L2 cache here) a batch of points should keep.
Measured on all 1,797 digits with the 64-64-10 MLP (one point's forward pass: ≈ 250,000 values):
one point at a time, without vmap, 1.16 s for 41 × 41 points against 2.25 s for vmapped batches
of 16 and 1.61 s for loss-landscapes' per-point loop; on 64 examples (≈ 9,000 values) batches of
14 points are ≈ 6× faster per point than one at a time."""

MAX_WORK = 2 * 10**11
"""Multiply-adds of one surface, estimated as points × examples × parameters (a dense layer does one
per weight and example): measured ≈ 5·10⁹ a second in float64 on one core of a small CPU for a
digits MLP (1.7 ms a point of 1,797 examples × 4,810 parameters), so ≈ 40 s there and a few minutes
for layers slower per multiply-add (convolutions) or a busy machine. Past it the grid is refused
before it starts, with the largest resolution that fits."""

DEFAULT_SUBSET_SEED = 0
"""The seed of the evaluation subset's draw (the same examples every call)."""


# ---- the pieces a chunk needs --------------------------------------------------------------------

def prepared(model: torch.nn.Module, x, y, *, dtype: torch.dtype | None = torch.float64,
             subset: int | None = None, seed: int = DEFAULT_SUBSET_SEED):
    """An eval-mode copy of ``model`` in ``dtype`` (None: the model's own), and ``x``, ``y`` on its
    device, floating data cast to that dtype and cut to ``subset`` examples when given.

    The subset is ``subset`` distinct examples drawn with ``numpy.random.default_rng(seed)`` (kept
    in their original order), so the same call picks the same examples every time.
    """
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = _tensor("x", x), _tensor("y", y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise InputError(f"x and y must have one row per example: x has shape {tuple(x.shape)}, "
                         f"y has shape {tuple(y.shape)}")
    first = next(iter(model.parameters()), None)
    if first is None:
        raise InputError("the model has no parameters: there is no plane to draw")
    dtype = first.dtype if dtype is None else dtype
    if not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating-point torch dtype, got {dtype}")
    net = copy.deepcopy(model).to(dtype=dtype).eval()
    device = first.device
    if subset is not None:
        n = x.shape[0]
        k = validation.integer("subset", subset, 1)
        if k < n:
            index = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
            pick = torch.from_numpy(index)
            x, y = x[pick], y[pick]
    x = x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype)
    y = y.to(device=device, dtype=dtype if y.is_floating_point() else y.dtype)
    return net, x, y


def _tensor(name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array or a tensor, got {type(value).__name__}") from None


def _coords(coords) -> np.ndarray:
    c = np.asarray(coords, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 2:
        raise InputError(f"coords must be an array of (a, b) pairs, shape (K, 2), got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise InputError("coords must be finite (a NaN or infinite coordinate was given)")
    return c


def _check_plane(model: torch.nn.Module, plane: Plane) -> None:
    n = params_.size(model)
    for name in ("origin", "d1", "d2"):
        v = np.asarray(getattr(plane, name))
        if v.shape != (n,):
            raise InputError(f"the plane's {name} has shape {v.shape} but the network has {n:,} "
                             f"parameters: the plane belongs to another network")
        if not np.all(np.isfinite(v)):
            raise InputError(f"the plane's {name} must be finite (it holds a NaN or an infinity)")


def activation_values(net: torch.nn.Module, x: torch.Tensor) -> int:
    """Values one forward pass of ``x`` produces: the outputs of every submodule, counted by hooks
    (an estimate: functions called inside a module's own ``forward`` are not seen)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        for out in output if isinstance(output, tuple | list) else (output,):
            if isinstance(out, torch.Tensor):
                total += out.numel()

    handles = [m.register_forward_hook(count) for m in net.modules()]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return total


def points_that_fit(net: torch.nn.Module, x: torch.Tensor, values: int | None = None) -> int:
    """The most points whose parameters and intermediates fit :data:`BATCH_VALUES` at once:
    ``BATCH_VALUES // (P + values of one forward pass)``, at least 1 (``values``: the latter, when
    already counted by :func:`activation_values`)."""
    values = activation_values(net, x) if values is None else values
    return max(1, BATCH_VALUES // (params_.size(net) + values))


def batch_for(net: torch.nn.Module, x: torch.Tensor) -> int:
    """Points per call: :data:`BATCH`, or fewer when a batch's intermediates would not fit
    :data:`BATCH_VALUES` (:func:`points_that_fit`) or would leave the cache: as many points as keep
    :data:`CACHE_VALUES` of intermediates, and one point (no vmap) when one point's forward pass
    alone fills it — then each point's products are already large and stay in the cache."""
    values = activation_values(net, x)
    return max(1, min(BATCH, points_that_fit(net, x, values), CACHE_VALUES // max(1, values)))


# ---- evaluation ----------------------------------------------------------------------------------

def _batched_loss(net: torch.nn.Module, loss_fn: Callable, per_point_input: bool = False,
                  batch: int = BATCH) -> Callable:
    """``call(stacked tensors, x, y)`` → the (batch,) losses: vmapped, or for a batch of one point
    a plain call (the same function without vmap's bookkeeping)."""
    buffers = dict(net.named_buffers())

    def one(tensors, x, y):
        return loss_fn(functional_call(net, (tensors, buffers), (x,)), y)

    if batch == 1:
        def single(tensors, x, y):
            value = one({k: v[0] for k, v in tensors.items()}, x[0] if per_point_input else x, y)
            return value.reshape(1) if value.ndim == 0 else value[None]
        return single
    return vmap(one, in_dims=(0, 0 if per_point_input else None, None))


def linear_head(net: torch.nn.Module) -> int | None:
    """The number of parameters of ``net``'s first layer when it is a plain ``nn.Linear`` at the
    head of an ``nn.Sequential`` with parameters after it (the layer whose output is affine in the
    plane's coordinates), else None. Subclasses of ``nn.Linear`` are left alone: they may compute
    otherwise."""
    if type(net) is not torch.nn.Sequential or len(net) < 2 or type(net[0]) is not torch.nn.Linear \
            or next(iter(net[1:].parameters()), None) is None:
        return None
    return sum(p.numel() for p in net[0].parameters())


def head_planes(net: torch.nn.Module, x: torch.Tensor, plane: Plane) -> tuple[torch.Tensor, ...]:
    """:math:`(Z_0, Z_1, Z_2)`: the first layer's output at the origin and its change along each
    direction (the first layer's own part of ``origin``, ``d1``, ``d2``; bias included)."""
    head = net[0]
    w = head.weight
    n_w, n_head = w.numel(), linear_head(net)
    out = []
    for vector in (plane.origin, plane.d1, plane.d2):
        v = torch.from_numpy(np.array(vector[:n_head], dtype=np.float64)).to(device=w.device, dtype=w.dtype)
        bias = v[n_w:] if head.bias is not None else None
        with torch.no_grad():
            out.append(torch.nn.functional.linear(x, v[:n_w].reshape(w.shape), bias).contiguous())
    return tuple(out)


def _split(net: torch.nn.Module, stacked: torch.Tensor) -> dict[str, torch.Tensor]:
    """The (K, P) stack of vectors as ``{name: (K, *shape)}`` tensors, in named_parameters order."""
    out, start = {}, 0
    for name, p in net.named_parameters():
        n = p.numel()
        out[name] = stacked[:, start:start + n].reshape(stacked.shape[0], *p.shape)
        start += n
    return out


def evaluate_chunk(coords: np.ndarray, *, net: torch.nn.Module, loss_fn: Callable, x: torch.Tensor,
                   y: torch.Tensor, origin: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                   batch: int, head: tuple[torch.Tensor, ...] | None = None) -> np.ndarray:
    """The loss at each (a, b) of one chunk, with everything already :func:`prepared`.

    The chunk is evaluated ``batch`` points per vmapped call, the last call padded to ``batch``
    points with copies of the chunk's last point (their values dropped), so a point's value does not
    depend on how the points were cut into chunks. With ``head`` = :math:`(Z_0, Z_1, Z_2)`
    (:func:`head_planes`), ``net`` is the network after its first layer, ``origin``, ``d1``, ``d2``
    its part of the plane, and a point's input is :math:`Z_0 + a Z_1 + b Z_2` (``x`` is unused). A
    pure function of its arguments (what :func:`descentlab.networks.distribute.map_chunks` sends to
    a worker): the same point gives the same bits in any process with the same torch threads.
    """
    c = np.asarray(coords, dtype=np.float64)
    first = next(iter(net.parameters()))
    call = _batched_loss(net, loss_fn, per_point_input=head is not None, batch=batch)
    out = np.empty(len(c))
    for start in range(0, len(c), batch):
        part = c[start:start + batch]
        if len(part) < batch:
            part = np.concatenate([part, np.repeat(part[-1:], batch - len(part), axis=0)])
        vectors = origin[None, :] + part[:, :1] * d1[None, :] + part[:, 1:] * d2[None, :]
        stacked = torch.from_numpy(vectors).to(device=first.device, dtype=first.dtype)
        inputs = x
        if head is not None:
            a, b = (torch.from_numpy(np.ascontiguousarray(part[:, k])).to(device=first.device,
                                                                         dtype=first.dtype)[:, None, None]
                    for k in range(2))
            inputs = torch.addcmul(torch.addcmul(head[0], a, head[1]), b, head[2])
        with torch.no_grad():
            try:
                values = call(_split(net, stacked), inputs, y)
            except (RuntimeError, NotImplementedError, ValueError, TypeError) as error:
                how = "with torch.func.vmap" if batch > 1 else "by torch.func.functional_call"
                raise InputError(one_line(f"the model and loss could not be evaluated at a batch of points "
                                          f"{how}: {type(error).__name__}: {error}")) from None
        if values.shape != (batch,):
            raise InputError(f"loss_fn must return one number (a scalar tensor) per evaluation; it returned "
                             f"shape {tuple(values.shape[1:])}")
        n = min(batch, len(c) - start)
        out[start:start + n] = values[:n].detach().to(device="cpu", dtype=torch.float64).numpy()
    return out


def evaluate_points(model: torch.nn.Module, loss_fn: Callable, x, y, plane: Plane, coords: np.ndarray, *,
                    chunk: int | None = 64, dtype: torch.dtype | None = torch.float64,
                    subset: int | None = None, seed: int = DEFAULT_SUBSET_SEED,
                    progress: bool = False) -> np.ndarray:
    r"""The loss :math:`L[\phi_T + a\,d_1 + b\,d_2]` at each (a, b) of ``coords`` (K, 2), shape (K,).

    Args:
        model: the network (not changed; a private eval-mode copy in ``dtype`` is evaluated).
        loss_fn: ``loss_fn(model(x), y)``, a scalar (mean or sum, as the user gives it).
        x, y: the data set (tensors or arrays, one row per example).
        plane: ``origin``, ``d1``, ``d2`` (P,) each, e.g. a :class:`directions.Plane`.
        coords: the (a, b) pairs.
        chunk: points per piece of work (a progress tick; a Dask task in :func:`grid`); None: one
            batch (:func:`batch_for`). It does not change the values, not even in the last bit.
        dtype: the floating dtype of the work (None: the model's own).
        subset: evaluate on this many examples drawn once with ``seed`` (None: all of them).
        progress: show a bar over the chunks on a terminal.

    Pure: the same inputs give the same bits (in a process with the same torch threads). The model
    and the loss must work under :func:`torch.func.vmap` (no ``.item()``, no data-dependent Python
    branches); otherwise :class:`~descentlab.errors.InputError` names the failure. The work (points ×
    examples × parameters) is checked against :data:`MAX_WORK` first.
    """
    c = _coords(coords)
    _check_plane(model, plane)
    _check_work(len(c), _examples(x, subset), params_.size(model), f"{len(c):,} points",
                "evaluate fewer points)")
    net, xs, ys = prepared(model, x, y, dtype=dtype, subset=subset, seed=seed)
    shared = _shared(net, loss_fn, xs, ys, plane)
    size = _chunk_size(chunk, shared["batch"])
    pieces = [c[i:i + size] for i in range(0, len(c), size)]
    out = _in_process(pieces, shared, "points", progress)
    return np.concatenate(out) if out else np.zeros(0)


def _chunk_size(chunk: int | None, batch: int) -> int:
    return batch if chunk is None else validation.integer("chunk", chunk, 1)


def _shared(net, loss_fn, x, y, plane) -> dict:
    """What every chunk needs (:func:`evaluate_chunk`'s keyword arguments): with a linear first
    layer (:func:`linear_head`) the rest of the network, its part of the plane and the head's
    :math:`Z_0, Z_1, Z_2`; otherwise the whole network and the data."""
    vectors = {k: np.asarray(getattr(plane, k), dtype=np.float64) for k in ("origin", "d1", "d2")}
    batch = batch_for(net, x)
    cut = linear_head(net)
    if cut is None:
        return {"net": net, "loss_fn": loss_fn, "x": x, "y": y, **vectors, "batch": batch}
    head = head_planes(net, x, plane)
    rest = {k: np.ascontiguousarray(v[cut:]) for k, v in vectors.items()}
    return {"net": net[1:], "loss_fn": loss_fn, "x": x[:0], "y": y, **rest, "batch": batch, "head": head}


def _axis(name: str, values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 1:
        raise InputError(f"{name} must be a 1-D array of grid coordinates, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{name} must be finite (a NaN or infinite coordinate was given)")
    return v


def check_grid(n_a: int, n_b: int, n_examples: int, n_params: int) -> None:
    """Refuse a grid beyond :data:`budget.MAX_RESOLUTION` per axis or :data:`budget.MAX_GRID_VALUES`
    points, or whose work (points × examples × parameters) exceeds :data:`MAX_WORK`, before anything
    is evaluated."""
    budget.check_grid(max(n_a, n_b))
    points_ = n_a * n_b
    if points_ > budget.MAX_GRID_VALUES:
        raise InputError(f"a grid of {n_b:,} × {n_a:,} points is more than the limit of "
                         f"{budget.MAX_GRID_VALUES:,} points: use fewer points")
    most = math.isqrt(MAX_WORK // (max(n_examples, 1) * max(n_params, 1)))
    _check_work(points_, n_examples, n_params, f"a grid of {n_b:,} × {n_a:,} points",
                f"at most resolution {most:,} here): lower the resolution")


def _check_work(n_points: int, n_examples: int, n_params: int, what: str, advice: str) -> None:
    work = n_points * max(n_examples, 1) * max(n_params, 1)
    if work > MAX_WORK:
        raise InputError(f"{what} × {n_examples:,} examples × {n_params:,} parameters is ≈ {work:.3g} "
                         f"multiply-adds; the limit is {MAX_WORK:.3g} (≈ a minute or two on one core; "
                         f"{advice} or evaluate on a subset of the examples")


def _examples(x, subset: int | None) -> int:
    """Examples the loss will read: the rows of ``x``, or ``subset`` when fewer."""
    shape = _tensor("x", x).shape
    examples = int(shape[0]) if shape else 1
    if subset is not None:
        examples = min(examples, validation.integer("subset", subset, 1))
    return examples


def grid(model: torch.nn.Module, loss_fn: Callable, x, y, plane: Plane, a: np.ndarray, b: np.ndarray, *,
         chunk: int | None = 64, dtype: torch.dtype | None = torch.float64, subset: int | None = None,
         seed: int = DEFAULT_SUBSET_SEED, workers: int | None = None, scheduler: str | None = None,
         progress: bool = True) -> np.ndarray:
    r"""The loss on the grid ``a`` × ``b``: ``out[i, j]`` = :math:`L[\phi_T + a_j d_1 + b_i d_2]`.

    Rows follow ``b`` and columns ``a``, as ``numpy.meshgrid(a, b)`` lays them out. The points are
    evaluated row by row in chunks (see :func:`evaluate_points` for ``chunk``, ``dtype``, ``subset``);
    with ``workers`` (a local Dask cluster of that many processes) or ``scheduler`` (the address of
    a running Dask cluster) the chunks are computed by
    :func:`descentlab.networks.distribute.map_chunks`, with the same chunks and so the same bits.
    The grid's size and work are checked (:func:`check_grid`) before anything runs.
    """
    a_, b_ = _axis("a", a), _axis("b", b)
    _check_plane(model, plane)
    check_grid(a_.size, b_.size, _examples(x, subset), params_.size(model))
    net, xs, ys = prepared(model, x, y, dtype=dtype, subset=subset, seed=seed)
    shared = _shared(net, loss_fn, xs, ys, plane)
    size = _chunk_size(chunk, shared["batch"])
    aa, bb = np.meshgrid(a_, b_)
    coords = np.stack([aa.ravel(), bb.ravel()], axis=1)
    pieces = [coords[i:i + size] for i in range(0, len(coords), size)]
    if workers is not None or scheduler is not None:
        from descentlab.networks import distribute

        values = distribute.map_chunks(evaluate_chunk, pieces, shared=shared, workers=workers,
                                       scheduler=scheduler, progress=progress)
    else:
        values = _in_process(pieces, shared, "surface", progress)
    return np.concatenate(values).reshape(b_.size, a_.size)


# ---- the axes ------------------------------------------------------------------------------------

def axes_for(plane: Plane, coords_of_paths: np.ndarray, resolution: int = 41,
             margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    r"""Grid axes ``(a, b)`` of ``resolution`` points each covering every path point with a margin.

    On each axis the points' range :math:`[lo, hi]`, widened to include 0 (the origin
    :math:`\phi_T`), is extended by ``margin`` × its width on both sides. The axis is then laid on
    a lattice through 0: :math:`a_i = (i - i_0)\,h`, with the spacing :math:`h` and integer offset
    :math:`i_0` chosen so the lattice covers the extended range — so **(0, 0) is always a grid point
    exactly** (for odd and even resolutions alike) and the grid is not wasted on the far side of a
    one-sided path. An axis along which the points do not move at all takes the other axis's width
    (both still: width 1).

    ``plane`` is accepted for symmetry with the other functions (its directions set the meaning of
    the coordinates, which are taken as given).
    """
    del plane
    g = validation.integer("resolution", resolution, 3, budget.MAX_RESOLUTION)
    m = validation.real("margin", margin)
    if not (math.isfinite(m) and m >= 0.0):
        raise InputError(f"margin must be finite and >= 0, got {margin!r}")
    c = _coords(coords_of_paths)
    lo = np.minimum(c.min(axis=0, initial=0.0), 0.0)
    hi = np.maximum(c.max(axis=0, initial=0.0), 0.0)
    width = hi - lo
    for k in range(2):
        if width[k] <= 0.0:
            other = width[1 - k]
            width[k] = other if other > 0.0 else 1.0
            lo[k], hi[k] = -width[k] / 2.0, width[k] / 2.0
    return _lattice(lo[0] - m * width[0], hi[0] + m * width[0], g), \
        _lattice(lo[1] - m * width[1], hi[1] + m * width[1], g)


def _lattice(lo: float, hi: float, g: int) -> np.ndarray:
    """``g`` points ``(i - i0)·h`` covering ``[lo, hi]`` (lo ≤ 0 ≤ hi), with 0 among them."""
    h = (hi - lo) / (g - 1)
    i0 = math.ceil(-lo / h - 1e-9)
    if lo < 0.0:
        i0 = max(i0, 1)
    if hi > 0.0:
        i0 = min(i0, g - 2)
    # the offset rounded up may leave the top end short by less than one spacing: widen h to cover it
    h = max(h, -lo / i0 if i0 > 0 else 0.0, hi / (g - 1 - i0) if i0 < g - 1 else 0.0)
    return (np.arange(g) - i0) * h


def _in_process(pieces: list, shared: dict, label: str, progress: bool) -> list[np.ndarray]:
    """:func:`evaluate_chunk` of every piece here, in order, with a progress bar over the pieces."""
    bar = progress_bar(len(pieces), label) if progress else None
    out = []
    for k, piece in enumerate(pieces, start=1):
        out.append(evaluate_chunk(piece, **shared))
        if bar is not None:
            bar(k)
    return out
