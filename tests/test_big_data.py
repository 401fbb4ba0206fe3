"""Figures of big data: a 10⁶-row CSV is fitted with all its rows and drawn with a bounded number of marks.

The line fit keeps every row in its loss through sufficient statistics (N, x̄, ȳ, S_xx, b*, L_min), so a
loss or gradient costs the same at 10⁶ rows as at 12; what is drawn of the data is a density image of a
fixed number of bins and model lines on a fixed grid of x, whatever N is. The command's peak memory is
checked in a fresh interpreter (VmHWM of the child itself, tests/own_peak.py); its time against 10² rows
is measured by benchmarks/bench_big_data.py.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

import descentlab as dl
from descentlab import scene as scene_mod
from descentlab.plot import panels
from own_peak import OWN_PEAK

ROWS = 1_000_000
PEAK_LIMIT = 300e6
"""The figure of 10⁶ rows must run in less than this (bytes, the child's own VmHWM)."""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """10⁶ rows of x, y on a noisy line, as a spreadsheet writes them (≈ 19 MB)."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0.0, 2.0, ROWS)
    y = 1.0 + 0.8 * x + 0.3 * rng.standard_normal(ROWS)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with path.open("w") as f:
        f.write("x,y\n")
        np.savetxt(f, np.column_stack([x, y]), delimiter=",", fmt="%.8g")
    return path


@pytest.fixture(scope="module")
def big_problem(big_csv):
    return dl.datasets.from_csv(big_csv)


def test_the_loss_and_gradient_use_every_row(big_problem, big_csv):
    """Oracle: the sum of squared errors over all 10⁶ rows read back by numpy, at points near and far
    from the minimum (the statistics are centred, so near the minimum nothing cancels)."""
    table = np.loadtxt(big_csv, delimiter=",", skiprows=1)
    x, y = table[:, 0], table[:, 1]
    assert big_problem.n_examples == ROWS and np.array_equal(big_problem.x, x)
    best = big_problem.minima[0]
    for point in (np.array([1.6, -0.5]), best + 1e-3, best):
        r = point[0] + point[1] * x - y
        assert float(big_problem.loss(point)) == pytest.approx(math.fsum(r * r), rel=1e-11)
        want = 2.0 * np.array([math.fsum(r), math.fsum(r * x)])
        scale = 2.0 * math.fsum(np.abs(r) * (1.0 + np.abs(x)))  # the size of the terms summed (0 at φ*)
        np.testing.assert_allclose(big_problem.grad(point), want, rtol=1e-9, atol=1e-12 * scale)
    # the minimum is numpy's least-squares line of all the rows
    np.testing.assert_allclose(best[::-1], np.polyfit(x, y, 1), rtol=1e-10)


def test_what_is_drawn_does_not_grow_with_the_rows(big_problem):
    traj = dl.run(dl.optimizers.nesterov(lr=big_problem.suggested.lr, beta=0.6), big_problem, steps=30)
    sc = scene_mod.build(big_problem, traj, resolution=40)
    assert sc.model_x.shape == (200,)                       # model lines on a grid of x, not on every x
    assert sc.paths[0].model_lines.shape == (31, 200)
    fig = Figure()
    ax = panels.data(sc, fig.add_subplot())
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1 and images[0].get_array().shape == panels.DENSITY_BINS[::-1]
    marks = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert marks == 0                                       # no marker per row
    # every row is counted in the density, and the legend says how many there are
    assert int(images[0].get_array().sum()) == ROWS
    assert f"N={ROWS:,}" in ax.get_legend().get_texts()[0].get_text()


def test_the_figure_command_stays_within_its_memory(big_csv, tmp_path):
    code = OWN_PEAK + (
        "import sys\n"
        "from descentlab.cli import main\n"
        "code = main(['figure', '--data', sys.argv[1], '-o', sys.argv[2]])\n"
        "print(code, own_peak())\n")
    png = tmp_path / "big.png"
    out = subprocess.run([sys.executable, "-c", code, str(big_csv), str(png)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    code, peak = (int(v) for v in out.stdout.split()[-2:])
    assert code == 0 and png.stat().st_size > 10_000
    assert f"{ROWS} rows" in out.stderr                     # it said what it read: every row
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.0f} MB"


def test_a_surface_too_costly_on_big_data_is_refused_before_the_runs(tmp_path):
    """Gabor has no closed form: its surface reads every row at every grid point. 10⁵ rows at the
    default resolution exceed budget.MAX_SURFACE_WORK: one line naming --resolution and the largest
    that fits, exit 2, before any run (a few seconds, not minutes); the line fit is never refused."""
    import time

    from descentlab import budget

    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 30, 100_000)
    path = tmp_path / "big.csv"
    np.savetxt(path, np.c_[x, np.sin(0.5 * x)], delimiter=",", header="x,y", comments="")
    cmd = [sys.executable, "-m", "descentlab", "figure", "--data", str(path), "-o", str(tmp_path / "g.png")]
    start = time.perf_counter()
    out = subprocess.run([*cmd, "--problem", "gabor"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    line, = out.stderr.strip().splitlines()
    most = int(np.sqrt(budget.MAX_SURFACE_WORK // 100_000))
    assert "--resolution 150 on 100,000 examples" in line and f"at most --resolution {most}" in line
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "g.png").exists()
    budget.check_surface(2000, dl.datasets.line_fit().examples_per_loss)  # closed form: never refused
