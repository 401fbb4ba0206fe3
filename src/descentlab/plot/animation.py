"""Animations of a run, or of a race of runs: Figure 6.1's panels advancing step by step.

    from descentlab.plot.animation import animate
    animate(problem, [traj_momentum, traj_nesterov], "race.gif")   # or "race.mp4"

For data problems there are four panels: (a) the data with each optimizer's current model line,
(b) the 3-D loss surface and (c) the contour map, each with its path growing and its current
iterate marked, and (d) the loss per step. Surfaces without data show (a) the 3-D surface,
(b) the contours and (c) the loss. A run that ended early (diverged) stays where it stopped.

Frames are blitted: the static content (data, surface, contours, axes, labels) is drawn once and
cached as an image; each frame restores that image, moves the artists that change and draws
only those (:class:`Stage`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import BinaryIO

import matplotlib.patheffects as pe
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from descentlab import scene as scene_mod
from descentlab import validation
from descentlab.errors import InputError
from descentlab.files import deferred_signals, write_atomic, write_stream_atomic
from descentlab.plot import panels, style, surface3d
from descentlab.problems.base import Problem
from descentlab.scene import Path, Scene
from descentlab.trajectory import Trajectory

MAX_FRAMES = 120   # frames=None: one frame per step up to this many, else evenly subsampled
FORMATS = ("gif", "mp4")
VIDEO_INSTALL = "pip install 'descentlab[video]'"
SIZE_RANGE = (2.0, 40.0)  # inches, each side
LOSS_COLOR = "#1f77b4"    # the loss of a path drawn alone, as panels.loss_curve
# paths of a race on the contours: as style.LINE_HALO, a little wider for the low dpi of videos
RACE_HALO = [pe.Stroke(linewidth=3.4, foreground="white", alpha=0.7), pe.Normal()]
Progress = Callable[[int, int], None]


def animate(problem: Problem, trajectories: Trajectory | Sequence[Trajectory], path: str | FilePath,
            *, fps: int = 12, frames: int | None = None, size: tuple[float, float] = (12.0, 9.5),
            dpi: int = 80, progress: Progress | None = None, full_params=None,
            xlim=None, ylim=None, aspect: str | None = None) -> FilePath:
    """Render one run, or a race of several on the same 2-parameter problem, to a GIF or MP4.

    Args:
        problem: the problem the trajectories ran on (two parameters).
        trajectories: one Trajectory, or several (a race: a colour and marker per optimizer).
        path: the output file; its suffix (.gif or .mp4) picks the format. It is written
            atomically: if anything fails, an existing file there is left untouched.
        fps: frames per second, 1..60 (GIF stores delays in whole hundredths of a second).
        frames: number of frames ≥ 2, evenly spaced over the steps and always showing step 0
            and the last step; at most one per step. None: one per step up to MAX_FRAMES.
        size: (width, height) in inches, each in 2..40; the frames are ``int(size · dpi)``
            pixels (an MP4 gets one white row or column more where that is odd).
        dpi: pixels per inch, 20..300.
        progress: called as ``progress(done, total)`` after each frame, ending at (total, total).
        full_params: for a slice, each run's iterates in all parameters (for the model lines).
        xlim, ylim, aspect: the view, as for :func:`descentlab.scene.build`.

    Returns:
        The path written.

    Raises:
        ValueError: a bad suffix, fps, frames, size or dpi (the message names the value and the
            allowed range), or a problem without exactly two parameters.
        TypeError: fps, frames or dpi not an integer; trajectories not Trajectory objects.
        ImportError: an .mp4 without the imageio-ffmpeg package (``pip install 'descentlab[video]'``).
    """
    fmt = _format(path)
    fps = validation.integer("fps", fps, 1, 60)
    dpi = validation.integer("dpi", dpi, 20, 300)
    size = _size(size)
    count = MAX_FRAMES if frames is None else validation.integer("frames", frames, 2)
    trajs = _trajectories(trajectories)
    ffmpeg = _imageio_ffmpeg() if fmt == "mp4" else None
    sc = scene_mod.build(problem, trajs, full_params=full_params, xlim=xlim, ylim=ylim, aspect=aspect)
    steps = frame_steps(last_step(sc), count)
    heading = title(problem, trajs, full_params)

    # the temporary output file appears only when encoded bytes do: the stage is drawn before it,
    # and a GIF's frames are all rendered before Pillow writes its first byte
    stage = Stage(sc, title=heading, size=size, dpi=dpi)
    images = _report(map(stage.frame, steps), len(steps), progress)
    if ffmpeg is None:
        palette = _gif_palette(stage)
        return write_stream_atomic(path, lambda out: _write_gif(out, images, fps, palette))
    return write_atomic(path, lambda tmp: _write_mp4(tmp, images, fps, ffmpeg))


def frame_steps(last: int, frames: int = MAX_FRAMES) -> np.ndarray:
    """The step shown by each frame: ``min(frames, last + 1)`` steps evenly spaced over
    0..last, the first and the last included, no step twice (:func:`descentlab.scene.frame_steps`,
    the HTML page's choice too)."""
    return np.asarray(scene_mod.frame_steps(last + 1, frames), dtype=int)


def last_step(scene: Scene) -> int:
    """The last step of the longest path."""
    return max(len(p.points) for p in scene.paths) - 1


def title(problem: Problem, trajectories: Sequence[Trajectory], full_params=None) -> str:
    """The heading: the problem and the run, or how many optimizers race from where (the start in
    all its coordinates: ``full_params`` has them for a slice)."""
    first = trajectories[0]
    batch = f", batch size {first.batch_size}" if first.batch_size else ""
    if len(trajectories) > 1:
        start = ", ".join(f"{v:g}" for v in (first.params if full_params is None else full_params[0])[0])
        return f"{problem.name}: {len(trajectories)} optimizers from ({start}){batch}"
    head = f"{problem.name}: {first.label}{batch}"
    return head if first.diverged_at is None else f"{head} — {first.status}"


# ---- checks ------------------------------------------------------------------------------------

def _format(path: str | FilePath) -> str:
    fmt = FilePath(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"cannot tell the animation format of {str(path)!r}: "
                         f"use a .gif or .mp4 suffix")
    return fmt


def _size(size: object) -> tuple[float, float]:
    lo, hi = SIZE_RANGE
    try:
        w, h = (validation.real("size", v) for v in size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"size must be (width, height) in inches, got {size!r}") from None
    if not (lo <= w <= hi and lo <= h <= hi):
        raise InputError(f"size must be (width, height) with each in {lo:g}..{hi:g} inches, got {size!r}")
    return w, h


def _trajectories(trajectories: Trajectory | Sequence[Trajectory]) -> list[Trajectory]:
    trajs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    if not trajs:
        raise ValueError("give at least one trajectory to animate")
    for t in trajs:
        if not isinstance(t, Trajectory):
            raise TypeError(f"trajectories must be Trajectory objects, got {type(t).__name__}")
    return trajs


def _imageio_ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise ImportError(f"writing .mp4 needs the imageio-ffmpeg package: {VIDEO_INSTALL}") from err
    return imageio_ffmpeg


# ---- encoding ----------------------------------------------------------------------------------

def _report(frames: Iterable[np.ndarray], total: int, progress: Progress | None) -> Iterator[np.ndarray]:
    """The frames, calling ``progress(done, total)`` once each has been taken (encoded)."""
    for done, frame in enumerate(frames, 1):
        yield frame
        if progress is not None:
            progress(done, total)


def _gif_palette(stage: Stage) -> np.ndarray:
    """One palette (≤ 256 RGB rows) for every frame, so that colours neither drift nor flicker:
    the moving artists' own colours, and the rest fitted by median cut to the last frame."""
    own = stage.colors
    fitted = Image.fromarray(stage.frame(stage.last)).quantize(256 - len(own),
                                                               method=Image.Quantize.MEDIANCUT)
    used = len(fitted.getcolors(256))
    rows = np.asarray(fitted.getpalette()[:3 * used], dtype=np.uint8).reshape(-1, 3)
    return np.vstack([rows, own])


class _Indexer:
    """Frames to palette images by exact nearest colour (Pillow's own mapping is approximate
    and turns white grey); each colour is looked up once and remembered."""

    CHUNK = 4096

    def __init__(self, palette: np.ndarray):
        self._palette = palette.astype(np.int32)
        self._flat = palette.ravel().tolist()
        self._index = np.full(1 << 24, -1, dtype=np.int16)  # packed 0xRRGGBB → palette row

    def __call__(self, frame: np.ndarray) -> Image.Image:
        rgb = frame.astype(np.int32)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        index = self._index[packed]
        if (index < 0).any():
            self._learn(np.unique(packed[index < 0]))
            index = self._index[packed]
        image = Image.frombytes("P", (frame.shape[1], frame.shape[0]), index.astype(np.uint8).tobytes())
        image.putpalette(self._flat)
        return image

    def _learn(self, colors: np.ndarray) -> None:
        for start in range(0, len(colors), self.CHUNK):
            c = colors[start:start + self.CHUNK]
            rgb = np.stack([c >> 16, (c >> 8) & 255, c & 255], axis=1)
            distance = ((rgb[:, None, :] - self._palette[None, :, :]) ** 2).sum(axis=2)
            self._index[c] = distance.argmin(axis=1)


def _write_gif(out: BinaryIO, frames: Iterator[np.ndarray], fps: int, palette: np.ndarray) -> None:
    images = map(_Indexer(palette), frames)
    first = next(images)
    first.save(out, format="GIF", save_all=True, append_images=images, duration=1000 / fps, loop=0)


def _write_mp4(tmp: str, frames: Iterator[np.ndarray], fps: int, ffmpeg) -> None:
    """H.264 in yuv420p (plays everywhere), which needs even sides: odd ones get a white edge."""
    first = _even(next(frames))
    writer = ffmpeg.write_frames(tmp, (first.shape[1], first.shape[0]), fps=fps, codec="libx264",
                                 pix_fmt_in="rgb24", macro_block_size=1, quality=7,
                                 output_params=["-movflags", "+faststart"])
    try:
        with deferred_signals():  # ffmpeg starts: a signal now waits until it can be stopped
            writer.send(None)
        for frame in itertools.chain([first], map(_even, frames)):
            writer.send(frame.tobytes())
    except BaseException as err:  # stop ffmpeg at once (close() would wait for it to finish the file)
        try:
            writer.throw(err)
        except BaseException:
            pass
        raise
    writer.close()


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


# ---- the stage: static image once, moving artists per frame ------------------------------------

@dataclass
class _Mover:
    """Artists that change along the run, and the function that moves them to step t."""

    artists: list[Artist]
    update: Callable[[int], None]


@dataclass(frozen=True)
class _Look:
    """How one path is drawn: its optimizer's colour and marker or, alone, colours by iterate."""

    color: str
    marker: str
    iterates: np.ndarray | None  # (T+1, 4) RGBA of each iterate when the path is alone

    @property
    def line(self) -> str:
        return self.color if self.iterates is None else "black"

    def at(self, k: int):
        """The colour of iterate k."""
        return self.color if self.iterates is None else self.iterates[k]


class Stage:
    """A figure of ``scene`` whose static content is drawn once; :meth:`frame` draws step t.

    Only the moving artists (paths, current model lines, loss curves, the step counter, and the
    few static markers that must stay on top of them) are drawn per frame, over a cached copy
    of everything else. Axis limits come from the scene, so nothing rescales.

    Attributes:
        fig: the matplotlib Figure.
        last: the last step of the longest path.
        colors: (K, 3) uint8, the colours the moving artists are drawn in.
    """

    def __init__(self, scene: Scene, *, title: str = "", size: tuple[float, float] = (12.0, 9.5),
                 dpi: int = 80):
        looks = _looks(scene)
        self.fig = Figure(figsize=size, dpi=dpi, layout="constrained")
        self.last = last_step(scene)
        self.colors = _moving_colors(looks)
        self._canvas = FigureCanvasAgg(self.fig)
        self._movers = _lay_out(scene, self.fig, title, looks)
        for ax in self.fig.axes:  # 3-D labels legible at the video's dpi, and inside the frame
            if ax.name == "3d":
                surface3d.legible(ax, dpi)
        surface3d.fit(self.fig)
        self._artists = sorted((a for m in self._movers for a in m.artists), key=Artist.get_zorder)
        for artist in self._artists:
            artist.set_animated(True)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, t: int) -> np.ndarray:
        """The picture at step t as an (H, W, 3) uint8 RGB array (a path shorter than t shows
        its last iterate)."""
        self._canvas.restore_region(self._background)
        for mover in self._movers:
            mover.update(t)
        for artist in self._artists:
            self.fig.draw_artist(artist)
        return np.asarray(self._canvas.buffer_rgba())[..., :3].copy()


