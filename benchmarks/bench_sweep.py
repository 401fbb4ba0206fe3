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

(k) The quadratic kernel alone, on the same prepared inputs (eigenbasis matrices, envelopes): the
    previous kernel (one configuration per iteration, kept below verbatim as ``_baseline_kernel``, the
    baseline) against :mod:`descentlab.sweep_kernel` (blocks of 64 configurations vectorised across
    configurations), with the matrix-power finish off (no configuration may jump: every one runs until
    it diverges or the budget ends) and on, interleaved and repeated (``--repeat``); min and median of
    wall time and of process CPU time (the machine may be shared: CPU time is the steadier of the two),
    the ratio, and the share of the flop peak (``--peak-gflops``; default cores × clock × the
    core's double-precision flop per cycle, :func:`flop_per_cycle`) at :data:`FLOP_PER_DIRECTION`
    flop per eigen-direction per config-step. Also JAX
    running the kernel's own algorithm (:func:`jax_eigen_kernel`: the eigenbasis recurrences, no
    finish), so the kernel is compared with the same math, not only with (c)'s sum over the data.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time

import numpy as np

import descentlab as dl
from descentlab import divergence, sweep_kernel, theory
from descentlab import optimizers as optim
from descentlab.divergence import FACTOR as DIVERGENCE_FACTOR
from descentlab.sweep import RADIUS_MARGIN, SAFETY, compiled_available, envelope_forms, parse_range, sweep

FLOP_PER_DIRECTION = 9
"""e' = a·e + b·m and m' = c·e + d·m (4 multiplies, 2 adds), gap += ½λ·e'·e' (2 multiplies, 1 add);
the masks (compares, selects) are not counted. Line fit: 2 directions, 18 flop per config-step."""


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
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repeats of the kernel timings")
    parser.add_argument("--peak-gflops", type=float, default=None, help="flop peak (default: from the CPU)")
    parser.add_argument("--kernel-only", action="store_true", help="only (k): the kernel vs its baseline")
    args = parser.parse_args(argv)

    problem = dl.datasets.line_fit()
    lrs, betas = grid(args.grid)
    n = lrs.size * betas.size
    work = n * args.steps
    print(f"sweep: book Nesterov on line-fit, {args.grid}×{args.grid} = {n} configurations "
          f"× {args.steps} steps")
    ours(problem, lrs[:4], betas[:4], 10)  # warm up imports, caches and numba's compilation
    if compiled_available():
        peak = (args.peak_gflops, "given") if args.peak_gflops else None
        gap0 = float(problem.loss(problem.suggested.start)) - problem.min_loss
        kernel_ratio = kernel_bench(problem, lrs, betas, args.steps, gap0 * 1e-6, args.repeat, peak,
                                    with_jax=not args.no_jax)
        if kernel_ratio < 5:
            print(f"TARGET MISSED: block kernel / previous kernel = {kernel_ratio:.2f}× (target ≥ 5×)")
        if args.kernel_only:
            return 0
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


# ---- (k) the kernel alone: the previous kernel (the baseline, verbatim but for its name) vs the new one ----
prange = range  # numba.prange once compiled


def _baseline_kernel(mats, lam, e0, steps, safe_tol, tol, floor, bound, stable, forms, final, reached,
                     diverged):
    n_dirs = lam.size
    for c in prange(mats.shape[0]):
        e = e0.copy()
        m = np.zeros(n_dirs)
        gap = 0.0
        for k in range(n_dirs):
            gap += 0.5 * lam[k] * e[k] * e[k]
        entered = 0 if gap <= tol else -1
        gone = -1
        last = floor + gap
        t = 0
        while t < steps:
            gap = 0.0
            for k in range(n_dirs):
                e_k = mats[c, k, 0] * e[k] + mats[c, k, 1] * m[k]
                m[k] = mats[c, k, 2] * e[k] + mats[c, k, 3] * m[k]
                e[k] = e_k
                gap += 0.5 * lam[k] * e_k * e_k
            t += 1
            last = floor + gap
            if not bound[0] <= last <= bound[1]:  # divergence.limits: (low, high); NaN too
                gone = t
                entered = -1
                break
            if gap > tol:
                entered = -1
            elif entered < 0:
                entered = t
            if entered >= 0 and stable[c] and t < steps:
                envelope = 0.0
                for k in range(n_dirs):
                    envelope += 0.5 * lam[k] * (forms[c, k, 0] * e[k] * e[k]
                                                + 2.0 * forms[c, k, 1] * e[k] * m[k]
                                                + forms[c, k, 2] * m[k] * m[k])
                if envelope <= safe_tol:  # no later step can rise above the tolerance: jump to the end
                    last = floor + _baseline_jump_gap(mats[c], lam, e, m, steps - t)
                    break
        reached[c] = entered
        diverged[c] = gone
        final[c] = np.nan if gone >= 0 else last


