"""Animations (GIF and MP4) and the terminal progress bar: frames, sizes, races, errors, blitting."""

from __future__ import annotations

import io
import itertools
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from mpl_toolkits.mplot3d import Axes3D
from PIL import Image

import descentlab as dl
from descentlab.plot import animation, surface3d
from descentlab.plot.animation import Stage, animate, frame_steps
from descentlab.progress import progress_bar

SMALL = {"size": (6.0, 4.5), "dpi": 40}  # 240 × 180 pixels
opt = dl.optimizers


@pytest.fixture(scope="module")
def line_fit():
    return dl.datasets.line_fit()


@pytest.fixture(scope="module")
def nesterov_run(line_fit):
    return dl.run(opt.nesterov(lr=0.05, beta=0.8), line_fit, steps=12)


@pytest.fixture(scope="module")
def race(line_fit):
    """gd with a far too large step diverges at step 4; nesterov runs all 30 steps."""
    trajs = dl.run_many([opt.gd(lr=0.5), opt.nesterov(lr=0.05, beta=0.8)], line_fit, steps=30)
    assert trajs[0].diverged_at is not None and len(trajs[0].params) < 31
    assert trajs[1].diverged_at is None and len(trajs[1].params) == 31
    return trajs


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")))
        return out


# ---- GIF and MP4 -------------------------------------------------------------------------------

def test_gif_has_one_frame_per_step_of_the_requested_size_and_the_path_grows(tmp_path, line_fit,
                                                                             nesterov_run):
    out = animate(line_fit, nesterov_run, tmp_path / "run.gif", **SMALL)
    assert out == tmp_path / "run.gif"
    with Image.open(out) as im:
        assert im.format == "GIF"
        assert im.n_frames == 13  # steps 0..12
        assert im.size == (240, 180)
        assert im.info["loop"] == 0
    frames = gif_frames(out)
    for before, after in itertools.pairwise(frames):
        assert not np.array_equal(before, after)
    # white stays white (one shared palette, exact colour matching)
    assert (frames[0][0, -1] == 255).all() and (frames[-1][0, -1] == 255).all()


def test_gif_frame_count_and_duration_follow_frames_and_fps(tmp_path, line_fit, nesterov_run):
    out = animate(line_fit, nesterov_run, tmp_path / "five.GIF", frames=5, fps=5, **SMALL)
    with Image.open(out) as im:
        assert im.n_frames == 5
        assert im.info["duration"] == 200


def test_pixel_size_is_size_times_dpi_truncated(tmp_path, line_fit, nesterov_run):
    out = animate(line_fit, nesterov_run, tmp_path / "odd.gif", frames=2, size=(6.1, 4.5), dpi=41)
    with Image.open(out) as im:
        assert im.size == (int(6.1 * 41), int(4.5 * 41))  # 250 × 184, as FigureCanvasAgg makes it


def test_mp4_is_readable_with_the_right_frame_count_size_and_fps(tmp_path, line_fit, nesterov_run):
    out = animate(line_fit, nesterov_run, tmp_path / "run.mp4", fps=10, **SMALL)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert meta["size"] == (240, 180)
    assert meta["fps"] == pytest.approx(10)
    frames = [np.frombuffer(f, dtype=np.uint8).reshape(180, 240, 3) for f in reader]
    assert len(frames) == 13
    assert frames[0].mean() != pytest.approx(frames[-1].mean(), abs=1e-6)


def test_mp4_pads_odd_sides_to_even(tmp_path, line_fit, nesterov_run):
    out = animate(line_fit, nesterov_run, tmp_path / "odd.mp4", frames=3, size=(6.2, 4.5), dpi=45)
    reader = imageio_ffmpeg.read_frames(str(out))
    assert next(reader)["size"] == (280, 202)  # 279 × 202 with one white column more
    assert sum(1 for _ in reader) == 3


