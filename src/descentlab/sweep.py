"""Many configurations at once: hyper-parameter grids and lists, × seeds, on any problem.

    result = sweep(problem, "nesterov", {"lr": parse_range("1e-4:1e-1:128:log"),
                                         "beta": parse_range("0:0.99:128")}, steps=1000)
    result.steps_to_tol   # (128, 128, n_seeds): first step with L − L_min ≤ tol, −1 if never
    result.final_loss, result.diverged_at, result.best()

The configurations run together through the **same** update rules as :func:`descentlab.run`
(:mod:`descentlab.optimizers` with array-valued hyper-parameters, one row per configuration), so
a sweep cell and a single run agree. Speed comes from three things:

* every step is a handful of whole-array numpy operations over all active configurations;
* configurations that diverged leave the active set (it is compacted every few steps);
* on quadratic problems (constant Hessian, full batch) a linear method that has reached the
  tolerance and is predicted stable by :mod:`descentlab.theory` jumps straight to the last step:
  its (e_t, m_t) is multiplied by M^(T−t), the iteration matrix raised by repeated squaring;
* there, with numba installed (``descentlab[fast]``), one compiled parallel loop runs the
  eigen-direction recurrences instead (:mod:`descentlab.sweep_kernel`); ``engine="numpy"``
  forces the plain path, and the tests compare the two.

Memory is bounded by running the configurations in chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from descentlab import divergence, theory, validation
from descentlab import optimizers as optim
from descentlab.errors import InputError
from descentlab.optimizers.registry import buffers
from descentlab.problems.base import Problem
from descentlab.runner import draw_batches, probe

MAX_CONFIGS = 20_000_000
"""Larger grids are refused: their results alone would not fit comfortably in memory."""
CHUNK = 1 << 16
COMPACT_EVERY = 8


def parse_range(text: str) -> np.ndarray:
    """``"1e-4:1e-1:128:log"`` (geometric), ``"0:0.99:128"`` (linear) or ``"0.1,0.5,0.9"`` (a list)."""
    text = text.strip()
    if ":" not in text:
        try:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
        except ValueError:
            raise InputError(f"a range is START:STOP:COUNT[:log] or a list a,b,c; got {text!r}") from None
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise InputError(f"a list of values must hold finite numbers, got {text!r}")
        return values
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise InputError(f"a range is START:STOP:COUNT[:log]; got {text!r}")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(f"a range is START:STOP:COUNT[:log] with an integer COUNT; got {text!r}") \
            from None
    if count < 1:
        raise InputError(f"a range needs COUNT >= 1, got {count} in {text!r}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise InputError(f"a range needs finite ends, got {text!r}")
    if len(parts) == 4 and parts[3] == "log":
        if start <= 0 or stop <= 0:
            raise InputError(f"a log range needs positive ends, got {text!r}")
        return np.geomspace(start, stop, count)
    return np.linspace(start, stop, count)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Per configuration (grid axes in order, then seeds): what the run reached.

    ``steps_to_tol`` is the first step t with L[φ_t] − L_min ≤ tol (L itself when the minimum is
    unknown), −1 if never; ``diverged_at`` is as in :class:`~descentlab.trajectory.Trajectory`
    (−1 if the run did not diverge); ``final_loss`` is L[φ_T] (NaN where it diverged).
    """

    problem: str
    method: str
    axes: dict[str, np.ndarray]
    seeds: tuple[int, ...]
    steps: int
    tol: float
    min_loss: float | None
    final_loss: np.ndarray
    steps_to_tol: np.ndarray
    diverged_at: np.ndarray
    fixed: dict[str, float] = field(default_factory=dict)

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.final_loss.shape

    def best(self) -> dict[str, float]:
        """The configuration that reaches the tolerance soonest (median over seeds; ties and
        never-reached broken by the median final loss), as hyper-parameter values."""
        steps = np.where(self.steps_to_tol >= 0, self.steps_to_tol, np.iinfo(np.int64).max).astype(float)
        steps = np.where(self.diverged, np.inf, steps)
        loss = np.where(self.diverged, np.inf, self.final_loss)
        key = np.lexsort((np.median(loss, axis=-1).ravel(), np.median(steps, axis=-1).ravel()))
        index = np.unravel_index(key[0], self.shape[:-1])
        return {name: float(values[i]) for (name, values), i in zip(self.axes.items(), index, strict=True)}

    def __repr__(self) -> str:
        dims = " × ".join(f"{len(v)} {k}" for k, v in self.axes.items())
        return (f"<SweepResult {self.method} on {self.problem!r}: {dims} × {len(self.seeds)} seeds, "
                f"{self.steps} steps, {int(self.diverged.sum())} diverged>")


