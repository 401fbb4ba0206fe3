"""Fair tuning: same budget, trials, seeds and batches for every optimizer."""

from __future__ import annotations

import numpy as np
import pytest

import descentlab as dl
from descentlab.tune import sample_space, space, tune


@pytest.fixture(scope="module")
def tuned():
    return tune(dl.datasets.line_fit(), ["gd", "momentum", "nesterov", "adam"], budget=120, trials=16,
                seeds=3)


def test_every_optimizer_gets_the_same_protocol(tuned):
    assert [r.method for r in tuned.results] == ["gd", "momentum", "nesterov", "adam"]
    for r in tuned.results:
        assert len(r.runs) == 3 and all(t.steps == 120 or t.diverged_at for t in r.runs)
        starts = [t.params[0] for t in r.runs]
        np.testing.assert_array_equal(starts, [t.params[0] for t in tuned.results[0].runs])  # same seeds
        for k, v in r.hyperparams.items():
            lo, hi, _ = space(r.method)[k]
            assert lo <= v <= hi
    text = tuned.protocol()
    assert "16 trials of 120 steps" in text and "seeds [0, 1, 2]" in text


def test_reported_statistics_come_from_the_runs(tuned):
    problem = dl.datasets.line_fit()
    for r in tuned.results:
        gaps = np.array([t.losses[-1] - problem.min_loss for t in r.runs])
        assert r.mean_gap == pytest.approx(gaps.mean(), rel=1e-6, abs=1e-12)


def test_same_seeds_same_result():
    a = tune(dl.datasets.gabor(), ["momentum", "nesterov"], budget=60, trials=8, seeds=2, batch_size=5)
    b = tune(dl.datasets.gabor(), ["momentum", "nesterov"], budget=60, trials=8, seeds=2, batch_size=5)
    assert [r.hyperparams for r in a.results] == [r.hyperparams for r in b.results]
    for ra, rb in zip(a.results, b.results, strict=True):
        assert all(np.array_equal(x.batches[0], y.batches[0]) for x, y in zip(ra.runs, rb.runs, strict=True))
    assert "minibatch sequences of size 5" in a.protocol()


def test_sampling_is_within_the_declared_space():
    rng = np.random.default_rng(0)
    values = sample_space("nesterov", 1000, rng)
    assert values["lr"].min() >= 1e-4 and values["lr"].max() <= 1.0
    assert np.median(np.log10(values["lr"])) == pytest.approx(-2, abs=0.3)  # log-uniform
    assert 0 <= values["beta"].min() and values["beta"].max() <= 0.99


def test_bad_tuning_inputs():
    with pytest.raises(ValueError, match="unknown optimizer"):
        tune(dl.datasets.line_fit(), ["newton"], budget=10, trials=2, seeds=1)
    with pytest.raises(ValueError, match="budget"):
        tune(dl.datasets.line_fit(), ["gd"], budget=0, trials=2, seeds=1)


def test_steps_to_tolerance_are_where_each_run_stays_below(tuned):
    """The reported steps are the sweep's: for each seed's run, the first step after which the gap
    stays ≤ its tolerance (the start's gap / 10⁶) to the end of the budget, by a plain loop."""
    problem = dl.datasets.line_fit()
    for r in tuned.results:
        steps = []
        for traj in r.runs:
            gap = traj.losses - problem.min_loss
            tol = gap[0] * 1e-6
            t = len(gap)
            while t > 0 and gap[t - 1] <= tol:
                t -= 1
            steps.append(np.inf if t == len(gap) or traj.diverged_at else t)
        assert r.mean_steps == pytest.approx(np.mean(steps))
    assert "stays below it to the end" in tuned.protocol()


def test_sgd_draws_its_own_minibatches_when_no_batch_size_is_given():
    """Without --batch-size, sgd is tuned on minibatches of its default size (on all the data it would
    be gd), drawn from the seeds; gd keeps all the data; the protocol says so. Each best run equals a
    direct run of the same optimizer with that batch size and seed."""
    problem = dl.datasets.line_fit()
    result = tune(problem, ["gd", "sgd"], budget=30, trials=4, seeds=2)
    gd, sgd = result.results
    assert all(r.batch_size is None for r in gd.runs)
    assert all(r.batch_size == dl.optimizers.STOCHASTIC_BATCH for r in sgd.runs)
    assert [r.seed for r in sgd.runs] == [0, 1]
    assert "sgd draws minibatches of 3 (its default)" in result.protocol()
    direct = dl.run(dl.optimizers.make("sgd", **sgd.hyperparams), problem, sgd.runs[1].params[0], 30,
                    batch_size=3, seed=1)
    np.testing.assert_array_equal(direct.params, sgd.runs[1].params)
