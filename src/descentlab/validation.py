"""Checks of user-supplied values, each raising an error that names the value and what is allowed.

Every public entry point (optimizers, problems, run, CLI, and later the web app) goes through
these, so a bad value is reported the same way wherever it comes from: an
:class:`~descentlab.errors.InputError` (a ``ValueError``) for a value out of range, an
:class:`~descentlab.errors.InputTypeError` (a ``TypeError``) for a value of the wrong type.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from descentlab.errors import InputError, InputTypeError


def real(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise InputTypeError (a TypeError) if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise InputTypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    return float(value)


def between(name: str, value: object, low: float, high: float) -> float:
    """A real number in [low, high] (NaN is not)."""
    v = real(name, value)
    if not low <= v <= high:
        raise InputError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return v


def reals(name: str, value: np.ndarray) -> np.ndarray:
    """An array of hyper-parameters (one per configuration of a sweep) as float64."""
    if value.dtype == bool or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise InputTypeError(f"{name} must be real numbers, got an array of {value.dtype}")
    return value.astype(np.float64)


def _first_bad(value: np.ndarray, ok: np.ndarray) -> float:
    return float(value[~ok].flat[0])


def positive(name: str, value: object) -> float | np.ndarray:
    """A finite number > 0 (learning rates α, ε), or an array of them (checked element-wise)."""
    if isinstance(value, np.ndarray):
        v = reals(name, value)
        ok = np.isfinite(v) & (v > 0)
        if not ok.all():
            raise InputError(f"{name} must be finite and > 0, got {_first_bad(v, ok)!r}")
        return v
    v = real(name, value)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} must be finite and > 0, got {value!r}")
    return v


def unit_interval(name: str, value: object) -> float | np.ndarray:
    """A number in [0, 1) (momentum β, Adam's γ), or an array of them (checked element-wise)."""
    if isinstance(value, np.ndarray):
        v = reals(name, value)
        ok = (v >= 0.0) & (v < 1.0)
        if not ok.all():
            raise InputError(f"{name} must be in [0, 1), got {_first_bad(v, ok)!r}")
        return v
    v = real(name, value)
    if not (0.0 <= v < 1.0):
        raise InputError(f"{name} must be in [0, 1), got {value!r}")
    return v


def integer(name: str, value: object, low: int, high: int | None = None) -> int:
    """An integer in [low, high] (high=None: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InputTypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if v < low or (high is not None and v > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise InputError(f"{name} must be an integer {allowed}, got {v}")
    return v


def point(name: str, value: object, n_params: int) -> np.ndarray:
    """A finite float64 vector of length ``n_params`` (a start point φ_0)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name} must be a sequence of {n_params} numbers, got {value!r}") from None
    if arr.shape != (n_params,):
        got = f"{arr.size} numbers" if arr.size > 8 else repr(value)
        raise InputError(f"{name} must have {n_params} numbers (one per parameter), got {got}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {value!r}")
    return arr
