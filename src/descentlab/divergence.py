"""The one divergence rule, shared by :func:`descentlab.run`, sweeps and the compiled kernel, and
how a run ended.

A run is stopped at the first iterate φ_t whose loss leaves the band

    L[φ_0] − FACTOR · max(1, |L[φ_0]|)  ≤  L[φ_t]  ≤  FACTOR · max(1, |L[φ_0]|)

or is not finite, or whose optimizer state holds a non-finite number. Above the band (or NaN,
+∞, a non-finite buffer) the run **diverged**; below it (or −∞) the loss is **unbounded below**
along the run (``x² − y²`` from near its saddle: the loss heads for −∞, which no minimum stops).
A non-finite gradient, m or φ always reaches L[φ_{t+1}]; a buffer such as Adam's v (a square)
can overflow on its own, its step then being 0, so buffers are checked too.

A run that went all its steps may still not have settled: :func:`period_two` tells a run that
ends bouncing between two points (φ_T ≈ φ_{T−2} ≠ φ_{T−1}, the loss no longer decreasing), as
gradient descent does across a valley when α sits at its stability limit 2/λ.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

FACTOR = 1e10
"""L[φ_t] > FACTOR · max(1, |L[φ_0]|) counts as diverged, L[φ_t] < L[φ_0] − FACTOR · max(1, |L[φ_0]|)
as unbounded below."""

COMPLETED = "completed"
DIVERGED = "diverged"
UNBOUNDED = "unbounded below"
STOP_REASONS = (COMPLETED, DIVERGED, UNBOUNDED)
"""Why a run stopped (:attr:`descentlab.trajectory.Trajectory.stop_reason`): it went all its steps,
its loss (or state) blew up, or its loss fell without bound."""


class Limits(NamedTuple):
    """The band a run's loss must stay in: ``low ≤ L ≤ high``."""

    low: float
    high: float


def bound(loss0: float) -> float:
    """The largest loss a run may reach before it counts as diverged."""
    return FACTOR * max(1.0, abs(float(loss0)))


def lower_bound(loss0: float) -> float:
    """The smallest loss a run may reach before its loss counts as unbounded below."""
    return float(loss0) - FACTOR * max(1.0, abs(float(loss0)))


def limits(loss0: float) -> Limits:
    """Both ends of the band for a run that starts at loss ``loss0``."""
    return Limits(lower_bound(loss0), bound(loss0))


def _band(limit: Limits | float) -> Limits:
    """A :class:`Limits`; a single number is an upper bound only (no lower one)."""
    return limit if isinstance(limit, Limits) else Limits(-math.inf, float(limit))


def reason_one(loss: float, limit: Limits | float, buffers=()) -> str | None:
    """Why one configuration stops here: :data:`DIVERGED`, :data:`UNBOUNDED`, or None to go on.

    A buffer is inspected entry by entry only when its sum is not finite (no per-entry work when
    all is well)."""
    low, high = _band(limit)
    if loss < low:  # −∞ too
        return UNBOUNDED
    if not loss <= high:  # also true for NaN
        return DIVERGED
    return None if finite_one(buffers) else DIVERGED


def finite_one(buffers) -> bool:
    """Whether every entry of one configuration's ``buffers`` is finite: a sum per buffer (a plain
    Python sum for a few entries, where numpy's call would cost more than the adding), entry by entry
    only when a sum is not finite (a finite buffer whose sum overflows is still finite)."""
    for buf in buffers:
        total = sum(buf.tolist()) if buf.ndim == 1 and buf.size <= SMALL else float(buf.sum())
        if not math.isfinite(total) and not np.isfinite(buf).all():
            return False
    return True


SMALL = 16
"""Buffers of at most this many entries are summed in Python (:func:`finite_one`)."""


def diverged_one(loss: float, limit: Limits | float, buffers=()) -> bool:
    """:func:`diverged` for one configuration (a run's step): True when it must stop."""
    return reason_one(loss, limit, buffers) is not None


def diverged(loss, limit: Limits | float, buffers=()) -> np.ndarray:
    """True where the loss left the band ``limit`` (a :class:`Limits`, or an upper bound alone) or
    is NaN, or a buffer holds a non-finite number.

    ``loss`` has shape ``(...)``; each buffer ``(..., P)`` or ``(...)`` (one row per configuration).
    """
    low, high = _band(limit)
    loss = np.asarray(loss)
    bad = ~(loss <= high) | (loss < low)  # the first is also true for NaN
    for buf in buffers:
        b = np.asarray(buf)
        finite = np.isfinite(b)
        if b.ndim > bad.ndim:
            finite = finite.reshape(*b.shape[:bad.ndim], -1).all(axis=-1)
        bad = bad | ~finite
    return bad


def period_two(params, losses, rtol: float = 1e-6) -> bool:
    """True when a run ends in a period-2 cycle: φ_T ≈ φ_{T−2} ≠ φ_{T−1} and L no longer decreases.

    "≈": ‖φ_T − φ_{T−2}‖ ≤ ``rtol``·‖φ_T − φ_{T−1}‖ (plus rounding), "≠": the jump ‖φ_T − φ_{T−1}‖
    is more than rounding of φ_T; "no longer decreases": L[φ_T] ≥ L[φ_{T−2}] up to rounding. A
    run still closing in on a minimum while it oscillates (|ratio| < 1 per step) shrinks its jump
    by a factor each step and lowers its loss, so it does not count; a run that has converged
    makes no jump at all.
    """
    p = np.asarray(params, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if p.ndim != 2 or len(p) < 3 or len(loss) != len(p) or not np.isfinite(p[-3:]).all():
        return False
    eps = np.finfo(np.float64).eps
    scale = max(1.0, float(np.abs(p[-3:]).max()))
    jump = float(np.linalg.norm(p[-1] - p[-2]))
    back = float(np.linalg.norm(p[-1] - p[-3]))
    if jump <= 1e3 * eps * scale:  # no jump: settled (or stuck) at one point
        return False
    if back > rtol * jump + 16 * eps * scale:
        return False
    l_now, l_before = float(loss[-1]), float(loss[-3])
    return bool(l_now >= l_before - 1e-9 * max(abs(l_now), abs(l_before), eps))


def describe(stop_reason: str | None, stopped_at: int | None, cycle: bool = False) -> str:
    """How a run ended, in words: ``"ok"``, ``"diverged at step 7"``, ``"unbounded below at step 12"``
    or ``"period-2 cycle"`` (a run that went all its steps bouncing between two points)."""
    if stopped_at is not None:
        return f"{stop_reason or DIVERGED} at step {stopped_at}"
    return "period-2 cycle (φ_T ≈ φ_{T−2} ≠ φ_{T−1})" if cycle else "ok"
