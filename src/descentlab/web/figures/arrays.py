"""Numeric arrays in plotly figure dicts: binary typed-array specs, and back.

Plotly's typed-array spec (``{"dtype": "f8", "bdata": …}``) is drawn by plotly.js ≥ 2.28, which
Dash ≥ 2.13 takes from plotly.py, and accepted by ``go.Figure`` from plotly.py 6: serialising a
150 × 150 surface then costs a base64 encoding rather than 22,500 float reprs.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np


def array(a: np.ndarray | Sequence[float], binary: bool, single: bool = False) -> dict | list:
    """A numeric array as a plotly typed-array spec (or a list; non-finite values become None).

    ``single``: float32 (for the loss grids, drawn only; iterates keep every bit of float64)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return []
    if binary:
        kind = "f4" if single else "f8"
        data = np.ascontiguousarray(a, dtype="<f4" if single else "<f8")
        spec = {"dtype": kind, "bdata": base64.b64encode(data).decode("ascii")}
        if a.ndim > 1:
            spec["shape"] = ", ".join(str(n) for n in a.shape)
        return spec
    if single:
        a = a.astype(np.float32).astype(np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


_DTYPES = {"f8": "<f8", "f4": "<f4", "i1": "i1", "u1": "u1", "i2": "<i2", "u2": "<u2", "i4": "<i4",
           "u4": "<u4"}


def decode(value: object) -> np.ndarray:
    """A figure's numeric array as numpy: a typed-array spec decoded, a list converted (None → nan)."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_DTYPES[value["dtype"]])
        if "shape" in value:
            a = a.reshape([int(n) for n in str(value["shape"]).split(",")])
        return a.astype(np.float64)
    return np.asarray(value if value is not None else [], dtype=np.float64)

