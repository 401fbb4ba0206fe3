"""Budgets stated up front (descentlab.budget): every limit refuses just above it and accepts at it,
with one line naming the estimate and the limit; sizes are refused before anything is allocated;
and the runner, which now records into preallocated arrays, gives bit for bit what the list-based
recording gave, for every registered optimizer, with and without minibatches, diverging or not."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

import descentlab as dl
from descentlab import budget, datasets, divergence, optimizers, problems, runner, validation
from descentlab.errors import MESSAGE_LIMIT, InputError
from descentlab.optimizers.registry import buffers
from descentlab.sweep import parse_range, sweep
from descentlab.tune import tune
from own_peak import OWN_PEAK


def _refused(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and len(message) <= MESSAGE_LIMIT, message
    return message


def _most_steps(message: str) -> int:
    """The ``at most N steps here`` a refusal names."""
    return int(message.split("at most ")[1].split(" ")[0].replace(",", ""))


# ---- each limit: refused just above, accepted at it ---------------------------------------------

def test_run_record_limit_is_exact_and_named():
    # 4 optimizers × 2 parameters × 2 buffers: the record (not the work or the cap) binds first
    message = _refused(budget.check_run, 10**12, 4, 2, 2)
    most = _most_steps(message)
    record = [4 * budget.record_bytes(n, 2, 2) for n in (most, most + 1)]
    assert record[0] <= budget.MAX_RECORD_BYTES < record[1]
    budget.check_run(most, 4, 2, 2)
    above = _refused(budget.check_run, most + 1, 4, 2, 2)
    assert "would record ≈ 64 MiB" in above and "the limit is 64 MiB of record" in above
    assert "TiB" in message and "steps 1,000,000,000,000 × 4 optimizers × 2 parameters" in message
    assert message.endswith("lower steps or run fewer optimizers")


def test_drawn_runs_have_the_smaller_record_limit():
    message = _refused(budget.check_run, 10**6, 4, 2, 2, drawn=True)
    most = _most_steps(message)
    record = [4 * budget.record_bytes(n, 2, 2) for n in (most, most + 1)]
    assert record[0] <= budget.MAX_DRAWN_BYTES < record[1]
    assert "the limit is 12 MiB of record to draw or save as JSON" in message
    budget.check_run(most, 4, 2, 2, drawn=True)
    budget.check_run(most + 1, 4, 2, 2)  # not drawn: the larger limit


def test_check_budget_is_run_manys_check_with_the_options_named():
    line = datasets.line_fit()
    opts = [optimizers.gd(lr=0.01), optimizers.adam(lr=0.01), optimizers.sgd(lr=0.01)]
    message = _refused(runner.check_budget, opts, line, None, 10**6, batch_size=4, drawn=True, cli=True)
    assert message.startswith("--steps 1,000,000 × 3 optimizers × 2 parameters would record")
    most = _most_steps(message)
    runner.check_budget(opts, line, None, most, batch_size=4, drawn=True)
    above = _refused(runner.check_budget, opts, line, None, most + 1, batch_size=4, drawn=True)
    assert f"at most {most:,} steps" in above


def test_run_work_limit_counts_line_searches():
    # one parameter and no buffer: 32 bytes a step, so the work binds for a line search
    most = budget.MAX_RUN_WORK // budget.LINE_SEARCH_COST
    budget.check_run(most, 1, 1, 0, line_searches=1)
    message = _refused(budget.check_run, most + 1, 1, 1, 0, line_searches=1)
    assert f"{(most + 1) * budget.LINE_SEARCH_COST:,} steps of work" in message
    assert f"the limit is {budget.MAX_RUN_WORK:,}" in message and _most_steps(message) == most
    # the same steps of plain methods are fine
    budget.check_run(most + 1, 1, 1, 0)


def test_run_step_cap():
    budget.check_run(budget.MAX_STEPS, 1, 1, 0)
    message = _refused(budget.check_run, budget.MAX_STEPS + 1, 1, 1, 0)
    assert "steps 1,000,001 is more than the limit of 1,000,000 steps per run" in message


def test_run_counts_each_batch_plan():
    steps = budget.MAX_RECORD_BYTES // budget.batch_bytes(1, 1000)
    budget.check_batches(steps, 1000)
    message = _refused(budget.check_batches, steps + 1, 1000)
    assert "minibatches of 1,000 examples" in message and _most_steps(message) == steps
    # two plans of different sizes take twice as much
    _refused(budget.check_run, steps // 2 + 100, 1, 1, 0, batch_sizes=(1000, 999, None))
    budget.check_run(steps // 2 - 100, 1, 1, 0, batch_sizes=(1000, 999, None))


def test_cli_names_the_options():
    message = _refused(budget.check_run, 10**9, cli=True)
    assert message.startswith("--steps 1,000,000,000 ") and message.endswith("lower --steps")
    assert "--trials" in _refused(budget.check_tune, budget.MAX_CONFIGS + 1, 10, 1, cli=True)
    assert "--resolution" in _refused(budget.check_grid, 2001, cli=True)


def test_axis_and_sweep_limits():
    budget.check_axis(budget.MAX_CONFIGS)
    assert f"{budget.MAX_CONFIGS:,} configurations" in _refused(budget.check_axis, budget.MAX_CONFIGS + 1)
    budget.check_sweep(budget.MAX_CONFIGS, 1)
    assert "configurations is too many" in _refused(budget.check_sweep, budget.MAX_CONFIGS + 1, 1)
    budget.check_sweep(1, budget.MAX_STEPS)
    assert "steps per configuration" in _refused(budget.check_sweep, 1, budget.MAX_STEPS + 1)
    configs = 2000
    steps = budget.MAX_SWEEP_WORK // configs
    budget.check_sweep(configs, steps)
    message = _refused(budget.check_sweep, configs, steps + 1)
    assert f"{configs * (steps + 1):,} configuration-steps" in message
    # a data problem without a closed form: each gradient reads its examples
    budget.check_sweep(configs, steps // 30, examples=30)
    _refused(budget.check_sweep, configs, steps // 30 + 1, examples=30)


def test_line_searches_count_as_slow_steps_in_sweeps_and_tunings():
    steps = budget.MAX_SWEEP_WORK // (1000 * budget.LINE_SEARCH_COST)
    budget.check_sweep(1000, steps, line_search=True)
    assert "a line search" in _refused(budget.check_sweep, 1000, steps + 1, line_search=True)
    line = datasets.line_fit()
    peak, _, message = _peak(sweep, line, "linesearch", {"max_dist": np.geomspace(0.1, 10, 2000)},
                             steps=steps)
    assert peak < 2**20 and "configuration-steps" in message
    trials = budget.MAX_SWEEP_WORK // (budget.run_work(100, 2, 1))
    budget.check_tune(trials, 100, 1, 2, line_searches=1)
    _refused(budget.check_tune, trials + 1, 100, 1, 2, line_searches=1)


def test_a_sweep_on_many_examples_runs_in_bounded_chunks(monkeypatch):
    """A Gabor model on 5,000 examples: 4,096 configurations at once would take 4,096 × 5,000 ×
    8 bytes = 164 MB per intermediate array; with the limit lowered to 10⁶ values, chunks of
    budget.chunk_rows keep each array near 8 MB."""
    monkeypatch.setattr(budget, "MAX_GRID_VALUES", 10**6)
    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 10, 5000)
    big = problems.gabor(x, np.sin(x) + 0.1 * rng.standard_normal(x.size))
    lrs = np.geomspace(1e-7, 1e-5, 4096)
    tracemalloc.start()
    result = sweep(big, "gd", {"lr": lrs}, steps=1, start=(-1.5, 8.5))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.final_loss.shape == (4096, 1) and peak < 80 * 2**20
    assert budget.chunk_rows(5000 * 3) == 66
    one = sweep(big, "gd", {"lr": lrs[[0, -1]]}, steps=1, start=(-1.5, 8.5))
    assert np.allclose(result.final_loss[[0, -1]], one.final_loss, rtol=1e-12)


def test_tune_limits():
    budget.check_tune(budget.MAX_CONFIGS // 5, 1, 5)
    assert "configurations per optimizer" in _refused(budget.check_tune, budget.MAX_CONFIGS // 5 + 1, 1, 5)
    budget.check_tune(1, budget.MAX_STEPS, 1, 1, 1)
    assert "steps per trial" in _refused(budget.check_tune, 1, budget.MAX_STEPS + 1, 1, 1, 1)
    trials = budget.MAX_SWEEP_WORK // (4 * 5 * 100)
    budget.check_tune(trials, 100, 5, 4)
    assert "configuration-steps" in _refused(budget.check_tune, trials + 1, 100, 5, 4)
    # the best runs: optimizers × seeds = 160 runs of the budget
    most = next(b for b in itertools.count(1)
                if 160 * budget.record_bytes(b + 1, 2) > budget.MAX_RECORD_BYTES)
    budget.check_tune(1, most, 20, 8)
    message = _refused(budget.check_tune, 1, most + 1, 20, 8)
    assert f"the best runs (160 runs of budget {most + 1:,} steps × 2 parameters)" in message


def test_grid_and_frame_limits():
    budget.check_grid(budget.MAX_RESOLUTION)
    assert "the limit is 2,000 per axis" in _refused(budget.check_grid, budget.MAX_RESOLUTION + 1)
    budget.check_grid(2000, 4)  # exactly MAX_GRID_VALUES
    most = math.isqrt(budget.MAX_GRID_VALUES // 5)
    budget.check_grid(most, 5)
    message = _refused(budget.check_grid, most + 1, 5)
    assert f"at most resolution {most:,} here" in message and "the limit is 122 MiB" in message
    budget.check_frames(budget.MAX_FRAMES)
    assert "limit of 1,000 frames" in _refused(budget.check_frames, budget.MAX_FRAMES + 1)
    budget.check_frames(1000, 960 * 760)
    assert "pixels to draw" in _refused(budget.check_frames, 1000, 960 * 760 + 1)


@pytest.mark.parametrize("steps", [10**12, 2**63 - 1, 10**4000])
def test_messages_stay_short_for_any_number(steps):
    message = _refused(budget.check_run, steps, 8, 50, 3)
    assert "the limit is 64 MiB" in message and "would record ≈" in message
    assert len(message) < 250


def test_limits_leave_the_documented_uses_legal():
    """The README's and the tests' largest requests stay within the limits."""
    budget.check_run(3000, 8, 3, 2)                        # compare, 8 optimizers, 3000 steps
    budget.check_run(2000, 1, 2, 2, batch_sizes=(5,))      # the web's cap
    budget.check_run(10**6, 1, 2, 0)                       # benchmarks/bench_run.py: a 10⁶-step gd run
    budget.check_sweep(256 * 256, 1000)                    # benchmarks/bench_sweep.py --grid 256
    budget.check_sweep(128 * 128, 1000)                    # the README's sweep
    budget.check_tune(64, 200, 5, 4)                       # tune's defaults
    budget.check_tune(16, 5000, 5, 8)                      # test_theory's tuned cells
    budget.check_grid(2000)


def test_estimate_is_what_the_runner_stores():
    line = datasets.line_fit()
    traj = dl.run(optimizers.adam(lr=0.05), line, steps=1000)
    stored = sum(a.nbytes for a in (traj.params, traj.losses, traj.lookahead, traj.grads,
                                    *traj.buffers.values()))
    assert stored == budget.record_bytes(1000, 2, 2)


def test_progress_threshold():
    assert not budget.needs_progress(budget.PROGRESS_WORK)
    assert budget.needs_progress(budget.PROGRESS_WORK + 1)
    assert budget.needs_progress(budget.PROGRESS_WORK // 3 + 1, 3)


# ---- refused before anything is allocated ------------------------------------------------------

def _peak(call, *args, **kwargs) -> tuple[int, float, str]:
    """(peak bytes allocated, seconds, message) of a call that must be refused."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        message = _refused(call, *args, **kwargs)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, time.perf_counter() - start, message


