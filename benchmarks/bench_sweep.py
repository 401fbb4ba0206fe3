"""Hyper-parameter sweep speed: descentlab vs a PyTorch loop vs JAX (jit + vmap + lax.scan).

    make bench-sweep          # creates .venv-bench with jax and torch, then runs this
    python benchmarks/bench_sweep.py --grid 256 --steps 1000

The same sweep in three ways, in one run: book Nesterov on the built-in line-fit data over a
grid of α (log 1e-4…1e-1) × β (0…0.99), recording per configuration the final loss, the step
from which L − L_min stays ≤ tol to the end (−1 if it ends above it or diverged) and where it
diverged.

(a) descentlab.sweep.sweep (the numba kernel when installed; its numpy path is timed too);
(b) the usual way: one ``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True)`` per configuration
    with autograd, in a Python loop — timed on ``--torch-configs`` configurations and
    extrapolated (its parameter is the look-ahead point; the book's φ = θ + αβ·m is compared);
(c) JAX: ``jit(vmap(scan(step)))`` of the book's update, float64, compile time reported apart.

Prints config-steps per second for each, the ratios, and whether the results agree (1e-9).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import descentlab as dl
from descentlab.divergence import FACTOR as DIVERGENCE_FACTOR
from descentlab.sweep import compiled_available, parse_range, sweep


def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    return parse_range(f"1e-4:1e-1:{n}:log"), parse_range(f"0:0.99:{n}")


def ours(problem, lrs, betas, steps, engine="auto"):
    start = time.perf_counter()
    result = sweep(problem, "nesterov", {"lr": lrs, "beta": betas}, steps=steps, engine=engine)
    return time.perf_counter() - start, result


def torch_loop(problem, configs, steps, tol, bound):
    """(seconds, final losses, steps to tol, diverged at) for a list of (α, β)."""
    import torch

    x = torch.tensor(problem.x)
    y = torch.tensor(problem.y)
    floor = problem.min_loss
    finals, reached, diverged = [], [], []
    start = time.perf_counter()
    for alpha, beta in configs:
        theta = torch.tensor(problem.suggested.start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([theta], lr=alpha * (1 - beta), momentum=beta, nesterov=True)
        first, gone = -1, -1
        loss_value = float("nan")
        for t in range(steps):
            opt.zero_grad()
            loss = ((theta[0] + theta[1] * x - y) ** 2).sum()
            loss.backward()
            opt.step()
            with torch.no_grad():  # the book's φ_{t+1} = θ + αβ·m, m = (1−β)·buf
                buf = opt.state[theta]["momentum_buffer"]
                phi = theta + alpha * beta * (1 - beta) * buf
                loss_value = float(((phi[0] + phi[1] * x - y) ** 2).sum())
            if not loss_value <= bound:
                gone, first = t + 1, -1
                break
            if loss_value - floor > tol:  # above again: not converged yet
                first = -1
            elif first < 0:
                first = t + 1
        finals.append(np.nan if gone >= 0 else loss_value)
        reached.append(first)
        diverged.append(gone)
    return time.perf_counter() - start, np.array(finals), np.array(reached), np.array(diverged)


def jax_sweep(problem, lrs, betas, steps, tol, bound):
    """(compile seconds, run seconds, finals, steps to tol, diverged at) over the whole grid."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, y = jnp.asarray(problem.x), jnp.asarray(problem.y)
    floor = problem.min_loss

    def loss(phi):
        r = phi[0] + phi[1] * x - y
        return jnp.sum(r * r)

    grad = jax.grad(loss)

    def one(alpha, beta):
        def step(carry, t):
            phi, m, first, gone = carry
            g = grad(phi - alpha * beta * m)
            m = beta * m + (1 - beta) * g
            phi = phi - alpha * m
            value = loss(phi)
            bad = ~(value <= bound) & (gone < 0)
            gone = jnp.where(bad, t + 1, gone)
            below = value - floor <= tol  # the step from which the gap stays below (−1 while above)
            first = jnp.where(gone >= 0, -1, jnp.where(below, jnp.where(first < 0, t + 1, first), -1))
            return (phi, m, first, gone), None

        phi0 = jnp.asarray(problem.suggested.start)
        init = (phi0, jnp.zeros(2), jnp.int64(-1), jnp.int64(-1))
        (phi, _, first, gone), _ = jax.lax.scan(step, init, jnp.arange(steps))
        return jnp.where(gone >= 0, jnp.nan, loss(phi)), first, gone

    run = jax.jit(jax.vmap(one))
    a, b = (jnp.asarray(v) for v in np.meshgrid(lrs, betas, indexing="ij"))
    a, b = a.ravel(), b.ravel()
    start = time.perf_counter()
    jax.block_until_ready(run(a[:2], b[:2]))  # compile for a tiny shape, then for the real one
    compiled = run.lower(a, b).compile()
    compile_s = time.perf_counter() - start
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(a, b))
        best = min(best, time.perf_counter() - start)
    return compile_s, best, *(np.asarray(v) for v in out)


