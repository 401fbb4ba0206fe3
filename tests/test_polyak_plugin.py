r"""A method from outside the package: Polyak's heavy ball, written and registered in this file.

.. math::
    \phi_{t+1} = \phi_t - \eta\,\frac{\partial L}{\partial \phi}[\phi_t] + \mu\,(\phi_t - \phi_{t-1}),
    \qquad \phi_{-1} = \phi_0

is the book's momentum (eq. 6.11) with α = η/(1−μ), β = μ: with m_0 = 0, φ_t − φ_{t−1} = −α·m_t, so
φ_{t+1} = φ_t + β(φ_t − φ_{t−1}) − α(1−β)·g_t. Registered with ``descentlab.optimizers.register`` and
nothing else, it must run through ``run``, the command line (options ``--eta``/``--mu``, ``compare``,
``sweep``, ``tune``, configs) and the explorer's callbacks; it is removed again after each test.
"""

from __future__ import annotations

import json
import tomllib
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab import datasets, optimizers, problems
from descentlab.optimizers import Hyper, Rule, registry

REL = 1e-12
SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class PolyakState(NamedTuple):
    """φ_t and φ_{t−1} (φ_{−1} = φ_0)."""

    params: np.ndarray
    previous: np.ndarray


def register_polyak():
    """Register "polyak" the way a user's module would, and return its factory."""

    @optimizers.register(
        "polyak",
        Hyper("eta", "η", suggest="gd_lr", low=0.0, low_open=True, search=(1e-4, 1.0), scale="log",
              help="step η > 0 along the gradient (default: suggested for the problem)"),
        Hyper("mu", "μ", default=0.9, suggest="beta", low=0.0, high=1.0, search=(0.0, 0.99),
              help="heavy-ball coefficient μ in [0, 1)"),
    )
    def polyak(eta, mu=0.9):
        """Polyak's heavy ball: φ_{t+1} = φ_t − η·∇L[φ_t] + μ·(φ_t − φ_{t−1})."""

        def init(params):
            p = np.array(params, dtype=np.float64)
            return PolyakState(p, p.copy())

        def update(state, grad):
            return PolyakState(state.params - eta * grad + mu * (state.params - state.previous), state.params)

        return Rule(init, update)

    return polyak


@pytest.fixture
def polyak():
    assert "polyak" not in registry._METHODS
    factory = register_polyak()
    yield factory
    registry._METHODS.pop("polyak", None)
    assert "polyak" not in optimizers.names()


def assert_same_path(a: np.ndarray, b: np.ndarray) -> None:
    """Every iterate equal to 1e-12 of the path's scale."""
    assert a.shape == b.shape
    scale = max(1.0, float(np.max(np.abs(b))))
    assert float(np.max(np.abs(a - b))) <= REL * scale, float(np.max(np.abs(a - b)))


# ---- the rule: book momentum with α = η/(1−μ), β = μ -------------------------------------------------

def test_registration_adds_it_everywhere_and_teardown_removes_it(polyak):
    assert "polyak" in optimizers.names()
    method = optimizers.get("polyak")
    assert method.hyper_names == ("eta", "mu") and method.summary.startswith("Polyak's heavy ball")
    assert not (method.full_batch or method.stochastic or method.lookahead or method.needs_loss)
    assert optimizers.all_hypers()["eta"].symbol == "η"
    assert optimizers.describe("polyak", {"eta": 0.01, "mu": 0.9}) == "polyak (η=0.01, μ=0.9)"
    assert optimizers.make("polyak", eta=0.01).hyperparams == {"eta": 0.01, "mu": 0.9}
    with pytest.raises(dl.errors.InputError, match="mu"):
        polyak(eta=0.01, mu=1.0)


LINE = datasets.line_fit()
QUAD = problems.quadratic(kappa=20.0, angle=25.0)
QUAD5 = problems.quadratic(kappa=8.0, angle=-10.0, dim=5)
# η·λ_max < 2(1+μ) keeps each run stable: λ_max ≈ 51.4 on the line fit, 20 and 8 on the quadratics
CASES = {"line-fit": (LINE, (1e-3, 0.035), (1.6, -0.5)), "quadratic": (QUAD, (1e-3, 0.09), (-4.0, 3.0)),
         "quadratic-5d": (QUAD5, (1e-3, 0.2), (-4.0, 3.0, 1.0, -2.0, 0.5))}