def test_parse_range_refuses_a_huge_count_in_bounded_memory():
    peak, seconds, message = _peak(parse_range, "1e-4:1e-1:2000000000:log")
    assert peak < 2**20 and seconds < 1.0
    assert "2,000,000,000 values" in message and f"the limit is {budget.MAX_CONFIGS:,}" in message
    peak, seconds, message = _peak(parse_range, "0:1:" + "9" * 5000)
    assert peak < 2**20 and seconds < 1.0 and "COUNT" in message and len(message) <= MESSAGE_LIMIT
    assert parse_range(f"0:1:{budget.MAX_CONFIGS}").size == budget.MAX_CONFIGS


def test_parse_range_counts_a_list_before_parsing_it():
    peak, _, message = _peak(parse_range, ",".join(["0.5"] * (budget.MAX_CONFIGS + 1)))
    assert peak < 2**20 and "4,000,001 values" in message


def test_sweep_checks_the_product_of_the_axes_before_the_grid():
    line = datasets.line_fit()
    axis = np.linspace(1e-3, 1e-2, 3000)  # 9 million configurations
    grid = {"lr": axis, "beta": np.linspace(0, 0.9, 3000)}
    peak, _, message = _peak(sweep, line, "nesterov", grid, steps=10)
    assert peak < 2**20 and "9,000,000 configurations is too many" in message
    peak, _, message = _peak(sweep, line, "gd", {"lr": [0.01]}, steps=10, seeds=range(10**9))
    assert peak < 2**20 and "1,000,000,000 configurations" in message
    peak, _, message = _peak(sweep, line, "gd", {"lr": axis}, steps=10**9)
    assert peak < 2**20 and "steps 1,000,000,000" in message


