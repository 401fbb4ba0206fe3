"""Custom problems with many parameters: build time, peak memory and one step, P = 10², 10³, 10⁴.

    python benchmarks/bench_custom.py                          # every case, 5 rounds
    python benchmarks/bench_custom.py --cases cheb-torch,mlp-torch --params 10000 --repeats 5
    python benchmarks/bench_custom.py --before 4d7b789 --before-max 200   # also the old code

The cases (each a function the user would write; M = 200 data for the models):

* ``cheb-numpy``: :func:`~descentlab.problems.from_model` of a polynomial of degree P − 1 in
  Chebyshev form, ``p @ chebvander(x, P - 1).T`` — gradient by central differences (2P model
  calls per gradient: the cost grows as P²·M, so P = 10⁴ is slow by nature, not by overhead);
* ``mlp-numpy``: :func:`~descentlab.problems.from_function` of the summed squared error of a
  1 → H → H → 1 tanh network on 64 points, H chosen so that P = H² + 4H + 1 ≈ the requested P,
  written in numpy (finite differences again);
* ``cheb-torch``, ``mlp-torch``: the same functions in PyTorch (autodiff gradient), when torch is
  importable. torch.func's one-time start (its first gradient and Jacobian import torch._dynamo
  and sympy, 1–3 s once per process) is paid first by a small problem of the same kind that takes
  the same path — about twice ``FULL_HESSIAN_MAX_PARAMS`` parameters when P is above it (Lanczos,
  Jacobian slices), else 3 — and printed apart as ``warm-up``. (A 3-parameter warm-up, used
  before, never reached the Jacobian code, so the first large build paid the import.)

Each measurement runs in a fresh interpreter: the build (``from_model``/``from_function`` with its
suggested settings), the peak resident memory it adds (``ru_maxrss`` after the build minus the
resident size before it), then, interleaved ≥ 5 times, one step of gradient descent (the time of
:func:`descentlab.run` for 5 steps, divided by 5: gradient, update, loss and recording) and the
**bare baseline**: the same function's loss and analytic gradient in plain numpy (Chebyshev:
r = Vp − y, 2Vᵀr with V computed as the model computes it; MLP: forward and hand-written
backward pass). Rounds are interleaved across cases; min and median are printed with the ratio
step / bare. A case whose build exceeds ``--timeout`` seconds is reported as such. Every
measurement runs with ``--threads`` BLAS, OpenMP and torch threads (default 1: on a small shared
machine torch's intra-op threads contend with the other processes — a 64 × 98 ``tanh`` took 7 ms
with 2 threads under load, 0.02 ms with 1 — and one thread makes numpy and torch comparable).

``--before REV`` also runs the code of git revision REV (its ``src`` tree extracted with
``git archive`` into a temporary folder), for P up to ``--before-max`` (the old build formed a
(P, 2P, P) tensor: 1 GiB at P = 200, MemoryError at P = 1000).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

CHILD = r"""
import json, resource, sys, time
import numpy as np

case, P, steps_repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kind, lib = case.split("-")
M = 200
x = np.linspace(-0.99, 0.99, M)
y = np.sin(3 * x) + 0.1 * np.cos(17 * x)
warm = 0.0
if lib == "torch":
    import torch
    torch.set_num_threads(int(sys.argv[4]))
import descentlab as dl
from descentlab.problems import from_function, from_model


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def mlp_size(p):
    h = max(1, int((-4 + (16 - 4 * (1 - p)) ** 0.5) / 2))
    return h, h * h + 4 * h + 1


