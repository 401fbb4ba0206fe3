"""Hypothesis draws shared by the tests against PyTorch: uniform quantiles mapped onto ranges."""

from __future__ import annotations

from hypothesis import strategies as st

unit = st.floats(0.0, 1.0)
eps_exponents = st.floats(-10.0, -6.0)   # ε = 10**e


def log_uniform(u: float, lo: float, hi: float) -> float:
    """The value at quantile ``u`` of a log-uniform range [lo, hi]."""
    return float(lo * (hi / lo) ** u)


def in_box(u, box) -> list[float]:
    """The point at quantiles ``u`` of a box ((lo, hi), …), one per coordinate."""
    return [lo + ui * (hi - lo) for ui, (lo, hi) in zip(u, box, strict=True)]