def sweep(problem: Problem, method: str, grid: dict[str, Sequence[float]], *, steps: int,
          start: Sequence[float] | None = None, tol: float | None = None, seeds: Sequence[int] = (0,),
          batch_size: int | None = None, fixed: dict[str, float] | None = None, mesh: bool = True,
          chunk: int = CHUNK, engine: str = "auto",
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run ``method`` on ``problem`` for every configuration of ``grid`` and every seed.

    Args:
        grid: hyper-parameter name → values (``lr``, ``beta``, ``gamma``, ``eps``).
        steps: updates per configuration (the same budget for all).
        start: φ_0 (default: the problem's suggested start).
        tol: the target for L − L_min (or L when the minimum is unknown); default a
            million-fold reduction of the start's gap.
        seeds: minibatch seeds (with ``batch_size``): every configuration of a seed sees the
            same batches.
        fixed: hyper-parameters held fixed (e.g. ``{"gamma": 0.999}``).
        mesh: True: the product of the axes (a grid); False: the axes are parallel lists of
            equal length (one configuration per index).
        chunk: configurations run at once (bounds memory).
        engine: "numpy" (the optimizers themselves), "numba" (the compiled kernel of
            :mod:`descentlab.sweep_kernel`, for linear methods on quadratics with all the data;
            needs ``descentlab[fast]``) or "auto" (numba where it applies and is installed).
        progress: ``progress(done, total)`` after each chunk.
    """
    spec = optim.get(method)
    fixed = dict(fixed or {})
    for name in [*grid, *fixed]:
        spec.hyper(name)
    for h in spec.hypers:
        if h.name not in grid and h.name not in fixed and h.default is None:
            raise InputError(f"give {h.label} in the grid or as fixed")
    if batch_size is not None and spec.full_batch:
        raise InputError(f"{method} takes its gradient on all the data; use sgd for minibatches")
    axes = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in grid.items()}
    for k, v in axes.items():
        if v.size == 0:
            raise InputError(f"the {k} axis is empty")
    steps = validation.integer("steps", steps, 0)
    seeds = tuple(validation.integer("seed", s, 0) for s in seeds) or (0,)
    chunk = validation.integer("chunk", chunk, 1)
    if mesh:
        shape = tuple(len(v) for v in axes.values())
        columns = [c.ravel() for c in np.meshgrid(*axes.values(), indexing="ij")] if axes else []
    else:
        lengths = {len(v) for v in axes.values()}
        if len(lengths) != 1:
            raise InputError(f"with mesh=False every axis must have the same length, got {sorted(lengths)}")
        shape = (lengths.pop(),)
        columns = list(axes.values())
    n_configs = int(np.prod(shape)) * len(seeds)
    if n_configs > MAX_CONFIGS:
        gib = n_configs * 3 * 8 / 2**30
        raise InputError(f"{n_configs:,} configurations is too many (results alone ≈ {gib:.1f} GiB; "
                         f"at most {MAX_CONFIGS:,}): use fewer points or seeds")
    hyper: dict = dict(zip(axes, columns, strict=True))
    hyper.update({k: spec.hyper(k).check(v) for k, v in fixed.items()})
    # validate every value once, through the optimizer's own checks
    spec.build(**{k: v[:, None] if isinstance(v, np.ndarray) else v for k, v in hyper.items()})

    phi0 = validation.point("start", problem.suggested.start if start is None else start, problem.n_params)
    with np.errstate(all="ignore"):
        loss0 = float(problem.loss(phi0))
    floor = problem.min_loss
    gap0 = loss0 - (floor or 0.0)
    tol = max(gap0, 1e-300) * 1e-6 if tol is None else validation.positive("tol", tol)
    bound = divergence.bound(loss0)
    if engine not in ("auto", "numpy", "numba"):
        raise InputError(f"engine must be auto, numpy or numba, got {engine!r}")
    runner = _Engine(problem, method, phi0, steps, tol, floor, bound)
    compiled = engine != "numpy" and runner.quadratic is not None and batch_size is None \
        and compiled_available()
    if engine == "numba" and not compiled:
        raise InputError("the numba engine needs numba (pip install 'descentlab[fast]') and a linear method "
                         "on a quadratic problem with all the data")

    total = len(columns[0]) if columns else 1
    out = {k: np.empty((total, len(seeds))) for k in ("final", "tol", "div")}
    done = 0
    for s, seed in enumerate(seeds):
        plan = None
        if batch_size is not None:
            if problem.n_examples is None:
                raise InputError(f"problem {problem.name!r} has no data, so batch_size must be None")
            plan = draw_batches(problem.n_examples, batch_size, steps, seed)
        for lo in range(0, total, chunk):
            part = {k: v[lo:lo + chunk] if isinstance(v, np.ndarray) else v for k, v in hyper.items()}
            final, reached, diverged = runner.run_compiled(part) if compiled else runner.run(part, plan)
            out["final"][lo:lo + chunk, s] = final
            out["tol"][lo:lo + chunk, s] = reached
            out["div"][lo:lo + chunk, s] = diverged
            done += len(final)
            if progress is not None:
                progress(done, total * len(seeds))
    return SweepResult(
        problem=problem.name, method=method, axes=axes, seeds=seeds, steps=steps, tol=tol,
        min_loss=floor, final_loss=out["final"].reshape(*shape, len(seeds)),
        steps_to_tol=out["tol"].astype(np.int64).reshape(*shape, len(seeds)),
        diverged_at=out["div"].astype(np.int64).reshape(*shape, len(seeds)), fixed=fixed)


class _Engine:
    """Runs one chunk of configurations; see the module docstring for the tricks."""

    def __init__(self, problem: Problem, method: str, phi0: np.ndarray, steps: int, tol: float,
                 floor: float | None, bound: float):
        self.problem, self.method, self.phi0, self.steps = problem, method, phi0, steps
        self.spec = optim.get(method)
        self.tol, self.floor, self.bound = tol, floor or 0.0, bound
        self.quadratic = None
        hessian = problem.constant_hessian
        if self.spec.linear is not None and hessian is not None and len(problem.minima):
            lam, vectors = np.linalg.eigh(hessian)
            self.quadratic = (lam, vectors, problem.minima[0])

    def _build(self, hyper: dict, rows: np.ndarray | None = None):
        """The optimizer over the configurations ``rows`` (all when None), hyper-parameters as columns."""
        return self.spec.build(**{k: (v if rows is None else v[rows])[:, None]
                                  if isinstance(v, np.ndarray) else v for k, v in hyper.items()})

    def run(self, hyper: dict, plan: list[np.ndarray] | None):
        n = max((len(v) for v in hyper.values() if isinstance(v, np.ndarray)), default=1)
        final = np.full(n, np.nan)
        reached = np.full(n, -1.0)
        diverged = np.full(n, -1.0)
        idx = np.arange(n)
        opt = self._build(hyper)
        state = opt.init(np.broadcast_to(self.phi0, (n, len(self.phi0))))
        jump = self.quadratic is not None and plan is None
        stable = self._stable(hyper) if jump else None
        alive = np.ones(n, dtype=bool)  # rows of the current (compacted) arrays still running
        with np.errstate(all="ignore"):
            gap = self.problem.loss(state.params) - self.floor
            reached[gap <= self.tol] = 0
            if self.steps == 0:
                final[:] = gap + self.floor
            for t in range(self.steps):
                batch = None if plan is None else plan[t]
                grad = self.problem.grad(opt.gradient_point(state), batch)
                if self.spec.needs_loss:
                    state = opt.update(state, grad, probe(self.problem, batch))
                else:
                    state = opt.update(state, grad)
                loss = self.problem.loss(state.params)
                bad = divergence.diverged(loss, self.bound, buffers(state).values()) & alive
                diverged[idx[bad]] = t + 1
                alive &= ~bad
                newly = alive & (loss - self.floor <= self.tol) & (reached[idx] < 0)
                reached[idx[newly]] = t + 1
                if t + 1 == self.steps:
                    final[idx[alive]] = loss[alive]
                    break
                if jump and (t + 1) % COMPACT_EVERY == 0:
                    finish = alive & (reached[idx] >= 0) & stable[idx]
                    if finish.any():
                        final[idx[finish]] = self._jump(state, idx, finish, hyper, self.steps - (t + 1))
                        alive &= ~finish
                if not alive.all() and ((t + 1) % COMPACT_EVERY == 0 or alive.mean() < 0.5):
                    idx = idx[alive]
                    if idx.size == 0:
                        break
                    state = type(state)(*(a[alive] if isinstance(a, np.ndarray) and a.ndim >= 1 else a
                                          for a in state))
                    opt = self._build(hyper, idx)
                    alive = np.ones(idx.size, dtype=bool)
        return final, reached, diverged

    def _matrices(self, hyper: dict, rows=slice(None)) -> np.ndarray:
        """The iteration matrices, shape (configurations, eigen-directions, 2, 2), from the registry."""
        lam = self.quadratic[0]
        n = max((len(v) for v in hyper.values() if isinstance(v, np.ndarray)), default=1)
        cols = {k: (v if isinstance(v, np.ndarray) else np.full(n, v))[rows][:, None]
                for k, v in hyper.items()}
        return self.spec.linear.matrix(cols, lam[None, :])

    def run_compiled(self, hyper: dict):
        """The same as :meth:`run`, by the numba kernel (quadratic, linear method, full batch)."""
        from descentlab import sweep_kernel

        lam, vectors, centre = self.quadratic
        return sweep_kernel.run_quadratic(self._matrices(hyper), lam, (self.phi0 - centre) @ vectors,
                                          self.steps, self.tol, self.floor, self.bound, self._stable(hyper))

    def _stable(self, hyper: dict) -> np.ndarray:
        m = self._matrices(hyper)
        return np.max(theory.matrix_radius(m), axis=1) < 1.0

    def _jump(self, state, idx, rows, hyper, remaining: int) -> np.ndarray:
        """L[φ_T] for the rows given, from their state now, by M^remaining in each eigen-direction."""
        lam, vectors, centre = self.quadratic
        e = (state.params[rows] - centre) @ vectors
        buffer = self.spec.linear.momentum
        m = getattr(state, buffer)[rows] @ vectors if buffer else np.zeros_like(e)
        matrices = self._matrices(hyper, idx[rows])
        out = np.zeros(len(e))
        for k in range(len(lam)):
            power = _matrix_power(matrices[:, k], remaining)
            e_end = power[:, 0, 0] * e[:, k] + power[:, 0, 1] * m[:, k]
            out += 0.5 * lam[k] * e_end * e_end
        return self.floor + out


def compiled_available() -> bool:
    """numba is importable (checked without importing it: only a compiled sweep pays for it)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def _matrix_power(m: np.ndarray, n: int) -> np.ndarray:
    """M^n for a stack of 2×2 matrices, by repeated squaring."""
    result = np.broadcast_to(np.eye(2), m.shape).copy()
    base = m.copy()
    while n:
        if n & 1:
            result = result @ base
        n >>= 1
        if n:
            base = base @ base
    return result
