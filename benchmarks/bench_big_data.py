"""A figure of a big CSV: ``descentlab figure --data big.csv``, 10⁶ rows against the same figure of 10² rows.

    python benchmarks/bench_big_data.py                  # 10⁶ rows, 5 interleaved rounds
    python benchmarks/bench_big_data.py --rows 3000000 --repeats 7

Both tables are generated here (a fixed seed; x uniform on [0, 2], y = 1 + 0.8·x + noise, written with 17
significant digits, ≈ 38 bytes a row) and fitted by the line-fit model, whose loss uses all the rows
through its sufficient statistics (:mod:`descentlab.problems.linear_regression`); what is drawn of the
data is bounded whatever N is (a density image over the view, model lines on a grid of x).

Every measurement is a fresh interpreter running the ``figure`` command to a PNG, the two sizes
interleaved round by round after one unmeasured warm-up round of each (bytecode and matplotlib's font
cache warm, as after a user's first run). Timed from spawn to exit; the peak memory is ``VmHWM`` of the
child process itself, read in the child as it finishes (``ru_maxrss`` would also count what the child
shared with this process at fork). Printed: the minimum and median of each, the ratio big / small (min
over min, median over median) and the largest peak. Targets: ≤ 3× the time of 10² rows, peak < 300 MB.

Models without sufficient statistics (``--problem gabor``) are not measured here: their loss surface
costs resolution² × N model evaluations, see the README's performance section.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TIME_TARGET = 3.0
"""The figure of 10⁶ rows may take at most this multiple of the figure of 10² rows."""
PEAK_TARGET_MB = 300.0
"""… and its process may hold at most this much memory at its peak (VmHWM, 10⁶ bytes)."""

CHILD = """
import sys
from descentlab.cli import main
code = main(["figure", "--data", sys.argv[1], "-o", sys.argv[2]])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) * 1024
with open(sys.argv[3], "w") as out:
    out.write(str(peak))
sys.exit(code)
"""
"""The child: the command line's own entry point, then its own peak resident memory in bytes."""


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` rows of x, y with a header, as a spreadsheet would save them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2.0, rows)
    y = 1.0 + 0.8 * x + 0.3 * rng.standard_normal(rows)
    with path.open("w") as f:
        f.write("x,y\n")
        np.savetxt(f, np.column_stack([x, y]), delimiter=",", fmt="%.17g")


Sample = tuple[float, float]
"""Wall seconds and peak MB (VmHWM, 10⁶ bytes) of one run."""


def measure(table: Path, out_dir: Path) -> Sample:
    """One fresh ``descentlab figure --data table`` run; raises if it fails."""
    png, peak_file = out_dir / "figure.png", out_dir / "peak.txt"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(table), str(png), str(peak_file)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"figure of {table.name} exited {done.returncode}: {done.stderr[-2000:]}")
    peak = int(peak_file.read_text()) / 1e6
    png.unlink()
    peak_file.unlink()
    return wall, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big table (default 10⁶)")
    parser.add_argument("--small", type=int, default=100, help="rows of the baseline table (default 10²)")
    parser.add_argument("--repeats", type=int, default=5, help="measured rounds (default 5)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rows < 2 or args.small < 2:
        parser.error("--repeats must be at least 1, --rows and --small at least 2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        tables = {"small": tmp_dir / f"rows-{args.small}.csv", "big": tmp_dir / f"rows-{args.rows}.csv"}
        write_table(tables["small"], args.small)
        write_table(tables["big"], args.rows)
        size = tables["big"].stat().st_size / 1e6
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeats} interleaved rounds: "
              f"descentlab figure --data (line-fit), {args.rows:,} rows ({size:.1f} MB) against "
              f"{args.small:,} rows")
        results: dict[str, list[Sample]] = {name: [] for name in tables}
        for n in range(-1, args.repeats):
            for name, table in tables.items():
                sample = measure(table, tmp_dir)
                if n >= 0:
                    results[name].append(sample)
    times = {name: [s[0] for s in samples] for name, samples in results.items()}
    peaks = {name: max(s[1] for s in samples) for name, samples in results.items()}
    print(f"{'table':<8} {'rows':>10} {'min s':>7} {'median s':>9} {'peak MB':>8}")
    for name, rows in (("small", args.small), ("big", args.rows)):
        print(f"{name:<8} {rows:>10,} {min(times[name]):7.2f} {statistics.median(times[name]):9.2f} "
              f"{peaks[name]:8.1f}")
    ratio_min = min(times["big"]) / min(times["small"])
    ratio_med = statistics.median(times["big"]) / statistics.median(times["small"])
    ok = ratio_min <= TIME_TARGET and peaks["big"] < PEAK_TARGET_MB
    print(f"big / small: {ratio_min:.2f}× (min/min), {ratio_med:.2f}× (med/med); peak {peaks['big']:.0f} MB: "
          f"{'meets' if ok else 'misses'} the ≤ {TIME_TARGET:g}× and < {PEAK_TARGET_MB:.0f} MB targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
