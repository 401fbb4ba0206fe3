"""The trajectory CSV opens in pandas and spreadsheets as it is; its metadata lives beside it.

Format 3: one header row of ASCII column names, one row per iterate, nothing else in the file; the
metadata (the parameter names as written, φ0 …, and which column holds what) in ``<file>.meta.json``.
Files of format 2 (written by the previous version, kept in tests/data/trajectory-v2/) still load.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import descentlab as dl
from descentlab.cli import main
from descentlab.errors import InputError
from descentlab.trajectory import FORMAT, PROVENANCE, Trajectory, ascii_name, sidecar

V2 = Path(__file__).parent / "data" / "trajectory-v2"


@pytest.fixture(scope="module")
def runs() -> dict[str, Trajectory]:
    line = dl.datasets.line_fit()
    three = dl.problems.from_expression("p0 + p1*x + p2*x**2", data=dl.datasets.read_csv(
        Path(dl.datasets.__file__).parent / "data" / "line_fit.csv"))
    return {
        "adam-minibatches": dl.run(dl.optimizers.adam(lr=0.1), line, steps=8, batch_size=4, seed=2),
        "linesearch": dl.run(dl.optimizers.make("linesearch"), line, steps=4),
        "nesterov-3-params": dl.run(dl.optimizers.nesterov(lr=0.01, beta=0.5), three, steps=6),
        "gd-no-steps": dl.run(dl.optimizers.gd(lr=0.01), line, steps=0),
    }


@pytest.mark.parametrize("name", ["adam-minibatches", "linesearch", "nesterov-3-params", "gd-no-steps"])
def test_pandas_reads_the_csv_as_it_is(runs, name, tmp_path):
    traj = runs[name]
    path = tmp_path / "run.csv"
    traj.to_csv(path)
    frame = pd.read_csv(path)                      # no options: what a user types first
    assert all(c.isascii() and c.replace("_", "").isalnum() for c in frame.columns), list(frame.columns)
    assert list(frame.columns[:2]) == ["step", "loss"] and frame.columns[-1] == "batch"
    assert len(frame) == len(traj.params)
    np.testing.assert_array_equal(frame["step"], np.arange(len(traj.params)))
    np.testing.assert_allclose(frame["loss"], traj.losses, rtol=1e-15, atol=0)
    cols = traj.csv_columns()
    np.testing.assert_allclose(frame[cols["params"]].to_numpy(), traj.params, rtol=1e-15, atol=0)
    for key, values in traj.buffers.items():
        named = cols["buffers"][key]
        np.testing.assert_allclose(frame[named].to_numpy(), values, rtol=1e-15, atol=0)
    if traj.steps:
        np.testing.assert_allclose(frame[cols["grads"]].to_numpy()[:-1], traj.grads, rtol=1e-15, atol=0)
        assert frame[cols["grads"]].iloc[-1].isna().all()  # step T takes no gradient
    # every numeric column is numbers to pandas, not text
    assert all(frame[c].dtype.kind in "if" for c in frame.columns if c != "batch")


def test_the_csv_has_no_comment_line_and_a_spreadsheet_sees_one_table(runs):
    text = runs["adam-minibatches"].to_csv()
    assert not text.startswith("#") and text.isascii()
    rows = list(csv.reader(io.StringIO(text)))
    assert len({len(r) for r in rows}) == 1       # a rectangle: every row as wide as the header
    assert rows[0][:4] == ["step", "loss", "phi0", "phi1"]
    assert "momentum_phi0" in rows[0] and "second_moment_phi1" in rows[0]
    assert rows[1][-1] == " ".join(map(str, runs["adam-minibatches"].batches[0]))


@pytest.mark.parametrize("name", ["adam-minibatches", "linesearch", "nesterov-3-params", "gd-no-steps"])
def test_the_file_and_its_sidecar_load_back_exactly(runs, name, tmp_path):
    traj = runs[name]
    path = tmp_path / "run.csv"
    assert traj.to_csv(path) == path.read_text(encoding="utf-8")
    meta = json.loads(sidecar(path).read_text(encoding="utf-8"))
    assert meta["format"] == FORMAT and meta["param_names"] == list(traj.param_names)
    back = Trajectory.from_csv(path)
    assert back == traj
    assert back.param_names == traj.param_names  # φ0, φ1 as the run named them, not phi0
    assert Trajectory.from_csv(str(path)) == traj
    assert Trajectory.from_csv(path.read_text(encoding="utf-8"), meta=sidecar(path)) == traj
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv", "run.csv.meta.json"]


def test_ascii_names():
    assert ascii_name("φ0") == "phi0" and ascii_name("φ_12") == "phi_12"
    assert ascii_name("Θ") == "Theta" and ascii_name("β₁") == "beta1"
    assert ascii_name("café") == "cafe" and ascii_name("∂x") == "_x" and ascii_name("") == "_"
    assert ascii_name("p0") == "p0" and ascii_name("second_moment") == "second_moment"


def test_clashing_names_get_distinct_columns(tmp_path):
    base = dl.run(dl.optimizers.momentum(lr=0.01, beta=0.5), dl.datasets.line_fit(), steps=3)
    import dataclasses

    traj = dataclasses.replace(base, param_names=("loss", "φ"))
    odd = dataclasses.replace(base, param_names=("phi", "φ"))
    for t in (traj, odd):
        header = t.to_csv().splitlines()[0].split(",")
        assert len(header) == len(set(header)), header
        t.to_csv(tmp_path / "t.csv")
        assert Trajectory.from_csv(tmp_path / "t.csv") == t


@pytest.mark.parametrize("name", ["nesterov-minibatches", "linesearch"])
def test_version_2_files_still_load(name):
    """Files the previous version wrote (a ``# {json}`` line, Greek column names)."""
    text = (V2 / f"{name}.csv").read_text(encoding="utf-8")
    assert text.startswith('# {"format": "descentlab-trajectory/2"')
    line = dl.datasets.line_fit()
    if name == "nesterov-minibatches":
        expected = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), line, steps=6, batch_size=4, seed=1)
    else:
        expected = dl.run(dl.optimizers.make("linesearch"), line, steps=4)
    loaded = Trajectory.from_csv(V2 / f"{name}.csv")
    assert_same_run_to_rounding(loaded, expected)
    assert Trajectory.from_json(V2 / f"{name}.json") == loaded
    assert Trajectory.from_csv(text) == loaded   # the text alone: its metadata is its first line


