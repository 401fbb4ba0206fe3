"""The renderer-neutral look of descentlab: colours and markers, shared by matplotlib and plotly.

The colour maps are here as data (matplotlib's 256-entry viridis and plasma tables, as hex), with
matplotlib's own lookup (:func:`sample`), so a renderer without matplotlib (plotly) colours the loss
and the iterates exactly as the matplotlib figures do (``tests/test_web_figures.py`` checks the
tables against matplotlib's).

Colours are hex strings and markers matplotlib's one-letter codes (the plotly renderer maps them
to its symbol names), so both renderers draw one method the same way. A method's colour and
marker are declared where it is registered (:func:`descentlab.optimizers.register`); methods
without one, and repeats of one method, get spare colours in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SURFACE_CMAP = "viridis"   # perceptually uniform: the loss
ITERATE_CMAP = "plasma"    # perceptually uniform: iterate 0 → T, same colours in (c) and (d)
DATA_COLOR = "#f28e2b"     # the book's orange data points
MINIMUM_COLOR = "#ffffff"
DIVERGED_COLOR = "#c0392b"
MOMENTUM_COLOR = "#6a3d9a"    # the look-ahead figures (eq. 6.11, 6.12): the momentum step −αβ·m_t
GRADIENT_COLOR = "#e31a1c"    # … and the gradient step −α(1−β)·g
GHOST_COLOR = "#555555"       # … and where the other rule would have gone
DENSITY_ABOVE = 2000       # data with more rows are drawn as a density (2-D histogram), not a marker each
DENSITY_COLORS = ("#fde9d0", DATA_COLOR, "#6b2a04")  # few points → many: pale, the data's orange, brown

SPARE = (("#9467bd", "P"), ("#e377c2", "X"), ("#17becf", "h"), ("#bcbd22", "*"), ("#ff7f0e", "p"),
         ("#7f7f7f", "d"), ("#393b79", "H"), ("#8c6d31", "8"), ("#843c39", "<"), ("#7b4173", ">"),
         ("#5254a3", "o"), ("#637939", "s"))
"""Colours (readable on the viridis contours with a white halo, and on white) for methods that
declare none and for a method shown more than once."""


def path_styles(methods: Sequence[str]) -> list[tuple[str, str]]:
    """A distinct (colour, marker) for each path: the method's declared one, else a spare.

    Never runs out: once every spare colour is taken, colours repeat with markers they have not had.
    """
    from descentlab import optimizers

    known = optimizers.methods()
    declared = {m.color for m in known.values() if m.color}
    spares = [s for s in SPARE if s[0] not in declared] or list(SPARE)
    markers = "osD^vPXh*pd<>H8"
    fallback = iter([*spares, *((c, mk) for r in range(1, len(markers)) for c, own in spares
                                for mk in markers[r:] + markers[:r] if mk != own)])
    colours: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    out = []
    for name in methods:
        method = known.get(name)
        style = (method.color, method.marker or "o") if method is not None and method.color else None
        while style is None or style in pairs or (style[0] in colours and len(colours) < len(spares)):
            k = len(out)
            style = next(fallback, None) or (spares[k % len(spares)][0], markers[k % len(markers)])
            if style in pairs and len(pairs) >= len(spares) * len(markers):
                break  # more paths than colour × marker pairs: repeat rather than loop for ever
        colours.add(style[0])
        pairs.add(style)
        out.append(style)
    return out


VIRIDIS = (
    "#440154", "#440256", "#450457", "#450559", "#46075a", "#46085c", "#460a5d", "#460b5e",
    "#470d60", "#470e61", "#471063", "#471164", "#471365", "#481467", "#481668", "#481769",
    "#48186a", "#481a6c", "#481b6d", "#481c6e", "#481d6f", "#481f70", "#482071", "#482173",
    "#482374", "#482475", "#482576", "#482677", "#482878", "#482979", "#472a7a", "#472c7a",
    "#472d7b", "#472e7c", "#472f7d", "#46307e", "#46327e", "#46337f", "#463480", "#453581",
    "#453781", "#453882", "#443983", "#443a83", "#443b84", "#433d84", "#433e85", "#423f85",
    "#424086", "#424186", "#414287", "#414487", "#404588", "#404688", "#3f4788", "#3f4889",
    "#3e4989", "#3e4a89", "#3e4c8a", "#3d4d8a", "#3d4e8a", "#3c4f8a", "#3c508b", "#3b518b",
    "#3b528b", "#3a538b", "#3a548c", "#39558c", "#39568c", "#38588c", "#38598c", "#375a8c",
    "#375b8d", "#365c8d", "#365d8d", "#355e8d", "#355f8d", "#34608d", "#34618d", "#33628d",
    "#33638d", "#32648e", "#32658e", "#31668e", "#31678e", "#31688e", "#30698e", "#306a8e",
    "#2f6b8e", "#2f6c8e", "#2e6d8e", "#2e6e8e", "#2e6f8e", "#2d708e", "#2d718e", "#2c718e",
    "#2c728e", "#2c738e", "#2b748e", "#2b758e", "#2a768e", "#2a778e", "#2a788e", "#29798e",
    "#297a8e", "#297b8e", "#287c8e", "#287d8e", "#277e8e", "#277f8e", "#27808e", "#26818e",
    "#26828e", "#26828e", "#25838e", "#25848e", "#25858e", "#24868e", "#24878e", "#23888e",
    "#23898e", "#238a8d", "#228b8d", "#228c8d", "#228d8d", "#218e8d", "#218f8d", "#21908d",
    "#21918c", "#20928c", "#20928c", "#20938c", "#1f948c", "#1f958b", "#1f968b", "#1f978b",
    "#1f988b", "#1f998a", "#1f9a8a", "#1e9b8a", "#1e9c89", "#1e9d89", "#1f9e89", "#1f9f88",
    "#1fa088", "#1fa188", "#1fa187", "#1fa287", "#20a386", "#20a486", "#21a585", "#21a685",
    "#22a785", "#22a884", "#23a983", "#24aa83", "#25ab82", "#25ac82", "#26ad81", "#27ad81",
    "#28ae80", "#29af7f", "#2ab07f", "#2cb17e", "#2db27d", "#2eb37c", "#2fb47c", "#31b57b",
    "#32b67a", "#34b679", "#35b779", "#37b878", "#38b977", "#3aba76", "#3bbb75", "#3dbc74",
    "#3fbc73", "#40bd72", "#42be71", "#44bf70", "#46c06f", "#48c16e", "#4ac16d", "#4cc26c",
    "#4ec36b", "#50c46a", "#52c569", "#54c568", "#56c667", "#58c765", "#5ac864", "#5cc863",
    "#5ec962", "#60ca60", "#63cb5f", "#65cb5e", "#67cc5c", "#69cd5b", "#6ccd5a", "#6ece58",
    "#70cf57", "#73d056", "#75d054", "#77d153", "#7ad151", "#7cd250", "#7fd34e", "#81d34d",
    "#84d44b", "#86d549", "#89d548", "#8bd646", "#8ed645", "#90d743", "#93d741", "#95d840",
    "#98d83e", "#9bd93c", "#9dd93b", "#a0da39", "#a2da37", "#a5db36", "#a8db34", "#aadc32",
    "#addc30", "#b0dd2f", "#b2dd2d", "#b5de2b", "#b8de29", "#bade28", "#bddf26", "#c0df25",
    "#c2df23", "#c5e021", "#c8e020", "#cae11f", "#cde11d", "#d0e11c", "#d2e21b", "#d5e21a",
    "#d8e219", "#dae319", "#dde318", "#dfe318", "#e2e418", "#e5e419", "#e7e419", "#eae51a",
    "#ece51b", "#efe51c", "#f1e51d", "#f4e61e", "#f6e620", "#f8e621", "#fbe723", "#fde725",
)
PLASMA = (
    "#0d0887", "#100788", "#130789", "#16078a", "#19068c", "#1b068d", "#1d068e", "#20068f",
    "#220690", "#240691", "#260591", "#280592", "#2a0593", "#2c0594", "#2e0595", "#2f0596",
    "#310597", "#330597", "#350498", "#370499", "#38049a", "#3a049a", "#3c049b", "#3e049c",
    "#3f049c", "#41049d", "#43039e", "#44039e", "#46039f", "#48039f", "#4903a0", "#4b03a1",
    "#4c02a1", "#4e02a2", "#5002a2", "#5102a3", "#5302a3", "#5502a4", "#5601a4", "#5801a4",
    "#5901a5", "#5b01a5", "#5c01a6", "#5e01a6", "#6001a6", "#6100a7", "#6300a7", "#6400a7",
    "#6600a7", "#6700a8", "#6900a8", "#6a00a8", "#6c00a8", "#6e00a8", "#6f00a8", "#7100a8",
    "#7201a8", "#7401a8", "#7501a8", "#7701a8", "#7801a8", "#7a02a8", "#7b02a8", "#7d03a8",
    "#7e03a8", "#8004a8", "#8104a7", "#8305a7", "#8405a7", "#8606a6", "#8707a6", "#8808a6",
    "#8a09a5", "#8b0aa5", "#8d0ba5", "#8e0ca4", "#8f0da4", "#910ea3", "#920fa3", "#9410a2",
    "#9511a1", "#9613a1", "#9814a0", "#99159f", "#9a169f", "#9c179e", "#9d189d", "#9e199d",
    "#a01a9c", "#a11b9b", "#a21d9a", "#a31e9a", "#a51f99", "#a62098", "#a72197", "#a82296",
    "#aa2395", "#ab2494", "#ac2694", "#ad2793", "#ae2892", "#b02991", "#b12a90", "#b22b8f",
    "#b32c8e", "#b42e8d", "#b52f8c", "#b6308b", "#b7318a", "#b83289", "#ba3388", "#bb3488",
    "#bc3587", "#bd3786", "#be3885", "#bf3984", "#c03a83", "#c13b82", "#c23c81", "#c33d80",
    "#c43e7f", "#c5407e", "#c6417d", "#c7427c", "#c8437b", "#c9447a", "#ca457a", "#cb4679",
    "#cc4778", "#cc4977", "#cd4a76", "#ce4b75", "#cf4c74", "#d04d73", "#d14e72", "#d24f71",
    "#d35171", "#d45270", "#d5536f", "#d5546e", "#d6556d", "#d7566c", "#d8576b", "#d9586a",
    "#da5a6a", "#da5b69", "#db5c68", "#dc5d67", "#dd5e66", "#de5f65", "#de6164", "#df6263",
    "#e06363", "#e16462", "#e26561", "#e26660", "#e3685f", "#e4695e", "#e56a5d", "#e56b5d",
    "#e66c5c", "#e76e5b", "#e76f5a", "#e87059", "#e97158", "#e97257", "#ea7457", "#eb7556",
    "#eb7655", "#ec7754", "#ed7953", "#ed7a52", "#ee7b51", "#ef7c51", "#ef7e50", "#f07f4f",
    "#f0804e", "#f1814d", "#f1834c", "#f2844b", "#f3854b", "#f3874a", "#f48849", "#f48948",
    "#f58b47", "#f58c46", "#f68d45", "#f68f44", "#f79044", "#f79143", "#f79342", "#f89441",
    "#f89540", "#f9973f", "#f9983e", "#f99a3e", "#fa9b3d", "#fa9c3c", "#fa9e3b", "#fb9f3a",
    "#fba139", "#fba238", "#fca338", "#fca537", "#fca636", "#fca835", "#fca934", "#fdab33",
    "#fdac33", "#fdae32", "#fdaf31", "#fdb130", "#fdb22f", "#fdb42f", "#fdb52e", "#feb72d",
    "#feb82c", "#feba2c", "#febb2b", "#febd2a", "#febe2a", "#fec029", "#fdc229", "#fdc328",
    "#fdc527", "#fdc627", "#fdc827", "#fdca26", "#fdcb26", "#fccd25", "#fcce25", "#fcd025",
    "#fcd225", "#fbd324", "#fbd524", "#fbd724", "#fad824", "#fada24", "#f9dc24", "#f9dd25",
    "#f8df25", "#f8e125", "#f7e225", "#f7e425", "#f6e626", "#f6e826", "#f5e926", "#f5eb27",
    "#f4ed27", "#f3ee27", "#f3f027", "#f2f227", "#f1f426", "#f1f525", "#f0f724", "#f0f921",
)

COLORMAPS = {"viridis": VIRIDIS, "plasma": PLASMA}
ITERATE_TOP = 0.9
"""The iterate colour map is ITERATE_CMAP on [0, ITERATE_TOP]: its palest tenth vanishes on white."""


def lookup(fraction: float, n: int = 256) -> int:
    """The row of an ``n``-entry colour table that matplotlib's ``Colormap(fraction)`` takes:
    ``int(fraction·n)``, 1.0 in the last row, below 0 the first, above 1 the last."""
    x = float(fraction)
    if math.isnan(x):
        raise ValueError("a colour map position must be a number, got nan")
    x *= n
    if x == n:
        return n - 1
    return min(max(int(x), 0), n - 1) if x >= 0 else 0


def sample(name: str, fraction: float) -> str:
    """The hex colour of colour map ``name`` (viridis or plasma) at ``fraction`` in [0, 1]."""
    table = COLORMAPS[name]
    return table[lookup(fraction, len(table))]


def surface_color(fraction: float) -> str:
    """The loss's colour (:data:`SURFACE_CMAP`) at ``fraction`` of its range."""
    return sample(SURFACE_CMAP, fraction)


_ITERATE_TABLE = tuple(sample(ITERATE_CMAP, v) for v in np.linspace(0.0, ITERATE_TOP, 256))


def iterate_color(fraction: float) -> str:
    """The colour of an iterate at ``fraction`` of its run, first (dark) to last (yellow)."""
    return _ITERATE_TABLE[lookup(fraction, len(_ITERATE_TABLE))]


def iterate_colors(n: int) -> list[str]:
    """Hex colours of iterates 0..n−1, first (dark) to last (yellow)."""
    return [iterate_color(float(f)) for f in np.linspace(0.0, 1.0, n)]