@pytest.mark.parametrize("case", CASES)
@SETTINGS
@given(u=st.floats(0.0, 1.0), mu=st.floats(0.0, 0.95), steps=st.integers(1, 150))
def test_polyak_equals_book_momentum(polyak, case, u, mu, steps):
    problem, (lo, hi), start = CASES[case]
    eta = lo * (hi / lo) ** u
    mine = dl.run(polyak(eta=eta, mu=mu), problem, start=start, steps=steps)
    book = dl.run(optimizers.momentum(lr=eta / (1.0 - mu), beta=mu), problem, start=start, steps=steps)
    assert mine.diverged_at is None and book.diverged_at is None
    assert_same_path(mine.params, book.params)
    np.testing.assert_allclose(mine.losses, book.losses, rtol=1e-10, atol=1e-12 * book.losses[0])
    # its own buffer is recorded by name: φ_{t−1}
    np.testing.assert_array_equal(mine.buffers["previous"][1:], mine.params[:-1])
    assert mine.optimizer == "polyak" and mine.hyperparams == {"eta": eta, "mu": mu}


def test_polyak_with_mu_zero_is_gradient_descent(polyak):
    mine = dl.run(polyak(eta=0.02, mu=0.0), LINE, steps=40)
    gd = dl.run(optimizers.gd(lr=0.02), LINE, steps=40)
    np.testing.assert_array_equal(mine.params, gd.params)


def test_polyak_is_not_momentum_with_alpha_equal_eta(polyak):
    """The test above could fail: without the 1/(1−μ) the paths part."""
    mine = dl.run(polyak(eta=0.01, mu=0.9), LINE, steps=30)
    wrong = dl.run(optimizers.momentum(lr=0.01, beta=0.9), LINE, steps=30)
    assert np.max(np.abs(mine.params - wrong.params)) > 1e-2


def test_polyak_on_minibatches_equals_momentum_on_the_same_batches(polyak):
    mine = dl.run(polyak(eta=0.01, mu=0.8), LINE, steps=50, batch_size=4, seed=3)
    book = dl.run(optimizers.momentum(lr=0.05, beta=0.8), LINE, steps=50, batch_size=4, seed=3)
    assert_same_path(mine.params, book.params)


def test_polyak_runs_alongside_the_built_ins(polyak):
    trajs = dl.run_many([polyak(eta=0.01, mu=0.9), optimizers.momentum(lr=0.1, beta=0.9)], LINE, steps=25)
    assert_same_path(trajs[0].params, trajs[1].params)


# ---- the command line, in process ------------------------------------------------------------------

