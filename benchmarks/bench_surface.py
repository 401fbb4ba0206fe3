"""Loss surface of linear regression on a G×G grid: sufficient statistics vs the naive sum.

    .venv/bin/python benchmarks/bench_surface.py [--grid 400] [--sizes 100,10000,1000000]
                                                  [--repeat 3] [--naive-max-ops 2e9]

For N random examples and a G×G grid of (φ0, φ1) it times

* OURS: ``problem.loss(grid)`` with ``problem = descentlab.problems.linear_regression(x, y)``,
  reported as the O(G²) surface time and, separately, the one-off O(N) construction time
  (the sufficient statistics);
* NAIVE: Σ_i (φ0 + φ1·x_i − y_i)² at every grid point over all N examples with numpy, in
  chunks so that each temporary array stays small (see ``--chunk``). When G²·N is above
  ``--naive-max-ops`` only k evenly spaced grid rows are evaluated and the time is extrapolated
  linearly to all G rows (the table says so).

Naive and ours are checked to agree to a relative 1e-9 on every naive value computed.
Timings are best-of-``--repeat``; fast calls are looped (as ``timeit`` does) so that one sample
lasts at least 20 ms, and the per-call time is reported. The surface times (which should not
depend on N) also get ``--repeat`` more samples in rounds that go through every N in turn, after
the naive runs, so that drift in the machine's speed affects every N alike.

The script is a report: it always exits with status 0, and prints ``TARGET MISSED`` /
``CHECK FAILED`` lines when something is off.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from descentlab.problems import linear_regression

RTOL = 1e-9  # naive and ours must agree to this relative tolerance
MIN_SAMPLE_S = 0.02  # fast calls are repeated until one timing sample lasts at least this long
SURFACE_TARGET = 2.0  # ours at the largest N / ours at the smallest N must be ≤ this
SPEEDUP_TARGET = 100.0  # naive / ours at N = 1e4 must be ≥ this
SPEEDUP_AT = 10_000


@dataclass
class Row:
    n: int
    naive_s: float  # whole-grid naive time (extrapolated when rows_done < grid)
    rows_done: int
    surface_s: float
    build_s: float
    max_rel: float


def calibrate(fn: Callable[[], object]) -> tuple[int, float, object]:
    """Calls per timing sample so that one sample lasts ≥ MIN_SAMPLE_S (as ``timeit`` does):
    returns that number, the per-call time of the calibration run, and ``fn``'s result."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            result = fn()
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_SAMPLE_S or number >= 10**6:
            return number, elapsed / number, result
        number *= 10


def sample(fn: Callable[[], object], number: int) -> float:
    """Per-call time of ``number`` back-to-back calls of ``fn``."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best per-call time of ``fn`` over ``repeat`` samples, and its result.

    A sample is one call when one call lasts ≥ MIN_SAMPLE_S (the calibration call then counts
    as a sample); otherwise a sample loops over enough calls, and the calibration run is
    discarded as warm-up.
    """
    number, first, result = calibrate(fn)
    samples = [first] if number == 1 else []
    while len(samples) < repeat:
        samples.append(sample(fn, number))
    return min(samples), result


