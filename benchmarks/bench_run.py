"""The runner's recording: peak memory and µs per step of a long line-fit run, before vs after.

    python benchmarks/bench_run.py                      # 10⁶ steps of gd, 3 rounds
    python benchmarks/bench_run.py --steps 200000 --repeats 5

Four ways of doing the same 10⁶ gradient-descent steps on the built-in line fit and recording
φ_t, the look-ahead point, g_t and L[φ_t] at every step:

* **before**: :func:`descentlab.run` as it was with lists of small arrays stacked at the end (the
  runner of git revision ``--before``, 84fb788 by default, loaded from git; skipped without git);
* **after**: :func:`descentlab.run` now, recording into arrays of T + 1 rows allocated up front;
* **bare**: a plain numpy loop doing the same update (φ ← φ − α·g, g from the line fit's closed
  form, exactly as :class:`~descentlab.problems.LinearRegression` computes it, on numpy scalars)
  into preallocated arrays, with no divergence check or bookkeeping (the baseline issue 13 names);
* **floats**: the same loop in Python floats, as the line fit's one-point path
  (:meth:`~descentlab.problems.LinearRegression.loss_one`) computes: the floor for a Python loop.

Every measurement runs in a fresh interpreter (peak resident memory grown during the run, from
``ru_maxrss``); the variants are interleaved round by round, and the minimum and median of the
rounds are printed with the ratios. The four records are compared bit for bit once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "84fb788"  # the last commit whose runner recorded into lists
LR = 0.01

CHILD = r"""
import hashlib, importlib.util, json, resource, sys, time
import numpy as np
import descentlab as dl

variant, steps, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
line = dl.datasets.line_fit()
opt = dl.optimizers.gd(lr=LR)
start = np.array([1.6, -0.5])

if variant == "before":
    spec = importlib.util.spec_from_loader("descentlab._runner_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(open(source, encoding="utf-8").read(), source, "exec"), module.__dict__)
    run = module.run
elif variant == "after":
    run = dl.run


def bare(steps):
    # The issue's baseline: a plain numpy loop, the line fit's closed form on numpy scalars.
    n, x_bar, y_bar, s_xx, b_star, l_min = line.stats
    params = np.empty((steps + 1, 2)); grads = np.empty((steps, 2)); ahead = np.empty((steps, 2))
    losses = np.empty(steps + 1)
    phi = start.copy()
    params[0] = phi
    a = phi[0] + phi[1] * x_bar - y_bar
    d = phi[1] - b_star
    losses[0] = n * a * a + s_xx * d * d + l_min
    for t in range(steps):
        g = np.empty(2)
        a = phi[0] + phi[1] * x_bar - y_bar
        g[0] = 2.0 * n * a
        g[1] = g[0] * x_bar + 2.0 * s_xx * (phi[1] - b_star)
        ahead[t] = phi
        grads[t] = g
        phi = phi - LR * g
        params[t + 1] = phi
        a = phi[0] + phi[1] * x_bar - y_bar
        d = phi[1] - b_star
        losses[t + 1] = float(n * a * a + s_xx * d * d + l_min)
    return params, losses, ahead, grads


def floats(steps):
    # The fastest plain loop we know for two parameters: the line fit's closed form in Python floats
    # (the same operations as LinearRegression.loss/grad, so the same numbers), rows stored straight
    # into preallocated arrays, no divergence check or bookkeeping.
    n, x_bar, y_bar, s_xx, b_star, l_min = line.stats
    params = np.empty((steps + 1, 2)); grads = np.empty((steps, 2)); ahead = np.empty((steps, 2))
    losses = np.empty(steps + 1)
    p0, p1 = start.tolist()
    params[0] = (p0, p1)
    a = p0 + p1 * x_bar - y_bar
    d = p1 - b_star
    losses[0] = n * a * a + s_xx * d * d + l_min
    for t in range(steps):
        g0 = 2.0 * n * (p0 + p1 * x_bar - y_bar)
        g1 = g0 * x_bar + 2.0 * s_xx * (p1 - b_star)
        ahead[t] = (p0, p1)
        grads[t] = (g0, g1)
        p0, p1 = p0 - LR * g0, p1 - LR * g1
        params[t + 1] = (p0, p1)
        a = p0 + p1 * x_bar - y_bar
        d = p1 - b_star
        losses[t + 1] = n * a * a + s_xx * d * d + l_min
    return params, losses, ahead, grads


def once(steps):
    if variant == "bare":
        return bare(steps)
    if variant == "floats":
        return floats(steps)
    traj = run(opt, line, start, steps)
    return traj.params, traj.losses, traj.lookahead, traj.grads


once(10)  # warm: imports, first calls
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tic = time.perf_counter()
record = once(steps)
seconds = time.perf_counter() - tic
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in record)).hexdigest()
print(json.dumps({"seconds": seconds, "peak": peak, "digest": digest,
                  "record": sum(a.nbytes for a in record)}))
