"""The plotly renderer (descentlab.web.figures) and the standalone HTML export (descentlab.web.export)."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest

import descentlab as dl
from descentlab import scene as scene_mod
from descentlab import theme
from descentlab.web import figures
from descentlab.web.figures import decode
from descentlab.web.figures.look import band_field

RES = 40  # a small grid keeps these tests fast


@pytest.fixture(scope="module")
def line_fit():
    problem = dl.datasets.line_fit()
    trajs = dl.run_many([dl.optimizers.gd(lr=0.03), dl.optimizers.momentum(lr=0.05, beta=0.8),
                         dl.optimizers.nesterov(lr=0.05, beta=0.8), dl.optimizers.adam(lr=0.1)],
                        problem, (1.6, -0.5), 30)
    return problem, trajs, scene_mod.build(problem, trajs, resolution=RES)


@pytest.fixture(scope="module")
def rosenbrock():
    problem = dl.problems.rosenbrock()
    trajs = [dl.run(dl.optimizers.nesterov(lr=0.002, beta=0.9), problem, (-1.2, 1.0), 25)]
    return problem, trajs, scene_mod.build(problem, trajs, resolution=RES)


def traces(fig: dict, **match) -> list[dict]:
    return [t for t in fig["data"] if all(t.get(k) == v for k, v in match.items())]


def path_trace(fig: dict, label: str) -> dict:
    """The trace of a whole path (not its selected marker, halo or end marker)."""
    (trace,) = [t for t in fig["data"] if t.get("name") == label
                and (t.get("showlegend") is not False or t["type"] == "scatter3d")]
    return trace


def xy(trace: dict) -> np.ndarray:
    return np.column_stack([decode(trace["x"]), decode(trace["y"])])


def selected_markers(fig: dict) -> list[dict]:
    return [t for t in fig["data"] if str(t.get("name", "")).startswith("φ_")]


# ---- scene: the two fields the web views need ------------------------------------------------------

def test_scene_paths_carry_each_runs_gradients_and_hyperparameters(line_fit):
    _, trajs, sc = line_fit
    for path, traj in zip(sc.paths, trajs, strict=True):
        assert path.grads is traj.grads
        assert path.hyperparams == traj.hyperparams and path.hyperparams is not traj.hyperparams


def test_a_hand_made_path_needs_neither():
    path = scene_mod.Path(label="x", optimizer="gd", points=np.zeros((1, 2)), losses=np.zeros(1),
                          lookahead=np.zeros((0, 2)), numbered=np.array([0]), model_lines=None,
                          diverged_at=None)
    assert path.grads is None and path.hyperparams is None


# ---- views ------------------------------------------------------------------------------------------

def test_views_of_a_data_problem_and_of_a_surface(line_fit, rosenbrock):
    assert list(figures.views(line_fit[2])) == ["data", "surface", "contour", "loss"]
    assert list(figures.views(rosenbrock[2])) == ["surface", "contour", "loss"]


def test_trace_types_of_each_view(line_fit):
    v = figures.views(line_fit[2], 5)
    types = {k: {t["type"] for t in f["data"]} for k, f in v.items()}
    assert types["contour"] == {"contour", "scatter"}
    assert types["surface"] == {"surface", "scatter3d"}
    assert types["loss"] == {"scatter"}
    assert types["data"] == {"scatter"}


def test_paths_are_the_trajectories_iterates_bit_for_bit(line_fit):
    _, trajs, sc = line_fit
    v = figures.views(sc)
    for traj in trajs:
        line = path_trace(v["contour"], traj.label)
        np.testing.assert_array_equal(xy(line), traj.params)
        on_surface = path_trace(v["surface"], traj.label)
        np.testing.assert_array_equal(xy(on_surface), traj.params)


def test_the_selected_iterate_is_marked_in_every_view_and_clamped_per_path(line_fit):
    problem, trajs, _ = line_fit
    short = dl.run(dl.optimizers.gd(lr=0.03), problem, (1.6, -0.5), 4)
    sc2 = scene_mod.build(problem, [*trajs, short], resolution=RES)
    v = figures.views(sc2, 12)
    for name in ("contour", "surface"):
        marks = selected_markers(v[name])
        assert [m["name"] for m in marks] == ["φ_12"] * 4 + ["φ_4"]
        for mark, traj in zip(marks, [*trajs, short], strict=True):
            t = min(12, traj.steps)
            np.testing.assert_array_equal(xy(mark)[0], traj.params[t])
    model = [t for t in v["data"]["data"] if t["name"].startswith("model at")]
    np.testing.assert_allclose(decode(model[0]["y"]), problem.predict(trajs[0].params[12], sc2.model_x),
                               rtol=1e-12)
    assert "step t = 12" in v["contour"]["layout"]["title"]["text"]


def test_no_selection_means_the_last_iterate_and_a_negative_one_is_refused(line_fit):
    _, trajs, sc = line_fit
    marks = selected_markers(figures.views(sc)["contour"])
    assert all(m["name"] == f"φ_{trajs[0].steps}" for m in marks)
    assert selected_markers(figures.views(sc, 10**6)["contour"])[0]["name"] == f"φ_{trajs[0].steps}"
    with pytest.raises(ValueError, match="selected"):
        figures.views(sc, -1)


@pytest.mark.parametrize("t", [0, 7, 29])
def test_nesterov_lookahead_point_and_gradient_arrow(line_fit, t):
    _, trajs, sc = line_fit
    traj = trajs[2]
    assert traj.optimizer == "nesterov"
    alpha, beta = traj.hyperparams["lr"], traj.hyperparams["beta"]
    v = figures.views(sc, t)
    (ghost,) = traces(v["contour"], name=figures.LOOKAHEAD_NAMES[0])
    (momentum_leg,) = traces(v["contour"], name=figures.LOOKAHEAD_NAMES[1])
    (arrow,) = traces(v["contour"], name=figures.LOOKAHEAD_NAMES[2])
    expected = traj.params[t] - alpha * beta * traj.momentum[t]
    np.testing.assert_allclose(xy(ghost)[0], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(xy(ghost)[0], traj.lookahead[t])  # what the run recorded
    np.testing.assert_array_equal(xy(momentum_leg), [traj.params[t], traj.lookahead[t]])
    start, end = xy(arrow)
    np.testing.assert_array_equal(start, traj.lookahead[t])
    np.testing.assert_allclose(end, traj.params[t + 1], rtol=1e-12, atol=1e-15)  # the step lands on φ_{t+1}
    assert arrow["marker"]["symbol"] == ["circle", "arrow"] and arrow["marker"]["angleref"] == "previous"
    # only Nesterov gets them
    assert len(traces(v["contour"], name=figures.LOOKAHEAD_NAMES[0])) == 1


def test_the_gradient_step_from_the_lookahead_point_ends_at_the_next_iterate(line_fit):
    """lookahead[t] − α(1−β)·grads[t] = φ_{t+1} (book eq. 6.12) for every step of the run."""
    path = line_fit[2].paths[2]
    for t in range(len(path.points) - 1):
        phi, ahead, end = figures.lookahead_geometry(path, t)
        np.testing.assert_array_equal(phi, path.points[t])
        np.testing.assert_array_equal(ahead, path.lookahead[t])
        np.testing.assert_allclose(end, path.points[t + 1], rtol=1e-12, atol=1e-15)
    assert figures.lookahead_geometry(path, len(path.points) - 1) is None


def test_no_lookahead_step_at_the_last_iterate(line_fit):
    v = figures.views(line_fit[2])
    for name in figures.LOOKAHEAD_NAMES:
        (trace,) = traces(v["contour"], name=name)
        assert trace["x"] == [] and trace["y"] == []


def test_loss_view_is_log_with_a_marker_at_the_selected_step(line_fit):
    problem, trajs, sc = line_fit
    fig = figures.views(sc, 9)["loss"]
    assert fig["layout"]["yaxis"]["type"] == "log"
    (vline,) = traces(fig, name="selected step")
    assert vline["x"] == [9, 9]
    for traj in trajs:
        line = path_trace(fig, traj.label)
        gap = np.maximum(traj.losses - problem.min_loss, scene_mod.gap_floor(problem.min_loss))
        np.testing.assert_array_equal(decode(line["y"]), gap)
        np.testing.assert_array_equal(decode(line["x"]), np.arange(traj.steps + 1))
    marks = selected_markers(fig)
    assert [m["x"] for m in marks] == [[9]] * 4


def test_hover_shows_step_phi_loss_and_gradient(line_fit):
    _, trajs, sc = line_fit
    v = figures.views(sc, 3)
    for name in ("contour", "surface", "loss"):
        line = path_trace(v[name], trajs[0].label)
        template = line["hovertemplate"]
        for part in ("step t = %{customdata[0]}", "L[φ<sub>t</sub>] = %{customdata[1]", "gradient used",
                     "%{text}", "φ<sub>0</sub>", "φ<sub>1</sub>"):
            assert part in template, (name, part)
        custom = decode(line["customdata"])
        np.testing.assert_array_equal(custom[:, 0], np.arange(trajs[0].steps + 1))
        np.testing.assert_array_equal(custom[:, 1], trajs[0].losses)
        g = trajs[0].grads
        assert line["text"][3] == f"({g[3, 0]:.4g}, {g[3, 1]:.4g})"
        assert line["text"][-1] == "none (the last iterate)"
    assert "look-ahead" in path_trace(v["contour"], trajs[2].label)["hovertemplate"]


def test_colours_are_the_matplotlib_figures(line_fit):
    _, trajs, sc = line_fit
    colours = [c for c, _ in theme.path_styles([t.optimizer for t in trajs])]
    v = figures.views(sc)
    for traj, colour in zip(trajs, colours, strict=True):
        assert path_trace(v["contour"], traj.label)["line"]["color"] == colour
        assert path_trace(v["loss"], traj.label)["line"]["color"] == colour
    (surface,) = traces(v["surface"], type="surface")
    r, g, b, _ = (round(255 * c) for c in __import__("matplotlib").colormaps["viridis"](0.0))
    assert surface["colorscale"][0][1] == f"rgb({r},{g},{b})"


def test_known_minima_are_starred(line_fit, rosenbrock):
    for _, _, sc in (line_fit, rosenbrock):
        (star,) = traces(figures.views(sc)["contour"], name="known minimum")
        assert star["marker"]["symbol"] == "star"
        np.testing.assert_array_equal(xy(star), sc.minima)


def test_contour_bands_are_exactly_the_scenes_levels(rosenbrock):
    sc = rosenbrock[2]
    assert sc.log_levels
    band, n = band_field(sc.levels, sc.levels)
    np.testing.assert_allclose(band, np.arange(n + 1), atol=1e-12)
    fig = figures.views(sc)["contour"]
    (contour,) = traces(fig, type="contour")
    assert contour["contours"] == {"start": 1, "end": n, "size": 1, "coloring": "fill", "showlines": True}
    bar = contour["colorbar"]
    assert "log-spaced" in bar["title"]["text"]
    assert bar["ticktext"][0] == "0"  # L − L_min at the floor
    assert "log-spaced levels" in fig["layout"]["title"]["text"]
    assert figures.views(sc)["surface"]["layout"]["scene"]["zaxis"]["title"]["text"].startswith("log")


def test_a_single_run_is_coloured_by_iterate_and_numbered(rosenbrock):
    sc = rosenbrock[2]
    fig = figures.views(sc, 4)["contour"]
    numbers = [t for t in fig["data"] if t.get("textposition") == "top right"]
    assert len(numbers) == 1 and numbers[0]["text"] == [str(k) for k in sc.paths[0].numbered]
    line = path_trace(fig, sc.paths[0].label)
    assert line["line"]["color"] == "#111111"
    np.testing.assert_array_equal(decode(line["marker"]["color"]), np.arange(len(sc.paths[0].points)))


def test_a_diverged_run_is_noted_and_kept_inside_the_3d_box():
    problem = dl.datasets.line_fit()
    trajs = [dl.run(dl.optimizers.gd(lr=0.2), problem, (1.6, -0.5), 40),
             dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, (1.6, -0.5), 40)]
    assert trajs[0].diverged_at is not None
    sc = scene_mod.build(problem, trajs, resolution=RES)
    v = figures.views(sc)
    notes = [a["text"] for a in v["contour"]["layout"]["annotations"]]
    assert any(f"gd diverged at step {trajs[0].diverged_at}" in n for n in notes)
    surface = path_trace(v["surface"], trajs[0].label)
    z = decode(surface["z"])
    _, hi = v["surface"]["layout"]["scene"]["zaxis"]["range"]
    assert np.isnan(z).any() and np.nanmax(z) <= hi + 1e-9
    assert any("diverged" in a["text"] for a in v["loss"]["layout"]["annotations"])


def test_views_are_json_and_plain_lists_on_request(line_fit):
    v = figures.views(line_fit[2], 3)
    json.dumps(v, allow_nan=False)
    plain = figures.views(line_fit[2], 3, binary=False)
    text = json.dumps(plain, allow_nan=False)
    assert "bdata" not in text
    line = path_trace(plain["contour"], line_fit[1][0].label)
    np.testing.assert_array_equal(np.column_stack([line["x"], line["y"]]), line_fit[1][0].params)


def test_views_are_valid_plotly_figures(line_fit, rosenbrock):
    go = pytest.importorskip("plotly.graph_objects")
    for _, _, sc in (line_fit, rosenbrock):
        for fig in figures.views(sc, 5).values():
            go.Figure(fig)  # raises on any invalid property or value
    go.Figure(figures.views(line_fit[2], 5, binary=False)["contour"])


# ---- combined figure ------------------------------------------------------------------------------

def test_combined_has_a_frame_per_iterate_and_a_slider_over_them(line_fit):
    sc = line_fit[2]
    fig = figures.combined(sc, title="t")
    names = [f["name"] for f in fig["frames"]]
    assert names == [str(t) for t in range(31)]
    (slider,) = fig["layout"]["sliders"]
    assert [s["args"][0] for s in slider["steps"]] == [[n] for n in names]
    assert all(s["method"] == "animate" for s in slider["steps"])
    assert slider["active"] == 30
    for frame in fig["frames"]:
        assert len(frame["data"]) == len(frame["traces"])
        for i, trace in zip(frame["traces"], frame["data"], strict=True):
            assert fig["data"][i]["type"] == trace["type"] and fig["data"][i]["name"] == \
                trace["name"].replace(f"φ_{frame['name']}", f"φ_{30}")
            assert "hovertemplate" not in trace  # frames carry only what moves
    # the figure's own state is the last frame
    last = fig["frames"][-1]
    for i, trace in zip(last["traces"], last["data"], strict=True):
        assert {k: fig["data"][i][k] for k in trace} == trace
        if trace["name"].startswith("model at"):
            assert "x" not in trace and decode(fig["data"][i]["x"]).shape == sc.model_x.shape
    # frame 7 moves the selected iterate of every view
    frame = fig["frames"][7]
    marks = [t for t in frame["data"] if t["name"] == "φ_7"]
    assert {t["type"] for t in marks} == {"scatter", "scatter3d"}
    assert any(t["name"] == "model at φ_7" for t in frame["data"])


def test_combined_subsamples_long_runs_keeping_the_ends():
    problem = dl.problems.quadratic()
    traj = dl.run(dl.optimizers.gd(lr=0.05), problem, steps=500)
    sc = scene_mod.build(problem, traj, resolution=RES)
    fig = figures.combined(sc)
    steps = [int(f["name"]) for f in fig["frames"]]
    assert len(steps) <= figures.MAX_FRAMES and steps[0] == 0 and steps[-1] == 500
    assert steps == sorted(set(steps))
    assert figures.frame_steps(sc, 10) == [0, 56, 111, 167, 222, 278, 333, 389, 444, 500]


def test_combined_is_a_valid_plotly_figure(line_fit, rosenbrock):
    go = pytest.importorskip("plotly.graph_objects")
    for _, _, sc in (line_fit, rosenbrock):
        go.Figure(figures.combined(sc, max_frames=5))


# ---- HTML export ------------------------------------------------------------------------------------

def test_write_html_is_one_self_contained_offline_file(line_fit, tmp_path):
    pytest.importorskip("plotly")
    from descentlab.web.export import write_html

    problem, trajs, _ = line_fit
    out = write_html(problem, trajs, tmp_path / "explore.html", title="line fit <compare>", resolution=RES)
    assert out == tmp_path / "explore.html"
    text = out.read_text(encoding="utf-8")
    assert len(text) > 2_000_000 and "plotly.js v" in text  # the bundle itself, inline
    scripts = re.findall(r"<script\b[^>]*>", text, flags=re.I)
    assert scripts and not any(re.search(r"\bsrc\s*=", s, flags=re.I) for s in scripts)
    assert not re.search(r"""<(?:script|link)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", text, flags=re.I)
    assert "<title>line fit &lt;compare&gt;</title>" in text
    assert "Plotly.addFrames" in text and "Plotly.newPlot" in text
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_write_html_default_title_and_single_trajectory(rosenbrock, tmp_path):
    pytest.importorskip("plotly")
    from descentlab.web.export import write_html

    problem, (traj,), _ = rosenbrock
    text = write_html(problem, traj, tmp_path / "one.html", resolution=RES).read_text(encoding="utf-8")
    assert "<title>rosenbrock: nesterov (α=0.002, β=0.9) from (-1.2, 1), 25 steps, final L = " in text