def _together(movers: list[_Mover]) -> _Mover:
    """One mover for several."""
    def update(t: int) -> None:
        for mover in movers:
            mover.update(t)

    return _Mover([a for m in movers for a in m.artists], update)


def _looks(scene: Scene) -> list[_Look]:
    pairs = style.path_styles([p.optimizer for p in scene.paths])
    if len(scene.paths) == 1:
        return [_Look(*pairs[0], iterates=style.iterate_colors(len(scene.paths[0].points)))]
    return [_Look(c, m, None) for c, m in pairs]


def _moving_colors(looks: list[_Look]) -> np.ndarray:
    """Each path's colour (or up to 48 of its iterate colours), and the colours of the texts."""
    colors = [to_rgba_array([style.DIVERGED_COLOR, "black", "white", LOSS_COLOR])]
    for look in looks:
        if look.iterates is None:
            colors.append(to_rgba_array(look.color))
        else:
            n = len(look.iterates)
            colors.append(look.iterates[np.linspace(0, n - 1, min(n, 48)).astype(int)])
    rgb = np.round(np.concatenate(colors)[:, :3] * 255).astype(np.uint8)
    return np.unique(rgb, axis=0)


def _lay_out(scene: Scene, fig: Figure, heading: str, looks: list[_Look]) -> list[_Mover]:
    grid = fig.add_gridspec(2, 2)
    contour_title = "loss contours and path" + (" (log-spaced levels)" if scene.log_levels else "")
    if scene.has_data:
        movers = [_data_panel(scene, fig.add_subplot(grid[0, 0]), looks),
                  _surface_panel(scene, fig.add_subplot(grid[0, 1], projection="3d"), looks,
                                 "(b) loss surface"),
                  _contour_panel(scene, fig.add_subplot(grid[1, 0]), looks, "(c) " + contour_title),
                  _loss_panel(scene, fig.add_subplot(grid[1, 1]), looks, "(d) loss per step")]
    else:
        movers = [_surface_panel(scene, fig.add_subplot(grid[0, 0], projection="3d"), looks,
                                 "(a) loss surface"),
                  _contour_panel(scene, fig.add_subplot(grid[0, 1]), looks, "(b) " + contour_title),
                  _loss_panel(scene, fig.add_subplot(grid[1, :]), looks, "(c) loss per step")]
    _heading(scene, fig, heading, looks)
    return [*movers, _counter(scene, fig)]


