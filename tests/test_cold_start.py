"""Cold start: what a fresh ``import descentlab`` and ``descentlab figure`` load, and what they leave out.

No timings here (they belong to ``benchmarks/bench_cold.py``): these tests check *which* modules a
fresh interpreter holds, which is what the time and memory follow from. numba (and llvmlite
under it) loads only when a compiled sweep kernel first runs; the web stack, torch, JAX and the
sweep engine never load for a figure.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import descentlab.plot as plot

NEVER_FOR_A_FIGURE = ("numba", "llvmlite", "jax", "jaxlib", "torch", "dash", "plotly", "scipy")
"""Top-level packages neither ``import descentlab`` nor ``descentlab figure`` may load."""

NOT_DRAWN_BY_A_FIGURE = ("descentlab.sweep", "descentlab.sweep_kernel", "descentlab.tune",
                         "descentlab.plot.animation", "descentlab.plot.theory_plots", "descentlab.web")
"""descentlab modules Figure 6.1 has no use for: the sweep engine, the GIF/MP4 writer, the theory
plots and the web renderer."""


PRELUDE = """
import json, sys


def loaded(names):
    \"\"\"Those of ``names`` (top-level packages or full module names) this interpreter holds.\"\"\"
    tops = {m.split(".")[0] for m in sys.modules}
    return sorted(n for n in names if n in tops or n in sys.modules)
"""


def _fresh(code: str) -> object:
    """Run ``code`` (after :data:`PRELUDE`) in a new interpreter; the JSON value it prints last."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_figure_load_no_numba_web_or_ml_stack(tmp_path):
    out = tmp_path / "figure.png"
    seen = _fresh(f"""
        names = {NEVER_FOR_A_FIGURE + NOT_DRAWN_BY_A_FIGURE!r}
        import descentlab
        after_import = loaded(names + ("matplotlib",))
        from descentlab.cli import main
        status = main(["figure", "-o", {str(out)!r}])
        print(json.dumps({{"after_import": after_import, "status": status,
                          "after_figure": loaded(names), "drew": "matplotlib" in sys.modules}}))
    """)
    assert seen["after_import"] == []          # not even matplotlib
    assert seen["status"] == 0 and seen["drew"]  # the figure was really drawn …
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen["after_figure"] == []          # … without any of them


def test_the_check_sees_a_loaded_module():
    # the oracle of the test above can fail: a module the figure does not need, once imported, is seen
    seen = _fresh(f"""
        import descentlab, descentlab.plot
        descentlab.plot.sweep_map        # a lazy name: its module loads on first access
        print(json.dumps(loaded({NOT_DRAWN_BY_A_FIGURE!r})))
    """)
    assert seen == ["descentlab.plot.theory_plots"]


def test_a_compiled_sweep_imports_numba_when_it_runs():
    if importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed (pip install 'descentlab[fast]'): the compiled kernel "
                    "cannot run, so there is no import of it to observe")
    seen = _fresh("""
        import numpy as np
        import descentlab as dl
        from descentlab.sweep import sweep

        problem = dl.datasets.line_fit()
        grid = {"lr": np.geomspace(1e-3, 0.5, 6), "beta": [0.0, 0.5, 0.9]}
        before = "numba" in sys.modules
        plain = sweep(problem, "nesterov", grid, steps=50, engine="numpy")
        after_numpy = "numba" in sys.modules
        fast = sweep(problem, "nesterov", grid, steps=50)          # auto: the compiled kernel
        print(json.dumps({"before": before, "after_numpy": after_numpy, "after_auto": "numba" in sys.modules,
                          "same_steps": bool(np.array_equal(fast.steps_to_tol, plain.steps_to_tol)),
                          "same_divergence": bool(np.array_equal(fast.diverged_at, plain.diverged_at))}))
    """)
    assert seen == {"before": False, "after_numpy": False, "after_auto": True, "same_steps": True,
                    "same_divergence": True}


def test_every_public_plot_name_is_its_function_not_a_module():
    # lazy names resolve to the submodule's own object; none is shadowed by a submodule of its name
    for name in plot.__all__:
        value = getattr(plot, name)
        assert not isinstance(value, types.ModuleType), name
        home = sys.modules[value.__module__] if callable(value) else sys.modules["descentlab.plot.save"]
        assert home.__name__.startswith("descentlab.plot.") and getattr(home, name) is value, name
    assert set(plot.__all__) <= set(dir(plot))
    with pytest.raises(AttributeError, match="nonesuch"):
        plot.nonesuch  # noqa: B018


def test_importing_a_submodule_first_does_not_hide_its_function():
    # ``descentlab.plot.save`` and ``.lookahead`` are modules *and* functions of the package
    seen = _fresh("""
        import types
        import descentlab.plot.save, descentlab.plot.lookahead, descentlab.plot.animation
        import descentlab.plot as plot
        names = ("save", "lookahead", "lookahead_trace", "animate", "FORMATS")
        print(json.dumps([n for n in names if isinstance(getattr(plot, n), types.ModuleType)]))
    """)
    assert seen == []


def test_bench_cold_runs_and_reports_every_ratio():
    # the benchmark's plumbing (one round, no timing asserted: timings belong to the benchmark itself)
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cold.py"
    done = subprocess.run([sys.executable, str(script), "--repeats", "1"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:6]}
    assert set(rows) == {"baseline", "figure", "help", "import"}
    assert rows["baseline"][3] == "1.00×" and rows["baseline"][4] == "1.00×"
    assert all(float(row[-1]) > 10 for row in rows.values())  # a peak RSS in MiB, read from the child
    assert "descentlab figure / import matplotlib.pyplot = " in done.stdout


# ---- the quick exit of the console script -----------------------------------------------------------

def _script(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_the_script_runs_the_exit_handlers_flushes_and_keeps_the_status(tmp_path):
    """script() ends the process without tearing the interpreter down, but only after the atexit
    handlers ran and the output was flushed; the exit status is main()'s."""
    done = _script("""
        import atexit, sys
        atexit.register(lambda: print("handler ran", flush=False))
        sys.argv = ["descentlab", "run", "--steps", "3", "--save", "run.json"]
        from descentlab.cli import script
        script()
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "step" in done.stdout and done.stdout.rstrip().endswith("handler ran")
    assert len(json.loads((tmp_path / "run.json").read_text())["losses"]) == 4  # written whole: φ_0 … φ_3
    bad = _script("""
        import sys
        sys.argv = ["descentlab", "figure", "--steps", "-3"]
        from descentlab.cli import script
        script()
        """, tmp_path)
    assert bad.returncode == 2 and "--steps must be an integer" in bad.stderr


def test_the_script_waits_for_a_thread_that_is_still_running(tmp_path):
    """A non-daemon thread alive at the end gets Python's own exit, which lets it finish."""
    done = _script("""
        import sys, threading, time
        threading.Thread(target=lambda: (time.sleep(1.0), print("thread finished", flush=True))).start()
        sys.argv = ["descentlab", "--help"]
        from descentlab.cli import script
        script()
        """, tmp_path)
    assert done.returncode == 0 and "thread finished" in done.stdout
