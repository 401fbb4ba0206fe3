"""Run an optimizer on a problem and record everything: ``run(...) -> Trajectory``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from descentlab import budget, divergence, validation
from descentlab.divergence import finite_one
from descentlab.errors import InputError, InputTypeError
from descentlab.optimizers import Optimizer, Probe
from descentlab.optimizers.registry import at_params, buffers
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
    budget.check_batches(validation.integer("steps", steps, 0), b)
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
        batches: Sequence | None = None,
        progress: Callable[[int, int], None] | None = None) -> Trajectory:
    """Run ``optimizer`` on ``problem`` from ``start`` for ``steps`` updates.

    Every step is ``x = gradient_point(s); g = problem.grad(x, batch); s = update(s, g)``; the run
    records x, g, L[φ_{t+1}] and every buffer of the state by name, into arrays of T + 1 rows
    allocated up front (:mod:`descentlab.budget` refuses, before anything runs, a run whose record
    or work would exceed its limits).

    Args:
        optimizer: from :mod:`descentlab.optimizers` (``nesterov(lr=0.05, beta=0.9)``…).
        problem: from :mod:`descentlab.problems` or :mod:`descentlab.datasets`.
        start: φ_0, one number per parameter (default: the problem's suggested start).
        steps: number of updates T ≥ 0 (default: the problem's suggested number).
        batch_size: draw minibatches of this size (1..N) without replacement within each epoch;
            None uses all the data at every step.
        seed: seeds the minibatch draw; the same seed gives a bit-identical trajectory.
        batches: an explicit sequence of index arrays, one per step (instead of batch_size).
        progress: called as ``progress(done, steps)`` every few thousand steps and once at the end
            (e.g. a :func:`descentlab.progress.progress_bar`); None: nothing.

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
    state = optimizer.init(phi0)
    sizes = _checked_sizes(problem, [batch_size]) if batches is None else set()
    budget.check_run(steps, 1, problem.n_params, _buffer_count(state, problem.n_params),
                     batch_sizes=sizes, line_searches=int(optimizer.method.needs_loss))
    plan = _batches(problem, steps, batch_size, seed, batches)
    method = optimizer.method
    if plan is not None and method.full_batch:
        raise InputError(f"{optimizer.name} takes its gradient on all the data; use sgd for minibatches")

    names = tuple(buffers(state))
    where = tuple(state._fields.index(k) for k in names)
    # Rows are staged in short lists and moved into arrays of steps + 1 (or steps) rows every
    # BLOCK steps: appending is the cheapest per step, np.array over a block gives exactly the
    # values (and dtype) np.array over the whole list would, and memory stays ~80 bytes a step.
    params, losses, ahead, grads = _Rows(steps + 1), _Rows(steps + 1), _Rows(steps), _Rows(steps)
    recorded = [_Rows(steps + 1) for _ in where]
    params.stage.append(state.params)
    for rows, i in zip(recorded, where, strict=True):
        rows.stage.append(state[i])
    needs_loss = optimizer.method.needs_loss
    full_probe = probe(problem) if needs_loss and plan is None else None
    diverged_at, stop_reason = None, divergence.COMPLETED
    every = (params, losses, ahead, grads, *recorded)
    with np.errstate(all="ignore"):
        loss0 = float(problem.loss(phi0))
        if not np.isfinite(loss0):
            raise InputError(f"the loss at start {phi0.tolist()} is not finite ({loss0})")
        losses.stage.append(loss0)
        limit = divergence.limits(loss0)
        low, high = limit
        grad_one, loss_one = problem.grad_one, problem.loss_one  # checked once above: φ_0 has P values
        # where one pass gives L[φ_{t+1}] and ∇L[φ_{t+1}] for less than two (a torch model), and the next
        # gradient is taken at φ_{t+1} on all the data, the loss recorded brings the next gradient along
        offers = type(problem).loss_and_grad_one is not Problem.loss_and_grad_one
        together = problem.loss_and_grad_one if offers and plan is None and not needs_loss \
            and optimizer.gradient_point is at_params else None
        ahead_of = None  # (φ_{t+1}, ∇L there) from the last step's one pass
        add_params, add_loss, add_ahead, add_grad = (r.stage.append for r in every[:4])
        add_buffers = [r.stage.append for r in recorded]
        for t in range(steps):
            batch = None if plan is None else plan[t]
            x = optimizer.gradient_point(state)
            g = grad_one(x, batch) if ahead_of is None or x is not ahead_of[0] else ahead_of[1]
            if needs_loss:
                new = optimizer.update(state, g, full_probe or probe(problem, batch))
            else:
                new = optimizer.update(state, g)
            if together is None:
                loss = loss_one(new.params)
            else:
                both = together(new.params) if t + 1 < steps else None
                if both is None:  # declined (or the last step): not asked again in this run
                    loss, ahead_of, together = loss_one(new.params), None, None
                else:
                    loss, ahead_of = both[0], (new.params, both[1])
            kept = [new[i] for i in where]
            if not low <= loss <= high or (kept and not finite_one(kept)):  # NaN fails the band too
                reason = divergence.reason_one(loss, limit, kept)
                if reason is not None:
                    diverged_at, stop_reason = t + 1, reason
                    break
            state = new
            add_params(new.params)
            add_loss(loss)
            add_ahead(x)
            add_grad(g)
            for add, value in zip(add_buffers, kept, strict=True):
                add(value)
            if (t + 1) % BLOCK == 0:
                for rows in every:
                    rows.flush()
                if progress is not None:
                    progress(t + 1, steps)
    if progress is not None:
        progress(steps, steps)

    p = problem.n_params
    done = steps if diverged_at is None else diverged_at - 1
    return Trajectory(
        optimizer=optimizer.name, hyperparams=dict(optimizer.hyperparams), problem=problem.name,
        param_names=tuple(problem.param_names), params=params.array(),
        losses=losses.array(), lookahead=ahead.array().reshape(done, p),
        grads=grads.array().reshape(done, p),
        buffers={k: rows.array() for k, rows in zip(names, recorded, strict=True)},
        batches=None if plan is None else tuple(np.asarray(b, dtype=np.int64) for b in plan[:done]),
        diverged_at=diverged_at, seed=seed if plan is not None and batches is None else None,
        batch_size=None if batch_size is None else int(batch_size),  # validated; numpy ints → int
        stop_reason=stop_reason,
    )


BLOCK = 4096
"""Steps staged in lists before they are moved into the preallocated arrays (and progress is told)."""


class _Rows:
    """One recorded quantity: rows staged in a list, moved block by block into an array of ``rows``
    rows allocated at the first block (its shape and dtype are those of the first values; a later
    block of a wider dtype promotes the array, as ``np.array`` over all the rows would)."""

    __slots__ = ("filled", "rows", "stage", "store")

    def __init__(self, rows: int):
        self.rows, self.filled, self.stage, self.store = rows, 0, [], None

    def flush(self) -> None:
        if not self.stage:
            return
        block = np.array(self.stage)
        self.stage.clear()
        if self.store is None:
            self.store = np.empty((self.rows, *block.shape[1:]), dtype=block.dtype)
        elif block.shape[1:] != self.store.shape[1:]:
            raise ValueError(f"a recorded value changed shape from {self.store.shape[1:]} "
                             f"to {block.shape[1:]}")
        elif block.dtype != self.store.dtype:
            self.store = self.store.astype(np.result_type(self.store.dtype, block.dtype))
        self.store[self.filled:self.filled + len(block)] = block
        self.filled += len(block)

    def array(self) -> np.ndarray:
        """The rows recorded (a copy of the filled part when the run stopped early, so that the
        unused rows are freed)."""
        self.flush()
        if self.store is None:
            return np.array([])
        return self.store if self.filled == self.rows else self.store[:self.filled].copy()


def _checked_sizes(problem: Problem, sizes: Sequence) -> set[int]:
    """The distinct minibatch sizes among ``sizes`` (None: all the data), each checked as
    :func:`_batches` checks it, so that a budget is estimated from valid sizes only."""
    given = [s for s in sizes if s is not None]
    if given and problem.n_examples is None:
        raise InputError(f"problem {problem.name!r} has no data, so batch_size must be None")
    return {validation.integer("batch_size", s, 1, problem.n_examples) for s in given}


def _buffer_count(state, n_params: int) -> int:
    """Buffers of ``n_params`` values a state records per step (a scalar one counts as one)."""
    return sum(max(1, -(-np.size(v) // max(n_params, 1))) for v in buffers(state).values())


def run_many(optimizers: Sequence[Optimizer], problem: Problem, start: Sequence[float] | None = None,
             steps: int | None = None, *, batch_size: int | Sequence[int | None] | None = None, seed: int = 0,
             batches: Sequence | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[Trajectory]:
    """Run several optimizers from one start for a fair comparison.

    ``batch_size`` is one size for every optimizer that takes minibatches, or a sequence with one
    entry per optimizer (None: all the data), so that each may have its own (sgd a small batch,
    momentum all the data). The batch sequence of a size is drawn **once** from ``seed``
    (:func:`draw_batches`), and every optimizer with that size sees the same examples at the same
    step, whichever others run beside it; ``batches`` instead gives one sequence to all. Each
    minibatch trajectory records ``seed`` and ``batch_size`` and ``meta["shared_batches"] = True``.
    Gradient descent (``gd``) always uses all the data, as the book defines it (and so does every
    method that declares ``full_batch``: a size given for it alone is an error). The whole
    comparison is checked against :mod:`descentlab.budget` before the first run starts;
    ``progress(done, total)`` counts steps over all the runs (total = steps × optimizers), e.g. a
    :func:`descentlab.progress.progress_bar` when :func:`descentlab.budget.needs_progress`.
    Arguments are otherwise as for :func:`run`.
    """
    if len(optimizers) == 0:
        raise InputError("give at least one optimizer to run")
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    seed = validation.integer("seed", seed, 0)
    sizes = _sizes(optimizers, batch_size)
    if batches is not None and any(s is not None for s in sizes):
        raise InputError("give either batch_size or batches, not both")
    check_budget(optimizers, problem, start, steps, batch_size=sizes)
    given = _batches(problem, steps, None, seed, batches)
    plans: dict[int, list[np.ndarray]] = {}
    trajs = []
    total = steps * len(optimizers)
    for k, (opt, size) in enumerate(zip(optimizers, sizes, strict=True)):
        if opt.method.full_batch:
            plan = None
        elif size is None:
            plan = given
        else:
            if size not in plans:
                plans[size] = _batches(problem, steps, size, seed, None)
            plan = plans[size]
        told = None if progress is None else _offset(progress, k * steps, total)
        traj = run(opt, problem, start, steps, batches=plan, progress=told)
        if plan is not None:
            traj = dataclasses.replace(traj, seed=seed if batches is None else None,
                                       batch_size=None if batches is not None else int(size),
                                       meta={**traj.meta, "shared_batches": True})
        trajs.append(traj)
    return trajs


def check_budget(optimizers: Sequence[Optimizer], problem: Problem, start: Sequence[float] | None = None,
                 steps: int | None = None, *, batch_size: int | Sequence[int | None] | None = None,
                 drawn: bool = False, cli: bool = False) -> None:
    """Refuse, before anything runs, what :func:`run_many` with these arguments would refuse for its
    size (:func:`descentlab.budget.check_run`: the record of every run, the work, the steps);
    ``drawn=True``: the runs will be drawn or saved as JSON (a smaller record limit);
    ``cli=True`` names ``--steps``. Batch sizes are checked as :func:`run_many` checks them."""
    steps = problem.suggested.steps if steps is None else validation.integer("steps", steps, 0)
    for opt in optimizers:
        if not isinstance(opt, Optimizer):
            raise InputTypeError(f"optimizer must be a descentlab Optimizer, got {type(opt).__name__}")
    phi0 = validation.point("start", problem.suggested.start if start is None else start, problem.n_params)
    budget.check_run(steps, len(optimizers), problem.n_params,
                     max((_buffer_count(opt.init(phi0), problem.n_params) for opt in optimizers), default=0),
                     batch_sizes=_checked_sizes(problem, _sizes(optimizers, batch_size)),
                     line_searches=sum(bool(o.method.needs_loss) for o in optimizers), drawn=drawn, cli=cli)


def _offset(progress: Callable[[int, int], None], before: int, total: int) -> Callable[[int, int], None]:
    """``progress`` for one run of several: its steps counted after ``before`` out of ``total``."""
    return lambda done, _steps: progress(before + done, total)


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
