"""Shared look of descentlab's matplotlib figures: the neutral theme, matplotlib's colour maps, halos."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.patheffects as pe
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure

from descentlab.scene import gap_floor  # noqa: F401  (re-exported)
from descentlab.theme import (  # noqa: F401  (re-exported: the matplotlib figures' palette)
    DATA_COLOR,
    DENSITY_ABOVE,
    DENSITY_COLORS,
    DIVERGED_COLOR,
    ITERATE_CMAP,
    MINIMUM_COLOR,
    SURFACE_CMAP,
    path_styles,
)

HALO = [pe.withStroke(linewidth=2.5, foreground="white")]
LINE_HALO = [pe.Stroke(linewidth=2.6, foreground="white", alpha=0.8), pe.Normal()]
STAR_HALO = [pe.Stroke(linewidth=3.0, foreground="white"), pe.Normal()]
"""A white rim around the black-edged minimum star, so it stands out on dark paths too."""

SAVE_DPI = 130
"""Pixels per inch of a saved figure (:func:`descentlab.plot.save`)."""


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A constrained-layout Figure at :data:`SAVE_DPI` on its own Agg canvas: laying it out measures
    every text with the renderer that will draw it, at the dpi it is saved with, so the draw finds
    those measurements cached instead of making them again."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize, dpi=SAVE_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def iterate_cmap() -> ListedColormap:
    """The iterate colour map without its palest tenth, which vanishes on white."""
    return ListedColormap(mpl.colormaps[ITERATE_CMAP](np.linspace(0.0, 0.9, 256)))


def density_cmap() -> LinearSegmentedColormap:
    """Data drawn as a density: pale to the data's orange to dark brown."""
    return LinearSegmentedColormap.from_list("data density", list(DENSITY_COLORS))


def iterate_colors(n: int) -> np.ndarray:
    """RGBA colours of iterates 0..n−1, first (dark) to last (yellow)."""
    return iterate_cmap()(np.linspace(0.0, 1.0, n))


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def math_name(name: str) -> str:
    """"φ0" → "φ₀" (Unicode subscripts: plain text, no mathtext to parse — building matplotlib's
    mathtext parser costs a cold ``descentlab figure`` ≈ 0.1 s), other names unchanged."""
    if name.startswith("φ") and name[1:].isdigit():
        return "φ" + name[1:].translate(SUBSCRIPTS)
    return name
