"""Sweep speed on problems that are not quadratic: descentlab vs JAX vs a plain numpy loop.

    python benchmarks/bench_sweep_general.py              # Gabor 64²×500 and Rosenbrock 128²×1000
    python benchmarks/bench_sweep_general.py --quick      # tiny sizes: a smoke run

The same sweep three ways, in one run, each recording per configuration what
:func:`descentlab.sweep.sweep` records: the final loss, the step from which L − L_min stays ≤ tol
to the end (−1 if never) and the step at which the loss left the divergence band of
:func:`descentlab.divergence.limits` (−1 if never); book Nesterov (eq. 6.12) over a grid of
α (log) × β (0…0.99), all the data at every step:

(a) ``descentlab.sweep.sweep`` (engine "auto": the compiled kernel of :mod:`descentlab.sweep_general`
    where numba is installed);
(b) JAX: ``jit(vmap(scan(step)))`` of the same update, the gradient by ``jax.grad`` of the same loss,
    float64, compiled before timing (its compile time printed apart);
(c) a plain numpy loop over the whole grid at once (broadcast over configurations, the loss and
    gradient written out by hand, one fused pass where both are needed at one point).

Cases: **gabor** — the book's Gabor model on the built-in 30 points (Figure 6.2), 64²×500;
**rosenbrock** — ``(1 - x)**2 + 100*(y - x**2)**2`` given as an expression (``--loss``, compiled by
:mod:`descentlab.problems.expression_numba`), 128²×1000. The three are timed interleaved,
``--repeat`` times; min and median of wall time and of process CPU time (all threads; the machine
may be shared, and CPU time is then the steadier of the two) are printed, in config-steps per second,
with the ratios to JAX (target: ≥ 2× on Gabor, ≥ 1× on the expression) and to the numpy loop, and how far
the three agree (cells whose result is sensitive to rounding — chaotic or slowly converging runs —
may differ at the rounding level amplified; the counts are printed, not hidden).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import descentlab as dl
from descentlab import divergence
from descentlab.problems import from_expression
from descentlab.sweep import compiled_available, sweep

ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"


@dataclass
class Case:
    name: str
    problem: object
    lrs: np.ndarray
    betas: np.ndarray
    steps: int
    jax_loss: Callable          # loss(phi, jnp) for one point
    numpy_loss: Callable        # loss(points (n, 2)) -> (n,)
    numpy_fused: Callable       # (loss, grad) at points (n, 2)
    target: float               # ≥ this × JAX


def gabor_case(n: int, steps: int) -> Case:
    problem = dl.datasets.gabor()
    x, y = problem.x, problem.y

    def jax_loss(phi, jnp):
        z = phi[0] + 0.06 * phi[1] * jnp.asarray(x)
        r = jnp.sin(z) * jnp.exp(-z * z / 32.0) - jnp.asarray(y)
        return jnp.sum(r * r)

    def numpy_loss(p):
        z = p[:, 0, None] + 0.06 * p[:, 1, None] * x
        r = np.sin(z) * np.exp(-z * z / 32.0) - y
        return np.sum(r * r, axis=1)

    def numpy_fused(p):
        z = p[:, 0, None] + 0.06 * p[:, 1, None] * x
        s, e = np.sin(z), np.exp(-z * z / 32.0)
        r = s * e - y
        d = 2.0 * r * e * (np.cos(z) - z * s / 16.0)
        return np.sum(r * r, axis=1), np.stack([d.sum(axis=1), 0.06 * (d @ x)], axis=1)

    return Case("gabor", problem, np.geomspace(1e-3, 1.0, n), np.linspace(0.0, 0.99, n), steps,
                jax_loss, numpy_loss, numpy_fused, 2.0)


def rosenbrock_case(n: int, steps: int) -> Case:
    problem = from_expression(ROSENBROCK, start=(-1.5, 2.0))

    def jax_loss(phi, jnp):
        return (1 - phi[0]) ** 2 + 100 * (phi[1] - phi[0] ** 2) ** 2

    def numpy_loss(p):
        a, b = 1.0 - p[:, 0], p[:, 1] - p[:, 0] ** 2
        return a * a + 100.0 * b * b

    def numpy_fused(p):
        a, b = 1.0 - p[:, 0], p[:, 1] - p[:, 0] ** 2
        return a * a + 100.0 * b * b, np.stack([-2.0 * a - 400.0 * b * p[:, 0], 200.0 * b], axis=1)

    return Case("rosenbrock", problem, np.geomspace(1e-5, 3e-3, n), np.linspace(0.0, 0.99, n), steps,
                jax_loss, numpy_loss, numpy_fused, 1.0)


def settings(case: Case) -> tuple[np.ndarray, float, float, divergence.Limits]:
    """φ_0, L_min (0 when unknown), the default tolerance and the divergence band, as sweep() sets them."""
    phi0 = np.asarray(case.problem.suggested.start, dtype=np.float64)
    loss0 = float(case.problem.loss(phi0))
    floor = case.problem.min_loss or 0.0
    return phi0, floor, max(loss0 - floor, 1e-300) * 1e-6, divergence.limits(loss0)


def ours(case: Case):
    return sweep(case.problem, "nesterov", {"lr": case.lrs, "beta": case.betas}, steps=case.steps)


def numpy_loop(case: Case):
    """(final, steps to tol, diverged at): book Nesterov over every configuration at once."""
    phi0, floor, tol, (low, high) = settings(case)
    a, b = (v.ravel()[:, None] for v in np.meshgrid(case.lrs, case.betas, indexing="ij"))
    n = a.shape[0]
    phi = np.broadcast_to(phi0, (n, 2)).copy()
    m = np.zeros((n, 2))
    first = np.full(n, -1)
    gone = np.full(n, -1)
    loss = np.full(n, float(case.numpy_loss(phi0[None])[0]))
    first[loss - floor <= tol] = 0
    with np.errstate(all="ignore"):
        for t in range(1, case.steps + 1):
            _, g = case.numpy_fused(phi - a * b * m)
            m = b * m + (1.0 - b) * g
            phi = phi - a * m
            loss = case.numpy_loss(phi)
            bad = (~(loss <= high) | (loss < low) | ~np.isfinite(m).all(axis=1)) & (gone < 0)
            gone[bad] = t
            below = loss - floor <= tol
            first = np.where(below, np.where(first < 0, t, first), -1)
    first[gone >= 0] = -1
    return np.where(gone >= 0, np.nan, loss), first, gone


def jax_runner(case: Case):
    """A compiled ``jit(vmap(scan))`` of book Nesterov, and the seconds its compilation took."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    phi0, floor, tol, (low, high) = settings(case)

    def loss(phi):
        return case.jax_loss(phi, jnp)

    grad = jax.grad(loss)

    def one(alpha, beta):
        def step(carry, t):
            phi, m, first, gone = carry
            g = grad(phi - alpha * beta * m)
            m = beta * m + (1 - beta) * g
            phi = phi - alpha * m
            value = loss(phi)
            bad = (~(value <= high) | (value < low) | ~jnp.all(jnp.isfinite(m))) & (gone < 0)
            gone = jnp.where(bad, t, gone)
            below = value - floor <= tol
            first = jnp.where(below, jnp.where(first < 0, t, first), -1)
            return (phi, m, first, gone), value

        start = jnp.asarray(phi0)
        first0 = jnp.where(loss(start) - floor <= tol, 0, -1).astype(jnp.int64)
        init = (start, jnp.zeros(2), first0, jnp.int64(-1))
        (phi, _, first, gone), _ = jax.lax.scan(step, init, jnp.arange(1, case.steps + 1))
        return jnp.where(gone >= 0, jnp.nan, loss(phi)), jnp.where(gone >= 0, -1, first), gone

    a, b = (jnp.asarray(v.ravel()) for v in np.meshgrid(case.lrs, case.betas, indexing="ij"))
    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(one)).lower(a, b).compile()
    seconds = time.perf_counter() - start

    def run():
        return tuple(np.asarray(v) for v in jax.block_until_ready(compiled(a, b)))

    return run, seconds