def _heading(scene: Scene, fig: Figure, heading: str, looks: list[_Look]) -> None:
    diverged = any(p.diverged_at is not None for p in scene.paths)
    fig.suptitle(heading, fontsize=13,
                 color=style.DIVERGED_COLOR if diverged and len(looks) == 1 else "black")
    if len(looks) > 1:
        handles = [Line2D([], [], color=k.color, marker=k.marker, mec="black", mew=0.5, lw=1.6)
                   for k in looks]
        labels = [p.label + ("" if p.diverged_at is None else f" — {p.stop_reason} at step {p.diverged_at}")
                  for p in scene.paths]
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(looks), 3),
                   fontsize=9, frameon=False)


def _counter(scene: Scene, fig: Figure) -> _Mover:
    """The step shown, top left; with one path also its loss."""
    text = fig.text(0.01, 0.995, "", ha="left", va="top", fontsize=11, family="monospace")
    last = last_step(scene)
    alone = scene.paths[0] if len(scene.paths) == 1 else None

    def update(t: int) -> None:
        loss = "" if alone is None else f"   L = {alone.losses[min(t, last)]:.4g}"
        text.set_text(f"step {t:>{len(str(last))}} of {last}{loss}")

    return _Mover([text], update)


def _upto(path: Path, t: int) -> int:
    return min(t, len(path.points) - 1)