def test_mp4_without_imageio_ffmpeg_says_how_to_install_it(tmp_path, monkeypatch, line_fit,
                                                           nesterov_run):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'descentlab\[video\]'"):
        animate(line_fit, nesterov_run, tmp_path / "run.mp4", **SMALL)
    assert list(tmp_path.iterdir()) == []


# ---- which steps are shown ---------------------------------------------------------------------

@pytest.mark.parametrize("last", [0, 1, 2, 7, 119, 120, 121, 500, 10_000])
@pytest.mark.parametrize("frames", [2, 3, 10, 120, 1000])
def test_frame_steps_are_even_distinct_and_include_the_first_and_last(last, frames):
    steps = frame_steps(last, frames)
    assert len(steps) == min(frames, last + 1)
    assert steps[0] == 0 and steps[-1] == last
    assert np.all(np.diff(steps) >= 1)
    if len(steps) > 2:
        gaps = np.diff(steps)
        assert gaps.max() - gaps.min() <= 1


def test_long_runs_are_subsampled_to_the_cap_showing_step_0_and_the_last(tmp_path, monkeypatch,
                                                                         line_fit):
    traj = dl.run(opt.momentum(lr=0.05, beta=0.8), line_fit, steps=300)
    shown: list[int] = []
    frame = Stage.frame
    monkeypatch.setattr(Stage, "frame", lambda self, t: shown.append(t) or frame(self, t))
    out = animate(line_fit, traj, tmp_path / "long.gif", size=(6.0, 4.5), dpi=20)
    with Image.open(out) as im:
        assert im.n_frames == animation.MAX_FRAMES
    frames = shown[1:]  # the first render only fits the GIF palette to the last step
    assert shown[0] == 300
    assert len(frames) == animation.MAX_FRAMES
    assert frames[0] == 0 and frames[-1] == 300 and frames == sorted(set(frames))


# ---- races -------------------------------------------------------------------------------------

def test_a_race_with_a_diverged_run_renders_and_the_stopped_path_stays(tmp_path, line_fit, race):
    out = animate(line_fit, race, tmp_path / "race.gif", **SMALL)
    with Image.open(out) as im:
        assert im.n_frames == 31

    gd, nesterov = race
    stage = Stage(dl.scene.build(line_fit, race), **SMALL)
    stage.frame(30)
    contour = next(ax for ax in stage.fig.axes if ax.get_title().startswith("(c)"))
    gd_line = next(line for line in contour.lines if line.get_color() == "#222222")
    np.testing.assert_array_equal(gd_line.get_xydata(), gd.params)  # all of it, no more
    nesterov_line = next(line for line in contour.lines if line.get_color() == "#d62728")
    np.testing.assert_array_equal(nesterov_line.get_xydata(), nesterov.params)
    notes = [t for t in contour.texts if t.get_visible()]
    # gd flew out of the view at its first step: the note says so at its last iterate in view (the
    # legend says it diverged)
    assert [t.get_text() for t in notes] == ["gd leaves after step 0"]
    assert [t.get_text() for t in stage.fig.legends[0].get_texts()] == [
        f"{gd.label} — diverged at step {gd.diverged_at}", nesterov.label]


def test_panels_follow_the_step(line_fit, nesterov_run):
    sc = dl.scene.build(line_fit, nesterov_run)
    stage = Stage(sc, **SMALL)
    panels = {ax.get_title()[:3]: ax for ax in stage.fig.axes}
    assert sorted(panels) == ["(a)", "(b)", "(c)", "(d)"]
    assert panels["(b)"].name == "3d"
    for t in (0, 5, 12):
        stage.frame(t)
        (model,) = panels["(a)"].lines
        np.testing.assert_array_equal(model.get_ydata(), sc.paths[0].model_lines[t])
        path_line = panels["(c)"].lines[1]  # after the starred minimum
        np.testing.assert_array_equal(path_line.get_xydata(), nesterov_run.params[:t + 1])
        loss = panels["(d)"].lines[0]
        np.testing.assert_array_equal(loss.get_xdata(), np.arange(t + 1))
        numbers = {int(a.get_text()) for a in panels["(c)"].texts if a.get_visible()}
        assert numbers and max(numbers) <= t


