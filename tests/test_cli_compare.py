"""descentlab compare and lookahead through the real entry point."""

from __future__ import annotations

import os

import pytest

from descentlab.cli import main
from descentlab.config import Config


def test_compare_writes_a_figure_and_a_summary(tmp_path, cli):
    out = cli("compare", "--optimizers", "gd,momentum,nesterov,adam", "--steps", "60", "-o", "compare.png",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["optimizer", "steps", "final"]
    assert [line.split()[0] for line in lines[1:5]] == ["gd", "momentum", "nesterov", "adam"]


def test_compare_on_rosenbrock_with_shared_hyper_parameters(tmp_path, capsys):
    assert main(["compare", "--problem", "rosenbrock", "--optimizers", "momentum,nesterov", "--lr", "1e-3",
                 "--beta", "0.95", "--steps", "50", "-o", str(tmp_path / "ravine.svg")]) == 0
    printed = capsys.readouterr().out
    assert "momentum (α=0.001, β=0.95)" in printed and "nesterov (α=0.001, β=0.95)" in printed
    assert "<svg" in (tmp_path / "ravine.svg").read_text()


def test_dump_config_then_config_reproduces_the_run(tmp_path, capsys):
    args = ["compare", "--optimizers", "sgd,nesterov,adam", "--set", "nesterov.lr=0.03",
            "--set", "adam.lr=0.2", "--steps", "20", "--seed", "5"]
    assert main([*args, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    cfg = Config.from_toml(toml)
    assert [s.name for s in cfg.optimizers] == ["sgd", "nesterov", "adam"]
    assert cfg.optimizers[1].hyperparams["lr"] == 0.03 and cfg.optimizers[2].hyperparams["lr"] == 0.2
    assert cfg.seed == 5 and cfg.steps == 20
    assert cfg.batch_size is None and [s.batch_size for s in cfg.optimizers] == [3, None, None]  # sgd's own
    (tmp_path / "run.toml").write_text(toml)
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 0
    direct = capsys.readouterr().out
    assert main(["compare", "--config", str(tmp_path / "run.toml"), "-o", str(tmp_path / "b.png")]) == 0
    from_file = capsys.readouterr().out
    # identical final losses; the file states sgd's batch size, so it is no longer "its default"
    assert [line.replace("(its default)", "").split() for line in direct.splitlines()[:4]] == \
        [line.split() for line in from_file.splitlines()[:4]]


def test_command_line_overrides_the_config_file(tmp_path, capsys):
    (tmp_path / "run.toml").write_text('steps = 10\n[optimizers.nesterov]\nlr = 0.02\nbeta = 0.5\n')
    assert main(["compare", "--config", str(tmp_path / "run.toml"), "--steps", "7", "--dump-config"]) == 0
    cfg = Config.from_toml(capsys.readouterr().out)
    assert cfg.steps == 7 and cfg.optimizers[0].hyperparams == {"lr": 0.02, "beta": 0.5}


@pytest.mark.parametrize("names", ["sgd,nesterov", "gd,sgd,nesterov"])
def test_compare_says_each_optimizers_batch_size(names):
    """The title names every optimizer's batch size whenever one uses minibatches, also when gd
    (all the data) is listed first; sgd's own default is said to be one."""
    from descentlab import plot
    from descentlab.config import parse_optimizer_list

    problem, trajs = Config(optimizers=parse_optimizer_list(names), steps=5).run()
    title = plot.compare(problem, trajs)._suptitle.get_text()
    line = title.splitlines()[1]
    assert line.startswith("batches (seed 0") and "sgd 3 (its default)" in line and "nesterov all 12" in line
    assert ("gd all 12" in line) == names.startswith("gd")
    problem, trajs = Config(optimizers=parse_optimizer_list(names), steps=5, batch_size=4, seed=2).run()
    line = plot.compare(problem, trajs)._suptitle.get_text().splitlines()[1]
    assert "seed 2, one shared draw per size" in line and "sgd 4 ·" in line and "nesterov 4" in line
    problem, trajs = Config(optimizers=parse_optimizer_list("gd,nesterov"), steps=5).run()
    assert len(plot.compare(problem, trajs)._suptitle.get_text().splitlines()) == 1  # no minibatches


def test_compare_table_has_a_batch_column_and_set_gives_one_optimizer_its_own(tmp_path, capsys):
    assert main(["compare", "--optimizers", "gd,sgd,momentum", "--set", "momentum.batch_size=4",
                 "-o", str(tmp_path / "c.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = lines[0].split()
    assert "batch" in head
    rows = {line.split(" (")[0]: line for line in lines[1:4]}
    assert "all 12" in rows["gd"] and "3 (its default)" in rows["sgd"] and "  4  " in rows["momentum"]
    assert main(["compare", "--optimizers", "gd,momentum", "-o", str(tmp_path / "d.png")]) == 0
    assert "batch" not in capsys.readouterr().out.splitlines()[0].split()


def test_lookahead_and_trace(tmp_path, cli):
    out = cli("lookahead", "--step", "5", "-o", "lookahead.png", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = cli("lookahead", "--trace", "-o", "trace.pdf", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "lookahead.png").exists() and (tmp_path / "trace.pdf").read_bytes()[:4] == b"%PDF"


def test_animate_gif_and_mp4_through_the_entry_point(tmp_path, cli):
    from PIL import Image

    out = cli("animate", "--optimizers", "momentum,nesterov", "--steps", "12", "--frames", "6",
              "--size", "480x400", "--dpi", "40", "-o", "race.gif", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no progress bar when not on a terminal
    with Image.open(tmp_path / "race.gif") as im:
        assert im.n_frames == 6 and im.size == (480, 400)
    out = cli("animate", "--problem", "himmelblau", "--steps", "8", "--frames", "4", "--size", "480x400",
              "--dpi", "40", "-o", "race.mp4", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "race.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (480, 400) and sum(1 for _ in reader) == 4


BAD = [
    (["animate", "--size", "big"], "--size"),
    (["animate", "--size", "0x100"], "--size"),
    (["animate", "--fps", "0"], "fps"),
    (["animate", "--frames", "1"], "frames"),
    (["animate", "-o", "race.avi"], ".gif"),
    (["animate", "--set", "rmsprop.lr=1"], "not among"),
    (["compare", "--optimizers", "gd,lion"], "lion"),
    (["compare", "--set", "nesterov"], "NAME.KEY=VALUE"),
    (["compare", "--set", "adam.lr=x"], "must be a number"),
    (["compare", "--optimizers", "gd", "--set", "adam.lr=0.1"], "not among"),
    (["compare", "--config", "missing.toml"], "no such file"),
    (["compare", "--config", "broken.toml"], "not valid TOML"),
    (["compare", "-o", "compare.gif"], ".png"),
    (["compare", "--gamma", "0.9", "--optimizers", "gd,nesterov"], "--gamma"),
    (["compare", "--levels", "cubic"], "--levels"),
    (["lookahead", "--optimizer", "adam"], "look-ahead"),
    (["lookahead", "--optimizer", "momentum"], "momentum does not"),
    (["lookahead", "--step", "99", "--steps", "10"], "--step"),
    (["lookahead", "-o", "la.bmp"], ".png"),
    (["lookahead", "--problem", "quadratic", "--kappa", "0"], "kappa"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    os.chdir(tmp_path)
    (tmp_path / "broken.toml").write_text("steps = [\n")
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
