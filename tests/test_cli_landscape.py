"""``descentlab landscape``: a network's Figure 6.1 from the command line, end to end, and its
one-line errors. The 1-D regression example (321 parameters, 60 rows) keeps every run small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from descentlab.cli import main
from descentlab.networks import directions, factory, pipeline, runs_dir, surface
from descentlab.networks.data import load_data

ROOT = Path(__file__).resolve().parents[1]
WAVE = ["--model", "examples.networks:wave_mlp", "--data", str(ROOT / "examples" / "data" / "wave.csv")]
SMALL = ["--steps", "40", "--resolution", "9", "--every", "5"]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the factory spec is imported from the current directory, as uvicorn does


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_draws_saves_and_redraws_the_same_runs(tmp_path, capsys):
    out, again, runs = tmp_path / "wave.png", tmp_path / "again.png", tmp_path / "runs"
    assert main(["landscape", *WAVE, *SMALL, "-o", str(out), "--save", str(runs)]) == 0
    printed = capsys.readouterr().out
    assert out.stat().st_size > 10_000 and "Momentum" in printed and "Nesterov" in printed
    assert "max |L − L_plane|" in printed
    saved = runs_dir.load(runs)
    assert [r.optimizer for r in saved] == ["momentum", "nesterov"]
    assert all(r.steps[-1] == 40 and r.steps[0] == 0 for r in saved)
    # the two runs start from one initialisation, the model's own
    model, _ = factory.load_factory("examples.networks:wave_mlp")
    start = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    for r in saved:
        np.testing.assert_array_equal(r.params[0], start)
    assert main(["landscape", *WAVE, "--resolution", "9", "-o", str(again), "--from", str(runs)]) == 0
    summary = [line for line in printed.splitlines() if not line.startswith("saved ")][:3]
    assert capsys.readouterr().out.splitlines()[:3] == summary  # the same runs, grid and gaps


def test_the_grid_the_command_draws_equals_a_per_point_loop(capsys):
    """pipeline.evaluate (what the command draws) against loading each grid point into the model."""
    model, loss_fn = factory.load_factory("examples.networks:wave_mlp")
    data = load_data(str(ROOT / "examples" / "data" / "wave.csv"))
    runs = pipeline.train_all(model, loss_fn, data, pipeline.settings(["momentum", "nesterov"], 0.05, 0.9),
                              steps=30, every=3, progress=False)
    plane = pipeline.plane_for(runs, model, "pca")
    land = pipeline.evaluate(model, loss_fn, data, runs, plane, resolution=7, progress=False)
    probe = __import__("copy").deepcopy(model)
    for i in (0, 3, 6):
        for j in (0, 2, 5):
            vector = plane.origin + land.a[j] * plane.d1 + land.b[i] * plane.d2
            torch.nn.utils.vector_to_parameters(torch.from_numpy(vector), probe.parameters())
            with torch.no_grad():
                expect = float(loss_fn(probe(data.x), data.y))
            assert abs(land.losses[i, j] - expect) <= 1e-10 * max(1.0, abs(expect))
    for path, run, flat in zip(land.paths, runs, land.plane_losses, strict=True):
        np.testing.assert_allclose(path, directions.project(plane, run.params), atol=1e-12)
        np.testing.assert_allclose(flat, surface.evaluate_points(model, loss_fn, data.x, data.y, plane, path),
                                   rtol=1e-12)
    np.testing.assert_allclose(land.paths[0][-1], [0.0, 0.0], atol=1e-9)  # φ_T of the first run


def test_sharpness_figure_is_written_beside(tmp_path, capsys):
    out = tmp_path / "net.png"
    assert main(["landscape", *WAVE, *SMALL, "--optimizers", "gd,nesterov", "--lr", "0.05",
                 "--sharpness", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "net-sharpness.png").stat().st_size > 10_000
    assert "stability limit" in printed and "40" in printed  # gd's limit 2/α = 40


@pytest.mark.parametrize(("args", "needle"), [
    (["--model", "no_such_module_xyz:make"], "--model 'no_such_module_xyz:make'"),
    (["--model", "examples.networks"], "--model 'examples.networks'"),
    (["--model", "examples.networks:wave_mlp", "--data", "/nonexistent/data.csv"], "/nonexistent/data.csv"),
    ([*WAVE, "--optimizers", "adam"], "--optimizers: 'adam'"),
    ([*WAVE, "--directions", "random"], "--directions 'random'"),
    ([*WAVE, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers or --scheduler"),
    ([*WAVE, "--from", "/nonexistent/runs"], "/nonexistent/runs"),
    ([*WAVE, "--steps", "2000000"], "--steps 2,000,000"),
    ([*WAVE, "-o", "/nonexistent/dir/x.png"], "/nonexistent/dir/x.png"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    extra = [] if any(a in ("-o",) for a in args) else ["-o", str(tmp_path / "x.png")]
    assert main(["landscape", *args, *extra]) == 2
    line = _error(capsys)
    assert line.startswith("descentlab landscape: error:") and needle in line, line
    assert not (tmp_path / "x.png").exists()


def test_runs_of_another_network_are_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["landscape", *WAVE, *SMALL, "--optimizers", "nesterov", "-o", str(tmp_path / "a.png"),
                 "--save", str(runs)]) == 0
    capsys.readouterr()
    assert main(["landscape", "--model", "examples.networks:moons_mlp", "--data", "moons", "-o",
                 str(tmp_path / "b.png"), "--from", str(runs)]) == 2
    assert "another network" in _error(capsys)