def make(P):
    if kind == "cheb":
        if lib == "numpy":
            def cheb(p, x):
                return p @ np.polynomial.chebyshev.chebvander(x, P - 1).T
        else:
            def cheb(p, x):
                k = torch.arange(P, dtype=torch.float64)
                return torch.cos(torch.arccos(x)[:, None] * k) @ p
        return lambda: from_model(cheb, x, y, n_params=P), P
    H, Q = mlp_size(P)
    xs, ys = x[::M // 64][:64], y[::M // 64][:64]
    xm = xs if lib == "numpy" else torch.tensor(xs)
    ym = ys if lib == "numpy" else torch.tensor(ys)
    tanh = np.tanh if lib == "numpy" else torch.tanh
    total = np.sum if lib == "numpy" else torch.sum

    def mlp(p):  # p: one point (Q,), or many (..., Q) when numpy calls it on the last axis
        lead = p.shape[:-1]
        w1, b1 = p[..., :H], p[..., H:2 * H]
        w2 = p[..., 2 * H:2 * H + H * H].reshape(*lead, H, H)
        b2, w3, b3 = p[..., 2 * H + H * H:3 * H + H * H], p[..., 3 * H + H * H:4 * H + H * H], p[..., -1]
        h1 = tanh(xm[:, None] * w1[..., None, :] + b1[..., None, :])
        h2 = tanh(h1 @ w2 + b2[..., None, :])
        out = (h2 @ w3[..., :, None])[..., 0] + b3[..., None]
        return total((out - ym) ** 2, -1)
    return lambda: from_function(mlp, n_params=Q), Q


def bare_factory(P):
    if kind == "cheb":
        def bare(p):
            V = np.polynomial.chebyshev.chebvander(x, P - 1)
            r = V @ p - y
            return r @ r, 2.0 * (V.T @ r)
        return bare
    H, _ = mlp_size(P)
    xs, ys = x[::M // 64][:64], y[::M // 64][:64]

    def bare(p):
        w1, b1 = p[:H], p[H:2 * H]
        w2 = p[2 * H:2 * H + H * H].reshape(H, H)
        b2, w3, b3 = p[2 * H + H * H:3 * H + H * H], p[3 * H + H * H:4 * H + H * H], p[-1]
        a1 = xs[:, None] * w1 + b1
        h1 = np.tanh(a1)
        h2 = np.tanh(h1 @ w2 + b2)
        r = h2 @ w3 + b3 - ys
        d_out = 2.0 * r
        d2 = np.outer(d_out, w3) * (1 - h2 * h2)
        d1 = (d2 @ w2.T) * (1 - h1 * h1)
        grad = np.concatenate([xs @ d1, d1.sum(0), (h1.T @ d2).ravel(), d2.sum(0), h2.T @ d_out,
                               [d_out.sum()]])
        return r @ r, grad
    return bare


if lib == "torch":  # torch.func's one-time start, paid apart by a small problem on the same path
    from descentlab.problems import suggestions

    full = getattr(suggestions, "FULL_HESSIAN_MAX_PARAMS", 100)
    tic = time.perf_counter()
    make(2 * full if P > full else 3)[0]()
    warm = time.perf_counter() - tic
build, Q = make(P)
before = rss()
tic = time.perf_counter()
problem = build()
seconds = time.perf_counter() - tic
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
bare = bare_factory(P)
start = np.asarray(problem.suggested.start)
loss0, grad0 = bare(start)
check = float(np.max(np.abs(problem.grad(start) - grad0)) / max(np.max(np.abs(grad0)), 1e-300))
opt = dl.optimizers.gd(lr=problem.suggested.gd_lr)
step, base = [], []
dl.run(opt, problem, start, 1)
bare(start)
for _ in range(steps_repeats):
    tic = time.perf_counter()
    dl.run(opt, problem, start, 5)
    step.append((time.perf_counter() - tic) / 5)
    tic = time.perf_counter()
    bare(start)
    base.append(time.perf_counter() - tic)
print(json.dumps({"P": Q, "build": seconds, "peak": peak, "warm": warm, "step": min(step),
                  "bare": min(base), "method": problem.gradient_method, "calling": problem.calling,
                  "curvature": problem.suggested.curvature, "grad_error": check}))
"""


def extract(rev: str) -> tempfile.TemporaryDirectory | None:
    """The ``src`` tree of git revision ``rev`` in a temporary folder (None without git)."""
    try:
        data = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    folder = tempfile.TemporaryDirectory(prefix="descentlab_before_")
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder.name, filter="data")
    return folder


def measure(case: str, p: int, repeats: int, timeout: float, src: str, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=src, **{v: str(threads) for v in THREAD_VARIABLES})
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, case, str(p), str(repeats), str(threads)],
                             capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:g} s"}
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:60]}
    return json.loads(out.stdout)


def torch_available() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="cheb-numpy,mlp-numpy,cheb-torch,mlp-torch")
    parser.add_argument("--params", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (fresh interpreters) per case and P")
    parser.add_argument("--steps", type=int, default=5, help="interleaved step/bare timings per round")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per round")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP and torch threads in each measurement (default 1: see above)")
    parser.add_argument("--before", default=None, help="git revision to compare with (e.g. 4d7b789)")
    parser.add_argument("--before-max", type=int, default=200, help="largest P for --before")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    if any(c.endswith("torch") for c in cases) and not torch_available():
        print("(torch is not importable: the torch cases are skipped)")
        cases = [c for c in cases if not c.endswith("torch")]
    sizes = [int(p) for p in args.params.split(",")]
    old = extract(args.before) if args.before else None
    if args.before and old is None:
        print(f"(git revision {args.before} not available: 'before' is skipped)")
    trees = [("after", str(ROOT / "src"))] + ([("before", str(Path(old.name) / "src"))] if old else [])
    keys = [(c, p, t) for c in cases for p in sizes for t in trees if t[0] == "after" or p <= args.before_max]
    rows: dict[tuple, list[dict]] = {(c, p, t[0]): [] for c, p, t in keys}
    failed: set[tuple] = set()
    try:
        for r in range(args.repeats):
            for c, p, (label, src) in keys:  # interleaved, so drift of the machine hits every case alike
                key = (c, p, label)
                if key in failed:
                    continue
                m = measure(c, p, args.steps, args.timeout, src, args.threads)
                rows[key].append(m)
                if "error" in m:
                    failed.add(key)
                    print(f"round {r + 1} {c:>10} P={p:<6} {label:>6}: {m['error']}", flush=True)
                    continue
                print(f"round {r + 1} {c:>10} P={m['P']:<6} {label:>6}: build {m['build']:7.3f} s, "
                      f"peak +{m['peak'] / 2**20:7.1f} MiB, step {m['step'] * 1e3:8.3f} ms, "
                      f"bare {m['bare'] * 1e3:7.3f} ms, {m['method']} ({m['calling']}), "
                      f"L {m['curvature']:.6g}, grad err {m['grad_error']:.1e}", flush=True)
    finally:
        if old is not None:
            old.cleanup()
    print(f"\n{'case':>10} {'P':>6} {'code':>6} {'build s min':>11} {'median':>7} {'peak MiB min':>12} "
          f"{'median':>7} {'step ms min':>11} {'median':>7} {'bare ms min':>11} {'step/bare':>9} "
          f"{'warm-up s':>9}")
    for (c, p, label), ms in rows.items():
        good = [m for m in ms if "error" not in m]
        if not good:
            print(f"{c:>10} {p:>6} {label:>6}  {ms[0]['error'] if ms else 'not run'}")
            continue

        def stat(name, scale=1.0, good=good):
            values = [m[name] * scale for m in good]
            return min(values), statistics.median(values)
        b, pk, st, ba = stat("build"), stat("peak", 2**-20), stat("step", 1e3), stat("bare", 1e3)
        print(f"{c:>10} {good[0]['P']:>6} {label:>6} {b[0]:11.3f} {b[1]:7.3f} {pk[0]:12.1f} {pk[1]:7.1f} "
              f"{st[0]:11.3f} {st[1]:7.3f} {ba[0]:11.3f} {st[0] / ba[0]:9.2f} "
              f"{statistics.median(m['warm'] for m in good):9.2f}")
    print("\ntargets at P = 10⁴: build < 2 s, peak < 500 MB, one step < 50 ms "
          "(bare: numpy loss + analytic gradient of the same function, same interpreter, interleaved)")


if __name__ == "__main__":
    main()