def test_surfaces_without_data_get_three_panels(tmp_path):
    problem = dl.problems.rosenbrock()
    traj = dl.run(opt.nesterov(lr=1e-3, beta=0.9), problem, steps=9)
    stage = Stage(dl.scene.build(problem, traj), **SMALL)
    assert sorted(ax.get_title()[:3] for ax in stage.fig.axes) == ["(a)", "(b)", "(c)"]
    out = animate(problem, traj, tmp_path / "rosenbrock.gif", **SMALL)
    with Image.open(out) as im:
        assert im.n_frames == 10


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "message"), [
    ({"fps": 0}, r"fps must be an integer in 1\.\.60, got 0"),
    ({"fps": 61}, r"fps must be an integer in 1\.\.60, got 61"),
    ({"frames": 1}, r"frames must be an integer >= 2, got 1"),
    ({"dpi": 10}, r"dpi must be an integer in 20\.\.300, got 10"),
    ({"size": (0, 4.5)}, r"size must be .* in 2\.\.40 inches, got \(0, 4\.5\)"),
    ({"size": (6.0,)}, r"size must be \(width, height\) in inches, got \(6\.0,\)"),
])
def test_bad_settings_are_refused_naming_the_value(tmp_path, line_fit, nesterov_run, options, message):
    with pytest.raises(ValueError, match=message):
        animate(line_fit, nesterov_run, tmp_path / "x.gif", **options)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_suffix_is_refused(tmp_path, line_fit, nesterov_run):
    with pytest.raises(ValueError, match=r"'.*x\.avi'.*use a \.gif or \.mp4 suffix"):
        animate(line_fit, nesterov_run, tmp_path / "x.avi")


def test_a_three_parameter_problem_is_refused(tmp_path):
    problem = dl.problems.quadratic(dim=3)
    traj = dl.run(opt.gd(lr=0.05), problem, start=[1.0, 1.0, 1.0], steps=3)
    with pytest.raises(ValueError, match=r"needs a 2-parameter problem.* has 3"):
        animate(problem, traj, tmp_path / "x.gif")


def test_an_existing_file_is_untouched_when_rendering_fails(tmp_path, line_fit, nesterov_run):
    out = tmp_path / "keep.gif"
    out.write_bytes(b"the old animation")

    def fail(done: int, total: int) -> None:
        if done == 3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        animate(line_fit, nesterov_run, out, progress=fail, **SMALL)
    assert out.read_bytes() == b"the old animation"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


# ---- progress and blitting ---------------------------------------------------------------------

def test_progress_is_reported_after_every_frame_up_to_the_total(tmp_path, line_fit, nesterov_run):
    calls: list[tuple[int, int]] = []
    animate(line_fit, nesterov_run, tmp_path / "p.gif", frames=6,
            progress=lambda done, total: calls.append((done, total)), **SMALL)
    assert calls == [(i, 6) for i in range(1, 7)]