def test_the_cli_runs_polyak_with_its_own_options(polyak, tmp_path, capsys):
    from descentlab.cli import main

    assert main(["run", "--optimizer", "polyak", "--eta", "0.01", "--mu", "0.9", "--steps", "30",
                 "--save", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "polyak (η=0.01, μ=0.9)" in out
    saved = dl.Trajectory.from_json(tmp_path / "p.json")
    assert saved.optimizer == "polyak" and saved.hyperparams == {"eta": 0.01, "mu": 0.9}
    book = dl.run(optimizers.momentum(lr=0.01 / (1 - 0.9), beta=0.9), LINE, steps=30)
    assert_same_path(saved.params, book.params)
    assert saved == dl.run(polyak(eta=0.01, mu=0.9), LINE, steps=30)


def test_the_cli_help_lists_polyaks_options(polyak, capsys):
    from descentlab.cli import main

    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--eta" in out and "--mu" in out and "polyak" in out


def test_the_cli_refuses_bad_polyak_values_in_one_line(polyak, capsys):
    from descentlab.cli import main

    assert main(["run", "--optimizer", "polyak", "--eta", "0.01", "--mu", "1.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mu (μ)" in err[0] and "Traceback" not in err[0]
    assert main(["run", "--optimizer", "gd", "--eta", "0.01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--eta" in err[0] and "gd" in err[0]


def test_the_cli_compares_polyak_with_momentum(polyak, tmp_path, capsys):
    from descentlab.cli import main

    out_png = tmp_path / "cmp.png"
    assert main(["compare", "--optimizers", "polyak,momentum", "-o", str(out_png)]) == 0
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert "polyak (η=" in text and "momentum (α=" in text
    # with α = η/(1−μ), β = μ the two rows of the comparison are the same run
    args = ["compare", "--optimizers", "polyak,momentum", "--eta", "0.01", "--mu", "0.9", "--lr", "0.1",
            "--beta", "0.9", "--steps", "40"]
    assert main([*args, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    data = tomllib.loads(toml)
    assert json.dumps(data)  # plain TOML values
    config_file = tmp_path / "cmp.toml"
    config_file.write_text(toml)
    cfg = dl.config.Config.load(config_file)
    assert [s.method for s in cfg.optimizers] == ["polyak", "momentum"]
    _, (mine, book) = cfg.run()
    assert mine.hyperparams == {"eta": 0.01, "mu": 0.9} and book.hyperparams == {"lr": 0.1, "beta": 0.9}
    assert_same_path(mine.params, book.params)
    assert main(["compare", "--config", str(config_file), "-o", str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").exists()


def test_the_cli_sweeps_and_tunes_polyak(polyak, tmp_path, capsys):
    from descentlab.cli import main

    assert main(["sweep", "--optimizer", "polyak", "--eta", "1e-3:3e-2:5:log", "--mu", "0,0.5,0.9",
                 "--steps", "30", "-o", str(tmp_path / "s.png")]) == 0
    assert "5 eta × 3 mu" in capsys.readouterr().out
    assert (tmp_path / "s.png").exists()
    assert main(["tune", "--optimizers", "polyak,momentum", "--trials", "4", "--seeds", "1",
                 "--budget", "20"]) == 0
    rows = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert {"polyak", "momentum"} <= rows


def test_a_polyak_sweep_equals_the_momentum_sweep_it_maps_to(polyak):
    etas, mu = np.geomspace(1e-3, 3e-2, 6), 0.7
    mine = dl.sweep.sweep(LINE, "polyak", {"eta": etas}, steps=40, fixed={"mu": mu}, engine="numpy")
    book = dl.sweep.sweep(LINE, "momentum", {"lr": etas / (1 - mu)}, steps=40, fixed={"beta": mu},
                          engine="numpy")
    np.testing.assert_allclose(mine.final_loss, book.final_loss, rtol=1e-9)
    np.testing.assert_array_equal(mine.steps_to_tol, book.steps_to_tol)


# ---- the explorer's callbacks --------------------------------------------------------------------

def test_the_explorer_shows_and_runs_polyak(polyak):
    from descentlab.config import Config, OptimizerSpec
    from descentlab.web.app import Explorer, create_app

    app = create_app()
    layout = app.server.test_client().get("/_dash-layout").data.decode()
    assert '"method": "polyak"' in layout or '"method":"polyak"' in layout
    explorer = Explorer()
    d = explorer.defaults("line-fit", 1.0)
    assert set(d["hyper"]["polyak"]) == {"eta", "mu"}
    values = explorer.page_values("line-fit", optimizers=["polyak", "momentum"], steps=25)
    values["hyper"]["polyak"] = {"eta": -2.0, "mu": 0.9}          # η = 10^-2 on a log slider
    values["hyper"]["momentum"] = {"lr": -1.0, "beta": 0.9}       # α = 10^-1 = η/(1−μ)
    result = explorer.update(values, None, None, None)
    assert not result["error"], result["message"]
    trajs = explorer.outcome(*explorer.request(values, None).cache_key).trajectories
    # the page lists runs in the registry's order: built-ins first, then polyak
    assert [t.optimizer for t in trajs] == ["momentum", "polyak"]
    book, mine = trajs
    assert mine.hyperparams == {"eta": 0.01, "mu": 0.9} and book.hyperparams == {"lr": 0.1, "beta": 0.9}
    assert_same_path(mine.params, book.params)
    assert any(line.startswith("polyak (η=0.01, μ=0.9)") for line in result["summary"])
    config = Config(problem="line-fit", steps=25, optimizers=(
        OptimizerSpec("momentum", "momentum", {"lr": 0.1, "beta": 0.9}),
        OptimizerSpec("polyak", "polyak", {"eta": 0.01, "mu": 0.9})))
    assert list(trajs) == config.run()[1]
    bad = dict(values, hyper={**values["hyper"], "polyak": {"eta": -2.0, "mu": 1.5}})
    answer = explorer.update(bad, None, None, None)
    assert answer["error"] and "polyak" in answer["message"] and "\n" not in answer["message"]