def _shown(path: Path, k: int) -> np.ndarray:
    """Iterates 0..k that get a marker: all of them, or the numbered ones on long paths."""
    shown = path.numbered if len(path.points) > panels.MANY else np.arange(len(path.points))
    return shown[shown <= k]


# ---- the panels --------------------------------------------------------------------------------

def _data_panel(scene: Scene, ax: Axes, looks: list[_Look]) -> _Mover:
    """The data, with the model line of each path's current iterate (under the data points)."""
    panels.data(scene, ax)
    ax.set_title("(a) data and current model")
    lines = [ax.plot([], [], color=k.line, lw=2.2, zorder=2)[0] for k in looks]

    def update(t: int) -> None:
        for line, path, look in zip(lines, scene.paths, looks, strict=True):
            k = _upto(path, t)
            line.set_data(scene.model_x, path.model_lines[k])
            line.set_color(look.at(k))

    return _Mover([*lines, *ax.collections], update)


def _surface_panel(scene: Scene, ax: Axes, looks: list[_Look], name: str) -> _Mover:
    """The 3-D surface with each path growing on it and its current iterate marked."""
    panels.surface_background(scene, ax)
    ax.set_title(name)
    heights = [panels.surface_heights(scene, p.on_surface) for p in scene.paths]  # on the drawn surface
    _fix_zlim(ax, heights)
    return _together([_surface_path(ax, p, z, k)
                      for p, z, k in zip(scene.paths, heights, looks, strict=True)])


