"""A network's loss on a plane: descentlab's batched grid vs loss-landscapes 3.0.6, and on Dask.

    .venv/bin/python benchmarks/bench_landscape.py [--steps 41] [--repeat 3] [--workers 2]
                                                   [--examples N] [--quick]

The network is a 64-64-10 tanh MLP (4,810 parameters, float64) on scikit-learn's bundled digits
(1,797 examples, pixels scaled to [0, 1]), trained for a few full-batch steps so that the plane
passes through a trained point φ_T; the loss is the mean cross-entropy over all the examples
(``--examples N``: the first N).

The plane is loss-landscapes' own. Its ``planar_interpolation(start, end_one, end_two, Loss(...),
steps)`` takes three *models* and walks the plane through ``start`` spanned by
``dir = (end − start) / steps`` for each end model, in place, one point at a time, evaluating its
``Loss`` metric (``loss_fn(model(x), y).item()``) at each. Here the two directions are descentlab's
filter-normalised ones d1, d2 (Li et al. 2018 §4, ``directions.filter_normalized``) and the models
are ``start = φ_T − d1/2 − d2/2``, ``end_one = start + d1``, ``end_two = start + d2``, so the grid is
centred on φ_T. descentlab's plane is ``directions.given(start, end_one − start, end_two − start)``
with the parameter vectors of those same models, and ``surface.grid`` evaluates it at
``a = i/steps`` (along end_one) and ``b = k/steps`` (along end_two), i, k = 0 … steps − 1: the same
steps × steps grid.

loss-landscapes' serpentine walk (add ``dir_two`` along even rows, subtract along odd rows, a step
of ``dir_one`` between rows) evaluates row i at ``b = (j + 1)/steps`` when i is even and at
``b = j/steps`` when i is odd (3.0.6's ``main.py``); the values are compared on every point the two
grids share (all but the last point of each even row) and must agree to 1e-10 (float64 both: they
differ only by the rounding of the in-place walk).

Timings, each the whole grid, interleaved round by round (``--repeat`` rounds, min and median):

* loss-landscapes: ``planar_interpolation(..., deepcopy_model=True)`` (the caller's model is left
  alone, as descentlab leaves it);
* descentlab: ``surface.grid`` in this process (torch's default threads). The MLP is an
  ``nn.Sequential`` whose first layer is a plain ``nn.Linear``, so descentlab uses its shortcut
  (``surface.linear_head``): that layer's output is affine in (a, b), Z₀ + a·Z₁ + b·Z₂, computed once
  — a better algorithm, not a faster implementation of loss-landscapes' one;
* descentlab, whole network: the same layers wrapped in a module that is not a Sequential, so every
  point runs the whole forward pass as loss-landscapes does (batched by vmap): the comparison of the
  same algorithm;
* Dask, joined: ``surface.grid(..., scheduler=ADDRESS)`` on a 2-worker LocalCluster (one thread per
  worker process, 127.0.0.1) started once before the rounds;
* Dask, started: ``surface.grid(..., workers=2)``, which starts and closes its cluster every call.

The Dask grids must equal the one-process grid bit for bit. The script is a report: it always exits
with status 0 and prints ``TARGET MISSED`` / ``CHECK FAILED`` lines when something is off.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from descentlab.networks import directions, params, surface

AGREE = 1e-10  # loss-landscapes and descentlab must agree to this (absolute, on losses ≈ 0.1–10)
SPEEDUP_TARGET = 10.0  # loss-landscapes / descentlab must be ≥ this
DASK_EXPECT = 2.0  # one process / Dask on 2 workers: at most this on a 2-core machine


def digits(examples: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()  # bundled with scikit-learn: no download
    x = torch.tensor(data.data / 16.0, dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.int64)
    return (x, y) if examples is None else (x[:examples], y[:examples])


def trained_mlp(x: torch.Tensor, y: torch.Tensor, steps: int = 60) -> torch.nn.Module:
    """The 64-64-10 tanh MLP after ``steps`` full-batch momentum steps from a seeded start."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 10)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


class Whole(torch.nn.Module):
    """The same network, but not an ``nn.Sequential``: descentlab evaluates it whole at every point."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def plane_models(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """loss-landscapes' three models: start = φ_T − d1/2 − d2/2, end_one = start + d1, end_two =
    start + d2, with d1, d2 descentlab's filter-normalised directions at φ_T (seed 0)."""
    fn = directions.filter_normalized(model, seed=0)
    start = fn.origin - fn.d1 / 2 - fn.d2 / 2
    out = []
    for vector in (start, start + fn.d1, start + fn.d2):
        copy_ = copy.deepcopy(model)
        params.load(copy_, vector)
        out.append(copy_)
    return out[0], out[1], out[2]