""".replace("LR", repr(LR))


def before_source(rev: str) -> Path | None:
    """The runner of git revision ``rev``, written to a temporary file (None without git)."""
    try:
        text = subprocess.run(["git", "show", f"{rev}:src/descentlab/runner.py"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tempfile.NamedTemporaryFile("w", suffix="_runner_before.py", delete=False, encoding="utf-8") as f:
        f.write(text)
    return Path(f.name)


def measure(variant: str, steps: int, source: Path | None) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, variant, str(steps), str(source or "")],
                         capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help="git revision of the list-based runner")
    args = parser.parse_args(argv)
    source = before_source(args.before)
    variants = (["before"] if source is not None else []) + ["after", "bare", "floats"]
    if source is None:
        print(f"(git revision {args.before} not available: 'before' is skipped)")
    rows: dict[str, list[dict]] = {v: [] for v in variants}
    try:
        for r in range(args.repeats):
            for v in variants:  # interleaved, so that drift of the machine hits every variant alike
                rows[v].append(measure(v, args.steps, source))
                m = rows[v][-1]
                print(f"round {r + 1} {v:>6}: {m['seconds'] * 1e6 / args.steps:7.2f} µs/step, "
                      f"peak +{m['peak'] / 2**20:7.1f} MiB", flush=True)
    finally:
        if source is not None:
            source.unlink(missing_ok=True)
    digests = {v: rows[v][0]["digest"] for v in variants}
    print(f"\n{args.steps:,} steps of gd on the line fit, {args.repeats} rounds; "
          f"record {rows['after'][0]['record'] / 2**20:.1f} MiB")
    print(f"{'':>8} {'µs/step min':>12} {'median':>8} {'peak MiB min':>13} {'median':>8}")
    stats = {}
    for v in variants:
        us = [m["seconds"] * 1e6 / args.steps for m in rows[v]]
        mb = [m["peak"] / 2**20 for m in rows[v]]
        stats[v] = (min(us), statistics.median(us), min(mb), statistics.median(mb))
        print(f"{v:>8} {stats[v][0]:12.2f} {stats[v][1]:8.2f} {stats[v][2]:13.1f} {stats[v][3]:8.1f}")
    pairs = ([("after", "before")] if source is not None else []) + [("after", "bare"), ("after", "floats")]
    for a, b in pairs:
        print(f"{a}/{b}: time ×{stats[a][0] / stats[b][0]:.2f} (min) "
              f"×{stats[a][1] / stats[b][1]:.2f} (median), "
              f"peak memory ×{stats[a][2] / max(stats[b][2], 1e-9):.2f} (min) "
              f"×{stats[a][3] / max(stats[b][3], 1e-9):.2f} (median)")
    same = len(set(digests.values())) == 1
    print("records bit for bit identical:" if same else "records DIFFER:",
          ", ".join(f"{v} {d[:12]}" for v, d in digests.items()))
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
