r"""A network's parameters as one flat vector :math:`\phi \in \mathbb{R}^P`, and back.

The book writes a model's parameters as one vector :math:`\phi`; a PyTorch module keeps them as a
list of named tensors. These functions move between the two, always in the order of
``model.named_parameters()`` (each tensor flattened in row-major order), so that a vector saved
from one copy of a network means the same thing in another copy built by the same code.

Buffers (BatchNorm running statistics and the like) are not parameters and are never part of
:math:`\phi`.
"""

from __future__ import annotations

import numpy as np
import torch

from descentlab.errors import InputError


def shapes(model: torch.nn.Module) -> list[tuple[str, torch.Size]]:
    """The name and shape of every parameter, in ``model.named_parameters()`` order."""
    return [(name, p.shape) for name, p in model.named_parameters()]


def size(model: torch.nn.Module) -> int:
    """P, the number of scalar parameters (the length of :func:`flat`)."""
    return sum(p.numel() for p in model.parameters())


def flat(model: torch.nn.Module) -> np.ndarray:
    """φ: every parameter flattened and concatenated, as a new float64 numpy array of shape (P,)."""
    parts = [p.detach().to(device="cpu", dtype=torch.float64).reshape(-1) for p in model.parameters()]
    if not parts:
        return np.zeros(0, dtype=np.float64)
    return torch.cat(parts).numpy().copy()


def _vector(model: torch.nn.Module, vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    n = size(model)
    if v.shape != (n,):
        raise InputError(f"a parameter vector of shape {v.shape} does not fit this network: it has "
                         f"{n:,} parameters, so the vector must have shape ({n},)")
    return v


def unflat(model: torch.nn.Module, vector) -> dict[str, torch.Tensor]:
    """``{name: tensor}`` cut from ``vector`` (P,) with each parameter's shape, dtype and device.

    The result is what :func:`torch.func.functional_call` takes in place of the model's own
    parameters. Raises :class:`~descentlab.errors.InputError` when the length is not P.
    """
    v = torch.from_numpy(np.require(_vector(model, vector), requirements="W"))  # a read-only array: a copy
    out: dict[str, torch.Tensor] = {}
    start = 0
    for name, p in model.named_parameters():
        n = p.numel()
        out[name] = v[start:start + n].reshape(p.shape).to(device=p.device, dtype=p.dtype)
        start += n
    return out


def load(model: torch.nn.Module, vector) -> None:
    """Copy ``vector`` (P,) into the model's parameters in place (without recording gradients)."""
    tensors = unflat(model, vector)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(tensors[name])