def _baseline_jump_gap(mats, lam, e, m, n):
    """½ Σ λ_k e_k² after n more steps, by squaring each direction's 2×2 iteration matrix."""
    total = 0.0
    for k in range(lam.size):
        m00, m01, m10, m11 = mats[k, 0], mats[k, 1], mats[k, 2], mats[k, 3]
        r00, r01, r10, r11 = 1.0, 0.0, 0.0, 1.0
        p = n
        while p > 0:
            if p & 1:
                r00, r01, r10, r11 = (r00 * m00 + r01 * m10, r00 * m01 + r01 * m11,
                                      r10 * m00 + r11 * m10, r10 * m01 + r11 * m11)
            p >>= 1
            if p > 0:
                m00, m01, m10, m11 = (m00 * m00 + m01 * m10, m00 * m01 + m01 * m11,
                                      m10 * m00 + m11 * m10, m10 * m01 + m11 * m11)
        end = r00 * e[k] + r01 * m[k]
        total += 0.5 * lam[k] * end * end
    return total


@functools.cache
def _baseline():
    import numba

    globals()["prange"] = numba.prange
    globals()["_baseline_jump_gap"] = numba.njit(_baseline_jump_gap)
    return numba.njit(parallel=True)(_baseline_kernel)


def baseline_run_quadratic(matrices, lam, e0, steps, safe_tol, tol, floor, bound, stable, forms):
    """The previous ``sweep_kernel.run_quadratic``: one configuration per parallel iteration."""
    n = matrices.shape[0]
    final, reached, diverged = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    mats = np.ascontiguousarray(matrices.reshape(n, lam.size, 4), dtype=np.float64)
    _baseline()(mats, np.ascontiguousarray(lam, dtype=np.float64), np.ascontiguousarray(e0, dtype=np.float64),
                steps, safe_tol, tol, floor, (float(bound[0]), float(bound[1])), np.ascontiguousarray(stable),
                np.ascontiguousarray(forms.reshape(n, lam.size, 4)[..., [0, 1, 3]], dtype=np.float64),
                final, reached, diverged)
    return final, reached, diverged


def kernel_inputs(problem, lrs, betas, steps, tol):
    """The kernel's arguments for book Nesterov over the grid, as ``sweep`` prepares them."""
    a, b = (v.ravel() for v in np.meshgrid(lrs, betas, indexing="ij"))
    lam, vectors = np.linalg.eigh(problem.constant_hessian)
    mats = optim.get("nesterov").linear.matrix({"lr": a[:, None], "beta": b[:, None]}, lam[None, :])
    stable = np.max(theory.matrix_radius(mats), axis=1) < 1.0 - RADIUS_MARGIN
    forms, ok = envelope_forms(np.where(stable[:, None, None, None], mats, 0.0))
    start = np.asarray(problem.suggested.start, dtype=float)
    e0 = (start - problem.minima[0]) @ vectors
    bound = divergence.limits(float(problem.loss(start)))
    stable &= ok.all(axis=1)
    return mats, lam, e0, steps, tol * (1.0 - SAFETY), tol, problem.min_loss, bound, stable, forms


