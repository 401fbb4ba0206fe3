"""The one divergence rule, shared by :func:`descentlab.run`, sweeps and the compiled kernel.

A run is stopped as diverged at the first iterate whose loss is not finite or exceeds
``FACTOR · max(1, |L[φ_0]|)``, or whose optimizer state holds a non-finite number. A non-finite
gradient, m or φ always reaches L[φ_{t+1}]; a buffer such as Adam's v (a square) can overflow on
its own, its step then being 0, so buffers are checked too.
"""

from __future__ import annotations

import math

import numpy as np

FACTOR = 1e10
"""L[φ_t] > FACTOR · max(1, |L[φ_0]|) counts as diverged."""


def bound(loss0: float) -> float:
    """The largest loss a run may reach before it counts as diverged."""
    return FACTOR * max(1.0, abs(float(loss0)))


def diverged_one(loss: float, limit: float, buffers=()) -> bool:
    """:func:`diverged` for one configuration (a run's step), without per-entry work when all is well:
    a buffer is inspected entry by entry only when its sum is not finite."""
    if not loss <= limit:  # also true for NaN
        return True
    for buf in buffers:
        if not math.isfinite(float(buf.sum())) and not np.isfinite(buf).all():
            return True
    return False


def diverged(loss, limit: float, buffers=()) -> np.ndarray:
    """True where the loss passed ``limit`` or is NaN, or a buffer holds a non-finite number.

    ``loss`` has shape ``(...)``; each buffer ``(..., P)`` or ``(...)`` (one row per configuration).
    """
    bad = ~(np.asarray(loss) <= limit)  # also true for NaN
    for buf in buffers:
        b = np.asarray(buf)
        finite = np.isfinite(b)
        if b.ndim > bad.ndim:
            finite = finite.reshape(*b.shape[:bad.ndim], -1).all(axis=-1)
        bad = bad | ~finite
    return bad
