"""matplotlib renderers of descentlab scenes.

Figure-level: :func:`figure_6_1`, :func:`compare`, :func:`lookahead`, :func:`lookahead_trace`;
:func:`animate` writes a GIF or MP4. Axes-level panels (``panel(scene, ax=None) -> ax``):
:func:`data`, :func:`surface`, :func:`contour`, :func:`model_lines`, :func:`loss_curve`.
:func:`save` writes a figure atomically in the format its suffix names. Nothing here calls
``plt.show()``; figures are plain :class:`matplotlib.figure.Figure` objects.
"""

from descentlab.plot.animation import animate
from descentlab.plot.figure import compare, figure_6_1
from descentlab.plot.lookahead import lookahead, lookahead_trace
from descentlab.plot.panels import (
    contour,
    contour_background,
    data,
    final_models,
    loss_curve,
    model_lines,
    surface,
    surface_background,
)
from descentlab.plot.save import FORMATS, save
from descentlab.plot.theory_plots import rates, sweep_map, tuning

__all__ = [
    "FORMATS", "animate", "compare", "contour", "contour_background", "data", "figure_6_1", "final_models",
    "lookahead", "lookahead_trace", "loss_curve", "model_lines", "rates", "save", "surface",
    "surface_background", "sweep_map", "tuning",
]