def jax_eigen_kernel(with_jax: bool):
    """JAX running the kernel's own algorithm: the eigenbasis recurrences (e, m) ← M·(e, m) per Hessian
    direction and the gap ½Σλe², the same divergence band and tolerance bookkeeping, jit + vmap over the
    configurations + lax.scan over the steps, float64; no early exit and no matrix-power finish (JAX has
    no cheap way to retire lanes). Returns a callable with the kernel's signature, or None without JAX."""
    if not with_jax:
        return None
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    cache = {}

    def build(steps, n_dirs):
        # Directions unrolled (a static Python loop): XLA then sees scalar lanes per configuration,
        # which vmap turns into whole-vector operations; a reduction over a length-2 axis was 3× slower.
        def one(m4, lam, e0, tol, floor, low, high):  # m4: (directions, 4) of one configuration
            half = [0.5 * lam[k] for k in range(n_dirs)]
            gap0 = sum(half[k] * e0[k] * e0[k] for k in range(n_dirs))

            def step(carry, t):
                e, m, first, gone = carry
                e2 = tuple(m4[k, 0] * e[k] + m4[k, 1] * m[k] for k in range(n_dirs))
                m2 = tuple(m4[k, 2] * e[k] + m4[k, 3] * m[k] for k in range(n_dirs))
                g = sum(half[k] * e2[k] * e2[k] for k in range(n_dirs))
                last = floor + g
                bad = ~((last >= low) & (last <= high)) & (gone < 0)
                gone = jnp.where(bad, t + 1, gone)
                first = jnp.where(g > tol, -1, jnp.where(first < 0, t + 1, first))
                return (e2, m2, first, gone), None

            init = (tuple(e0[k] for k in range(n_dirs)), tuple(jnp.zeros(()) for _ in range(n_dirs)),
                    jnp.where(gap0 <= tol, 0, -1).astype(jnp.int64), jnp.int64(-1))
            (e, _, first, gone), _ = jax.lax.scan(step, init, jnp.arange(steps, dtype=jnp.int64))
            done = gone >= 0
            final = floor + sum(half[k] * e[k] * e[k] for k in range(n_dirs))
            return jnp.where(done, jnp.nan, final), jnp.where(done, -1, first), gone

        return jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None, None, None)))

    def run(matrices, lam, e0, steps, safe_tol, tol, floor, bound, stable, forms):
        n = matrices.shape[0]
        key = (steps, lam.size)
        if key not in cache:
            cache[key] = build(steps, lam.size)
        out = cache[key](jnp.asarray(matrices.reshape(n, lam.size, 4)), jnp.asarray(lam), jnp.asarray(e0),
                         tol, floor, float(bound[0]), float(bound[1]))
        return tuple(np.asarray(v) for v in jax.block_until_ready(out))

    return run