def agree(name, finals, reached, gone, result, index):
    ref_final = result.final_loss.reshape(-1)[index]
    ref_tol = result.steps_to_tol.reshape(-1)[index]
    ref_gone = result.diverged_at.reshape(-1)[index]
    both = ~np.isnan(finals) & ~np.isnan(ref_final)
    rel = np.max(np.abs(finals[both] - ref_final[both]) / np.abs(ref_final[both])) if both.any() else 0.0
    same_nan = np.array_equal(np.isnan(finals), np.isnan(ref_final))
    tol_mismatch = int(np.sum(reached != ref_tol))
    gone_mismatch = int(np.sum(gone != ref_gone))
    ok = rel <= 1e-9 and same_nan and tol_mismatch == 0 and gone_mismatch == 0
    print(f"  {name} vs descentlab: max relative difference of final loss {rel:.1e}, "
          f"steps-to-tol mismatches {tol_mismatch}, diverged-at mismatches {gone_mismatch} "
          f"→ {'equal' if ok else 'DIFFERENT'} (1e-9)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=256, help="points per axis (default 256)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--torch-configs", type=int, default=24, help="configurations timed in torch")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX (when it is not installed)")
    args = parser.parse_args(argv)

    problem = dl.datasets.line_fit()
    lrs, betas = grid(args.grid)
    n = lrs.size * betas.size
    work = n * args.steps
    print(f"sweep: book Nesterov on line-fit, {args.grid}×{args.grid} = {n} configurations "
          f"× {args.steps} steps")
    ours(problem, lrs[:4], betas[:4], 10)  # warm up imports, caches and numba's compilation
    t_ours, result = ours(problem, lrs, betas, args.steps)
    t_numpy, plain = ours(problem, lrs, betas, args.steps, engine="numpy")
    bound = DIVERGENCE_FACTOR * max(1.0, float(problem.loss(problem.suggested.start)))
    kernel = "numba kernel" if compiled_available() else "numpy, numba not installed"
    print(f"(a) descentlab : {t_ours:8.3f} s   {work / t_ours:10.3g} config-steps/s ({kernel})")
    print(f"    numpy path : {t_numpy:8.3f} s   {work / t_numpy:10.3g} config-steps/s (engine='numpy')")
    agree("numpy path", plain.final_loss.ravel(), plain.steps_to_tol.ravel(), plain.diverged_at.ravel(),
          result, np.arange(n))

    rng = np.random.default_rng(0)
    index = rng.choice(n, size=min(args.torch_configs, n), replace=False)
    ii, jj = np.unravel_index(index, (lrs.size, betas.size))
    configs = list(zip(lrs[ii], betas[jj], strict=True))
    t_torch, *torch_out = torch_loop(problem, configs, args.steps, result.tol, bound)
    t_torch_all = t_torch / len(configs) * n
    print(f"(b) torch loop : {t_torch_all:8.1f} s   {work / t_torch_all:10.3g} config-steps/s "
          f"(extrapolated from {len(configs)} configurations, {t_torch:.2f} s)")
    agree("torch", *torch_out, result, index)

    ratios = [f"descentlab / torch loop = {t_torch_all / t_ours:,.0f}× (target ≥ 10⁴×)"]
    if not args.no_jax:
        compile_s, t_jax, *jax_out = jax_sweep(problem, lrs, betas, args.steps, result.tol, bound)
        print(f"(c) JAX        : {t_jax:8.3f} s   {work / t_jax:10.3g} config-steps/s "
              f"(compile {compile_s:.1f} s)")
        agree("JAX", *jax_out, result, np.arange(n))
        ratios.append(f"descentlab / JAX = {t_jax / t_ours:.2f}× (target ≥ 5×)")
    for line in ratios:
        print(line)
    if t_torch_all / t_ours < 1e4:
        print("TARGET MISSED: torch ratio")
    if not args.no_jax and t_jax / t_ours < 5:
        print("TARGET MISSED: JAX ratio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
