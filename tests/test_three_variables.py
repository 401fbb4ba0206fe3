"""A loss of three variables through every command: it runs, its figures draw a 2-D slice (as a
model's do), and what cannot be drawn is refused in one line — never a traceback.

The slice is checked against the loss itself: the drawn surface is L with the third variable held
at the run's final value, computed here in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import descentlab as dl
from descentlab import scene
from descentlab.cli import main

LOSS = "(x - 1)**2 + 2*(y + 0.5)**2 + 3*z**2 + x*y"


def closed_form(x, y, z):
    return (x - 1) ** 2 + 2 * (y + 0.5) ** 2 + 3 * z**2 + x * y


SMALL = ["--steps", "12", "--start", "-1.5,1,0.5"]
DRAWN = {  # command → (output suffix, its own options)
    "figure": ("png", ["--resolution", "40"]),
    "compare": ("png", ["--optimizers", "gd,nesterov", "--resolution", "40"]),
    "animate": ("gif", ["--optimizers", "gd,nesterov", "--frames", "3", "--size", "320x240", "--dpi", "40"]),
    "html": ("html", ["--optimizers", "gd,nesterov", "--resolution", "20", "--frames", "3"]),
}


@pytest.mark.parametrize("keep", [None, "x,z", "z,y"])
@pytest.mark.parametrize("command", DRAWN)
def test_every_drawing_command_draws_a_slice(tmp_path, capsys, command, keep):
    suffix, own = DRAWN[command]
    out = tmp_path / f"out.{suffix}"
    cut = [] if keep is None else ["--slice", keep]
    assert main([command, "--loss", LOSS, *SMALL, *own, *cut, "-o", str(out)]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and out.stat().st_size > 5_000
    held = {None: "z", "x,z": "y", "z,y": "x"}[keep]
    if suffix == "png":
        with Image.open(out) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=float)
        assert pixels.std() > 20  # a drawing, not a blank canvas
    elif suffix == "gif":
        with Image.open(out) as image:
            assert image.n_frames == 3
    else:
        assert f"2-D slice at {held}=" in out.read_text()


@pytest.mark.parametrize("keep", [None, "x,z", "z,y"])
def test_the_slice_is_the_loss_with_the_third_variable_at_the_runs_end(keep):
    problem = dl.problems.from_expression(LOSS)
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, start=(-1.5, 1, 0.5), steps=30)
    view, (cut,), full = scene.drawable(problem, [traj], keep)
    names = ("x", "y") if keep is None else tuple(keep.split(","))
    assert tuple(view.param_names) == names == tuple(cut.param_names)
    idx = [problem.param_names.index(n) for n in names]
    np.testing.assert_array_equal(cut.params, traj.params[:, idx])
    np.testing.assert_array_equal(full[0], traj.params)
    sc = scene.build(view, cut, resolution=25, full_params=full)
    assert sc.data is None and all(p.model_lines is None for p in sc.paths)
    point = dict(zip(problem.param_names, traj.final, strict=True))
    gx, gy = np.meshgrid(sc.grid_x, sc.grid_y)
    point[names[0]], point[names[1]] = gx, gy
    np.testing.assert_allclose(sc.surface, closed_form(**point), rtol=1e-12, atol=1e-12)
    held = next(n for n in problem.param_names if n not in names)
    assert f"2-D slice at {held}=" in view.name


def test_run_sweep_and_tune_take_three_variables(tmp_path, capsys):
    assert main(["run", "--loss", LOSS, *SMALL, "--optimizer", "gd", "--lr", "0.1",
                 "--save", str(tmp_path / "r.json")]) == 0
    traj = dl.Trajectory.from_json(tmp_path / "r.json")
    assert traj.params.shape == (13, 3)
    # one step of gradient descent, by hand: ∇L = (2(x−1) + y, 4(y+0.5) + x, 6z)
    x, y, z = -1.5, 1.0, 0.5
    np.testing.assert_allclose(traj.params[1], [x - 0.1 * (2 * (x - 1) + y), y - 0.1 * (4 * (y + 0.5) + x),
                                                z - 0.1 * 6 * z], rtol=1e-14)
    assert main(["sweep", "--loss", LOSS, "--start", "-1.5,1,0.5", "--steps", "40", "--lr", "0.01:0.3:4",
                 "--beta", "0,0.5,0.9", "-o", str(tmp_path / "s.png")]) == 0
    assert main(["tune", "--loss", LOSS, "--start", "-1.5,1,0.5", "--optimizers", "gd,nesterov",
                 "--budget", "20", "--trials", "3", "--seeds", "2", "-o", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 5_000 and (tmp_path / "t.png").stat().st_size > 5_000
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--trace"]])
def test_lookahead_refuses_three_variables_in_one_line(tmp_path, capsys, extra):
    assert main(["lookahead", "--loss", LOSS, *SMALL, *extra, "-o", str(tmp_path / "l.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("descentlab lookahead: error: lookahead draws 2-parameter "
                                                   f"problems; {LOSS!r} has 3 (x, y, z);")
    assert "compare --trace --slice x,y" in err and not (tmp_path / "l.png").exists()


@pytest.mark.parametrize("command", ["run", "lookahead", "sweep", "tune"])
def test_commands_without_a_slice_refuse_the_option_in_one_line(capsys, command):
    assert main([command, "--loss", LOSS, "--slice", "x,z"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--slice" in err


@pytest.mark.parametrize(("keep", "message"), [
    ("x", "a slice keeps two parameters, e.g. x,y; got 'x'"),
    ("x,q", "'q' is not a parameter; the parameters are x, y, z"),
    ("x,x", "give distinct parameters to keep"),
    ("x,y,z", "a slice keeps two parameters"),
])
@pytest.mark.parametrize("command", DRAWN)
def test_a_bad_slice_is_one_line(tmp_path, capsys, command, keep, message):
    suffix, own = DRAWN[command]
    out = tmp_path / f"o.{suffix}"
    assert main([command, "--loss", LOSS, *SMALL, *own, "--slice", keep, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("command", DRAWN)
def test_four_named_parameters_draw_too(tmp_path, capsys, command):
    suffix, own = DRAWN[command]
    out = tmp_path / f"o.{suffix}"
    assert main([command, "--loss", "a**2 + b**2 + (c - 1)**2 + d**2", "--params", "a,b,c,d", "--steps", "8",
                 *own, "--slice", "b,d", "-o", str(out)]) == 0
    assert out.stat().st_size > 5_000