def interleaved_best(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best per-call time of each of ``fns`` over ``repeat`` rounds that sample each in turn,
    so that a change in the machine's speed during the run affects all of them alike."""
    numbers = [calibrate(fn)[0] for fn in fns]
    best = [math.inf] * len(fns)
    for _ in range(repeat):
        for i, (fn, number) in enumerate(zip(fns, numbers, strict=True)):
            best[i] = min(best[i], sample(fn, number))
    return best


def naive_loss(points: np.ndarray, x: np.ndarray, y: np.ndarray, chunk: int) -> np.ndarray:
    """Σ_i (φ0 + φ1·x_i − y_i)² for every point (shape (..., 2)), over all examples.

    Work is split into blocks of at most ``chunk`` (grid point, example) pairs, so the two
    temporaries in use hold at most 2·chunk float64 values.
    """
    flat = points.reshape(-1, 2)
    n = len(x)
    ex_block = min(n, chunk)
    pt_block = max(1, chunk // ex_block)
    out = np.zeros(len(flat))
    for e in range(0, n, ex_block):
        xs, ys = x[e:e + ex_block], y[e:e + ex_block]
        for p in range(0, len(flat), pt_block):
            ph = flat[p:p + pt_block]
            r = ph[:, 0:1] + ph[:, 1:2] * xs  # (points, examples): φ0 + φ1·x_i
            r -= ys
            np.square(r, out=r)
            out[p:p + pt_block] += r.sum(axis=1)
    return out.reshape(points.shape[:-1])


def make_grid(size: int) -> np.ndarray:
    """A size×size grid of (φ0, φ1) around the data's line; row i has φ1 fixed."""
    phi0 = np.linspace(-0.5, 2.0, size)
    phi1 = np.linspace(-1.0, 2.0, size)
    p0, p1 = np.meshgrid(phi0, phi1)
    return np.stack([p0, p1], axis=-1)


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0.0, 2.0, n)
    y = 0.7 + 0.5 * x + 0.1 * rng.standard_normal(n)
    return x, y


def warm_up(grid: np.ndarray, chunk: int) -> None:
    """Untimed runs of both methods, so the first size measured does not pay for first-time
    costs (the memory allocator grows its heap after large arrays have come and gone)."""
    x, y = make_data(max(2, min(chunk, 10**6)), np.random.default_rng(12345))
    naive_loss(grid[:1], x, y, chunk)
    problem = linear_regression(x, y)
    for _ in range(10):
        problem.loss(grid)


def measure(n: int, grid: np.ndarray, args: argparse.Namespace,
            rng: np.random.Generator) -> tuple[Row, Callable[[], object]]:
    x, y = make_data(n, rng)
    size = grid.shape[0]
    build_s, problem = best_of(lambda: linear_regression(x, y), args.repeat)
    surface_s, ours = best_of(lambda: problem.loss(grid), args.repeat)

    if size * size * n <= args.naive_max_ops:
        rows = np.arange(size)
    else:
        k = int(min(size, max(1, args.naive_max_ops // (size * n))))
        rows = np.unique(np.linspace(0, size - 1, k).round().astype(int))
    sub = grid[rows]
    naive_sub_s, naive = best_of(lambda: naive_loss(sub, x, y, args.chunk), args.repeat)
    naive_s = naive_sub_s * size / len(rows)
    ours_sub = ours[rows]
    max_rel = float(np.max(np.abs(naive - ours_sub) / np.abs(ours_sub)))
    return Row(n, naive_s, len(rows), surface_s, build_s, max_rel), lambda: problem.loss(grid)


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_n(n: int) -> str:
    k = round(math.log10(n))
    return f"1e{k}" if 10**k == n else str(n)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError:
        msg = f"sizes must be numbers like 100,1e4, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"sizes must be at least 2, got {text!r}")
    return sorted(set(sizes))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", type=int, default=400, help="grid side G (default 400)")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("100,10000,1000000"),
                    help="comma-separated numbers of examples N (default 100,10000,1000000)")
    ap.add_argument("--repeat", type=int, default=3, help="timing samples, best kept (default 3)")
    ap.add_argument("--naive-max-ops", type=float, default=2e9,
                    help="largest G²·N evaluated in full by the naive method; beyond it a few "
                         "grid rows are timed and extrapolated (default 2e9)")
    ap.add_argument("--chunk", type=int, default=1 << 21,
                    help="(grid point, example) pairs per naive block (default 2**21, 16 MiB "
                         "per float64 temporary)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the data (default 0)")
    args = ap.parse_args(argv)
    if args.grid < 2 or args.repeat < 1 or args.chunk < 1 or args.naive_max_ops <= 0:
        ap.error("--grid must be ≥ 2, --repeat ≥ 1, --chunk ≥ 1, --naive-max-ops > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    grid = make_grid(args.grid)
    rng = np.random.default_rng(args.seed)
    print(f"linear regression loss surface, grid {args.grid}×{args.grid} = {args.grid ** 2} "
          f"points, best of {args.repeat}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.machine()}, {platform.system()}; naive temporaries ≤ "
          f"{2 * args.chunk * 8 / 2**20:.0f} MiB")
    warm_up(grid, args.chunk)
    rows, surfaces = zip(*(measure(n, grid, args, rng) for n in args.sizes), strict=True)
    # the surface times are tiny and N should not matter to them: sample them again in rounds
    # across all N, so that the machine's speed drifting during the naive runs cannot tell
    for row, again in zip(rows, interleaved_best(list(surfaces), args.repeat), strict=True):
        row.surface_s = min(row.surface_s, again)

    head = (f"{'N':>9}  {'naive (whole grid)':>18}  {'ours surface':>12}  "
            f"{'ours build':>10}  {'naive/ours':>10}  {'naive/(ours+build)':>18}  "
            f"{'max rel diff':>12}  note")
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        note = "" if r.rows_done == args.grid else f"(extrapolated from {r.rows_done} rows)"
        print(f"{fmt_n(r.n):>9}  {fmt_time(r.naive_s):>18}  {fmt_time(r.surface_s):>12}  "
              f"{fmt_time(r.build_s):>10}  {r.naive_s / r.surface_s:>9.0f}×  "
              f"{r.naive_s / (r.surface_s + r.build_s):>17.0f}×  {r.max_rel:>12.1e}  {note}".rstrip())
    print()

    small, large = rows[0], rows[-1]
    growth = large.surface_s / small.surface_s
    print(f"ours N={fmt_n(large.n)} / ours N={fmt_n(small.n)} = {growth:.2f} "
          f"(target ≤ {SURFACE_TARGET:g})")
    ref = min(rows, key=lambda r: abs(math.log10(r.n / SPEEDUP_AT)))
    speedup = ref.naive_s / ref.surface_s
    print(f"naive / ours at N={fmt_n(ref.n)} = {speedup:.0f}× (target ≥ {SPEEDUP_TARGET:g}×)")

    if growth > SURFACE_TARGET:
        print(f"TARGET MISSED: the surface time grew {growth:.2f}× from N={fmt_n(small.n)} "
              f"to N={fmt_n(large.n)} (target ≤ {SURFACE_TARGET:g})")
    if speedup < SPEEDUP_TARGET:
        print(f"TARGET MISSED: naive / ours at N={fmt_n(ref.n)} is {speedup:.0f}× "
              f"(target ≥ {SPEEDUP_TARGET:g}×)")
    for r in rows:
        if not r.max_rel <= RTOL:  # also catches NaN
            print(f"CHECK FAILED: at N={fmt_n(r.n)} naive and ours differ by a relative "
                  f"{r.max_rel:.1e} (tolerance {RTOL:g})")
    if all(r.max_rel <= RTOL for r in rows):
        print(f"check: naive and ours agree to a relative {RTOL:g} on every naive value computed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
