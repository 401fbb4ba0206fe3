"""matplotlib renderers of descentlab scenes.

Figure-level: :func:`figure_6_1`, :func:`compare`, :func:`lookahead`, :func:`lookahead_trace`;
:func:`animate` writes a GIF or MP4. Axes-level panels (``panel(scene, ax=None) -> ax``):
:func:`data`, :func:`surface`, :func:`contour`, :func:`model_lines`, :func:`loss_curve`.
:func:`save` writes a figure atomically in the format its suffix names. Nothing here calls
``plt.show()``; figures are plain :class:`matplotlib.figure.Figure` objects.
"""

from __future__ import annotations

import importlib
from typing import Any

# Bound here, not lazily: a submodule named like its function (``save``, ``lookahead``) would, on
# its first import, be set as this package's attribute and hide the function for good.
from descentlab.plot.lookahead import lookahead, lookahead_trace
from descentlab.plot.save import FORMATS, save

_HOMES = {
    "animate": "animation",
    "compare": "figure", "figure_6_1": "figure",
    **dict.fromkeys(("contour", "contour_background", "data", "final_models", "loss_curve", "model_lines",
                     "surface", "surface_background"), "panels"),
    "rates": "theory_plots", "sweep_map": "theory_plots", "tuning": "theory_plots",
}
"""The other public names → the submodule defining each, imported on first access: a figure
command pays only for the renderers it draws with (no GIF/MP4 writer for a PNG, no sweep or
theory code for Figure 6.1)."""

__all__ = [
    "FORMATS", "animate", "compare", "contour", "contour_background", "data", "figure_6_1", "final_models",
    "lookahead", "lookahead_trace", "loss_curve", "model_lines", "rates", "save", "surface",
    "surface_background", "sweep_map", "tuning",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'descentlab.plot' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"descentlab.plot.{home}"), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
