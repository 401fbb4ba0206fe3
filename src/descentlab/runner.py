"""Run an optimizer on a problem and record everything: ``run(...) -> Trajectory``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from descentlab import divergence, validation
from descentlab.errors import InputError, InputTypeError
from descentlab.optimizers import Optimizer, Probe
from descentlab.optimizers.registry import buffers
from descentlab.problems.base import Problem, check_batch
from descentlab.trajectory import Trajectory


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
            raise InputError("give either batch_size or batches, not both")
        if len(batches) < steps:
            raise InputError(f"batches has {len(batches)} entries but steps={steps} needs one per step")
        return [check_batch(np.asarray(b), n, problem.name) for b in batches[:steps]]
    if batch_size is None:
        return None
    if n is None:
        raise InputError(f"problem {problem.name!r} has no data, so batch_size must be None")
    validation.integer("batch_size", batch_size, 1, n)
    return draw_batches(n, batch_size, steps, seed)


def probe(problem: Problem, batch: np.ndarray | None = None) -> Probe:
    """The loss (on ``batch``) and constant Hessian that an update declaring ``needs_loss`` gets."""
    hessian = problem.constant_hessian if batch is None else None
    return Probe(loss=lambda points: problem.loss(points, batch), hessian=hessian,
                 problem=repr(problem.name))


def run(optimizer: Optimizer, problem: Problem, start: Sequence[float] | None = None,
        steps: int | None = None, *, batch_size: int | None = None, seed: int = 0,
        batches: Sequence | None = None) -> Trajectory:
    """Run ``optimizer`` on ``problem`` from ``start`` for ``steps`` updates.

    Every step is ``x = gradient_point(s); g = problem.grad(x, batch); s = update(s, g)``; the run
    records x, g, L[φ_{t+1}] and every buffer of the state by name.

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
        set, at the first iterate that breaks :mod:`descentlab.divergence`'s rule, and
        ``stop_reason`` says which way ("diverged" or "unbounded below"; "completed" when it
        went all its steps); no RuntimeWarning is emitted.
    """
    if not isinstance(optimizer, Optimizer):
        raise InputTypeError(f"optimizer must be a descentlab Optimizer, got {type(optimizer).__name__}")
    if not isinstance(problem, Problem):
        raise InputTypeError(f"problem must be a descentlab Problem, got {type(problem).__name__}")
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    seed = validation.integer("seed", seed, 0)
    phi0 = validation.point("start", problem.suggested.start if start is None else start,
                            problem.n_params)
    plan = _batches(problem, steps, batch_size, seed, batches)
    method = optimizer.method
    if plan is not None and method.full_batch:
        raise InputError(f"{optimizer.name} takes its gradient on all the data; use sgd for minibatches")

    state = optimizer.init(phi0)
    params, losses, ahead, grads = [state.params], [], [], []
    names = tuple(buffers(state))
    where = tuple(state._fields.index(k) for k in names)
    recorded = [[state[i]] for i in where]
    needs_loss = optimizer.method.needs_loss
    full_probe = probe(problem) if needs_loss and plan is None else None
    diverged_at, stop_reason = None, divergence.COMPLETED
    with np.errstate(all="ignore"):
        losses.append(float(problem.loss(phi0)))
        if not np.isfinite(losses[0]):
            raise InputError(f"the loss at start {phi0.tolist()} is not finite ({losses[0]})")
        limit = divergence.limits(losses[0])
        for t in range(steps):
            batch = None if plan is None else plan[t]
            x = optimizer.gradient_point(state)
            g = problem.grad(x, batch)
            if needs_loss:
                new = optimizer.update(state, g, full_probe or probe(problem, batch))
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

    p = problem.n_params
    done = len(grads)
    return Trajectory(
        optimizer=optimizer.name, hyperparams=dict(optimizer.hyperparams), problem=problem.name,
        param_names=tuple(problem.param_names), params=np.array(params),
        losses=np.array(losses), lookahead=np.array(ahead).reshape(done, p),
        grads=np.array(grads).reshape(done, p),
        buffers={k: np.array(v) for k, v in zip(names, recorded, strict=True)},
        batches=None if plan is None else tuple(np.asarray(b, dtype=np.int64) for b in plan[:done]),
        diverged_at=diverged_at, seed=seed if plan is not None and batches is None else None,
        batch_size=None if batch_size is None else int(batch_size),  # validated; numpy ints → int
        stop_reason=stop_reason,
    )


def run_many(optimizers: Sequence[Optimizer], problem: Problem, start: Sequence[float] | None = None,
             steps: int | None = None, *, batch_size: int | Sequence[int | None] | None = None, seed: int = 0,
             batches: Sequence | None = None) -> list[Trajectory]:
    """Run several optimizers from one start for a fair comparison.

    ``batch_size`` is one size for every optimizer that takes minibatches, or a sequence with one
    entry per optimizer (None: all the data), so that each may have its own (sgd a small batch,
    momentum all the data). The batch sequence of a size is drawn **once** from ``seed``
    (:func:`draw_batches`), and every optimizer with that size sees the same examples at the same
    step, whichever others run beside it; ``batches`` instead gives one sequence to all. Each
    minibatch trajectory records ``seed`` and ``batch_size`` and ``meta["shared_batches"] = True``.
    Gradient descent (``gd``) always uses all the data, as the book defines it (and so does every
    method that declares ``full_batch``: a size given for it alone is an error). Arguments are
    otherwise as for :func:`run`.
    """
    if len(optimizers) == 0:
        raise InputError("give at least one optimizer to run")
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    seed = validation.integer("seed", seed, 0)
    sizes = _sizes(optimizers, batch_size)
    if batches is not None and any(s is not None for s in sizes):
        raise InputError("give either batch_size or batches, not both")
    given = _batches(problem, steps, None, seed, batches)
    plans: dict[int, list[np.ndarray]] = {}
    trajs = []
    for opt, size in zip(optimizers, sizes, strict=True):
        if opt.method.full_batch:
            plan = None
        elif size is None:
            plan = given
        else:
            if size not in plans:
                plans[size] = _batches(problem, steps, size, seed, None)
            plan = plans[size]
        traj = run(opt, problem, start, steps, batches=plan)
        if plan is not None:
            traj = dataclasses.replace(traj, seed=seed if batches is None else None,
                                       batch_size=None if batches is not None else int(size),
                                       meta={**traj.meta, "shared_batches": True})
        trajs.append(traj)
    return trajs


def _sizes(optimizers: Sequence[Optimizer], batch_size) -> list[int | None]:
    """One batch size per optimizer (None: all the data) from ``run_many``'s ``batch_size``."""
    if batch_size is None or isinstance(batch_size, int | np.integer):
        return [None if opt.method.full_batch else batch_size for opt in optimizers]
    if isinstance(batch_size, str) or not isinstance(batch_size, Sequence):
        raise InputTypeError(f"batch_size must be a whole number, None or one per optimizer, "
                             f"got {batch_size!r}")
    if len(batch_size) != len(optimizers):
        raise InputError(f"batch_size has {len(batch_size)} entries for {len(optimizers)} optimizers")
    for opt, size in zip(optimizers, batch_size, strict=True):
        if size is not None and opt.method.full_batch:
            raise InputError(f"{opt.name} takes its gradient on all the data; give it batch size None "
                             "(use sgd for minibatches)")
    return list(batch_size)
