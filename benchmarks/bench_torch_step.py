"""One optimizer step on 10⁷ parameters (CPU): BookNesterov against PyTorch's own Nesterov SGD.

    .venv/bin/python benchmarks/bench_torch_step.py [--params 10000000] [--tensors 10] [--repeat 31]
                                                     [--lr 0.1] [--beta 0.9] [--check-steps 50]

Both optimizers get the same parameters (float32, split into ``--tensors`` tensors) and the same
gradients, at the equivalent settings: ``BookNesterov(lr=α, beta=β)`` (look-ahead mode) and
``torch.optim.SGD(lr=α(1−β), momentum=β, nesterov=True, foreach=True)``. Only ``opt.step()`` is
timed: the gradients are copied back into ``.grad`` before every step, outside the clock (PyTorch's
Nesterov step overwrites ``.grad``). The two are timed back to back in ``--repeat`` rounds (which
one goes first alternates) after two warm-up rounds. The headline ratio is the median over the
rounds of ours/torch within a round, which cancels the drift of a shared 2-core machine's speed;
the medians and minima of each are printed too. Target: ratio ≤ 1.0.

Trajectories: both then run ``--check-steps`` steps on a separable quadratic (gradient
``c·θ − b`` with per-parameter curvature c) from one start, in float32 and in float64, and the
largest difference of the parameters relative to the largest parameter is printed. The two
compute the same numbers in a different order (the book's m with ``lerp`` against PyTorch's
buffer m/(1−β)), so they agree to rounding, not bit for bit; ``CHECK FAILED`` is printed if
float32 differs by more than 1e-5 or float64 by more than 1e-12 (relative).

The script is a report: it always exits with status 0.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from descentlab.integrations.torch import BookNesterov

TARGET = 1.0
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}


def split(n: int, k: int) -> list[int]:
    """k sizes adding up to n, unequal like a network's layers (k−1 large ones and a small rest)."""
    sizes = [n // k] * k
    sizes[-1] += n - sum(sizes)
    return sizes


def make_pair(sizes: list[int], alpha: float, beta: float, dtype: torch.dtype, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=dtype) for s in sizes]
    ours = [p.clone().requires_grad_(True) for p in start]
    theirs = [p.clone().requires_grad_(True) for p in start]
    opt_ours = BookNesterov(ours, lr=alpha, beta=beta)
    opt_theirs = torch.optim.SGD(theirs, lr=alpha * (1 - beta), momentum=beta, nesterov=True, foreach=True)
    return gen, (ours, opt_ours), (theirs, opt_theirs)


def set_grads(params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
    for p, g in zip(params, grads, strict=True):
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.copy_(g)


def time_steps(sizes, alpha, beta, repeat) -> tuple[list[float], list[float]]:
    gen, (ours, opt_ours), (theirs, opt_theirs) = make_pair(sizes, alpha, beta, torch.float32)
    grads = [torch.randn(s, generator=gen) for s in sizes]
    times: dict[str, list[float]] = {"ours": [], "torch": []}
    runs = (("ours", ours, opt_ours), ("torch", theirs, opt_theirs))
    for i in range(repeat + 2):
        for name, params, opt in (runs if i % 2 == 0 else runs[::-1]):
            set_grads(params, grads)
            start = time.perf_counter()
            opt.step()
            elapsed = time.perf_counter() - start
            if i >= 2:
                times[name].append(elapsed)
    return times["ours"], times["torch"]


def trajectory_gap(sizes, alpha, beta, steps, dtype) -> float:
    """max |θ_ours − θ_torch| / max |θ_torch| over ``steps`` steps on a separable quadratic."""
    gen, (ours, opt_ours), (theirs, opt_theirs) = make_pair(sizes, alpha, beta, dtype, seed=1)
    curv = [torch.rand(s, generator=gen, dtype=dtype) * 0.5 / alpha for s in sizes]   # stable for α·c ≤ 0.5
    target = [torch.randn(s, generator=gen, dtype=dtype) for s in sizes]
    worst = 0.0
    for _ in range(steps):
        for params, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            with torch.no_grad():
                set_grads(params, [c * p - b for c, p, b in zip(curv, params, target, strict=True)])
            opt.step()
        with torch.no_grad():
            scale = max(float(p.abs().max()) for p in theirs)
            gap = max(float((a - b).abs().max()) for a, b in zip(ours, theirs, strict=True))
        worst = max(worst, gap / scale)
    return worst


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=10_000_000)
    parser.add_argument("--tensors", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=51)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--beta", type=float, default=0.9)
    parser.add_argument("--check-steps", type=int, default=50)
    args = parser.parse_args(argv)
    sizes = split(args.params, args.tensors)
    alpha, beta = args.lr, args.beta

    print(f"one step on {args.params:,} float32 parameters in {args.tensors} tensors; CPU "
          f"({platform.processor() or platform.machine()}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; {args.repeat} rounds of one step each")
    ours, theirs = time_steps(sizes, alpha, beta, args.repeat)
    med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"  ours   BookNesterov(lr={alpha:g}, beta={beta:g}){' ' * 22}"
          f"median {fmt(med_ours)}  min {fmt(min(ours))}")
    print(f"  torch  SGD(lr={alpha * (1 - beta):.15g}, momentum={beta:g}, nesterov=True, foreach=True)  "
          f"median {fmt(med_theirs)}  min {fmt(min(theirs))}")
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    print(f"median of the per-round ratios: {ratio:.3f}; ratio of the medians: {med_ours / med_theirs:.3f}; "
          f"of the minima: {min(ours) / min(theirs):.3f}")
    print(f"ratio ours/torch = {ratio:.3f} (target ≤ {TARGET})")
    if ratio > TARGET:
        print(f"TARGET MISSED: ours is {ratio:.3f}× PyTorch's time")

    gaps = {dtype: trajectory_gap(sizes, alpha, beta, args.check_steps, dtype) for dtype in TOLERANCE}
    print(f"trajectories: max |θ_ours − θ_torch| / max |θ| over {args.check_steps} steps = "
          f"{gaps[torch.float32]:.2e} (float32), {gaps[torch.float64]:.2e} (float64)")
    for dtype, gap in gaps.items():
        if not gap <= TOLERANCE[dtype]:
            print(f"CHECK FAILED: {dtype} trajectories differ by {gap:.2e} > {TOLERANCE[dtype]:g}")


if __name__ == "__main__":
    main()