def shared_points(ll: np.ndarray, ours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values both grids have at the same point: loss-landscapes' ``ll[i, j]`` is at
    ``a = i/steps`` and ``b = (j + 1)/steps`` (i even) or ``j/steps`` (i odd); ours ``[k, i]`` is at
    ``a = i/steps``, ``b = k/steps``."""
    steps = ll.shape[0]
    theirs, mine = [], []
    for i in range(steps):
        for j in range(steps):
            k = j + 1 if i % 2 == 0 else j
            if k < steps:
                theirs.append(ll[i, j])
                mine.append(ours[k, i])
    return np.array(theirs), np.array(mine)


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def line(name: str, times: list[float]) -> str:
    return f"  {name:<40} min {fmt(min(times)):>9}   median {fmt(statistics.median(times)):>9}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=41, help="grid side, loss-landscapes' steps (default 41)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved timing rounds (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    ap.add_argument("--examples", type=int, default=None, help="use the first N digits (default: all 1,797)")
    ap.add_argument("--quick", action="store_true", help="a 9×9 grid and one round (the smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.repeat = 9, 1
    if min(args.repeat, args.workers, args.examples or 1) < 1 or args.steps < 2:
        ap.error("--steps must be ≥ 2, --repeat, --workers and --examples ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    import loss_landscapes
    import loss_landscapes.metrics
    from dask.distributed import LocalCluster

    args = parse_args(argv)
    torch.set_default_dtype(torch.float64)
    x, y = digits(args.examples)
    model = trained_mlp(x, y)
    start, end_one, end_two = plane_models(model)
    origin = params.flat(start)
    plane = directions.given(origin, params.flat(end_one) - origin, params.flat(end_two) - origin)
    axis = np.arange(args.steps) / args.steps
    loss_fn = torch.nn.functional.cross_entropy
    metric = loss_landscapes.metrics.Loss(loss_fn, x, y)
    n_params = params.size(model)

    def theirs() -> np.ndarray:
        return loss_landscapes.planar_interpolation(start, end_one, end_two, metric, steps=args.steps,
                                                    deepcopy_model=True)

    def ours(net: torch.nn.Module = start, **dask) -> Callable[[], np.ndarray]:
        return lambda: surface.grid(net, loss_fn, x, y, plane, axis, axis, progress=False, **dask)

    print(f"descentlab landscape benchmark: {platform.python_version()}, torch {torch.__version__}, "
          f"loss-landscapes {getattr(loss_landscapes, '__version__', '3.0.6')}, {os.cpu_count()} CPUs, "
          f"torch threads {torch.get_num_threads()}")
    print(f"MLP 64-64-10 tanh, {n_params:,} parameters, float64; {len(x):,} digits; "
          f"{args.steps}×{args.steps} grid ({args.steps ** 2:,} points); {args.repeat} round(s), interleaved")

    times: dict[str, list[float]] = {"ll": [], "ours": [], "whole": [], "joined": [], "started": []}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster:
        address = cluster.scheduler_address
        small = np.arange(2) / 2
        for warm in ({}, {"scheduler": address}):  # imports, first vmap, torch in the workers
            surface.grid(start, loss_fn, x, y, plane, small, small, progress=False, **warm)
        runs = [("ll", theirs), ("ours", ours()), ("whole", ours(Whole(start))),
                ("joined", ours(scheduler=address)), ("started", ours(workers=args.workers))]
        results: dict[str, np.ndarray] = {}
        for _ in range(args.repeat):
            for name, fn in runs:
                seconds, results[name] = timed(fn)
                times[name].append(seconds)

    ll, mine = results["ll"], results["ours"]
    theirs_v, mine_v = shared_points(ll, mine)
    gap = float(np.max(np.abs(theirs_v - mine_v)))
    print("\ntimes of the whole grid:")
    print(line("loss-landscapes planar_interpolation", times["ll"]))
    print(line("descentlab surface.grid, 1 process", times["ours"]))
    print(line("descentlab, whole network (same algorithm)", times["whole"]))
    print(line(f"descentlab on {args.workers} Dask workers, joined", times["joined"]))
    print(line(f"descentlab on {args.workers} Dask workers, started", times["started"]))
    print(f"  (per point: loss-landscapes {min(times['ll']) / args.steps ** 2 * 1e3:.3f} ms, "
          f"descentlab {min(times['ours']) / args.steps ** 2 * 1e3:.3f} ms)")

    print()
    print(f"values: max |loss-landscapes − descentlab| = {gap:.2e} over {theirs_v.size:,} shared points "
          f"(target ≤ {AGREE:g}; losses {mine.min():.3f} … {mine.max():.3f})")
    if not gap <= AGREE:
        print(f"CHECK FAILED: loss-landscapes and descentlab differ by {gap:.2e} > {AGREE:g}")
    for name in ("joined", "started"):
        if not np.array_equal(results[name], mine):
            print(f"CHECK FAILED: the Dask grid ({name}) differs from one process: max "
                  f"{np.max(np.abs(results[name] - mine)):.2e}")
    if all(np.array_equal(results[n], mine) for n in ("joined", "started")):
        print(f"Dask on {args.workers} workers and one process agree bit for bit")

    speed = [a / b for a, b in zip(times["ll"], times["ours"], strict=True)]
    print(f"loss-landscapes / descentlab = {min(times['ll']) / min(times['ours']):.2f}× (min), "
          f"{statistics.median(speed):.2f}× (median) (target ≥ {SPEEDUP_TARGET:g}×)")
    whole = [a / b for a, b in zip(times["ll"], times["whole"], strict=True)]
    print(f"loss-landscapes / descentlab whole network (the same algorithm, batched) = "
          f"{min(times['ll']) / min(times['whole']):.2f}× (min), {statistics.median(whole):.2f}× (median)")
    if not np.allclose(results["whole"], mine, rtol=1e-12, atol=1e-14):
        print(f"CHECK FAILED: the whole-network grid differs from the shortcut's by "
              f"{np.max(np.abs(results['whole'] - mine)):.2e}")
    if min(times["ll"]) / min(times["ours"]) < SPEEDUP_TARGET:
        print(f"TARGET MISSED: descentlab is not {SPEEDUP_TARGET:g}× faster than loss-landscapes here")
    for name, what in (("joined", "joined"), ("started", "started per call")):
        ratio = [a / b for a, b in zip(times["ours"], times[name], strict=True)]
        print(f"one process / {args.workers} Dask workers ({what}) = "
              f"{min(times['ours']) / min(times[name]):.2f}× (min), {statistics.median(ratio):.2f}× "
              f"(median) (expect ≤ {DASK_EXPECT:g}× on 2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
