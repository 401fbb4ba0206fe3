"""Shared look of descentlab's matplotlib figures: colour maps, per-optimizer colours, markers."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.patheffects as pe
import numpy as np
from matplotlib.colors import ListedColormap

SURFACE_CMAP = "viridis"   # perceptually uniform: the loss
ITERATE_CMAP = "plasma"    # perceptually uniform: iterate 0 → T, same colours in (c) and (d)
DATA_COLOR = "#f28e2b"     # the book's orange data points
MINIMUM_COLOR = "#ffffff"
DIVERGED_COLOR = "#c0392b"
HALO = [pe.withStroke(linewidth=2.5, foreground="white")]
LINE_HALO = [pe.Stroke(linewidth=2.6, foreground="white", alpha=0.8), pe.Normal()]

# One colour and marker per method, the same in every figure, readable on the viridis contours
# (each path also gets a white halo) and on white.
OPTIMIZER_STYLE = {
    "gd": ("#222222", "o"),
    "sgd": ("#8c564b", "v"),
    "momentum": ("#1f77b4", "s"),
    "nesterov": ("#d62728", "^"),
    "adam": ("#2ca02c", "D"),
}
_SPARE = [("#9467bd", "P"), ("#e377c2", "X"), ("#17becf", "h"), ("#bcbd22", "*"), ("#ff7f0e", "p")]


def path_styles(optimizers: list[str]) -> list[tuple[str, str]]:
    """A distinct (colour, marker) for each path: the method's own, or a spare when it repeats."""
    used: set[str] = set()
    spare = iter(_SPARE * (1 + len(optimizers) // len(_SPARE)))
    out = []
    for name in optimizers:
        color, marker = OPTIMIZER_STYLE.get(name, next(spare))
        if color in used:
            color, marker = next(spare)
        used.add(color)
        out.append((color, marker))
    return out


def iterate_cmap() -> ListedColormap:
    """The iterate colour map without its palest tenth, which vanishes on white."""
    return ListedColormap(mpl.colormaps[ITERATE_CMAP](np.linspace(0.0, 0.9, 256)))


def iterate_colors(n: int) -> np.ndarray:
    """RGBA colours of iterates 0..n−1, first (dark) to last (yellow)."""
    return iterate_cmap()(np.linspace(0.0, 1.0, n))


def math_name(name: str) -> str:
    """"φ0" → "$\\phi_{0}$" (mathtext), other names unchanged."""
    if name.startswith("φ") and name[1:].isdigit():
        return rf"$\phi_{{{name[1:]}}}$"
    return name


def gap_floor(min_loss: float | None) -> float:
    """The smallest L − L_min float64 resolves near L_min: gaps below it are drawn at it."""
    return 4.0 * float(np.finfo(np.float64).eps) * max(1.0, abs(min_loss or 0.0))