def assert_same_run_to_rounding(stored: Trajectory, fresh: Trajectory) -> None:
    """The stored files were written on another machine: a fresh run there may differ from it in
    the last bits (SIMD sums, FMA), so its numbers agree to 1e-12 and everything else exactly."""
    for name, a in vars(stored).items():
        b = getattr(fresh, name)
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=name)
        elif isinstance(a, dict) and name == "buffers":
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-15, err_msg=k)
        elif name == "batches" and a is not None:
            assert len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
        elif name == "meta":
            drop = lambda m: {k: v for k, v in m.items() if k != PROVENANCE}  # noqa: E731
            assert drop(a) == drop(b)
        else:
            assert a == b, name


def test_a_missing_or_wrong_sidecar_is_one_clear_error(runs, tmp_path):
    path = tmp_path / "run.csv"
    runs["linesearch"].to_csv(path)
    sidecar(path).rename(tmp_path / "elsewhere.json")
    with pytest.raises(InputError, match=r"run\.csv\.meta\.json is missing"):
        Trajectory.from_csv(path)
    assert Trajectory.from_csv(path, meta=tmp_path / "elsewhere.json") == runs["linesearch"]
    with pytest.raises(InputError, match="does not match its metadata"):
        Trajectory.from_csv(path, meta=runs["adam-minibatches"].csv_metadata())
    with pytest.raises(InputError, match="needs its metadata"):
        Trajectory.from_csv(path.read_text(encoding="utf-8"))
    with pytest.raises(InputError, match="no such file"):
        Trajectory.from_csv(tmp_path / "missing.csv")


def test_the_pair_is_written_all_or_nothing(runs, tmp_path):
    path = tmp_path / "run.csv"
    path.write_text("the user's old file", encoding="utf-8")
    os.mkdir(sidecar(path))        # the metadata cannot be written there
    with pytest.raises(OSError):
        runs["linesearch"].to_csv(path)
    assert path.read_text(encoding="utf-8") == "the user's old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv", "run.csv.meta.json"]  # no temporaries


def test_run_save_csv_through_the_command(tmp_path, capsys):
    path = tmp_path / "run.csv"
    assert main(["run", "--optimizer", "adam", "--steps", "5", "--save", str(path)]) == 0
    assert f"metadata in {sidecar(path)}" in capsys.readouterr().out
    frame = pd.read_csv(path)
    assert {"phi0", "phi1", "momentum_phi0", "second_moment_phi1"} <= set(frame.columns)
    assert Trajectory.from_csv(path).label.startswith("adam (α=")