def _fix_zlim(ax: Axes, heights: list[np.ndarray]) -> None:
    """Freeze the height axis so that it holds the surface and every path."""
    lo, hi = ax.get_zlim()
    z = np.concatenate(heights)
    z = z[np.isfinite(z)]
    if z.size:
        lo, hi = min(lo, float(z.min())), max(hi, float(z.max()))
    ax.set_zlim(lo, hi)


def _surface_path(ax: Axes, path: Path, z: np.ndarray, look: _Look) -> _Mover:
    x, y = path.points[:, 0], path.points[:, 1]
    line = ax.plot([], [], [], color=look.line, lw=1.2, zorder=10,
                   **({} if look.iterates is not None else _markers(look, len(x))))[0]
    head = ax.plot([], [], [], ls="none", marker="o" if look.iterates is not None else look.marker,
                   ms=8, mec="black", mew=1.0, zorder=12)[0]
    dots = ax.scatter([], [], [], s=14, edgecolor="black", linewidth=0.4, depthshade=False, zorder=11)

    def update(t: int) -> None:
        k = _upto(path, t)
        line.set_data_3d(x[:k + 1], y[:k + 1], z[:k + 1])
        head.set_data_3d(x[k:k + 1], y[k:k + 1], z[k:k + 1])
        head.set_color(look.at(k))
        if look.iterates is not None:
            shown = _shown(path, k)
            dots._offsets3d = (x[shown], y[shown], z[shown])  # matplotlib's way to move 3-D points
            dots.set_facecolor(look.iterates[shown])
            dots.do_3d_projection()

    return _Mover([line, head] + ([dots] if look.iterates is not None else []), update)


