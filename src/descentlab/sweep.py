"""Many configurations at once: hyper-parameter grids and lists, × seeds, on any problem.

    result = sweep(problem, "nesterov", {"lr": parse_range("1e-4:1e-1:128:log"),
                                         "beta": parse_range("0:0.99:128")}, steps=1000)
    result.steps_to_tol   # (128, 128, n_seeds): the step from which L − L_min stays ≤ tol, −1 if never
    result.final_loss, result.diverged_at, result.best()

"Steps to tolerance" counts a configuration as converged at the first step t after which the gap
L[φ_s] − L_min stays ≤ tol for every s = t … T (the end of the budget), not at its first dip: a run
that overshoots and rises above the tolerance again is not converged yet.

The configurations run together through the **same** update rules as :func:`descentlab.run`
(:mod:`descentlab.optimizers` with array-valued hyper-parameters, one row per configuration), so
a sweep cell and a single run agree. Speed comes from these:

* every step is a handful of whole-array numpy operations over all active configurations;
* configurations that diverged leave the active set (it is compacted every few steps);
* on quadratic problems (constant Hessian, full batch) a linear method that is below the
  tolerance *and provably stays there* jumps straight to the last step: its (e_t, m_t) is
  multiplied by M^(T−t), the iteration matrix raised by repeated squaring. "Provably" is a
  monotone envelope (:func:`envelope_forms`): in each eigen-direction the Lyapunov quadratic form
  V(x) = Σ_k ‖M^k x‖² only decreases along the run, and bounds every later e² by (P⁻¹)₀₀·V(x), so
  ½ Σ λ_k (P_k⁻¹)₀₀·V_k(x_t) ≤ tol at step t means no later step can rise above the tolerance;
* there, with numba installed (``descentlab[fast]``), one compiled parallel loop runs the
  eigen-direction recurrences instead (:mod:`descentlab.sweep_kernel`);
* on other problems with a compiled model (the Gabor fit, expression problems) and all the data,
  a linear method runs in a compiled parallel loop over the configurations
  (:mod:`descentlab.sweep_general`), its update read off the registry's iteration matrices;
* on the numpy path, where the gradient is taken at φ itself, the loss at φ_{t+1} and the next
  gradient come from one fused pass (``value_and_grad`` of the data problems).

``engine="numpy"`` forces the plain path, and the tests compare the engines cell by cell.

Memory is bounded by running the configurations in chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from descentlab import budget, divergence, theory, validation
from descentlab import gap as gap_rule
from descentlab import optimizers as optim
from descentlab.errors import InputError, one_line
from descentlab.optimizers.registry import buffers
from descentlab.problems.base import Problem
from descentlab.runner import draw_batches, probe

MAX_CONFIGS = budget.MAX_CONFIGS
"""Larger grids are refused (:mod:`descentlab.budget`): their results alone would not fit comfortably
in memory."""
CHUNK = 1 << 16
COMPACT_EVERY = 8


def parse_range(text: str) -> np.ndarray:
    """``"1e-4:1e-1:128:log"`` (geometric), ``"0:0.99:128"`` (linear) or ``"0.1,0.5,0.9"`` (a list).

    The number of values is checked against :data:`MAX_CONFIGS` before any array is built, so a
    COUNT of two billion is refused at once, in bounded memory."""
    text = text.strip()
    shown = one_line(repr(text if len(text) <= 400 else f"{text[:300]} … {text[-60:]}"), 120)  # not all of it
    if ":" not in text:
        budget.check_axis(text.count(",") + 1, text)
        try:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
        except ValueError:
            raise InputError(f"a range is START:STOP:COUNT[:log] or a list a,b,c; got {shown}") from None
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise InputError(f"a list of values must hold finite numbers, got {shown}")
        return values
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise InputError(f"a range is START:STOP:COUNT[:log]; got {shown}")
    try:
        if len(parts[2].strip()) > 30:  # int() of a huge digit string is slow (and limited)
            raise ValueError
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(f"a range is START:STOP:COUNT[:log] with an integer COUNT of at most "
                         f"{MAX_CONFIGS:,}; got {shown}") from None
    if count < 1:
        raise InputError(f"a range needs COUNT >= 1, got {count} in {shown}")
    budget.check_axis(count, text)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise InputError(f"a range needs finite ends, got {shown}")
    if len(parts) == 4 and parts[3] == "log":
        if start <= 0 or stop <= 0:
            raise InputError(f"a log range needs positive ends, got {shown}")
        return np.geomspace(start, stop, count)
    return np.linspace(start, stop, count)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Per configuration (grid axes in order, then seeds): what the run reached.

    ``steps_to_tol`` is the first step t after which L[φ_s] − L_min ≤ tol for every s = t … T
    (L itself when the minimum is unknown), −1 if the run ends above the tolerance or diverged;
    ``diverged_at`` is as in :class:`~descentlab.trajectory.Trajectory` (−1 if the run did not
    diverge); ``final_loss`` is L[φ_T] (NaN where it diverged). ``nearest_minimum`` is the index
    into the problem's known minima (``minima_loss`` holds their losses) of the one φ_T ended
    nearest to (−1 where it diverged or none is known); ``start_gap`` is L[φ_0] − L_min;
    ``final_grad`` is ‖∇L(φ_T)‖ on all the data where several minima are known (NaN elsewhere),
    and ``grad_tol`` the gradient norm that counts as stationary (see :attr:`other_minimum`).
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
    start_gap: float = math.nan
    nearest_minimum: np.ndarray | None = None
    minima_loss: tuple[float, ...] = ()
    final_grad: np.ndarray | None = None
    grad_tol: float = 0.0
    tol_note: str | None = None  # why tol is not the one asked for (descentlab.gap.tolerance)

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def global_minima(self) -> np.ndarray:
        """Indices of the known minima whose loss is within the tolerance of the lowest."""
        loss = np.asarray(self.minima_loss, dtype=float)
        return np.flatnonzero(loss - (self.min_loss or 0.0) <= self.tol) if loss.size else loss.astype(int)

    @property
    def other_minimum(self) -> np.ndarray:
        """Configurations that converged to a minimum other than the global one(s), on a problem
        with several known minima: not diverged, L − L_min above the tolerance at the end, φ_T
        nearer to a known non-global minimum than to any global one, and either its loss within the
        tolerance of that minimum's (above or below: a loss below it means φ_T is elsewhere) or the
        gradient at φ_T shrunk as much as the gap had to, ‖∇L(φ_T)‖ ≤ ‖∇L(φ_0)‖·√(tol / gap₀)
        (``grad_tol``): a stationary point away from the global minimum (e.g. a minimum outside the
        known list). A run still crawling towards the global minimum is not counted."""
        if self.nearest_minimum is None or len(self.minima_loss) < 2:
            return np.zeros(self.shape, dtype=bool)
        loss = np.append(np.asarray(self.minima_loss, dtype=float), np.nan)
        near = self.nearest_minimum
        own = loss[np.where(near >= 0, near, -1)]
        local = (near >= 0) & ~np.isin(near, self.global_minima)
        with np.errstate(invalid="ignore"):
            known = np.abs(self.final_loss - own) <= self.tol
            still = np.zeros(self.shape, dtype=bool) if self.final_grad is None else \
                self.final_grad <= self.grad_tol
            return ~self.diverged & (self.steps_to_tol < 0) & local & (known | still)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.final_loss.shape

    def predicted_steps(self, rho: float) -> int:
        """The steps a linear rate ρ predicts for what this sweep counts, from its start gap down to
        its tolerance: the error falls like ρ^t, so the loss gap L − L_min, a quadratic form in the
        error, falls like ρ^{2t}: ⌈ln(gap₀ / tol) / (2·ln(1/ρ))⌉ (0 when the start is below it)."""
        factor = self.start_gap / self.tol
        if not factor > 1.0:
            return 0
        return theory.iterations_to_reduce(rho, math.sqrt(factor))

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
        other = int(self.other_minimum.sum())
        elsewhere = f", {other} converged elsewhere" if other else ""
        return (f"<SweepResult {self.method} on {self.problem!r}: {dims} × {len(self.seeds)} seeds, "
                f"{self.steps} steps, {int(self.diverged.sum())} diverged{elsewhere}>")


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
        engine: "numpy" (the optimizers themselves), "numba" (a compiled kernel for linear
            methods with all the data: :mod:`descentlab.sweep_kernel` on quadratics,
            :mod:`descentlab.sweep_general` on problems with a compiled model; needs
            ``descentlab[fast]``) or "auto" (numba where it applies and is installed).
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
    if hasattr(seeds, "__len__"):  # a range(10**9) is refused before its tuple is built
        budget.check_sweep(len(seeds), 0)
    seeds = tuple(validation.integer("seed", s, 0) for s in seeds) or (0,)
    chunk = validation.integer("chunk", chunk, 1)
    if mesh:
        shape = tuple(len(v) for v in axes.values())
    else:
        lengths = {len(v) for v in axes.values()}
        if len(lengths) != 1:
            raise InputError(f"with mesh=False every axis must have the same length, got {sorted(lengths)}")
        shape = (lengths.pop(),)
    if batch_size is not None and problem.n_examples is not None:
        batch_size = validation.integer("batch_size", batch_size, 1, problem.n_examples)
    # the sizes, multiplied as Python integers, are checked before any grid is built
    n_configs = math.prod(shape) * len(seeds)
    budget.check_sweep(n_configs, steps, problem.n_params, examples=gradient_examples(problem, batch_size),
                       batch_size=batch_size if problem.n_examples is not None else None,
                       line_search=spec.needs_loss)
    # a data problem evaluates arrays of configurations × examples × parameters: bound their size
    chunk = min(chunk, budget.chunk_rows((problem.n_examples or 1) * (problem.n_params + 1)))
    if mesh:
        columns = [c.ravel() for c in np.meshgrid(*axes.values(), indexing="ij")] if axes else []
    else:
        columns = list(axes.values())
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
    chosen = gap_rule.tolerance_for(problem, tol)  # never below float64's resolution (descentlab.gap)
    tol = chosen.value
    bound = divergence.limits(loss0)  # the one rule: above the band diverged, below it unbounded below
    if engine not in ("auto", "numpy", "numba"):
        raise InputError(f"engine must be auto, numpy or numba, got {engine!r}")
    runner = _Engine(problem, method, phi0, steps, tol, floor, bound, loss0)
    compiled = engine != "numpy" and batch_size is None and compiled_available()
    general = None
    if compiled and runner.quadratic is None:
        general = runner.general(hyper)
        compiled = general is not None
    if engine == "numba" and not compiled:
        raise InputError("the numba engine needs numba (pip install 'descentlab[fast]') and a linear method "
                         "with all the data, on a quadratic or a problem with a compiled model")

    total = len(columns[0]) if columns else 1
    out = {k: np.empty((total, len(seeds))) for k in ("final", "tol", "div", "near", "slope")}
    done = 0
    for s, seed in enumerate(seeds):
        plan = None
        if batch_size is not None:
            if problem.n_examples is None:
                raise InputError(f"problem {problem.name!r} has no data, so batch_size must be None")
            plan = draw_batches(problem.n_examples, batch_size, steps, seed)
        for lo in range(0, total, chunk):
            part = {k: v[lo:lo + chunk] if isinstance(v, np.ndarray) else v for k, v in hyper.items()}
            if general is not None:
                final, reached, diverged, near, slope = runner.run_general(general, slice(lo, lo + chunk))
            elif compiled:
                final, reached, diverged, near, slope = runner.run_compiled(part)
            else:
                final, reached, diverged, near, slope = runner.run(part, plan)
            out["final"][lo:lo + chunk, s] = final
            out["tol"][lo:lo + chunk, s] = reached
            out["div"][lo:lo + chunk, s] = diverged
            out["near"][lo:lo + chunk, s] = near
            out["slope"][lo:lo + chunk, s] = slope
            done += len(final)
            if progress is not None:
                progress(done, total * len(seeds))
    return SweepResult(
        problem=problem.name, method=method, axes=axes, seeds=seeds, steps=steps, tol=tol,
        min_loss=floor, final_loss=out["final"].reshape(*shape, len(seeds)),
        steps_to_tol=out["tol"].astype(np.int64).reshape(*shape, len(seeds)),
        diverged_at=out["div"].astype(np.int64).reshape(*shape, len(seeds)), fixed=fixed, start_gap=gap0,
        tol_note=chosen.note,
        nearest_minimum=out["near"].astype(np.int64).reshape(*shape, len(seeds)),
        final_grad=out["slope"].reshape(*shape, len(seeds)),
        grad_tol=float(np.linalg.norm(problem.grad(phi0))) * math.sqrt(tol / gap0) if gap0 > 0 else 0.0,
        minima_loss=tuple(float(v) for v in problem.loss(problem.minima)) if len(problem.minima) else ())


def gradient_examples(problem: Problem, batch_size: int | None) -> int:
    """The examples one gradient reads, for the work estimate: the batch, or all the data unless
    the problem has a closed form on all of it (the line fit's statistics, summed or averaged)."""
    if problem.n_examples is None:
        return 1
    return batch_size if batch_size is not None else problem.examples_per_loss


class _Engine:
    """Runs one chunk of configurations; see the module docstring for the tricks."""

    def __init__(self, problem: Problem, method: str, phi0: np.ndarray, steps: int, tol: float,
                 floor: float | None, bound: divergence.Limits, loss0: float | None = None):
        self.problem, self.method, self.phi0, self.steps = problem, method, phi0, steps
        self.loss0 = loss0
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

    def _nearest(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The index of the known minimum nearest to each row of ``params`` (−1: none known) and,
        where several minima are known, the norm of the full-data gradient there (else NaN)."""
        minima = self.problem.minima
        if len(minima) < 2:
            return np.full(len(params), 0 if len(minima) else -1), np.full(len(params), np.nan)
        near = np.argmin(np.linalg.norm(params[:, None, :] - minima[None], axis=-1), axis=1)
        return near, np.linalg.norm(self.problem.grad(params), axis=-1)

    def run(self, hyper: dict, plan: list[np.ndarray] | None):
        """(final loss, steps to tol, diverged at, nearest minimum, final gradient norm) of every
        configuration.

        ``entered`` is the step at which the gap last came down to the tolerance (−1 while above
        it), so at the end it is the step from which the gap stayed below.
        """
        n = max((len(v) for v in hyper.values() if isinstance(v, np.ndarray)), default=1)
        final = np.full(n, np.nan)
        entered = np.full(n, -1)
        diverged = np.full(n, -1)
        near = np.full(n, -1)
        slope = np.full(n, np.nan)
        idx = np.arange(n)
        opt = self._build(hyper)
        state = opt.init(np.broadcast_to(self.phi0, (n, len(self.phi0))))
        jump = self.quadratic is not None and plan is None
        if jump:
            stable, forms = self._envelopes(hyper)
        alive = np.ones(n, dtype=bool)  # rows of the current (compacted) arrays still running
        # the gradient taken at φ itself, on all the data: one fused pass gives L[φ_{t+1}] and the next one
        fused = plan is None and hasattr(self.problem, "value_and_grad") and \
            opt.gradient_point(state) is state.params
        ahead = None  # ∇L[φ_t] from the previous step's fused pass
        with np.errstate(all="ignore"):
            loss = self.problem.loss(state.params)
            entered[gap_rule.gap(loss, self.floor) <= self.tol] = 0
            if self.steps == 0:
                final[:] = loss
                near[:], slope[:] = self._nearest(state.params)
            for t in range(self.steps):
                batch = None if plan is None else plan[t]
                grad = ahead if ahead is not None else self.problem.grad(opt.gradient_point(state), batch)
                if self.spec.needs_loss:
                    state = opt.update(state, grad, probe(self.problem, batch))
                else:
                    state = opt.update(state, grad)
                if fused:
                    loss, ahead = self.problem.value_and_grad(state.params)
                else:
                    loss = self.problem.loss(state.params)
                bad = divergence.diverged(loss, self.bound, buffers(state).values()) & alive
                diverged[idx[bad]] = t + 1
                alive &= ~bad
                below = gap_rule.gap(loss, self.floor) <= self.tol
                entered[idx[alive & below & (entered[idx] < 0)]] = t + 1
                entered[idx[alive & ~below]] = -1
                if t + 1 == self.steps:
                    final[idx[alive]] = loss[alive]
                    near[idx[alive]], slope[idx[alive]] = self._nearest(state.params[alive])
                    break
                if jump and (t + 1) % COMPACT_EVERY == 0:
                    finish = alive & (entered[idx] >= 0) & stable[idx]
                    if finish.any():
                        finish[finish] = self._stays_below(state, idx[finish], forms, finish)
                    if finish.any():
                        final[idx[finish]] = self._jump(state, idx, finish, hyper, self.steps - (t + 1))
                        near[idx[finish]] = 0
                        alive &= ~finish
                if not alive.all() and ((t + 1) % COMPACT_EVERY == 0 or alive.mean() < 0.5):
                    idx = idx[alive]
                    if idx.size == 0:
                        break
                    state = type(state)(*(a[alive] if isinstance(a, np.ndarray) and a.ndim >= 1 else a
                                          for a in state))
                    ahead = None if ahead is None else ahead[alive]
                    opt = self._build(hyper, idx)
                    alive = np.ones(idx.size, dtype=bool)
        entered[diverged >= 0] = -1
        return final, entered, diverged, near, slope

    def _matrices(self, hyper: dict, rows=slice(None)) -> np.ndarray:
        """The iteration matrices, shape (configurations, eigen-directions, 2, 2), from the registry."""
        lam = self.quadratic[0]
        n = max((len(v) for v in hyper.values() if isinstance(v, np.ndarray)), default=1)
        cols = {k: (v if isinstance(v, np.ndarray) else np.full(n, v))[rows][:, None]
                for k, v in {**self.spec.defaults(), **hyper}.items()}  # defaults where the grid has none
        return self.spec.linear.matrix(cols, lam[None, :])

    def run_compiled(self, hyper: dict):
        """The same as :meth:`run`, by the numba kernel (quadratic, linear method, full batch)."""
        from descentlab import sweep_kernel

        lam, vectors, centre = self.quadratic
        stable, forms = self._envelopes(hyper)
        final, reached, diverged = sweep_kernel.run_quadratic(
            self._matrices(hyper), lam, (self.phi0 - centre) @ vectors, self.steps,
            gap_rule.stays_below(self.tol, self.floor, SAFETY), self.tol, self.floor, self.bound,
            stable, forms)
        return final, reached, diverged, np.where(diverged >= 0, -1, 0), np.full(len(final), np.nan)

    def general(self, hyper: dict):
        """(compiled model, update coefficients) for :meth:`run_general`, or None where the compiled
        non-quadratic kernel does not apply: no compiled model, a method that is not linear, or one
        whose registered matrix is not of the form the kernel assumes or does not match the
        method's own update (checked on random states)."""
        from descentlab import sweep_general

        linear = self.spec.linear
        if linear is None or self.spec.needs_loss:
            return None
        n = max((len(v) for v in hyper.values() if isinstance(v, np.ndarray)), default=1)
        hyper = {**self.spec.defaults(), **hyper}  # β = 0.9 where the grid leaves it out
        coef = sweep_general.coefficients(linear.matrix, hyper, n, momentum=linear.momentum is not None)
        if coef is None or not self._agrees(hyper, coef, n):
            return None
        model = sweep_general.model_for(self.problem)
        return None if model is None else (model, coef)

    def _agrees(self, hyper: dict, coef, n: int) -> bool:
        """Whether the optimizer itself takes its gradient at φ + c·m and steps to
        φ + a01·m + u0·g, m' = a11·m + u1·g (to 1e-9 of the step), keeping no other buffer."""
        rng = np.random.default_rng(0)
        phi, m, g = rng.standard_normal((3, n, len(self.phi0)))
        c, a01, a11, u0, u1 = (v[:, None] for v in coef)
        with np.errstate(all="ignore"):  # steps of order one, even for α = 1e300
            m /= np.maximum.reduce([np.abs(c), np.abs(a01), np.abs(a11), np.ones_like(c)])
            g /= np.maximum.reduce([np.abs(u0), np.abs(u1), np.ones_like(c)])
        opt = self._build(hyper)
        state = opt.init(phi)
        name = self.spec.linear.momentum
        if set(buffers(state)) != ({name} if name else set()):
            return False
        if name:
            state = state._replace(**{name: m})
        else:
            m = np.zeros_like(m)

        def near(got, base, *terms) -> bool:
            size = sum(np.abs(v) for v in terms)
            want = sum(terms)
            return bool(np.all(np.abs((got - base) - want) <= 1e-9 * size + 8e-16 * np.abs(base)))

        with np.errstate(all="ignore"):
            point = opt.gradient_point(state)
            new = opt.update(state, g)
            ok = near(point, phi, c * m) and near(new.params, phi, a01 * m, u0 * g)
            return ok and (not name or near(getattr(new, name), 0.0, a11 * m, u1 * g))

    def run_general(self, prepared, rows: slice):
        """The same as :meth:`run`, by the compiled kernel of :mod:`descentlab.sweep_general`, for
        the configurations ``rows`` (prepared by :meth:`general` for all of them)."""
        from descentlab import sweep_general

        model, coef = prepared
        part = sweep_general.Coefficients(*(v[rows] for v in coef))
        n = len(part.c)
        params = np.empty((n, len(self.phi0)))
        loss0 = float(self.problem.loss(self.phi0)) if self.loss0 is None else self.loss0
        final, reached, diverged = sweep_general.run(
            model.vg_block, part, self.phi0, self.steps, self.tol, self.floor, self.bound, model.x, model.y,
            value_block=model.value_block, momentum=self.spec.linear.momentum is not None, loss0=loss0,
            count=model.count, params=params)
        near, slope = np.full(n, -1), np.full(n, np.nan)
        ok = diverged < 0
        if ok.any():
            with np.errstate(all="ignore"):
                near[ok], slope[ok] = self._nearest(params[ok])
        return final, reached, diverged, near, slope

    def _envelopes(self, hyper: dict) -> tuple[np.ndarray, np.ndarray]:
        """Which configurations may jump (stable, with a usable envelope) and their envelope forms."""
        matrices = self._matrices(hyper)
        stable = np.max(theory.matrix_radius(matrices), axis=1) < 1.0 - RADIUS_MARGIN
        forms, ok = envelope_forms(np.where(stable[:, None, None, None], matrices, 0.0))
        return stable & ok.all(axis=1), forms

    def _coordinates(self, state, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(e, m) of the rows given, in the Hessian's eigen-directions."""
        _, vectors, centre = self.quadratic
        e = (state.params[rows] - centre) @ vectors
        buffer = self.spec.linear.momentum
        m = getattr(state, buffer)[rows] @ vectors if buffer else np.zeros_like(e)
        return e, m

    def _stays_below(self, state, configs: np.ndarray, forms: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """True where the monotone envelope proves the gap stays ≤ tol for every later step."""
        e, m = self._coordinates(state, rows)
        f = forms[configs]
        bound = 0.5 * np.sum(self.quadratic[0] * (f[..., 0, 0] * e * e + 2 * f[..., 0, 1] * e * m
                                                  + f[..., 1, 1] * m * m), axis=1)
        return bound <= gap_rule.stays_below(self.tol, self.floor, SAFETY)

    def _jump(self, state, idx, rows, hyper, remaining: int) -> np.ndarray:
        """L[φ_T] for the rows given, from their state now, by M^remaining in each eigen-direction."""
        lam = self.quadratic[0]
        e, m = self._coordinates(state, rows)
        matrices = self._matrices(hyper, idx[rows])
        out = np.zeros(len(e))
        for k in range(len(lam)):
            power = _matrix_power(matrices[:, k], remaining)
            e_end = power[:, 0, 0] * e[:, k] + power[:, 0, 1] * m[:, k]
            out += 0.5 * lam[k] * e_end * e_end
        return self.floor + out


SAFETY = 1e-6
"""Relative margin below the tolerance that the envelope must reach before a jump (rounding)."""
RADIUS_MARGIN = 1e-9
"""Configurations with a spectral radius this close to 1 are never jumped (their envelope form,
from a nearly singular linear system, could be inaccurate); they simply run every step."""


def envelope_forms(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""A monotone envelope for each stable 2×2 iteration matrix M of a stack ``(..., 2, 2)``.

    P solves the discrete Lyapunov equation P = MᵀPM + I, i.e. P = Σ_k (Mᵀ)^k M^k, so
    V(x) = xᵀPx = Σ_k ‖M^k x‖² and V(Mx) = V(x) − ‖x‖² ≤ V(x): V never increases along a run.
    The largest e² on the ellipse {V = v} is (P⁻¹)₀₀·v, so for every k ≥ 0

    .. math:: e_{t+k}^2 \le (P^{-1})_{00}\, V(x_{t+k}) \le (P^{-1})_{00}\, V(x_t) = x_t^\top B x_t,

    with B = (P⁻¹)₀₀·P. Returns (B, ok) where ok marks the matrices for which P came out finite
    and positive definite (M must have spectral radius < 1).
    """
    shape = matrices.shape[:-2]
    m = matrices.reshape(-1, 2, 2)
    kron = np.einsum("nai,nbj->nijab", m, m).reshape(-1, 4, 4)  # vec(MᵀPM) = kron·vec(P), row-major
    try:
        p = np.linalg.solve(np.eye(4) - kron, np.broadcast_to([1.0, 0.0, 0.0, 1.0], (len(m), 4))[..., None])
    except np.linalg.LinAlgError:
        return np.zeros((*shape, 2, 2)), np.zeros(shape, dtype=bool)
    p = p[..., 0]
    p00, p01, p11 = p[:, 0], 0.5 * (p[:, 1] + p[:, 2]), p[:, 3]
    det = p00 * p11 - p01 * p01
    with np.errstate(all="ignore"):
        inv00 = p11 / det
        forms = inv00[:, None, None] * np.stack([np.stack([p00, p01], -1), np.stack([p01, p11], -1)], -2)
    ok = np.isfinite(forms).all(axis=(1, 2)) & (p00 > 0) & (det > 0)
    return np.where(ok[:, None, None], forms, 0.0).reshape(*shape, 2, 2), ok.reshape(shape)


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
