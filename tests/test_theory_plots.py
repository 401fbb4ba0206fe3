"""The theory figures say what they draw: rates (every tuning, C·ρ^t), sweep maps (categories), tuning
curves (the float64 floor marked, not drawn as a flat line)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

import descentlab as dl
from descentlab import plot, theory
from descentlab.cli import main
from descentlab.plot import style
from descentlab.plot.theory_plots import NEVER, OTHER_MINIMUM
from descentlab.sweep import sweep
from descentlab.tune import tune


def _legend_texts(fig) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def test_rates_draws_every_row_of_the_table(monkeypatch, tmp_path, capsys):
    saved = []
    monkeypatch.setattr(plot, "save", lambda fig, path: saved.append(fig))
    assert main(["rates", "--kappa", "50", "--plot", str(tmp_path / "r.png")]) == 0
    rows = [line.split("  ")[0] for line in capsys.readouterr().out.splitlines()[2:]
            if line.startswith(("gd", "momentum", "nesterov"))]
    (fig,) = saved
    texts = _legend_texts(fig)
    assert len(rows) == 4 and "nesterov (step 1/L)" in rows
    for row in rows:  # the run of each row and its envelope
        assert any(t.startswith(f"{row}: observed ρ") for t in texts), row
    envelopes = [t for t in texts if t.startswith("theory $C\\rho^t$")]
    assert len(envelopes) == 4 and all("C = " in t and "‖φ₀ − φ*‖" in t for t in envelopes)
    assert "least C" in fig.axes[0].get_title()
    colours = {line.get_color() for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"}
    assert len(colours) == 4  # the two Nesterov rows are told apart


def test_the_envelope_constant_is_the_least_that_bounds_the_run():
    problem = dl.problems.quadratic(kappa=30.0)
    mu, L = theory.eigenvalue_range(problem)
    tunings = theory.reference_tunings(mu, L)
    trajs = [dl.run(t.optimizer(), problem, steps=200) for t in tunings.values()]
    fig = plot.rates(problem, trajs, list(tunings.values()), labels=list(tunings))
    dashed = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    for line, traj in zip(dashed, trajs, strict=True):
        err = np.linalg.norm(traj.params - problem.minima[0], axis=1)
        envelope = np.asarray(line.get_ydata(), dtype=float)
        drawn = np.isfinite(envelope)               # not drawn below float64's floor near φ*
        assert drawn[0] and np.all(drawn[:np.argmin(drawn)] if not drawn.all() else drawn)
        assert np.all(err[drawn] <= envelope[drawn] * (1 + 1e-12))                # bounds the run …
        assert np.any(np.isclose(err[drawn], envelope[drawn], rtol=1e-12))        # … and touches it
        assert np.all(err[~drawn] <= 1e-13 * err[0])                 # where it is not drawn, nor is the run


def test_a_round_bowl_shows_every_run_landing_on_the_minimum(tmp_path):
    """κ = 1: every tuned method reaches φ* exactly in one step; the plot shows the start, a ▼ at the
    floor at step 1, a note saying so, and an x range of a few steps (not 300 empty ones)."""
    problem = dl.problems.quadratic(kappa=1.0)
    mu, L = theory.eigenvalue_range(problem)
    tunings = theory.reference_tunings(mu, L)
    trajs = [dl.run(t.optimizer(), problem, steps=300) for t in tunings.values()]
    assert all(np.linalg.norm(t.params[1] - problem.minima[0]) == 0.0 for t in trajs)
    fig = plot.rates(problem, trajs, list(tunings.values()), labels=list(tunings))
    ax = fig.axes[0]
    assert ax.get_xlim()[1] <= 5
    floors = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(floors) == 4 and all(list(line.get_xdata()) == [1] for line in floors)
    assert any("one step" in t.get_text() for t in ax.texts)


def test_tuning_curves_break_at_the_float64_floor():
    problem = dl.datasets.line_fit()
    result = tune(problem, ["gd", "momentum"], budget=200, trials=12, seeds=2)
    fig = plot.tuning(result)
    ax = fig.axes[0]
    floor = style.gap_floor(result.floor)
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(solid) == 2
    reached = 0
    for line in solid:
        y = np.asarray(line.get_ydata(), dtype=float)
        shown = y[np.isfinite(y)]
        assert np.all(shown > floor)  # nothing drawn along the floor
        reached += np.isnan(y).any()
    assert reached >= 1  # some curve did reach the floor …
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert markers and all(np.allclose(m.get_ydata(), floor) for m in markers)  # … and is marked there
    assert any("float64 resolution" in t for t in _legend_texts(fig))


def test_sweep_map_colours_another_minimum_apart_from_never():
    problem = dl.datasets.gabor()
    spec = dl.optimizers.get("nesterov")
    grid = {"lr": spec.hyper("lr").grid(16), "beta": spec.hyper("beta").grid(12)}
    result = sweep(problem, "nesterov", grid, steps=300)
    assert result.other_minimum.any()
    fig = plot.sweep_map(result, problem)
    texts = _legend_texts(fig)
    assert any(t.startswith("converged elsewhere") for t in texts)
    assert any(t.startswith("not below the tolerance") for t in texts)
    assert not any(t == "diverged" for t in texts)  # no category that is not on the map
    colours = [h.get_facecolor() for legend in fig.legends for h in legend.legend_handles
               if hasattr(h, "get_facecolor") and not hasattr(h, "get_marker")]
    shown = [tuple(c) for c in colours]
    assert to_rgba(OTHER_MINIMUM) in shown and to_rgba(NEVER) in shown


@pytest.mark.parametrize("axes", [1, 2])
def test_one_and_two_axis_maps_render(axes, tmp_path):
    problem = dl.datasets.gabor()
    grid = {"lr": np.geomspace(1e-3, 3, 20)} | ({"beta": [0.0, 0.5, 0.9]} if axes == 2 else {})
    method = "gd" if axes == 1 else "momentum"
    result = sweep(problem, method, grid, steps=200)
    plot.save(plot.sweep_map(result, problem), tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 5000