def compare(name: str, other, result) -> None:
    final, reached, gone = other
    ref = result.final_loss.ravel(), result.steps_to_tol.ravel(), result.diverged_at.ravel()
    both = np.isfinite(final) & np.isfinite(ref[0])
    rel = np.abs(final[both] - ref[0][both]) / np.maximum(np.abs(ref[0][both]), 1e-300)
    print(f"    {name} vs descentlab: diverged-at differs in {int(np.sum(gone != ref[2]))}, steps-to-tol in "
          f"{int(np.sum(reached != ref[1]))}, final loss > 1e-12 relative in {int(np.sum(rel > 1e-12))} "
          f"of {final.size} cells (median relative difference {np.median(rel) if rel.size else 0.0:.1e})")


def bench(case: Case, repeat: int, with_jax: bool) -> float | None:
    n = case.lrs.size * case.betas.size
    work = n * case.steps
    print(f"\n{case.name}: book Nesterov, {case.lrs.size}×{case.betas.size} = {n} configurations × "
          f"{case.steps} steps, {case.problem.n_examples or 0} data points")
    small = Case(**{**case.__dict__, "lrs": case.lrs[:2], "betas": case.betas[:2], "steps": 3})
    start = time.perf_counter()
    ours(small)  # numba's compilation of the kernel for this model, outside the timings
    print(f"    descentlab warm-up (compiling the model and kernel): {time.perf_counter() - start:.2f} s")
    runners: dict[str, Callable] = {"descentlab": lambda: ours(case), "numpy loop": lambda: numpy_loop(case)}
    if with_jax:
        run_jax, seconds = jax_runner(case)
        print(f"    JAX compile: {seconds:.2f} s")
        runners["JAX"] = run_jax
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in runners}
    outputs: dict[str, object] = {}
    for _ in range(repeat):  # interleaved
        for name, fn in runners.items():
            start, cpu = time.perf_counter(), time.process_time()
            outputs[name] = fn()
            times[name]["wall"].append(time.perf_counter() - start)
            times[name]["cpu"].append(time.process_time() - cpu)
    for name, kinds in times.items():
        for kind, ts in kinds.items():
            best, median = min(ts), statistics.median(ts)
            print(f"    {name:11s} {kind:4s}: min {best:8.3f} s  median {median:8.3f} s   "
                  f"{work / best:10.3g} config-steps/s (best), {work / median:10.3g} (median)")
    result = outputs["descentlab"]
    for name in runners:
        if name != "descentlab":
            compare(name, outputs[name], result)
    ratio = None
    for base in [k for k in runners if k != "descentlab"]:
        for kind in ("wall", "cpu"):
            ours_t, theirs = times["descentlab"][kind], times[base][kind]
            best = min(theirs) / min(ours_t)
            median = statistics.median(theirs) / statistics.median(ours_t)
            print(f"    RATIO descentlab / {base} ({kind} time): {best:.2f}× (min), {median:.2f}× (median)"
                  + (f"   target ≥ {case.target:g}×" if base == "JAX" else ""))
            if base == "JAX" and kind == "wall":
                ratio = median
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (a smoke run)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repeats")
    parser.add_argument("--case", choices=("gabor", "rosenbrock", "both"), default="both")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX (when it is not installed)")
    args = parser.parse_args(argv)
    if args.quick:
        cases = [gabor_case(8, 40), rosenbrock_case(8, 40)]
        repeat = 1
    else:
        cases = [gabor_case(64, 500), rosenbrock_case(128, 1000)]
        repeat = args.repeat
    cases = [c for c in cases if args.case in ("both", c.name)]
    engine = "compiled kernel (numba)" if compiled_available() else "numpy path (numba not installed)"
    print(f"descentlab engine: {engine}; {repeat} interleaved repeats")
    for case in cases:
        ratio = bench(case, repeat, not args.no_jax)
        if ratio is not None and ratio < case.target and not args.quick:
            print(f"TARGET MISSED: {case.name} descentlab / JAX = {ratio:.2f}× "
                  f"(median; target ≥ {case.target:g}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