def test_the_static_figure_is_drawn_once_not_per_frame(tmp_path, monkeypatch, line_fit, nesterov_run):
    counts = {"contourf": 0, "plot_surface": 0, "draw": 0}

    def counting(cls, name):
        original = getattr(cls, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    counting(Axes, "contourf")
    counting(Axes3D, "plot_surface")
    counting(FigureCanvasAgg, "draw")
    animate(line_fit, nesterov_run, tmp_path / "once.gif", frames=10, **SMALL)
    assert counts == {"contourf": 1, "plot_surface": 1, "draw": 1}


# ---- legible 3-D labels and honest loss curves in the frames -------------------------------------

@pytest.fixture(scope="module")
def kappa_race():
    """The issue's race: quadratic κ = 50, momentum and Nesterov, 80 steps."""
    problem = dl.problems.quadratic(kappa=50)
    return problem, dl.run_many([opt.momentum(lr=0.2, beta=0.9), opt.nesterov(lr=0.2, beta=0.9)], problem,
                                steps=80)


@pytest.mark.parametrize(("size", "dpi"), [((800 / 66, 630 / 66), 66), ((12.0, 9.5), 80), ((6.0, 4.5), 40)])
def test_3d_labels_are_legible_upright_and_inside_the_frame(kappa_race, size, dpi):
    problem, trajs = kappa_race
    stage = Stage(dl.scene.build(problem, trajs), title="race", size=size, dpi=dpi)
    (ax,) = [a for a in stage.fig.axes if a.name == "3d"]
    px = dpi / 72
    for axis, rotation in ((ax.xaxis, 0), (ax.yaxis, 0), (ax.zaxis, 90)):
        assert axis.label.get_fontsize() * px >= surface3d.MIN_LABEL_PX - 1e-9
        assert axis.label.get_rotation() == rotation
    ticks = [t for t in surface3d.texts(ax) if t not in (ax.xaxis.label, ax.yaxis.label, ax.zaxis.label)]
    assert ticks and all(t.get_fontsize() * px >= surface3d.MIN_TICK_PX - 1e-9 for t in ticks)
    for text in surface3d.texts(ax):  # placed by the stage's own draw
        assert surface3d.inside(text.get_window_extent(), stage.fig.bbox), text.get_text()


def test_a_loss_curve_ends_at_the_float64_floor_with_a_marker_once_reached():
    problem = dl.problems.quadratic()
    trajs = dl.run_many([opt.gd(lr=0.1), opt.nesterov(lr=0.1, beta=0.9)], problem, steps=300)
    stage = Stage(dl.scene.build(problem, trajs), title="floor", **SMALL)
    level = dl.scene.gap_floor(problem.min_loss)
    gd_first = next(t for t, v in enumerate(trajs[0].losses) if v - problem.min_loss <= level)
    (ax,) = [a for a in stage.fig.axes if a.get_title().endswith("loss per step")]
    marks = [ln for ln in ax.lines if ln.get_marker() == "v"]
    assert len(marks) == sum(bool(np.any(t.losses - problem.min_loss <= level)) for t in trajs) >= 1
    gd_mark = next(m for m in marks if list(m.get_xdata()) == [gd_first])
    stage.frame(gd_first - 1)
    assert not gd_mark.get_visible()
    stage.frame(300)
    assert gd_mark.get_visible() and list(gd_mark.get_ydata()) == [level]
    gd_line = next(ln for ln in ax.lines if len(ln.get_xdata()) == 301 and ln.get_marker() in ("None", ""))
    y = np.asarray(gd_line.get_ydata())
    assert y[gd_first] == level and np.all(np.isnan(y[gd_first + 1:]) | (y[gd_first + 1:] > level))
    assert any("below float64 resolution" in t.get_text() for t in ax.texts)


# ---- the terminal progress bar -----------------------------------------------------------------

class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_one_line_in_place_on_a_terminal():
    stream = FakeTTY()
    update = progress_bar(4, "rendering", stream=stream)
    for done in range(1, 5):
        update(done, 4)
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("rendering [") and last.endswith("] 4/4") and "#" * 30 in last
    assert "] 2/4" in text.split("\r")[2]


def test_progress_bar_takes_its_total_from_the_call_or_from_its_creation():
    stream = FakeTTY()
    progress_bar(None, "frames", stream=stream)(3, 12)
    assert stream.getvalue() == "\rframes [#######                       ]  3/12"
    stream = FakeTTY()
    progress_bar(2, "frames", stream=stream)(2)
    assert stream.getvalue().endswith("] 2/2\n")


def test_progress_bar_is_silent_when_piped(capsys):
    stream = io.StringIO()
    update = progress_bar(3, "rendering", stream=stream)
    for done in range(1, 4):
        update(done, 3)
    assert stream.getvalue() == ""
    progress_bar(3, "rendering")(3, 3)  # sys.stderr is captured here: not a terminal
    assert capsys.readouterr().err == ""