def flop_per_cycle() -> tuple[int, str]:
    """Double-precision flop one core can issue per cycle, from its vendor, family and flags.

    AMD's Zen 4 (family 0x19 with AVX-512) runs 512-bit instructions on two 256-bit FMA pipes: 8
    lanes × 2 flop = 16 a cycle, as Zen 3 does with AVX2; Zen 5 (family 0x1a) has full 512-bit pipes
    (32). Intel cores with AVX-512 are counted with two FMA units (32; some have one), AVX2 + FMA with
    two (16); anything else 8."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags, vendor = set(info.get("flags", "").split()), info.get("vendor_id", "")
    family = int(info.get("cpu family", "0") or 0)
    if vendor == "AuthenticAMD" and "avx512f" in flags:
        if family >= 0x1A:
            return 32, "Zen 5: AVX-512 on 512-bit FMA pipes"
        return 16, "Zen 4: AVX-512 on two 256-bit FMA pipes"
    if "avx512f" in flags:
        return 32, "AVX-512, 2 FMA units"
    if {"avx2", "fma"} <= flags:
        return 16, "AVX2, 2 FMA units"
    return 8, "SSE2"


def peak_gflops() -> tuple[float, str]:
    cores = len(os.sched_getaffinity(0))
    ghz = 0.0
    try:
        with open("/proc/cpuinfo") as f:
            ghz = max(float(line.split(":")[1]) for line in f if line.startswith("cpu MHz")) / 1000
    except (OSError, ValueError):
        pass
    ghz = ghz or 2.0
    per_cycle, why = flop_per_cycle()
    return cores * ghz * per_cycle, f"{cores} cores × {ghz:.2f} GHz × {per_cycle} flop/cycle ({why})"


def kernel_bench(problem, lrs, betas, steps, tol, repeat, peak, with_jax=True):
    """Prints (k): both kernels, finish off and on, interleaved; returns the min-time ratio with it off."""
    args = kernel_inputs(problem, lrs, betas, steps, tol)
    stable = args[8]
    n = stable.size
    flop = FLOP_PER_DIRECTION * args[1].size
    peak, peak_text = peak if peak else peak_gflops()
    print(f"(k) kernel alone, {n} configurations × {steps} steps, {repeat} interleaved repeats; "
          f"{flop} flop per config-step; peak {peak:.0f} GFLOP/s = {peak_text}")
    old, new = "previous kernel (baseline)", "block kernel (new)"
    kernels = {old: baseline_run_quadratic, new: sweep_kernel.run_quadratic}
    same_math = jax_eigen_kernel(with_jax)
    jax_name = "JAX, same math (no finish)"
    if same_math is not None:
        kernels[jax_name] = same_math
    ratio_off = None
    for finish, st in (("off", np.zeros_like(stable)), ("on", stable)):
        call = [*args[:8], st, args[9]]
        outs = {name: k(*call) for name, k in kernels.items()}  # warm-up (compiles) and the outputs
        (f0, r0, d0), (f1, r1, d1) = outs[old], outs[new]
        both = ~np.isnan(f0) & ~np.isnan(f1)
        rel = float(np.max(np.abs(f1[both] / f0[both] - 1.0))) if both.any() else 0.0
        print(f"    finish {finish}: steps-to-tol mismatches {int(np.sum(r0 != r1))}, diverged-at mismatches "
              f"{int(np.sum(d0 != d1))}, final loss max relative difference {rel:.1e}")
        left = np.empty(n, dtype=np.int64)
        sweep_kernel.run_quadratic(*call, left=left)
        executed = int(left.sum())
        wall = {name: [] for name in kernels}
        cpu = {name: [] for name in kernels}
        for _ in range(repeat):
            for name, k in kernels.items():
                t, c = time.perf_counter(), time.process_time()
                k(*call)
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
        for name in kernels:
            w, c = min(wall[name]), min(cpu[name])
            print(f"    finish {finish}, {name:27s}: wall min {w * 1e3:8.1f} ms median "
                  f"{statistics.median(wall[name]) * 1e3:8.1f} ms; {n * steps / w:9.3g} nominal, "
                  f"{executed / w:9.3g} executed config-steps/s (min), {executed / c:9.3g} per CPU-second; "
                  f"{100 * executed * flop / w / 1e9 / peak:5.1f} % of peak")
        ratio = min(wall[old]) / min(wall[new])
        ratio_med = statistics.median(wall[old]) / statistics.median(wall[new])
        ratio_cpu = min(cpu[old]) / min(cpu[new])
        print(f"    finish {finish}: new / previous = {ratio:.2f}× (min wall), {ratio_med:.2f}× (median), "
              f"{ratio_cpu:.2f}× (min CPU time); executed config-steps: {executed:,} of {n * steps:,}"
              + (" (the new kernel's; the previous one checks the envelope every step, so it may leave up "
                 "to 7 steps sooner)" if finish == "on" else ""))
        if same_math is not None:
            fj, rj, dj = outs[jax_name]
            both = ~np.isnan(fj) & ~np.isnan(f1)
            rel = float(np.max(np.abs(f1[both] / fj[both] - 1.0))) if both.any() else 0.0
            jax_ratio = min(wall[jax_name]) / min(wall[new])
            print(f"    finish {finish}: new / JAX same math = {jax_ratio:.2f}× (min wall), "
                  f"{statistics.median(wall[jax_name]) / statistics.median(wall[new]):.2f}× (median); "
                  f"JAX executes all {n * steps:,} config-steps; vs the new kernel: steps-to-tol mismatches "
                  f"{int(np.sum(rj != r1))}, diverged-at mismatches {int(np.sum(dj != d1))}, final loss "
                  f"max relative difference {rel:.1e}")
        if finish == "off":
            ratio_off = ratio
    return ratio_off


if __name__ == "__main__":
    raise SystemExit(main())
