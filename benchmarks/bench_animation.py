"""Animation frames: blitting (descentlab.plot.animation.Stage) vs rebuilding the figure per frame.

    .venv/bin/python benchmarks/bench_animation.py [--frames 100] [--naive-frames N]

The four-panel animation of the built-in line fit (``descentlab.datasets.line_fit()``, Nesterov
with the problem's suggested α and β, 100 steps), ``--frames`` frames of 12×9.5 inches at 80
dpi, each rendered to an RGB array in memory:

* OURS: ``Stage(scene)`` draws the static content once (data, 3-D surface, contours, axes) and
  caches it; each frame restores that image and draws only the moving artists. Timed as the
  one-off setup plus all the frames.
* NAIVE: for every frame a new Figure with the same four panels, drawn by the panel functions
  of :mod:`descentlab.plot.panels` on the scene cut to the path up to step t (the loss grid is
  computed once, not per frame), rendered with ``canvas.draw()``. All frames are timed, or with
  ``--naive-frames N`` only N evenly spaced ones, extrapolated to all (the output says so).

Both render one untimed frame first, so neither pays for first-time costs (fonts, caches). Then
``animate(...)`` writes the same animation to a GIF end to end, for reference.

The script is a report: it always exits with status 0, and prints ``TARGET MISSED`` when the
speed-up is below the target.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import descentlab as dl
from descentlab.plot import panels
from descentlab.plot.animation import Stage, animate, frame_steps, title
from descentlab.scene import Scene

SIZE = (12.0, 9.5)
DPI = 80
STEPS = 100
TARGET = 3.0  # naive / ours must be ≥ this


def truncated(scene: Scene, t: int) -> Scene:
    """The scene with its path cut after step t (same bounds, grid and levels)."""
    p = scene.paths[0]
    cut = dataclasses.replace(p, points=p.points[:t + 1], losses=p.losses[:t + 1],
                              lookahead=p.lookahead[:t], numbered=p.numbered[p.numbered <= t],
                              model_lines=p.model_lines[:t + 1],
                              drawn_losses=None if p.drawn_losses is None else p.drawn_losses[:t + 1])
    return dataclasses.replace(scene, paths=(cut,))


def naive_frame(scene: Scene, t: int, heading: str, loss_limits) -> np.ndarray:
    """A whole new four-panel figure for step t, drawn from scratch."""
    sc = truncated(scene, t)
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2)
    ax = panels.data(sc, fig.add_subplot(grid[0, 0]))
    ax.plot(sc.model_x, sc.paths[0].model_lines[t], lw=2.2, zorder=2)
    panels.surface(sc, fig.add_subplot(grid[0, 1], projection="3d"))
    panels.contour(sc, fig.add_subplot(grid[1, 0]))
    ax = panels.loss_curve(sc, fig.add_subplot(grid[1, 1]))
    ax.set_xlim(*loss_limits[0])
    ax.set_ylim(*loss_limits[1])
    fig.suptitle(heading)
    fig.text(0.01, 0.995, f"step {t}", va="top")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def time_ours(scene: Scene, steps: np.ndarray, heading: str) -> tuple[float, float, tuple[int, ...]]:
    """Setup and frame times of the blitting renderer, and the frame shape."""
    Stage(scene, title=heading, size=SIZE, dpi=DPI).frame(int(steps[-1]))  # warm-up, untimed
    start = time.perf_counter()
    stage = Stage(scene, title=heading, size=SIZE, dpi=DPI)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    frames = [stage.frame(int(t)) for t in steps]
    return setup, time.perf_counter() - start, frames[0].shape


def time_naive(scene: Scene, steps: np.ndarray, heading: str, sample: int) -> tuple[float, int]:
    """Time of the naive renderer over ``sample`` evenly spaced steps, and that number."""
    # the same loss-panel limits as ours, so that both draw the same view
    probe = Stage(scene, size=SIZE, dpi=DPI)
    loss_ax = next(ax for ax in probe.fig.axes if ax.get_title().startswith("(d)"))
    limits = (loss_ax.get_xlim(), loss_ax.get_ylim())
    naive_frame(scene, int(steps[-1]), heading, limits)  # warm-up, untimed
    chosen = steps[frame_steps(len(steps) - 1, sample)]
    start = time.perf_counter()
    for t in chosen:
        naive_frame(scene, int(t), heading, limits)
    return time.perf_counter() - start, len(chosen)


def time_animate(problem, traj, frames: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        animate(problem, traj, Path(tmp) / "bench.gif", frames=frames, size=SIZE, dpi=DPI)
        return time.perf_counter() - start


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100, help="frames of the animation (default 100)")
    ap.add_argument("--naive-frames", type=int, default=None,
                    help="time the naive renderer on only this many frames and extrapolate "
                         "(default: all of them, about 0.4 s each)")
    args = ap.parse_args(argv)
    if not 2 <= args.frames <= STEPS + 1 or (args.naive_frames is not None and args.naive_frames < 2):
        ap.error(f"--frames must be in 2..{STEPS + 1} and --naive-frames ≥ 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = dl.datasets.line_fit()
    s = problem.suggested
    traj = dl.run(dl.optimizers.nesterov(lr=s.lr, beta=s.beta), problem, steps=STEPS)
    scene = dl.scene.build(problem, traj)
    steps = frame_steps(STEPS, args.frames)
    heading = title(problem, [traj])
    print(f"{heading}, {STEPS} steps: {len(steps)} frames of {SIZE[0]:g}×{SIZE[1]:g} in at {DPI} dpi")
    print(f"python {platform.python_version()}, matplotlib {matplotlib.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}, {platform.system()}")

    setup, frames_s, shape = time_ours(scene, steps, heading)
    ours = setup + frames_s
    naive_s, timed = time_naive(scene, steps, heading, min(args.naive_frames or len(steps), len(steps)))
    naive = naive_s * len(steps) / timed
    note = "" if timed == len(steps) else f"  (extrapolated from {timed} of {len(steps)} frames)"
    print(f"frames are {shape[1]}×{shape[0]} px RGB")
    print(f"ours  (blitting): setup {setup:.2f} s + frames {frames_s:.2f} s = {ours:.2f} s  "
          f"({len(steps) / ours:.1f} frames/s, {1e3 * frames_s / len(steps):.1f} ms per frame)")
    print(f"naive (rebuild) : {naive:.2f} s  ({len(steps) / naive:.2f} frames/s, "
          f"{1e3 * naive / len(steps):.0f} ms per frame){note}")
    ratio = naive / ours
    print(f"naive / ours = {ratio:.1f}× (target ≥ {TARGET:g}×)")
    print(f"animate(...) to GIF end to end (scene, frames, palette, encoding): "
          f"{time_animate(problem, traj, args.frames):.2f} s")
    if ratio < TARGET:
        print(f"TARGET MISSED: naive / ours is {ratio:.1f}× (target ≥ {TARGET:g}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
