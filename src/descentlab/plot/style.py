"""Shared look of descentlab's matplotlib figures: colour maps and marker styles."""

from __future__ import annotations

import matplotlib.patheffects as pe

SURFACE_CMAP = "viridis"   # perceptually uniform: the loss
ITERATE_CMAP = "plasma"    # perceptually uniform: iterate 0 → T, same colours in (c) and (d)
DATA_COLOR = "#f28e2b"     # the book's orange data points
MINIMUM_COLOR = "#ffffff"
HALO = [pe.withStroke(linewidth=2.5, foreground="white")]
DIVERGED_COLOR = "#c0392b"


def math_name(name: str) -> str:
    """"φ0" → "$\\phi_0$" (mathtext), other names unchanged."""
    if name.startswith("φ") and name[1:].isdigit():
        return rf"$\phi_{{{name[1:]}}}$"
    return name
