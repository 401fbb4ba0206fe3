"""Run an optimizer on a problem and record everything: ``run(...) -> Trajectory``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from descentlab import validation
from descentlab.optimizers import Optimizer
from descentlab.problems.base import Problem, check_batch
from descentlab.trajectory import Trajectory

DIVERGENCE_FACTOR = 1e10
"""A run is stopped as diverged once L[φ_t] > DIVERGENCE_FACTOR · max(1, L[φ_0])."""


def draw_batches(n_examples: int, batch_size: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Minibatch indices for ``steps`` steps, drawn without replacement within each epoch.

    Each epoch is a fresh permutation of 0..N−1 from ``numpy.random.default_rng(seed)``, cut into
    ⌈N / batch_size⌉ batches in order; the last one is smaller when batch_size does not divide N
    (as PyTorch's DataLoader with ``drop_last=False``). The same seed gives the same batches, so
    several optimizers can share one sequence.
    """
    n = validation.integer("number of examples", n_examples, 1)
    b = validation.integer("batch_size", batch_size, 1, n)
    validation.integer("steps", steps, 0)
    rng = np.random.default_rng(validation.integer("seed", seed, 0))
    out: list[np.ndarray] = []
    while len(out) < steps:
        perm = rng.permutation(n)
        out.extend(perm[i:i + b] for i in range(0, n, b))
    return out[:steps]


def _batches(problem: Problem, steps: int, batch_size: int | None, seed: int,
             batches: Sequence | None) -> list[np.ndarray] | None:
    n = problem.n_examples
    if batches is not None:
        if batch_size is not None:
            raise ValueError("give either batch_size or batches, not both")
        if len(batches) < steps:
            raise ValueError(f"batches has {len(batches)} entries but steps={steps} needs one per step")
        return [check_batch(np.asarray(b), n, problem.name) for b in batches[:steps]]
    if batch_size is None:
        return None
    if n is None:
        raise ValueError(f"problem {problem.name!r} has no data, so batch_size must be None")
    validation.integer("batch_size", batch_size, 1, n)
    return draw_batches(n, batch_size, steps, seed)


def run(optimizer: Optimizer, problem: Problem, start: Sequence[float] | None = None,
        steps: int | None = None, *, batch_size: int | None = None, seed: int = 0,
        batches: Sequence | None = None) -> Trajectory:
    """Run ``optimizer`` on ``problem`` from ``start`` for ``steps`` updates.

    Args:
        optimizer: from :mod:`descentlab.optimizers` (``nesterov(lr=0.05, beta=0.9)``…).
        problem: from :mod:`descentlab.problems` or :mod:`descentlab.datasets`.
        start: φ_0, one number per parameter (default: the problem's suggested start).
        steps: number of updates T ≥ 0 (default: the problem's suggested number).
        batch_size: draw minibatches of this size (1..N) without replacement within each epoch;
            None uses all the data at every step.
        seed: seeds the minibatch draw; the same seed gives a bit-identical trajectory.
        batches: an explicit sequence of index arrays, one per step (instead of batch_size).

    Returns:
        A :class:`~descentlab.trajectory.Trajectory`. The run stops early, with ``diverged_at``
        set, at the first iterate that is not finite or whose loss exceeds
        ``DIVERGENCE_FACTOR · max(1, L[φ_0])``; no RuntimeWarning is emitted.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a descentlab Optimizer, got {type(optimizer).__name__}")
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a descentlab Problem, got {type(problem).__name__}")
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    seed = validation.integer("seed", seed, 0)
    phi0 = validation.point("start", problem.suggested.start if start is None else start,
                            problem.n_params)
    plan = _batches(problem, steps, batch_size, seed, batches)
    if plan is not None and optimizer.name == "gd":
        raise ValueError("gd takes its gradient on all the data (book eq. 6.3); use sgd for minibatches")

    state = optimizer.init(phi0)
    params, moms, vs = [state.params], [state.momentum], [state.second_moment]
    losses, ahead, grads = [], [], []
    diverged_at = None
    with np.errstate(all="ignore"):
        losses.append(float(problem.loss(phi0)))
        if not np.isfinite(losses[0]):
            raise ValueError(f"the loss at start {phi0.tolist()} is not finite ({losses[0]})")
        bound = DIVERGENCE_FACTOR * max(1.0, abs(losses[0]))
        for t in range(steps):
            new = optimizer.step(state, problem.grad, None if plan is None else plan[t])
            loss = float(problem.loss(new.params))
            # A non-finite gradient, m or φ always reaches φ_{t+1} and so L[φ_{t+1}]; only Adam's
            # v (a square) can overflow on its own, its step then being 0.
            finite = new.second_moment is None or bool(np.isfinite(new.second_moment).all())
            if not (finite and loss <= bound):  # also false for a NaN loss
                diverged_at = t + 1
                break
            state = new
            params.append(new.params)
            losses.append(loss)
            moms.append(new.momentum)
            vs.append(new.second_moment)
            ahead.append(new.evaluated_at)
            grads.append(new.grad)

    p = problem.n_params
    done = len(grads)
    return Trajectory(
        optimizer=optimizer.name, hyperparams=dict(optimizer.hyperparams), problem=problem.name,
        param_names=tuple(problem.param_names), params=np.array(params),
        losses=np.array(losses), lookahead=np.array(ahead).reshape(done, p),
        grads=np.array(grads).reshape(done, p),
        momentum=None if moms[0] is None else np.array(moms),
        second_moment=None if vs[0] is None else np.array(vs),
        batches=None if plan is None else tuple(np.asarray(b, dtype=np.int64) for b in plan[:done]),
        diverged_at=diverged_at, seed=seed if plan is not None and batches is None else None,
        batch_size=None if batch_size is None else int(batch_size),  # validated; numpy ints → int
    )


def run_many(optimizers: Sequence[Optimizer], problem: Problem, start: Sequence[float] | None = None,
             steps: int | None = None, *, batch_size: int | None = None, seed: int = 0,
             batches: Sequence | None = None) -> list[Trajectory]:
    """Run several optimizers from one start for a fair comparison.

    With minibatches, the batch sequence is drawn **once** (or taken from ``batches``) and every
    optimizer sees the same examples at the same step; each such trajectory records ``seed`` and
    ``batch_size`` and ``meta["shared_batches"] = True``. Gradient descent (``gd``) always uses
    all the data, as the book defines it. Arguments are as for :func:`run`.
    """
    if len(optimizers) == 0:
        raise ValueError("give at least one optimizer to run")
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    seed = validation.integer("seed", seed, 0)
    plan = _batches(problem, steps, batch_size, seed, batches)
    trajs = [run(opt, problem, start, steps, batches=None if opt.name == "gd" else plan)
             for opt in optimizers]
    if plan is None:
        return trajs
    return [t if t.batches is None else
            dataclasses.replace(t, seed=seed if batches is None else None,
                                batch_size=None if batch_size is None else int(batch_size),
                                meta={**t.meta, "shared_batches": True}) for t in trajs]
