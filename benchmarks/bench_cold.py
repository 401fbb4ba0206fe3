"""Cold start: wall time and peak memory of fresh processes, against ``import matplotlib.pyplot``.

    python benchmarks/bench_cold.py                 # 9 interleaved rounds
    python benchmarks/bench_cold.py --repeats 15
    python benchmarks/bench_cold.py --before edaefad   # also the package as it was at that commit

Every measurement is a new interpreter (nothing imported yet, so every import is paid again);
bytecode and matplotlib's font cache are warm, since one unmeasured round of every command runs
first, as they are after a user's first run (``PYTHONDONTWRITEBYTECODE`` is unset for the
commands, so that this holds for descentlab's own modules too). The commands:

* **baseline**: ``python -c "import matplotlib.pyplot"``, the least any matplotlib program pays;
* **figure**: ``descentlab figure -o TMP.png``, the default Figure 6.1 drawn and written (target:
  ≤ 2.5× the baseline);
* **help**: ``descentlab --help``;
* **import**: ``python -c "import descentlab"``.

With ``--before REV`` the figure, help and import commands also run against the ``src`` tree of
git revision REV (extracted with ``git archive``, first on ``PYTHONPATH``), in the same rounds, so
a change is measured against its own past on the same machine at the same moments.

The commands run interleaved, round by round (baseline, figure, help, import, baseline, …), so a
busy moment on the machine hits all of them alike. Each is timed from spawn to exit; its peak
resident memory (``ru_maxrss``) comes from ``os.wait4`` on that child alone. Printed: the minimum
and median of the rounds, and every command's ratio to the baseline measured in the same run,
minimum over minimum and median over median. The minimum is the quiet-machine figure; the median
shows how much noise there was. The least CPU time (user + system, also from ``os.wait4``) is
printed too: on a machine shared with other work it moves far less than wall time does.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGET = 2.5
"""``descentlab figure`` cold may take at most this multiple of ``import matplotlib.pyplot``."""


def _descentlab() -> list[str]:
    """The ``descentlab`` console script of this interpreter's environment (else ``python -m``)."""
    script = Path(sys.executable).with_name("descentlab")
    if script.exists():
        return [str(script)]
    found = shutil.which("descentlab")
    return [found] if found else [sys.executable, "-m", "descentlab"]


Command = tuple[list[str], dict[str, str] | None]
"""An argv (``{n}`` in an argument is the round's number) and the environment it runs in."""


def commands(out_dir: Path, before: Path | None = None) -> dict[str, Command]:
    """Name → command of every measured run; with ``before`` (a ``src`` folder) also the package's
    commands run from there."""
    cli = _descentlab()
    warm = _bytecode_env()
    out: dict[str, Command] = {
        "baseline": ([sys.executable, "-c", "import matplotlib.pyplot"], warm),
        "figure": ([*cli, "figure", "-o", str(out_dir / "figure-{n}.png")], warm),
        "help": ([*cli, "--help"], warm),
        "import": ([sys.executable, "-c", "import descentlab"], warm),
    }
    if before is not None:
        path = os.pathsep.join(filter(None, (str(before), os.environ.get("PYTHONPATH"))))
        env = {**warm, "PYTHONPATH": path}
        for name in ("figure", "help", "import"):
            out[f"{name}@before"] = (out[name][0], env)
    return out


def _bytecode_env() -> dict[str, str]:
    """This environment with bytecode writing on: with ``PYTHONDONTWRITEBYTECODE`` set (as some
    sandboxes and CI images do), every run would compile descentlab's own modules from source again
    (≈ 50 modules, 0.1 s) — a cost an installed package never pays after its first run (pip writes
    the bytecode of an installed package; an editable install writes it at the first import)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def extract(rev: str, into: Path) -> Path:
    """The ``src`` tree of git revision ``rev`` of this repository, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


Sample = tuple[float, float, float]
"""Wall seconds, CPU seconds (user + system) and peak resident MiB of one run."""


def measure(argv: list[str], env: dict[str, str] | None = None) -> Sample:
    """A :data:`Sample` of one fresh run of ``argv``; raises if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: "
                               f"{err.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


def rounds(cmds: dict[str, Command], repeats: int, out_dir: Path) -> dict[str, list[Sample]]:
    """``repeats`` interleaved rounds (after one unmeasured warm-up round) of every command."""
    results: dict[str, list[Sample]] = {name: [] for name in cmds}
    for n in range(-1, repeats):
        for name, (argv, env) in cmds.items():
            sample = measure([a.replace("{n}", str(n)) for a in argv], env)
            for png in out_dir.glob("*.png"):
                png.unlink()  # every round writes a new file: never an existing one
            if n >= 0:
                results[name].append(sample)
    return results


def report(results: dict[str, list[Sample]]) -> float:
    """Print the table; return the figure's min/min wall-time ratio to the baseline."""
    def stats(name: str, i: int) -> tuple[float, float]:
        values = [sample[i] for sample in results[name]]
        return min(values), statistics.median(values)

    (base_min, base_med), (cpu_min, _) = stats("baseline", 0), stats("baseline", 1)
    print(f"{'command':<15} {'min s':>7} {'median s':>9} {'min/min':>8} {'med/med':>8} "
          f"{'min CPU s':>10} {'CPU/CPU':>8} {'peak RSS MiB':>13}")
    for name, samples in results.items():
        (lo, med), (cpu, _) = stats(name, 0), stats(name, 1)
        rss = max(sample[2] for sample in samples)
        print(f"{name:<15} {lo:7.3f} {med:9.3f} {lo / base_min:7.2f}× {med / base_med:7.2f}× "
              f"{cpu:10.3f} {cpu / cpu_min:7.2f}× {rss:13.1f}")
    for name in ("figure", "help", "import"):
        if f"{name}@before" in results:
            (now_min, now_med), (then_min, then_med) = stats(name, 0), stats(f"{name}@before", 0)
            print(f"{name}: now / before = {now_min / then_min:.2f}× (min/min), "
                  f"{now_med / then_med:.2f}× (med/med)")
    return stats("figure", 0)[0] / base_min


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="measured rounds (default 9, at least 7 "
                        "for a reported number)")
    parser.add_argument("--before", metavar="REV", help="also run the package as it was at git revision REV")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeats} interleaved rounds, "
          f"baseline: python -c 'import matplotlib.pyplot'")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        before = None if args.before is None else extract(args.before, Path(tmp) / "before")
        if before is not None:
            print(f"@before: src of {args.before} on PYTHONPATH")
        ratio = report(rounds(commands(out_dir, before), args.repeats, out_dir))
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"descentlab figure / import matplotlib.pyplot = {ratio:.2f}× (min/min): {verdict} the "
          f"≤ {TARGET}× target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
