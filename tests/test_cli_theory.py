"""descentlab rates, sweep and tune through the entry point."""

from __future__ import annotations

import math
import os

import pytest

from descentlab.cli import main


def test_rates_table_shows_the_anchors(capsys):
    assert main(["rates", "--kappa", "100"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("  ")[0].strip(): line.split() for line in out.splitlines()[2:6]}
    assert float(rows["gd (α = 2/(L+μ))"][-3]) == pytest.approx(99 / 101, abs=1e-6)
    assert float(rows["momentum (optimal)"][-3]) == pytest.approx(9 / 11, abs=1e-6)
    assert float(rows["nesterov (step 1/L)"][-3]) == pytest.approx(0.9, abs=1e-6)
    for parts in rows.values():  # observed in a real run ≈ predicted
        assert float(parts[-2]) == pytest.approx(float(parts[-3]), rel=1e-3)
    assert int(rows["gd (α = 2/(L+μ))"][-1]) == math.ceil(math.log(1e6) / -math.log(99 / 101))


def test_rates_plot_and_sweep_and_tune(tmp_path, capsys):
    assert main(["rates", "--kappa", "30", "--plot", str(tmp_path / "rates.png")]) == 0
    assert main(["sweep", "--optimizer", "nesterov", "--lr", "1e-3:1e-1:16:log", "--beta", "0:0.9:12",
                 "--steps", "200", "-o", str(tmp_path / "sweep.png")]) == 0
    assert "best: lr=" in capsys.readouterr().out
    assert main(["sweep", "--problem", "gabor", "--optimizer", "gd", "--lr", "0.01:1:10:log", "--steps", "50",
                 "-o", str(tmp_path / "gd.svg")]) == 0
    assert main(["tune", "--optimizers", "gd,nesterov", "--budget", "50", "--trials", "6", "--seeds", "2",
                 "-o", str(tmp_path / "tune.pdf")]) == 0
    out = capsys.readouterr().out
    assert "Protocol:" in out and "nesterov" in out
    for name in ("rates.png", "sweep.png", "gd.svg", "tune.pdf"):
        assert (tmp_path / name).stat().st_size > 1000


BAD = [
    (["sweep", "--lr", "1e-4:1e-1:0"], "COUNT"),
    (["sweep", "--lr", "1e-4:1e-1"], "START:STOP:COUNT"),
    (["sweep", "--beta", "0:1.5:4"], "beta"),
    (["sweep", "--optimizer", "gd", "--beta", "0:0.5:3"], "--beta"),
    (["sweep", "--lr", "1e-6:1:9000:log", "--beta", "0:0.9:9000"], "too many"),
    (["sweep", "-o", "map.jpg"], ".png"),
    (["rates", "--kappa", "0.5"], "kappa"),
    (["rates", "--plot", "r.gif"], ".png"),
    (["tune", "--optimizers", "gd,sgdx"], "sgdx"),
    (["tune", "--trials", "0"], "trials"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