def _markers(look: _Look, n: int) -> dict:
    """Small markers along a path of a race, about 25 of them (as in plot.compare)."""
    return {"marker": look.marker, "ms": 5, "markevery": max(1, n // 25), "mec": "black", "mew": 0.4}


def _contour_panel(scene: Scene, ax: Axes, looks: list[_Look], name: str) -> _Mover:
    """The contour map with each path growing, its current iterate marked and, for one path,
    its iterates numbered as they are reached; the minima stay on top."""
    panels.contour_background(scene, ax)
    ax.set_title(name)
    minima = _Mover(list(ax.lines), lambda t: None)
    paths = [_contour_path(ax, p, k, scene.bounds, i)
             for i, (p, k) in enumerate(zip(scene.paths, looks, strict=True))]
    return _together([minima, *paths])


def _contour_path(ax: Axes, path: Path, look: _Look, bounds, index: int = 0) -> _Mover:
    """One path on the contours: its trail, its current iterate, its numbers (a path alone)
    and, once it has stopped, where it diverged."""
    pts = path.points[:, :2]
    alone = look.iterates is not None
    trail = _trail_alone(ax, path, look) if alone else _trail_race(ax, path, look)
    head = ax.plot([], [], ls="none", marker="o" if alone else look.marker, ms=10 if alone else 9,
                   mec="black", mew=1.2, zorder=6)[0]
    numbers = {t: ax.annotate(str(t), pts[t], xytext=(5, 5), textcoords="offset points", fontsize=8,
                              fontweight="bold", path_effects=style.HALO, zorder=7, visible=False)
               for t in (path.numbered if alone else ())}
    notes = [] if path.diverged_at is None else [_diverged_note(ax, path, bounds, None if alone else look,
                                                                index)]

    def update(t: int) -> None:
        k = _upto(path, t)
        trail.update(k)
        head.set_data(pts[k:k + 1, 0], pts[k:k + 1, 1])
        head.set_color(look.at(k))
        for step, label in numbers.items():
            label.set_visible(step <= k)
        for note in notes:
            note.set_visible(t >= len(pts) - 1)

    return _Mover([*trail.artists, head, *numbers.values(), *notes], update)


def _trail_alone(ax: Axes, path: Path, look: _Look) -> _Mover:
    """As figure_6_1: a black line through dots coloured by iterate (on long paths, dots only
    where numbers go)."""
    pts = path.points[:, :2]
    line = ax.plot([], [], color="black", lw=1.3, zorder=4)[0]
    dots = ax.scatter(np.empty(0), np.empty(0), s=36, edgecolor="black", linewidth=0.6, zorder=5)

    def update(k: int) -> None:
        line.set_data(pts[:k + 1, 0], pts[:k + 1, 1])
        shown = _shown(path, k)
        dots.set_offsets(pts[shown])
        dots.set_facecolor(look.iterates[shown])

    return _Mover([line, dots], update)


def _trail_race(ax: Axes, path: Path, look: _Look) -> _Mover:
    """As plot.compare: the optimizer's colour on a white halo, its marker every few steps."""
    pts = path.points[:, :2]
    line = ax.plot([], [], color=look.color, lw=2.0, path_effects=RACE_HALO, zorder=5)[0]
    marks = ax.plot([], [], ls="none", color=look.color, zorder=5.5, **_markers(look, len(pts)))[0]

    def update(k: int) -> None:
        for artist in (line, marks):
            artist.set_data(pts[:k + 1, 0], pts[:k + 1, 1])

    return _Mover([line, marks], update)


def _diverged_note(ax: Axes, path: Path, bounds, look: _Look | None = None, index: int = 0) -> Artist:
    """Shown once a diverged path has stopped, on the side of its last iterate (in view) towards
    the middle of the view. In a race (``look``) it is short, in the path's colour, and the
    ``index``-th path's note is moved down a line so that notes at one place do not overlap (the
    legend says why each run stopped)."""
    gone = path.leaves_at is not None  # it ran out of the view: say so at its last iterate inside
    end = path.points[(path.leaves_at - 1 if gone else -1), :2]
    right = end[0] > 0.5 * (bounds[0][0] + bounds[0][1])
    top = end[1] > 0.5 * (bounds[1][0] + bounds[1][1])
    text = f"{path.stop_reason} at step {path.diverged_at}"
    if gone:
        text = (f"leaves the view after step {path.leaves_at - 1}\n({text})" if look is None
                else f"{path.optimizer} leaves after step {path.leaves_at - 1}")
    elif look is not None:
        text = f"{path.optimizer} {text}"
    shift = 12 + 12 * index
    return ax.annotate(text, end,
                       xytext=(-8 if right else 8, -shift if top else shift),
                       textcoords="offset points", ha="right" if right else "left",
                       va="top" if top else "bottom", fontsize=8,
                       color=style.DIVERGED_COLOR if look is None else look.color,
                       path_effects=style.HALO, zorder=7, visible=False)


def _loss_panel(scene: Scene, ax: Axes, looks: list[_Look], name: str) -> _Mover:
    """The loss per step (log scale, minus the minimum when known), extending with the steps; a
    curve that reaches the float64 resolution of L − L_min ends there with a ▼."""
    gaps, ylim, level = _loss_view(scene)
    ends = [p.diverged_at if p.diverged_at is not None else len(p.points) - 1 for p in scene.paths]
    ax.set_yscale("linear" if _signed(scene) else "log")
    right = max(max(ends), 1)
    ax.set_xlim(-0.02 * right, 1.02 * right)  # room for the current-step marker at either end
    ax.set_ylim(*ylim)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$L[\phi_t] - L_{\min}$" if scene.min_loss is not None else r"$L[\phi_t]$")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(name)
    if level is not None and any(at is not None for _, at in gaps):
        firsts = [at for _, at in gaps if at is not None]
        panels.floor_line(ax, level, firsts[0] if len(gaps) == 1 else None)
    return _together([_loss_path(ax, p, g, k, level)
                      for p, g, k in zip(scene.paths, gaps, looks, strict=True)])


def _signed(scene: Scene) -> bool:
    """True when the minimum is unknown and a loss is not positive: no log scale can show it."""
    return scene.min_loss is None and any(bool(np.any(p.losses <= 0)) for p in scene.paths)


def _loss_view(scene: Scene) -> tuple[list[tuple[np.ndarray, int | None]], tuple[float, float], float | None]:
    """Each path's loss above the minimum and the step it reaches the float64 floor (None if it
    does not; :func:`descentlab.scene.floored`), y-limits that hold all of them, and the floor
    (None when the minimum is unknown: then the loss itself, clipped to its smallest positive
    value)."""
    known = scene.min_loss is not None
    raw = [p.losses - scene.min_loss if known else p.losses for p in scene.paths]
    if _signed(scene):  # a loss that goes negative (unbounded below): a linear axis, nothing clipped
        values = np.concatenate(raw)
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        pad = 0.05 * (hi - lo or 1.0)
        return [(g, None) for g in raw], (lo - pad, hi + pad), None
    level = scene_mod.gap_floor(scene.min_loss) if known else None
    values = np.concatenate(raw)
    positive = values[np.isfinite(values) & (values > (level or 0.0))]
    lo, hi = (float(positive.min()), float(positive.max())) if positive.size else (1e-12, 1.0)
    if level is not None and np.any(values <= level):
        lo = min(lo, level)
    if hi <= lo * 1.001:
        lo, hi = lo / 10, hi * 10
    pad = (hi / lo) ** 0.04
    curves = [scene_mod.floored(g, level) if known else (np.maximum(g, lo), None) for g in raw]
    return curves, (lo / pad, hi * pad), level


def _loss_path(ax: Axes, path: Path, curve: tuple[np.ndarray, int | None], look: _Look,
               level: float | None) -> _Mover:
    """One loss curve growing, its current value marked (on the floor once it is below it), a ▼
    once it has reached the float64 floor and, once a diverged run has stopped, a dashed line at
    the step where it diverged."""
    gap, at = curve
    steps = np.arange(len(gap))
    color = LOSS_COLOR if look.iterates is not None else look.color
    line = ax.plot([], [], lw=1.6, color=color, zorder=3)[0]
    head = ax.plot([], [], ls="none", marker="o", ms=6, color=color, mec="black", mew=0.8, zorder=4)[0]
    shown = gap if at is None else np.where(np.isnan(gap) & (steps > at), level, gap)
    stops = [] if path.diverged_at is None else [
        ax.axvline(path.diverged_at, color=style.DIVERGED_COLOR, ls="--", lw=1, visible=False)]
    floors = [] if at is None else [panels.floor_marker(ax, at, level, color, visible=False)]

    def update(t: int) -> None:
        k = _upto(path, t)
        line.set_data(steps[:k + 1], gap[:k + 1])
        head.set_data(steps[k:k + 1], shown[k:k + 1])
        for stop in stops:
            stop.set_visible(t >= len(gap) - 1)
        for mark in floors:
            mark.set_visible(k >= at)

    return _Mover([line, head, *stops, *floors], update)
