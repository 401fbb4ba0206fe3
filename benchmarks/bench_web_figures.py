"""One update of the web explorer, server side: runs + scene + ``views()`` + JSON, vs graph_objects.

    .venv/bin/python benchmarks/bench_web_figures.py [--problem line-fit] [--steps 500]
                                                      [--resolution 150] [--repeat 30] [--naive-repeat 30]

The Dash app calls :func:`descentlab.web.figures.views` on every change of a control, then Dash
serialises the figures with ``plotly.io.json.to_json_plotly``. This times, ``--repeat`` times each:

* FULL UPDATE (a control changed): four runs (gd, momentum, nesterov, adam; ``--steps`` each,
  ``Config.run()``), ``scene.build`` on a ``--resolution``² grid, ``views(scene, t)`` and
  ``to_json_plotly`` of all the views. Target: p50 ≤ 50 ms.
* SLIDER MOVE (only the selected iterate changed): ``views`` + JSON on the same scene.
* NAIVE: the same figures built with plotly.graph_objects, validation on — ``views(scene, t,
  binary=False)`` (plain lists, as most code writes them), ``go.Figure(d)`` per view and
  ``fig.to_json()`` — against OURS = ``views`` + ``to_json_plotly`` on the same scene.

p50 and p99 over the repeats (p99 of 30 samples is about their maximum). One untimed round first
warms every cache (imports, colour maps). The script is a report: it always exits with status 0
and prints ``TARGET MISSED`` when the full update's p50 is over the target.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from descentlab import scene as scene_mod
from descentlab.config import Config, parse_optimizer_list
from descentlab.web import figures

TARGET_MS = 50.0
OPTIMIZERS = "gd,momentum,nesterov,adam"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="line-fit")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--resolution", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--naive-repeat", type=int, default=30)
    args = ap.parse_args(argv)
    for name in ("steps", "resolution", "repeat", "naive_repeat"):
        if getattr(args, name) < (2 if name == "resolution" else 1):
            ap.error(f"--{name.replace('_', '-')} must be at least {2 if name == 'resolution' else 1}")
    return args


def ms(seconds: list[float]) -> tuple[float, float]:
    a = np.asarray(seconds) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def row(label: str, seconds: list[float]) -> str:
    p50, p99 = ms(seconds)
    return f"{label:<34} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    import plotly
    import plotly.graph_objects as go
    from plotly.io.json import config as json_config
    from plotly.io.json import to_json_plotly

    cfg = Config(optimizers=parse_optimizer_list(OPTIMIZERS), problem=args.problem, steps=args.steps)
    engine = json_config.default_engine
    try:
        import orjson  # noqa: F401
        resolved = "orjson" if engine in ("auto", "orjson") else "json"
    except ImportError:
        resolved = "json"
    print(f"{args.problem}: {OPTIMIZERS} × {args.steps} steps, {args.resolution}×{args.resolution} grid; "
          f"{args.repeat} repeats (naive {args.naive_repeat})")
    print(f"python {platform.python_version()}, numpy {np.__version__}, plotly {plotly.__version__}, "
          f"JSON engine {resolved}, {platform.machine()}")

    def selected(i: int) -> int:
        return (7 * i) % (args.steps + 1)

    # warm-up round, untimed
    problem, trajs = cfg.run()
    sc = scene_mod.build(problem, trajs, resolution=args.resolution)
    payload = to_json_plotly(figures.views(sc, 3))
    for fig in figures.views(sc, 3, binary=False).values():
        go.Figure(fig).to_json()

    runs, build, view, dump, full = [], [], [], [], []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        problem, trajs = cfg.run()
        t1 = time.perf_counter()
        sc = scene_mod.build(problem, trajs, resolution=args.resolution)
        t2 = time.perf_counter()
        figs = figures.views(sc, selected(i))
        t3 = time.perf_counter()
        text = to_json_plotly(figs)
        t4 = time.perf_counter()
        runs.append(t1 - t0)
        build.append(t2 - t1)
        view.append(t3 - t2)
        dump.append(t4 - t3)
        full.append(t4 - t0)
    slider = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        to_json_plotly(figures.views(sc, selected(i + 1)))
        slider.append(time.perf_counter() - t0)
    naive = []
    for i in range(args.naive_repeat):
        t0 = time.perf_counter()
        plain = figures.views(sc, selected(i + 1), binary=False)
        texts = [go.Figure(fig).to_json() for fig in plain.values()]
        naive.append(time.perf_counter() - t0)
    naive_bytes = sum(len(t) for t in texts)

    print(f"JSON sent per update: ours {len(text) / 1e6:.2f} MB (first {len(payload) / 1e6:.2f} MB), "
          f"naive {naive_bytes / 1e6:.2f} MB")
    print()
    print("full update (a control changed)")
    print(row("  runs (Config.run, 4 optimizers)", runs))
    print(row("  scene.build", build))
    print(row("  views()", view))
    print(row("  to_json_plotly", dump))
    print(row("  total", full))
    print(row("  total without the runs", [f - r for f, r in zip(full, runs, strict=True)]))
    print()
    print(row("slider move: views() + JSON", slider))
    print(row("naive: go.Figure + to_json", naive))
    ours50, naive50 = ms(slider)[0], ms(naive)[0]
    print(f"naive / ours (p50) = {naive50 / ours50:.1f}×")
    p50 = ms(full)[0]
    verdict = "met" if p50 <= TARGET_MS else "TARGET MISSED"
    print(f"full update p50 {p50:.1f} ms vs target ≤ {TARGET_MS:g} ms: {verdict}"
          + ("" if p50 <= TARGET_MS else f" (the runs alone take {ms(runs)[0]:.1f} ms)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
