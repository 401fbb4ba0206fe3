"""One self-contained HTML file of a run or a comparison: every view with an iteration slider.

    write_html(problem, trajectories, "explore.html", title="line fit: gd vs nesterov")

plotly.js is embedded in the file (no CDN, no network, no server): it opens offline in any browser,
and the slider moves through precomputed frames (nothing is re-run in JavaScript). With
``grid=True`` (two-parameter problems) the page also embeds, per optimizer, a grid of runs over its
α and β computed in advance (:mod:`descentlab.web.offline`), and α/β sliders that swap them in.
The whole page stays within :data:`descentlab.web.offline.LIMIT_BYTES`. The file is written
atomically: an existing file is replaced only once the new one is complete.
"""

from __future__ import annotations

import html
import pathlib
from collections.abc import Callable, Sequence

import plotly.io as pio

from descentlab import scene as scene_mod
from descentlab.errors import InputError
from descentlab.files import write_text_atomic
from descentlab.problems.base import Problem
from descentlab.trajectory import Trajectory
from descentlab.web import figures, offline


def default_title(problem: Problem, trajectories: Sequence[Trajectory], full_params: Sequence | None = None
                  ) -> str:
    """``"line-fit: 4 optimizers from (1.6, -0.5), 500 steps"`` (one run: its label and final loss);
    the start in all its coordinates (``full_params`` has them for a slice)."""
    trajs = list(trajectories)
    steps = max((t.steps for t in trajs), default=0)
    first = trajs[0].params if trajs and full_params is None else (full_params[0] if trajs else None)
    start = ", ".join(f"{v:g}" for v in first[0]) if trajs else ""
    if len(trajs) == 1:
        t = trajs[0]
        tail = t.status if t.diverged_at is not None else f"final L = {t.losses[-1]:.4g}"
        return f"{problem.name}: {t.label} from ({start}), {t.steps} steps, {tail}"
    return f"{problem.name}: {len(trajs)} optimizers from ({start}), {steps} steps"


def to_html(fig: dict, title: str) -> str:
    """The full HTML page of a figure dict, plotly.js inline."""
    height = fig.get("layout", {}).get("height", 900)
    page = pio.to_html(
        fig, include_plotlyjs=True, include_mathjax=False, full_html=True, auto_play=False, validate=False,
        default_width="100%", default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True, "scrollZoom": False,
                "toImageButtonOptions": {"format": "png", "filename": "descentlab", "scale": 2}})
    head = (f"<title>{html.escape(title)}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<style>body{margin:0 12px;font-family:Helvetica,Arial,sans-serif}</style>\n")
    return page.replace("<head>", "<head>\n" + head, 1)


def write_html(problem: Problem, trajectories: Trajectory | Sequence[Trajectory], path: str | pathlib.Path,
               *, title: str | None = None, resolution: int = 150, log_levels: bool | None = None,
               bounds: scene_mod.Bounds | None = None, full_params: Sequence | None = None,
               xlim: Sequence[float] | None = None, ylim: Sequence[float] | None = None,
               aspect: str | None = None,
               max_frames: int = figures.MAX_FRAMES, grid: bool | None = False, steps: int | None = None,
               names: Sequence[str] | None = None, source: Problem | None = None,
               note: Callable[[str], None] | None = None) -> pathlib.Path:
    """Write ``problem`` and its run(s) as one standalone HTML file; returns the path written.

    Args:
        title: the page's and the figure's title (default: problem, optimizers, start, steps).
        resolution, log_levels, bounds, full_params, xlim, ylim, aspect: as
            :func:`descentlab.scene.build`.
        max_frames: at most this many slider positions (the first and last iterate kept).
        grid: also embed the α/β grid of runs with live sliders (:func:`descentlab.web.offline.section`);
            only for a problem drawn as it is run (two parameters, no slice). None: where it can
            and where it fits the size budget; else ``note`` is told why not.
        steps: the steps the runs were given (default: the longest run's; a diverged run stops early).
        names: the optimizers' display names in the grid (default: their methods).
        source: the problem the runs were run on, when ``problem`` is a view of it (a grid is then
            refused: its paths would be cut to a slice).
        note: told, in one line, why ``grid=None`` left the grid out.
    """
    trajs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    if not trajs:
        raise ValueError("write_html needs at least one trajectory")
    # the contour cell's width / height on a 1600-pixel-wide page (the 2 × 2 grid of data problems,
    # else a row of three): an automatic view drawn with equal scales takes that shape
    panel = 1.4 if problem.n_examples is not None else 0.75
    sc = scene_mod.build(problem, trajs, resolution=resolution, log_levels=log_levels, bounds=bounds,
                         full_params=full_params, xlim=xlim, ylim=ylim, aspect=aspect, panel=panel)
    title = default_title(problem, trajs, full_params) if title is None else str(title)
    page = to_html(figures.combined(sc, title=title, max_frames=max_frames), title)
    plain = (source is None or source is problem) and full_params is None and problem.n_params == 2
    if grid or (grid is None and plain):
        if not plain:
            raise InputError("the α/β grid needs a two-parameter problem drawn as it is run (no slice)")
        steps = max(t.steps for t in trajs) if steps is None else int(steps)
        allowed = offline.LIMIT_BYTES - len(page.encode()) - 64_000  # the section's own markup
        try:
            block, _, _ = offline.section(problem, sc, trajs, steps, allowed, names)
        except InputError as err:
            if grid:
                raise
            block = ""
            if note is not None:
                note(f"no α/β grid in the page: {err}")
        page = page.replace("</body>", block + "</body>", 1)
        if block and len(page.encode()) > offline.LIMIT_BYTES:  # the estimate is an upper bound
            raise InputError(f"the page would take {len(page.encode()) / 1e6:.1f} MB, over its budget of "
                             f"{offline.LIMIT_BYTES / 1e6:g} MB")
    return write_text_atomic(path, page)
