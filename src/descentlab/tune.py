"""Fair tuning: every optimizer gets the same budget, trials, seeds and batches.

Comparisons of optimizers are often unfair: different budgets, only one of them tuned, one lucky
seed. :func:`tune` gives each optimizer

* the same number of steps (the budget) and the same number of trials, sampled from a declared
  search space (log-uniform α, uniform β) by one seeded generator;
* the same seeds: with minibatches a seed picks the batch sequence (shared by every optimizer
  and trial); without, it picks a start point φ_0 + σ·z (z standard normal, σ a tenth of the
  distance from φ_0 to the nearest known minimum, or 0.1), seed 0 being φ_0 itself;
* the same selection rule: the trial with the lowest mean final L − L_min over the seeds
  (a diverged seed counts as +∞).

The result reports each optimizer's best configuration with the mean and spread over seeds, and
the loss curves of that configuration for every seed; :meth:`TuneResult.protocol` says all of it
in a paragraph that can be cited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import budget as budgets
from descentlab import optimizers as optim
from descentlab import validation
from descentlab.errors import InputError
from descentlab.problems.base import Problem
from descentlab.runner import run
from descentlab.sweep import gradient_examples, sweep
from descentlab.trajectory import Trajectory


def space(method: str) -> dict[str, tuple[float, float, str]]:
    """The declared search space of a method (from the registry): name → (low, high, log or uniform).

    Every hyper-parameter with a search range that its spec marks ``tuned`` (α and β; not Adam's γ,
    which stays at its default, as ε and a line search's tolerance do)."""
    chosen = [h for h in optim.get(method).hypers if h.search is not None and h.tuned]
    if not chosen:
        raise InputError(f"{method} declares no search range to tune")
    return {h.name: (*h.search, "log" if h.scale == "log" else "uniform") for h in chosen}


@dataclass(frozen=True, eq=False)
class Tuned:
    """One optimizer's best trial."""

    method: str
    hyperparams: dict[str, float]
    mean_gap: float          # mean over seeds of the final L − L_min (inf if any seed diverged)
    std_gap: float
    mean_steps: float        # mean over seeds of the steps from which the gap stays ≤ tol (inf if one never)
    diverged_trials: int     # trials with at least one diverged seed
    runs: tuple[Trajectory, ...]  # the best configuration, one run per seed


@dataclass(frozen=True, eq=False)
class TuneResult:
    problem: str
    budget: int
    trials: int
    seeds: tuple[int, ...]
    batch_size: int | None
    results: tuple[Tuned, ...]
    floor: float

    def protocol(self) -> str:
        """The tuning protocol in one paragraph, with the numbers used."""
        spaces = "; ".join(f"{r.method}: " + ", ".join(
            f"{k} {'log-uniform' if kind == 'log' else 'uniform'} in [{lo:g}, {hi:g}]"
            for k, (lo, hi, kind) in space(r.method).items()) for r in self.results)
        seeds = (f"minibatch sequences of size {self.batch_size} drawn with seeds {list(self.seeds)}, "
                 "the same for every optimizer and trial" if self.batch_size else
                 f"start points φ_0 + σ·z drawn with seeds {list(self.seeds)} (seed 0: φ_0 itself), "
                 "the same for every optimizer and trial")
        own = [f"{r.method} draws minibatches of {r.runs[0].batch_size} (its default)" for r in self.results
               if self.batch_size is None and r.runs and r.runs[0].batch_size is not None]
        own_text = f" ({'; '.join(own)}, with the same seeds)" if own else ""
        return (f"Protocol: on {self.problem}, each optimizer ran {self.trials} trials of {self.budget} "
                f"steps, sampled by one seeded generator from its search space ({spaces}); every trial ran "
                f"on {len(self.seeds)} {seeds}{own_text}. The best trial has the lowest mean final L − L_min "
                "over the seeds (a diverged seed counts as +∞; gaps below the tolerance count as equal, and "
                "ties go to the fewest mean steps after which the gap stays below it to the end); its mean ± "
                "standard deviation over the seeds is reported.")


def sample_space(method: str, trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``trials`` configurations from the method's declared search space."""
    spec = optim.get(method)
    return {name: spec.hyper(name).sample(rng.random(trials)) for name in space(method)}


def tune(problem: Problem, methods: Sequence[str], *, budget: int, trials: int, seeds: int | Sequence[int],
         batch_size: int | None = None, start: Sequence[float] | None = None,
         sample_seed: int = 0, progress: Callable[[int, int], None] | None = None) -> TuneResult:
    """Tune every method in ``methods`` under the same protocol (see the module docstring).

    ``progress(done, total)`` is called after each (method, seed) batch of trials, e.g. with a
    :func:`descentlab.progress.progress_bar`.
    """
    if len(methods) == 0:
        raise InputError("give at least one optimizer to tune")
    for m in methods:
        space(m)
    budget = validation.integer("budget", budget, 1)
    trials = validation.integer("trials", trials, 1)
    if not isinstance(seeds, int) and not hasattr(seeds, "__len__"):
        seeds = tuple(seeds)
    n_seeds = validation.integer("seeds", seeds, 1) if isinstance(seeds, int) else len(seeds)
    # trials × seeds × optimizers and the best runs' record, checked before anything is sampled
    sized = None if batch_size is None or problem.n_examples is None else \
        validation.integer("batch_size", batch_size, 1, problem.n_examples)
    examples = max(gradient_examples(problem, None if optim.get(m).full_batch else sized) for m in methods)
    budgets.check_tune(trials, budget, n_seeds, len(methods), problem.n_params, examples=examples,
                       batch_size=sized, line_searches=sum(bool(optim.get(m).needs_loss) for m in methods))
    seeds = tuple(range(n_seeds)) if isinstance(seeds, int) else tuple(seeds)
    phi0 = validation.point("start", problem.suggested.start if start is None else start, problem.n_params)
    starts = _starts(problem, phi0, seeds, batch_size)
    floor = problem.min_loss or 0.0
    rng = np.random.default_rng(sample_seed)
    results = []
    total, done = len(methods) * len(seeds), 0
    for method in methods:
        drawn = sample_space(method, trials, rng)
        batch = _batch(method, batch_size, problem)
        gaps = np.empty((trials, len(seeds)))
        steps = np.empty((trials, len(seeds)))
        tols = []
        for s, (seed, phi) in enumerate(zip(seeds, starts, strict=True)):
            res = sweep(problem, method, drawn, steps=budget, start=phi, seeds=(seed,), batch_size=batch,
                        mesh=False)
            gaps[:, s] = np.where(res.diverged[:, 0], np.inf, res.final_loss[:, 0] - floor)
            steps[:, s] = np.where(res.steps_to_tol[:, 0] >= 0, res.steps_to_tol[:, 0], np.inf)
            tols.append(res.tol)
            done += 1
            if progress is not None:
                progress(done, total)
        mean = gaps.mean(axis=1)
        best = int(np.lexsort((steps.mean(axis=1), np.maximum(mean, max(tols))))[0])
        hyper = {k: float(v[best]) for k, v in drawn.items()}
        opt = optim.make(method, **hyper)
        runs = tuple(run(opt, problem, phi, budget, batch_size=batch, seed=seed)
                     for seed, phi in zip(seeds, starts, strict=True))
        results.append(Tuned(method, hyper, float(mean[best]), float(gaps[best].std()),
                             float(steps[best].mean()), int(np.sum(~np.isfinite(mean))), runs))
    return TuneResult(problem.name, budget, trials, seeds, batch_size, tuple(results), floor)


def _batch(method: str, batch_size: int | None, problem: Problem) -> int | None:
    """A method's minibatch size in the protocol: none for one that takes all the data (gd), the given
    one, else a stochastic method's own default (sgd:
    :data:`~descentlab.optimizers.registry.STOCHASTIC_BATCH` examples; on all the data it would be gd)."""
    spec = optim.get(method)
    if spec.full_batch:
        return None
    if batch_size is None and spec.stochastic and problem.n_examples is not None:
        return min(optim.STOCHASTIC_BATCH, problem.n_examples)
    return batch_size


def _starts(problem: Problem, phi0: np.ndarray, seeds: tuple[int, ...], batch_size) -> list[np.ndarray]:
    if batch_size is not None:
        return [phi0] * len(seeds)
    if len(problem.minima):
        sigma = 0.1 * float(np.min(np.linalg.norm(problem.minima - phi0, axis=1))) or 0.1
    else:
        sigma = 0.1
    return [phi0 if seed == 0 else phi0 + sigma * np.random.default_rng(seed).standard_normal(phi0.size)
            for seed in seeds]