def test_tune_checks_before_sampling():
    line = datasets.line_fit()
    peak, seconds, message = _peak(tune, line, ["gd"], budget=10, trials=10**8, seeds=1)
    assert peak < 2**20 and seconds < 1.0 and "100,000,000 × seeds 1" in message
    peak, _, message = _peak(tune, line, ["gd"], budget=10, trials=2, seeds=10**9)
    assert peak < 2**20 and "seeds 1,000,000,000" in message
    peak, _, message = _peak(tune, line, ["gd", "adam"], budget=10**9, trials=2, seeds=1)
    assert peak < 2**20 and "budget 1,000,000,000" in message


def test_run_and_run_many_check_before_running():
    line = datasets.line_fit()
    peak, seconds, message = _peak(dl.run, optimizers.gd(lr=0.01), line, steps=10**12)
    assert peak < 2**20 and seconds < 1.0 and "would record" in message
    opts = [optimizers.gd(lr=0.01), optimizers.adam(lr=0.01), optimizers.sgd(lr=0.01)]
    peak, _, message = _peak(dl.run_many, opts, line, steps=10**7, batch_size=4)
    assert peak < 2**20 and "3 optimizers" in message
    peak, _, message = _peak(dl.draw_batches, 12, 4, 10**9)
    assert peak < 2**20 and "minibatches of 4 examples" in message
    # a bad batch size is still named as such, not as a budget
    assert "batch_size" in _refused(dl.run_many, opts, line, steps=10**7, batch_size=10**9)


