"""Plotly figures of a :class:`~descentlab.scene.Scene`, built as plain dicts.

    sc = descentlab.scene.build(problem, trajectories)
    figs = views(sc, selected=20)      # {"data"?, "surface", "contour", "loss"}: one figure dict each
    fig = combined(sc)                 # every view in one figure, with an iteration slider

The dicts are what ``plotly.graph_objects.Figure(d).to_dict()`` would hold, built without
plotly's validation (which costs more than everything else here; ``go.Figure(d)`` accepts them).
Numeric arrays are plotly's binary typed-array specs (:mod:`~descentlab.web.figures.arrays`;
:func:`decode` turns one back into a numpy array, and ``binary=False`` gives plain lists instead).
Iterates, losses and gradients keep all of float64; only the loss grids are sent as float32.

What is drawn matches :mod:`descentlab.plot`, from the same renderer-neutral values
(:mod:`descentlab.scene`, :mod:`descentlab.theme`) and without importing matplotlib: viridis for
the loss (contour bands at exactly the scene's levels, log-spaced for steep surfaces), one colour
and marker per optimizer (:func:`descentlab.theme.path_styles`), iterates coloured first (dark)
to last (yellow) when there is a single path, known minima starred. Hovering any iterate shows its
step t, φ_t, the loss and the gradient that step t used. Every call builds new dicts, sharing
nothing mutable with the scene or with other calls, so callers may edit what they get.

One module per job: :mod:`.look` (what every view shares), :mod:`.contour`, :mod:`.surface`,
:mod:`.loss` and :mod:`.data` (one view each), :mod:`.separate` (:func:`views`, the explorer's)
and :mod:`.slider` (:func:`combined`, the HTML page's).
"""

from __future__ import annotations

from descentlab.web.figures.arrays import decode
from descentlab.web.figures.contour import LOOKAHEAD_NAMES, lookahead_geometry
from descentlab.web.figures.separate import views
from descentlab.web.figures.slider import MAX_FRAMES, VIEWS, combined, frame_steps

__all__ = ["LOOKAHEAD_NAMES", "MAX_FRAMES", "VIEWS", "combined", "decode", "frame_steps",
           "lookahead_geometry", "views"]