def test_write_html_is_atomic(line_fit, tmp_path, monkeypatch):
    pytest.importorskip("plotly")
    from descentlab.web.export import write_html

    problem, trajs, _ = line_fit
    target = tmp_path / "explore.html"
    target.write_text("the old page", encoding="utf-8")

    def disk_full(self, text, *args, **kwargs):
        with open(self, "w", encoding="utf-8") as f:
            f.write(text[:1000])  # half-written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_html(problem, trajs, target, resolution=RES)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "the old page"
    assert list(tmp_path.iterdir()) == [target]


def test_write_html_refuses_what_it_cannot_draw(tmp_path):
    pytest.importorskip("plotly")
    from descentlab.web.export import write_html

    problem = dl.problems.quadratic(dim=3)
    traj = dl.run(dl.optimizers.gd(lr=0.05), problem, steps=3)
    with pytest.raises(ValueError, match="2-parameter"):
        write_html(problem, traj, tmp_path / "x.html")
    with pytest.raises(ValueError, match="at least one"):
        write_html(problem, [], tmp_path / "x.html")
    assert list(tmp_path.iterdir()) == []


def test_web_package_imports_neither_dash_nor_plotly_for_views():
    import subprocess
    import sys

    code = ("import sys, descentlab.web, descentlab.web.figures; "
            "print('dash' in sys.modules, 'plotly' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_paths_without_gradients_or_hyperparameters_still_draw(line_fit):
    """A scene built by hand (no grads, no α/β): hover says so, the step arrow ends at φ_{t+1}."""
    import dataclasses

    sc = line_fit[2]
    bare = dataclasses.replace(sc, paths=tuple(dataclasses.replace(p, grads=None, hyperparams=None)
                                               for p in sc.paths))
    v = figures.views(bare, 4)
    assert path_trace(v["contour"], sc.paths[0].label)["text"][0] == "(not recorded)"
    (arrow,) = traces(v["contour"], name=figures.LOOKAHEAD_NAMES[2])
    np.testing.assert_array_equal(xy(arrow)[1], sc.paths[2].points[5])


def test_editing_one_figure_leaves_the_next_call_alone(line_fit, rosenbrock):
    for _, _, sc in (line_fit, rosenbrock):
        first = figures.views(sc, 2)
        path_trace(first["contour"], sc.paths[0].label)["text"][0] = "edited"
        first["contour"]["layout"]["xaxis"]["title"]["text"] = "edited"
        scales = [t["marker"]["colorscale"] for t in first["contour"]["data"]
                  if isinstance(t.get("marker", {}).get("colorscale"), list)]
        assert scales or len(sc.paths) > 1
        for scale in scales:
            scale[0][1] = "edited"
        assert "edited" not in json.dumps(figures.views(sc, 2))


# ---- renderer-neutral: no matplotlib, the same frames and colours as the matplotlib renderer --------

def test_the_plotly_renderer_never_imports_matplotlib():
    import subprocess
    import sys

    code = """
import sys
import descentlab as dl
from descentlab import scene
from descentlab.web import figures
problem = dl.datasets.line_fit()
trajs = dl.run_many([dl.optimizers.nesterov(lr=0.05, beta=0.8), dl.optimizers.linesearch()], problem,
                    (1.6, -0.5), 12)
sc = scene.build(problem, trajs, resolution=20)
single = scene.build(problem, trajs[:1], resolution=20)
figures.views(sc, 3); figures.views(single, 3); figures.combined(sc); figures.combined(single)
rb = dl.problems.rosenbrock()
figures.views(scene.build(rb, [dl.run(dl.optimizers.adam(lr=0.1), rb, (-1.2, 1.0), 90)], resolution=20))
try:
    from descentlab.web.export import to_html
except ImportError:  # no plotly: the views alone
    pass
else:
    to_html(figures.combined(sc, max_frames=3), "t")
print(sorted(m for m in sys.modules if m == "matplotlib" or m.startswith(("matplotlib.", "descentlab.plot"))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_gif_and_the_html_page_show_the_same_frames(tmp_path, monkeypatch):
    """One frame choice (descentlab.scene.frame_steps): 9 steps in 3 frames were [0, 5, 9] in the GIF
    and [0, 4, 9] in the HTML page; now both are what rounding half up gives."""
    pytest.importorskip("plotly")
    from descentlab.plot import animation
    from descentlab.web.export import write_html

    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, (1.6, -0.5), 9)
    shown: list[int] = []
    frame = animation.Stage.frame
    monkeypatch.setattr(animation.Stage, "frame", lambda self, t: shown.append(t) or frame(self, t))
    animation.animate(problem, traj, tmp_path / "run.gif", frames=3, size=(4.0, 3.0), dpi=30)
    gif = sorted(set(shown))
    page = write_html(problem, traj, tmp_path / "run.html", resolution=RES, max_frames=3)
    html_frames = [int(n) for n in re.findall(r'"name":\s*"(\d+)"', page.read_text(encoding="utf-8"))]
    assert gif == html_frames == [0, 5, 9]
    sc = scene_mod.build(problem, traj, resolution=RES)
    for n in (1, 2, 3, 10, 11, 50, 121, 501, 10_001):
        for m in (2, 3, 7, 10, 120):
            expected = list(range(n)) if n <= m else [int(k * (n - 1) / (m - 1) + 0.5) for k in range(m)]
            picked = scene_mod.frame_steps(n, m)
            assert picked == expected, (n, m)
            assert list(animation.frame_steps(n - 1, m)) == picked
    assert figures.frame_steps(sc, 3) == [0, 5, 9]
    with pytest.raises(ValueError, match="max_frames"):
        scene_mod.frame_steps(10, 1)


def test_the_colour_tables_are_matplotlibs():
    mpl = pytest.importorskip("matplotlib")
    from matplotlib.colors import to_hex

    from descentlab.plot import style

    for name, table in theme.COLORMAPS.items():
        assert len(table) == 256
        assert list(table) == [to_hex(mpl.colormaps[name](i)) for i in range(256)], name
    where = [*np.linspace(0.0, 1.0, 2001), -0.5, 1.5, 1 / 256, 255 / 256, 0.5 - 1e-17]
    assert [theme.surface_color(f) for f in where] == [to_hex(mpl.colormaps["viridis"](f)) for f in where]
    assert [theme.iterate_color(f) for f in where] == [to_hex(style.iterate_cmap()(f)) for f in where]
    assert theme.iterate_colors(9) == [to_hex(c) for c in style.iterate_colors(9)]
    with pytest.raises(ValueError, match="nan"):
        theme.surface_color(float("nan"))


def test_packed_motion_values_decode_to_what_was_packed():
    """motion.pack_numeric: numbers, None (a gap → NaN) and rows come back from the base64 arrays
    exactly, at the offsets it gives, with the row width."""
    import base64

    from descentlab.web import motion

    values = [[[0.1, 0.2], [None, 3.0]], [], [[1.5, -2.0]], [[1e-300, 7.0], [4.0, None], [5.0, 6.0]]]
    packed = motion.pack_numeric(values)
    flat = np.frombuffer(base64.b64decode(packed["f8"]), dtype="<f8")
    off = packed["off"]
    expected = [[0.1, 0.2, np.nan, 3.0], [], [1.5, -2.0], [1e-300, 7.0, 4.0, np.nan, 5.0, 6.0]]
    assert len(off) == len(values) + 1 and packed["w"] == 2
    for k, want in enumerate(expected):
        np.testing.assert_array_equal(flat[off[k]:off[k + 1]], np.array(want, dtype=np.float64))