def test_long_runs_take_about_their_record_in_memory():
    """5·10⁴ Adam steps in a fresh interpreter: the peak resident memory grows by about the record,
    ≈ 4.4 MB (the list-based recording took ≈ 42 MB)."""
    code = OWN_PEAK + ("import resource, sys, descentlab as dl\n"
            "line = dl.datasets.line_fit()\n"
            "dl.run(dl.optimizers.adam(lr=0.01), line, steps=10)\n"
            "before = own_peak()\n"
            "traj = dl.run(dl.optimizers.adam(lr=0.01), line, steps=int(sys.argv[1]))\n"
            "print(traj.steps, own_peak() - before)\n")
    out = subprocess.run([sys.executable, "-c", code, "50000"], capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    record = budget.record_bytes(50_000, 2, 2)
    assert int(out[0]) == 50_000 and int(out[1]) < record + 8 * 2**20


# ---- the preallocated recording gives what the lists gave --------------------------------------

def _legacy_run(optimizer, problem, start, steps, *, batch_size=None, seed=0):
    """The list-based recording of descentlab 0.x (before the arrays were preallocated), kept as an
    oracle: every row appended to a list, stacked by np.array at the end."""
    phi0 = validation.point("start", start, problem.n_params)
    plan = None if batch_size is None else dl.draw_batches(problem.n_examples, batch_size, steps, seed)
    state = optimizer.init(phi0)
    params, losses, ahead, grads = [state.params], [], [], []
    names = tuple(buffers(state))
    where = tuple(state._fields.index(k) for k in names)
    recorded = [[state[i]] for i in where]
    needs_loss = optimizer.method.needs_loss
    full_probe = runner.probe(problem) if needs_loss and plan is None else None
    diverged_at, stop_reason = None, divergence.COMPLETED
    with np.errstate(all="ignore"):
        losses.append(float(problem.loss(phi0)))
        limit = divergence.limits(losses[0])
        for t in range(steps):
            batch = None if plan is None else plan[t]
            x = optimizer.gradient_point(state)
            g = problem.grad(x, batch)
            if needs_loss:
                new = optimizer.update(state, g, full_probe or runner.probe(problem, batch))
            else:
                new = optimizer.update(state, g)
            loss = float(problem.loss(new.params))
            kept = [new[i] for i in where]
            reason = divergence.reason_one(loss, limit, kept)
            if reason is not None:
                diverged_at, stop_reason = t + 1, reason
                break
            state = new
            params.append(new.params)
            losses.append(loss)
            ahead.append(x)
            grads.append(g)
            for rows, value in zip(recorded, kept, strict=True):
                rows.append(value)
    p, done = problem.n_params, len(grads)
    return dict(params=np.array(params), losses=np.array(losses), lookahead=np.array(ahead).reshape(done, p),
                grads=np.array(grads).reshape(done, p),
                buffers={k: np.array(v) for k, v in zip(names, recorded, strict=True)},
                batches=None if plan is None else plan[:done], diverged_at=diverged_at,
                stop_reason=stop_reason)


def _same(traj, old) -> None:
    for key in ("params", "losses", "lookahead", "grads"):
        new = getattr(traj, key)
        assert new.dtype == old[key].dtype and new.shape == old[key].shape, key
        assert new.tobytes() == old[key].tobytes(), key  # bit for bit (NaN and −0.0 included)
        assert new.flags.c_contiguous
    assert traj.buffers.keys() == old["buffers"].keys()
    for k, v in old["buffers"].items():
        assert traj.buffers[k].dtype == v.dtype and traj.buffers[k].shape == v.shape
        assert traj.buffers[k].tobytes() == v.tobytes(), k
    assert (traj.diverged_at, traj.stop_reason) == (old["diverged_at"], old["stop_reason"])
    if old["batches"] is None:
        assert traj.batches is None
    else:
        assert len(traj.batches) == len(old["batches"])
        assert all(np.array_equal(a, b) for a, b in zip(traj.batches, old["batches"], strict=True))


def _optimizer(name: str, lr: float):
    spec = optimizers.get(name)
    return optimizers.make(name, **({"lr": lr} if any(h.name == "lr" and h.default is None
                                                      for h in spec.hypers) else {}))


CASES = [(name, lr, batch) for name in optimizers.names() for lr in (0.01, 50.0) for batch in (None, 5)
         if not (batch and optimizers.get(name).full_batch)]


@pytest.mark.parametrize(("name", "lr", "batch_size"), CASES)
def test_preallocated_recording_equals_the_list_recording(name, lr, batch_size):
    line = datasets.line_fit()
    steps = 60 if name == "linesearch" else runner.BLOCK + 300  # across a block boundary
    opt = _optimizer(name, lr)
    traj = dl.run(opt, line, (1.6, -0.5), steps, batch_size=batch_size, seed=4)
    _same(traj, _legacy_run(opt, line, (1.6, -0.5), steps, batch_size=batch_size, seed=4))


def test_divergence_after_a_block_is_cut_as_before():
    line = datasets.line_fit()
    lam = float(np.linalg.eigvalsh(line.constant_hessian).max())
    opt = optimizers.gd(lr=2.002 / lam)  # |1 − αλ| = 1.002: diverges after thousands of steps
    traj = dl.run(opt, line, (1.6, -0.5), 30_000)
    assert traj.stop_reason == divergence.DIVERGED and runner.BLOCK < traj.diverged_at < 30_000
    assert traj.params.base is None  # the unused rows were let go
    _same(traj, _legacy_run(opt, line, (1.6, -0.5), 30_000))


@pytest.mark.parametrize("steps", [0, 1, runner.BLOCK - 1, runner.BLOCK, runner.BLOCK + 1])
def test_block_edges(steps):
    line = datasets.line_fit()
    for opt in (optimizers.gd(lr=0.001), optimizers.nesterov(lr=0.01, beta=0.9), optimizers.adam(lr=0.3)):
        _same(dl.run(opt, line, (1.6, -0.5), steps), _legacy_run(opt, line, (1.6, -0.5), steps))
    opt = optimizers.sgd(lr=0.001)
    _same(dl.run(opt, line, (1.6, -0.5), steps, batch_size=7, seed=2),
          _legacy_run(opt, line, (1.6, -0.5), steps, batch_size=7, seed=2))


def test_unbounded_below_is_cut_as_before():
    saddle = problems.from_expression("x**2 - y**2", start=(1.0, 1e-3))
    for opt in (optimizers.gd(lr=0.1), optimizers.nesterov(lr=0.1, beta=0.9), optimizers.adam(lr=1000.0)):
        traj = dl.run(opt, saddle, (1.0, 1e-3), 400)
        assert traj.stop_reason == divergence.UNBOUNDED
        _same(traj, _legacy_run(opt, saddle, (1.0, 1e-3), 400))


def test_recording_against_a_plain_loop():
    """An independent oracle: the update rules called by hand, rows stacked with np.stack."""
    line, steps = datasets.line_fit(), runner.BLOCK + 10
    for opt in (optimizers.nesterov(lr=0.01, beta=0.9), optimizers.adam(lr=0.05),
                optimizers.rmsprop(lr=0.01)):
        traj = dl.run(opt, line, (1.6, -0.5), steps)
        state = opt.init(np.array([1.6, -0.5]))
        params, ahead, grads = [state.params], [], []
        for _ in range(steps):
            ahead.append(opt.gradient_point(state))
            grads.append(line.grad(ahead[-1]))
            state = opt.update(state, grads[-1])
            params.append(state.params)
        assert traj.stop_reason == divergence.COMPLETED
        assert np.array_equal(traj.params, np.stack(params)) and np.array_equal(traj.grads, np.stack(grads))
        assert np.array_equal(traj.lookahead, np.stack(ahead))
        assert np.array_equal(traj.losses, [float(line.loss(p)) for p in params])


def test_run_many_reports_progress_and_prints_nothing(capsys):
    line = datasets.line_fit()
    calls = []
    opts = [optimizers.gd(lr=0.01), optimizers.gd(lr=50.0), optimizers.adam(lr=0.05)]  # the second diverges
    trajs = dl.run_many(opts, line, steps=2 * runner.BLOCK + 10, progress=lambda d, t: calls.append((d, t)))
    total = 3 * (2 * runner.BLOCK + 10)
    assert trajs[1].diverged_at is not None
    assert {t for _, t in calls} == {total} and calls[-1][0] == total
    done = [d for d, _ in calls]
    assert done == sorted(done) and runner.BLOCK in done
    assert capsys.readouterr() == ("", "")
    plain = dl.run_many(opts, line, steps=2 * runner.BLOCK + 10)
    assert all(a == b for a, b in zip(trajs, plain, strict=True))
