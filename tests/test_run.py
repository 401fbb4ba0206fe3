"""run(): reproducible minibatches, explicit batches, argument checks, divergence without
warnings, and the Trajectory's CSV/JSON round trips."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import descentlab as dl
from descentlab import catalogue, datasets, optimizers, problems
from descentlab.divergence import FACTOR as DIVERGENCE_FACTOR
from descentlab.files import write_atomic


@pytest.fixture(scope="module")
def line():
    return datasets.line_fit()


@pytest.fixture(scope="module")
def gabor():
    return datasets.gabor()


NAG = optimizers.nesterov(lr=0.02, beta=0.9)


# ---- seeds and minibatches -------------------------------------------------------------------

@pytest.mark.parametrize("opt", [optimizers.sgd(lr=0.02), NAG, optimizers.adam(lr=0.05)])
def test_same_seed_gives_bit_identical_trajectories(line, opt):
    a = dl.run(opt, line, start=(1.6, -0.5), steps=50, batch_size=5, seed=123)
    b = dl.run(opt, line, start=(1.6, -0.5), steps=50, batch_size=5, seed=123)
    assert a == b
    assert np.array_equal(a.params, b.params) and np.array_equal(a.grads, b.grads)
    assert all(np.array_equal(u, v) for u, v in zip(a.batches, b.batches, strict=True))
    assert a.seed == 123 and a.batch_size == 5


def test_different_seeds_give_different_batches_and_iterates(line):
    a = dl.run(NAG, line, start=(1.6, -0.5), steps=30, batch_size=4, seed=0)
    b = dl.run(NAG, line, start=(1.6, -0.5), steps=30, batch_size=4, seed=1)
    assert any(not np.array_equal(u, v) for u, v in zip(a.batches, b.batches, strict=True))
    assert not np.array_equal(a.params, b.params)
    assert a != b


@pytest.mark.parametrize(("n", "batch_size"), [(12, 4), (12, 5), (12, 1), (12, 12), (7, 3),
                                               (30, 7), (30, 29)])
def test_batches_partition_the_data_in_each_epoch(n, batch_size):
    per_epoch = math.ceil(n / batch_size)
    epochs = 4
    batches = dl.draw_batches(n, batch_size, per_epoch * epochs + 1, seed=5)
    assert len(batches) == per_epoch * epochs + 1
    orders = []
    for e in range(epochs):
        epoch = batches[e * per_epoch:(e + 1) * per_epoch]
        sizes = [len(b) for b in epoch]
        assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        joined = np.concatenate(epoch)
        assert np.array_equal(np.sort(joined), np.arange(n))           # without replacement
        assert all(b.dtype.kind == "i" for b in epoch)
        orders.append(joined)
    if n > 3:   # each epoch is a fresh permutation
        assert any(not np.array_equal(orders[0], o) for o in orders[1:])
    assert len(batches[-1]) == min(batch_size, n)                       # the next epoch begins


def test_run_uses_draw_batches_and_partitions_each_epoch(gabor):
    traj = dl.run(optimizers.sgd(lr=0.01), gabor, start=(-1.5, 8.5), steps=25, batch_size=7,
                  seed=9)
    expected = dl.draw_batches(gabor.n_examples, 7, 25, seed=9)
    assert all(np.array_equal(u, v) for u, v in zip(traj.batches, expected, strict=True))
    first_epoch = np.concatenate(traj.batches[:5])                   # ⌈30 / 7⌉ = 5 batches
    assert np.array_equal(np.sort(first_epoch), np.arange(30))
    for t in range(traj.steps):
        assert np.array_equal(traj.grads[t], gabor.grad(traj.lookahead[t], traj.batches[t]))


def test_explicit_batches_are_used_exactly(line):
    rng = np.random.default_rng(0)
    batches = [rng.choice(12, size=int(rng.integers(1, 12)), replace=False) for _ in range(25)]
    batches[3] = np.array([5, 5, 5])                                  # repeats are allowed
    batches[4] = [0, 11]                                               # so are lists
    traj = dl.run(NAG, line, start=(1.6, -0.5), steps=20, batches=batches)
    assert traj.steps == 20 and len(traj.batches) == 20               # extra batches unused
    for t in range(20):
        assert np.array_equal(traj.batches[t], np.asarray(batches[t]))
        assert np.array_equal(traj.grads[t], line.grad(traj.lookahead[t], np.asarray(batches[t])))
    assert traj.seed is None and traj.batch_size is None
    # and they matter: the full-data run is another run
    full = dl.run(NAG, line, start=(1.6, -0.5), steps=20)
    assert full.batches is None and not np.allclose(full.params, traj.params)


def test_defaults_come_from_the_problem(line):
    traj = dl.run(NAG, line)
    assert np.array_equal(traj.params[0], np.asarray(line.suggested.start, dtype=float))
    assert traj.steps == line.suggested.steps
    assert traj.batches is None and traj.seed is None


def test_steps_zero_gives_one_iterate(line):
    for opt in (optimizers.gd(lr=0.1), NAG, optimizers.adam(lr=0.1)):
        traj = dl.run(opt, line, start=(0.0, 1.0), steps=0)
        assert traj.steps == 0 and traj.params.shape == (1, 2)
        assert traj.lookahead.shape == traj.grads.shape == (0, 2)
        assert traj.losses.shape == (1,) and traj.losses[0] == line.loss([0.0, 1.0])
        assert np.array_equal(traj.final, [0.0, 1.0])
    assert traj.momentum.shape == (1, 2) and traj.second_moment.shape == (1, 2)
    drawn = dl.run(optimizers.sgd(lr=0.1), line, start=(0.0, 1.0), steps=0, batch_size=3)
    assert drawn.batches == ()
    assert dl.Trajectory.from_csv(drawn.to_csv(), meta=drawn.csv_metadata()) == drawn
    assert dl.Trajectory.from_json(drawn.to_json()) == drawn


def test_numpy_integer_arguments_give_an_exportable_trajectory(line):
    """steps, batch_size and seed may be numpy integers; the record holds plain ints (JSON)."""
    traj = dl.run(optimizers.sgd(lr=0.01), line, start=(1.6, -0.5), steps=np.int64(6),
                  batch_size=np.int64(4), seed=np.uint8(2))
    assert traj == dl.run(optimizers.sgd(lr=0.01), line, start=(1.6, -0.5), steps=6,
                          batch_size=4, seed=2)
    assert type(traj.batch_size) is int and type(traj.seed) is int
    assert dl.Trajectory.from_json(traj.to_json()) == traj
    assert dl.Trajectory.from_csv(traj.to_csv(), meta=traj.csv_metadata()) == traj


def test_runs_with_more_than_two_parameters():
    problem = problems.quadratic(kappa=5.0, dim=5)
    traj = dl.run(NAG, problem, start=(1.0, 2.0, 3.0, 4.0, 5.0), steps=10)
    assert traj.params.shape == (11, 5) and traj.param_names == tuple(f"φ{i}" for i in range(5))
    assert dl.Trajectory.from_csv(traj.to_csv(), meta=traj.csv_metadata()) == traj


# ---- argument checks -------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "error", "text"), [
    (dict(steps=5, batches=[np.arange(3)] * 4), ValueError, "4"),
    (dict(steps=5, batch_size=3, batches=[np.arange(3)] * 5), ValueError, "batch_size"),
    (dict(steps=5, batch_size=0), ValueError, "0"),
    (dict(steps=5, batch_size=13), ValueError, "13"),
    (dict(steps=5, batch_size=-2), ValueError, "-2"),
    (dict(steps=5, batch_size=2.0), TypeError, "2.0"),
    (dict(steps=-1), ValueError, "-1"),
    (dict(steps=2.5), TypeError, "2.5"),
    (dict(steps=True), TypeError, "True"),
    (dict(steps=5, start=(1.0, 2.0, 3.0)), ValueError, "(1.0, 2.0, 3.0)"),
    (dict(steps=5, start=(1.0,)), ValueError, "(1.0,)"),
    (dict(steps=5, start=(float("nan"), 0.0)), ValueError, "nan"),
    (dict(steps=5, start=(0.0, float("inf"))), ValueError, "inf"),
    (dict(steps=5, start="ab"), TypeError, "'ab'"),
    (dict(steps=5, seed=-1), ValueError, "-1"),
    (dict(steps=2, batches=[np.array([0, 12]), np.array([1])]), ValueError, "12"),
    (dict(steps=2, batches=[np.array([0]), np.array([], dtype=int)]), ValueError, "non-empty"),
    (dict(steps=2, batches=[np.array([0.0]), np.array([1])]), ValueError, "0."),
])
def test_bad_run_arguments_are_refused_naming_the_value(line, kwargs, error, text):
    kwargs = {"start": (1.6, -0.5), **kwargs}
    with pytest.raises(error) as info:
        dl.run(NAG, line, **kwargs)
    assert text in str(info.value)


@pytest.mark.parametrize("kwargs", [dict(batch_size=1), dict(batches=[np.array([0])] * 3)])
def test_surfaces_refuse_minibatches(kwargs):
    problem = problems.rosenbrock()
    with pytest.raises(ValueError, match="rosenbrock"):
        dl.run(NAG, problem, start=(0.0, 0.0), steps=3, **kwargs)


def test_run_refuses_wrong_types(line):
    with pytest.raises(TypeError, match="Optimizer"):
        dl.run("nesterov", line, steps=3)
    with pytest.raises(TypeError, match="Problem"):
        dl.run(NAG, "line-fit", steps=3)


@pytest.mark.parametrize(("args", "text"), [((0, 1, 3), "0"), ((5, 6, 3), "6"), ((5, 0, 3), "0"),
                                            ((5, 2, -1), "-1")])
def test_draw_batches_checks_its_arguments(args, text):
    with pytest.raises(ValueError, match=text):
        dl.draw_batches(*args)


# ---- divergence ------------------------------------------------------------------------------

DIVERGING = [
    ("gd-line", optimizers.gd(lr=10.0), "line-fit", (1.6, -0.5), None),
    ("gd-line-overflow", optimizers.gd(lr=1e250), "line-fit", (1.6, -0.5), None),
    ("nesterov-line", optimizers.nesterov(lr=5.0, beta=0.9), "line-fit", (1.6, -0.5), None),
    ("adam-line-batches", optimizers.adam(lr=1e200), "line-fit", (1.6, -0.5), 3),
    ("sgd-line-batches", optimizers.sgd(lr=3.0), "line-fit", (1.6, -0.5), 4),
    ("gd-rosenbrock", optimizers.gd(lr=0.1), "rosenbrock", (-1.2, 1.0), None),
    ("momentum-himmelblau", optimizers.momentum(lr=10.0, beta=0.5), "himmelblau", (-0.5, -0.5),
     None),
]


@pytest.mark.parametrize(("label", "opt", "name", "start", "batch_size"), DIVERGING,
                         ids=[d[0] for d in DIVERGING])
def test_divergence_stops_the_run_without_warnings(label, opt, name, start, batch_size):
    problem = catalogue.by_name(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = dl.run(opt, problem, start=start, steps=500, batch_size=batch_size)
    assert caught == []
    assert traj.diverged_at is not None and 1 <= traj.diverged_at < 500
    assert len(traj.params) == traj.diverged_at == traj.steps + 1
    assert len(traj.losses) == traj.diverged_at
    for arr in (traj.params, traj.losses, traj.lookahead, traj.grads, traj.momentum,
                traj.second_moment):
        assert arr is None or np.all(np.isfinite(arr))
    bound = DIVERGENCE_FACTOR * max(1.0, traj.losses[0])
    assert np.all(traj.losses <= bound)
    if batch_size is not None:
        assert len(traj.batches) == traj.steps
    # the step that was refused really went past the bound (replay it)
    if opt.name in ("gd", "sgd"):
        with np.errstate(all="ignore"):
            batch = None if batch_size is None else dl.draw_batches(
                problem.n_examples, batch_size, traj.diverged_at, traj.seed)[-1]
            phi = traj.final - opt.hyperparams["lr"] * problem.grad(traj.final, batch)
            loss = problem.loss(phi)
        assert not np.isfinite(loss) or loss > bound
    assert "diverged at step" in repr(traj)
    assert dl.Trajectory.from_json(traj.to_json()) == traj
    assert dl.Trajectory.from_csv(traj.to_csv(), meta=traj.csv_metadata()) == traj


def test_a_converging_run_is_not_flagged(line):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = dl.run(NAG, line, start=(1.6, -0.5), steps=200)
    assert caught == [] and traj.diverged_at is None and traj.steps == 200


def test_a_start_with_infinite_loss_is_refused_without_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="not finite"):
            dl.run(NAG, problems.rosenbrock(), start=(1e100, 1e100), steps=3)
    assert caught == []


# ---- Trajectory: export and import -----------------------------------------------------------

def _trajectories():
    line, gabor = datasets.line_fit(), datasets.gabor()
    batches = dl.draw_batches(12, 5, 30, seed=4)
    return {
        "gd": dl.run(optimizers.gd(lr=0.02), line, start=(1.6, -0.5), steps=30),
        "nesterov-batches": dl.run(NAG, line, start=(1.6, -0.5), steps=30, batches=batches),
        "sgd-drawn": dl.run(optimizers.sgd(lr=0.01), gabor, start=(-1.5, 8.5), steps=30,
                            batch_size=7, seed=3),
        "adam": dl.run(optimizers.adam(lr=0.05, beta=0.8, gamma=0.95, eps=1e-9), gabor,
                       start=(-1.5, 8.5), steps=30),
        "diverged": dl.run(optimizers.momentum(lr=50.0, beta=0.3), line, start=(1.6, -0.5),
                           steps=30),
        "himmelblau": dl.run(NAG, problems.himmelblau(), start=(-0.5, -0.5), steps=30),
    }


TRAJECTORIES = _trajectories()


def test_the_round_trip_cases_are_what_they_claim():
    t = TRAJECTORIES
    assert t["diverged"].diverged_at is not None
    assert t["nesterov-batches"].batches is not None and t["nesterov-batches"].seed is None
    assert t["adam"].second_moment is not None and t["gd"].momentum is None
    assert t["sgd-drawn"].seed == 3 and t["sgd-drawn"].batch_size == 7


@pytest.mark.parametrize("name", TRAJECTORIES)
def test_round_trip_as_text(name):
    traj = TRAJECTORIES[name]
    csv_text, json_text = traj.to_csv(), traj.to_json()
    assert csv_text.startswith("step,loss,") and json_text.startswith("{")
    from_csv = dl.Trajectory.from_csv(csv_text, meta=traj.csv_metadata())
    from_json = dl.Trajectory.from_json(json_text)
    assert from_csv == traj and from_json == traj
    for back in (from_csv, from_json):
        assert back.params.dtype == np.float64 and np.array_equal(back.params, traj.params)
        assert back.hyperparams == traj.hyperparams and back.label == traj.label
        assert repr(back) == repr(traj)
    # CSV: a column line, one row per iterate (the metadata goes to a sidecar file)
    assert len(csv_text.splitlines()) == 1 + len(traj.params)


@pytest.mark.parametrize("name", TRAJECTORIES)
def test_round_trip_through_files(name, tmp_path):
    traj = TRAJECTORIES[name]
    csv_path, json_path = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
    assert traj.to_csv(csv_path) == csv_path.read_text(encoding="utf-8")
    assert traj.to_json(json_path) == json_path.read_text(encoding="utf-8")
    assert dl.Trajectory.from_csv(csv_path) == traj
    assert dl.Trajectory.from_json(json_path) == traj
    assert dl.Trajectory.from_csv(str(csv_path)) == traj
    assert dl.Trajectory.from_json(str(json_path)) == traj
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([csv_path.name, json_path.name,
                                                                 f"{csv_path.name}.meta.json"])


def test_equality_sees_every_difference():
    base = TRAJECTORIES["nesterov-batches"]
    same = dl.Trajectory.from_json(base.to_json())
    assert same == base
    changed_param = dl.Trajectory.from_json(base.to_json())
    changed_param.params[5, 1] = np.nextafter(changed_param.params[5, 1], np.inf)
    changed_batch = dl.Trajectory.from_json(base.to_json())
    changed_batch.batches[2][0] = (changed_batch.batches[2][0] + 1) % 12
    for other in (changed_param, changed_batch, TRAJECTORIES["gd"]):
        assert other != base


def test_writing_into_a_missing_directory_raises_and_leaves_nothing(tmp_path):
    traj = TRAJECTORIES["gd"]
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError):
        traj.to_csv(missing / "t.csv")
    with pytest.raises(FileNotFoundError):
        traj.to_json(missing / "t.json")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "t.json"
    target.write_text("old", encoding="utf-8")

    def fail(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_reading_something_else_is_refused():
    with pytest.raises(ValueError, match="format"):
        dl.Trajectory.from_json('{"format": "other/1"}')
    with pytest.raises(ValueError, match="metadata"):
        dl.Trajectory.from_csv("step,loss\n0,1.0\n")


# ---- reprs -----------------------------------------------------------------------------------

def test_reprs_are_readable():
    traj = TRAJECTORIES["nesterov-batches"]
    text = repr(traj)
    assert text.startswith("<Trajectory nesterov (α=0.02, β=0.9) on 'line-fit': 30 steps, loss ")
    assert f"{traj.losses[-1]:.6g}" in text
    assert repr(TRAJECTORIES["diverged"]).endswith(
        f"diverged at step {TRAJECTORIES['diverged'].diverged_at}>")
    assert repr(datasets.line_fit()) == "<LinearRegression 'line-fit': P=2, N=12>"
    assert repr(datasets.gabor()) == "<Gabor 'gabor': P=2, N=30>"
    assert repr(problems.rosenbrock()) == "<Surface 'rosenbrock': P=2>"
    assert repr(problems.quadratic(kappa=10.0, dim=3)) == "<Quadratic 'quadratic (κ=10)': P=3>"
