"""The renderer-neutral look of descentlab: colours and markers, shared by matplotlib and plotly.

Colours are hex strings and markers matplotlib's one-letter codes (the plotly renderer maps them
to its symbol names), so both renderers draw one method the same way. A method's colour and
marker are declared where it is registered (:func:`descentlab.optimizers.register`); methods
without one, and repeats of one method, get spare colours in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence

SURFACE_CMAP = "viridis"   # perceptually uniform: the loss
ITERATE_CMAP = "plasma"    # perceptually uniform: iterate 0 → T, same colours in (c) and (d)
DATA_COLOR = "#f28e2b"     # the book's orange data points
MINIMUM_COLOR = "#ffffff"
DIVERGED_COLOR = "#c0392b"

SPARE = (("#9467bd", "P"), ("#e377c2", "X"), ("#17becf", "h"), ("#bcbd22", "*"), ("#ff7f0e", "p"),
         ("#7f7f7f", "d"), ("#393b79", "H"), ("#8c6d31", "8"), ("#843c39", "<"), ("#7b4173", ">"),
         ("#5254a3", "o"), ("#637939", "s"))
"""Colours (readable on the viridis contours with a white halo, and on white) for methods that
declare none and for a method shown more than once."""


def path_styles(methods: Sequence[str]) -> list[tuple[str, str]]:
    """A distinct (colour, marker) for each path: the method's declared one, else a spare.

    Never runs out: past the spares, colours repeat with a different marker.
    """
    from descentlab import optimizers

    known = optimizers.methods()
    declared = {(m.color, m.marker or "o") for m in known.values() if m.color}
    used: set[str] = set()
    spares = [s for s in SPARE if s[0] not in {c for c, _ in declared}] or list(SPARE)
    k = 0
    out = []
    for name in methods:
        method = known.get(name)
        style = (method.color, method.marker or "o") if method is not None and method.color else None
        while style is None or style[0] in used:
            if k < len(spares):
                style = spares[k]
            else:  # every colour taken: reuse one with a marker it has not had
                color, _ = spares[k % len(spares)]
                style = (color, "osD^vPXh*p"[(k // len(spares)) % 10])
                if (color + style[1]) in used:
                    k += 1
                    continue
                used.add(color + style[1])
                k += 1
                break
            k += 1
        used.add(style[0])
        out.append(style)
    return out
