"""The descentlab command through its real entry point: success paths and every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import descentlab as dl
from descentlab.cli import main


def test_entry_point_is_installed():
    assert Path(sys.executable).with_name("descentlab").exists(), "pip install -e . installs the script"


def test_help_lists_commands_and_does_not_import_matplotlib(cli):
    out = cli("--help")
    assert out.returncode == 0
    assert "figure" in out.stdout and "run" in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom descentlab.cli import main\nmain(['--help'])\n"
         "print('matplotlib' in sys.modules)"],
        capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("command", ["figure", "run"])
def test_every_option_is_explained(command, cli):
    out = cli(command, "--help")
    assert out.returncode == 0
    for flag in ["--problem", "--data", "--x", "--y", "--optimizer", "--lr", "--beta", "--steps",
                 "--start", "--batch-size", "--seed"]:
        assert flag in out.stdout


def test_figure_defaults_write_a_png(tmp_path, cli):
    out = cli("figure", "-o", "fig.png", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = (tmp_path / "fig.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "nesterov" in out.stdout and "line-fit" in out.stdout


def test_figure_on_user_csv_as_svg(tmp_path, cli):
    rng = np.random.default_rng(1)
    hours = rng.uniform(0, 10, 20)
    score = 30 + 5 * hours + rng.normal(0, 3, 20)
    csv = tmp_path / "my.csv"
    csv.write_text("name,hours,score\n" + "".join(f"s{i},{h},{s}\n" for i, (h, s) in
                                                  enumerate(zip(hours, score, strict=True))))
    out = cli("figure", "--optimizer", "momentum", "--lr", "0.0005", "--beta", "0.8", "--steps", "40",
              "--data", "my.csv", "--x", "hours", "--y", "score", "--start", "0,0", "-o", "fig.svg",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "fig.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "momentum" in out.stdout


def test_figure_pdf_for_a_surface(tmp_path):
    assert main(["figure", "--problem", "himmelblau", "-o", str(tmp_path / "h.pdf")]) == 0
    assert (tmp_path / "h.pdf").read_bytes()[:4] == b"%PDF"


def test_run_saves_the_same_trajectory_as_the_library(tmp_path, capsys):
    args = ["run", "--problem", "rosenbrock", "--optimizer", "nesterov", "--lr", "1e-3",
            "--beta", "0.9", "--steps", "500"]
    assert main([*args, "--save", str(tmp_path / "run.csv")]) == 0
    assert main([*args, "--save", str(tmp_path / "run.json")]) == 0
    printed = capsys.readouterr().out
    expected = dl.run(dl.optimizers.nesterov(lr=1e-3, beta=0.9), dl.problems.rosenbrock(), steps=500)
    assert dl.Trajectory.from_csv(tmp_path / "run.csv") == expected
    assert dl.Trajectory.from_json(tmp_path / "run.json") == expected
    assert f"{expected.losses[-1]:.6g}" in printed  # the table's last row shows the final loss
    assert "step" in printed and "|grad|" in printed


def test_run_sgd_uses_minibatches_and_the_seed(capsys):
    assert main(["run", "--optimizer", "sgd", "--seed", "4", "--steps", "5"]) == 0
    first = capsys.readouterr().out
    assert "batch size 3" in first
    assert main(["run", "--optimizer", "sgd", "--seed", "4", "--steps", "5"]) == 0
    assert capsys.readouterr().out == first
    assert main(["run", "--optimizer", "sgd", "--seed", "5", "--steps", "5"]) == 0
    assert capsys.readouterr().out != first


def test_run_reports_divergence(capsys):
    assert main(["run", "--optimizer", "gd", "--lr", "1"]) == 0
    err = capsys.readouterr().err
    assert "diverged at step" in err


def test_bare_command_prints_help(cli):
    out = cli()
    assert out.returncode == 0
    assert "Usage" in out.stdout


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


BAD = [
    (["run", "--lr", "-1"], "lr"),
    (["run", "--lr", "nan"], "lr"),
    (["run", "--lr", "inf"], "lr"),
    (["run", "--beta", "1"], "beta"),
    (["run", "--beta", "-0.1"], "beta"),
    (["run", "--optimizer", "adam", "--gamma", "1.5"], "gamma"),
    (["run", "--optimizer", "adam", "--eps", "0"], "eps"),
    (["run", "--steps", "-1"], "steps"),
    (["run", "--steps", "abc"], "--steps"),
    (["run", "--optimizer", "lion"], "lion"),
    (["run", "--problem", "banana"], "banana"),
    (["run", "--start", "1,2,3"], "start"),
    (["run", "--start", "a,b"], "--start"),
    (["run", "--batch-size", "0"], "batch_size"),
    (["run", "--batch-size", "13"], "batch_size"),
    (["run", "--problem", "rosenbrock", "--batch-size", "2"], "batch_size"),
    (["run", "--kappa", "5"], "kappa"),
    (["run", "--problem", "quadratic", "--kappa", "0.5"], "kappa"),
    (["run", "--optimizer", "nesterov", "--gamma", "0.9"], "--gamma"),
    (["run", "--optimizer", "gd", "--beta", "0.9"], "--beta"),
    (["run", "--x", "a"], "data"),
    (["run", "--save", "run.txt"], ".csv"),
    (["run", "--rows", "1"], "rows"),
    (["figure", "-o", "fig.txt"], ".png"),
    (["figure", "--levels", "cubic"], "--levels"),
    (["figure", "--resolution", "1"], "resolution"),
    (["figure", "--bogus"], "--bogus"),
    (["figure", "--problem", "quadratic", "--kappa", "10", "--start", "1,2"], None),  # valid
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_usage_errors_print_one_line_and_exit_2(args, needle, tmp_path, capsys):
    os.chdir(tmp_path)
    if needle is None:  # the control case: the same shape of command line succeeds
        assert main([*args, "-o", "ok.png"]) == 0
        return
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("descentlab")
    assert needle in lines[0]
    assert "Traceback" not in err


CSV_ERRORS = [
    ("missing", None, "no such file"),
    ("empty.csv", "", "empty"),
    ("header.csv", "hours,score\n", "no data rows"),
    ("text.csv", "hours,score\n1,2\n2,abc\n", "row 3, column 'score'"),
    ("nan.csv", "hours,score\n1,2\n2,nan\n", "not a finite number"),
    ("inf.csv", "hours,score\n1,inf\n2,3\n", "not a finite number"),
    ("one.csv", "hours,score\n1,2\n", "at least 2"),
    ("cols.csv", "hours,score\n1,2\n2,3\n", "columns are: hours, score"),
]


@pytest.mark.parametrize(("name", "text", "needle"), CSV_ERRORS, ids=[c[0] for c in CSV_ERRORS])
def test_bad_data_files_through_the_real_entry_point(name, text, needle, tmp_path, cli):
    path = str(tmp_path / name) if text is None else _write(tmp_path, name, text)
    extra = ["--x", "hourz"] if name == "cols.csv" else []
    out = cli("figure", "--data", path, *extra, "-o", str(tmp_path / "out.png"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "out.png").exists()


def test_a_failed_command_leaves_the_existing_output_untouched(tmp_path, capsys):
    target = tmp_path / "fig.png"
    target.write_bytes(b"precious")
    assert main(["figure", "--lr", "-1", "-o", str(target)]) == 2
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_missing_output_directory_is_one_line(tmp_path, capsys):
    code = main(["figure", "-o", str(tmp_path / "nope" / "fig.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "no such directory" in err[0]


def test_outputs_get_ordinary_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["run", "--steps", "3", "--save", str(tmp_path / "r.json")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
