"""The layers of descentlab (pyproject.toml [tool.importlinter]; `make test` runs lint-imports):
no import cycle between the data sets and the problems, problems that never reach up to the
scene, the heavy modules imported on first use only, and numba only for a compiled sweep.

Import order matters for cycles and for what a command pays for, so those checks run in a fresh
interpreter each."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAZY = ("catalogue", "config", "conventions", "plot", "scene", "sweep", "theory", "tune")


def fresh(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter; fail with its stderr unless it exits 0."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def graph_without_configured_ignores():
    """The static import graph (imports inside functions included), less the imports the layers
    contract ignores on purpose (each with its reason in pyproject.toml)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("descentlab", include_external_packages=True)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for contract in config["contracts"]:
        for line in contract.get("ignore_imports", ()):
            importer, imported = (part.strip() for part in line.split("->"))
            if graph.direct_import_exists(importer=importer, imported=imported):
                graph.remove_import(importer=importer, imported=imported)
    return graph


# ---- data sets and problems: one direction, no cycle ------------------------------------------

@pytest.mark.parametrize("first", ["descentlab.problems", "descentlab.problems.data", "descentlab.datasets",
                                   "descentlab.catalogue", "descentlab.scene", "descentlab.problems.slices"])
def test_each_module_imports_first_in_a_fresh_interpreter(first):
    fresh(f"""
        import {first}
        from descentlab import catalogue, datasets
        assert datasets.line_fit().n_examples == 12
        assert [catalogue.by_name(n).name for n in catalogue.NAMES][:2] == ["line-fit", "gabor"]
    """)


def test_problems_import_neither_the_data_sets_nor_the_catalogue():
    graph = graph_without_configured_ignores()
    for above in ("descentlab.datasets", "descentlab.catalogue"):
        chain = graph.find_shortest_chain(importer="descentlab.problems", imported=above, as_packages=True)
        assert chain is None, chain
    # the data sets build problems: the one direction that is allowed (so the check above can fail)
    assert graph.find_shortest_chain(importer="descentlab.datasets", imported="descentlab.problems",
                                     as_packages=True) is not None


def test_problems_never_import_the_scene_or_anything_that_draws():
    graph = graph_without_configured_ignores()
    for above in ("descentlab.scene", "descentlab.plot", "descentlab.web", "descentlab.runner",
                  "descentlab.optimizers", "descentlab.trajectory"):
        chain = graph.find_shortest_chain(importer="descentlab.problems", imported=above, as_packages=True)
        assert chain is None, chain
    assert graph.find_shortest_chain(importer="descentlab.scene", imported="descentlab.problems",
                                     as_packages=True) is not None
    # and at run time: building and slicing problems loads no view module
    fresh("""
        import sys
        import numpy as np
        import descentlab.problems as p
        model = p.from_expression("p0 + p1*x + p2*x**2", data=(np.arange(5.0), np.arange(5.0) ** 2))
        p.slice_problem(model, "p0,p2").loss(np.zeros(2))
        p.from_function(lambda q: q[0] ** 2 + q[1] ** 2, n_params=2)
        loaded = sorted(m for m in sys.modules if m.startswith(("descentlab.scene", "descentlab.plot")))
        assert not loaded, loaded
    """)


def test_the_plotly_renderer_does_not_import_matplotlib():
    graph = graph_without_configured_ignores()
    for importer, forbidden in (("descentlab.web", "descentlab.plot"), ("descentlab.web", "matplotlib"),
                                ("descentlab.scene", "matplotlib"), ("descentlab.scene", "plotly")):
        chain = graph.find_shortest_chain(importer=importer, imported=forbidden, as_packages=True)
        assert chain is None, chain
    # the graph does see both renderers' libraries (so the checks above can fail)
    for importer, library in (("descentlab.plot", "matplotlib"), ("descentlab.web", "plotly")):
        assert graph.find_shortest_chain(importer=importer, imported=library, as_packages=True) is not None


# ---- import descentlab: the core now, the rest on first use ----------------------------------

def test_lazy_attributes_of_the_package():
    fresh(f"""
        import sys, types
        import descentlab as dl

        lazy = {LAZY!r}
        early = [n for n in lazy if f"descentlab.{{n}}" in sys.modules]
        assert not early, early
        assert "matplotlib" not in sys.modules and "numba" not in sys.modules
        assert set(lazy) <= set(dir(dl)) and set(lazy) <= set(dl.__all__)
        for name in lazy:
            module = getattr(dl, name)
            assert isinstance(module, types.ModuleType) and module.__name__ == f"descentlab.{{name}}"
            assert module is sys.modules[f"descentlab.{{name}}"]
        assert callable(dl.run) and not isinstance(dl.run, types.ModuleType)
        assert dl.run is sys.modules["descentlab.runner"].run
        assert callable(dl.sweep.sweep) and callable(dl.tune.tune) and callable(dl.theory.rate)
        try:
            dl.nonesuch
        except AttributeError as err:
            assert "nonesuch" in str(err)
        else:
            raise AssertionError("dl.nonesuch should raise AttributeError")
    """)


def test_scene_and_core_load_no_plotting_library():
    fresh("""
        import sys
        import descentlab as dl
        problem = dl.datasets.line_fit()
        dl.scene.build(problem, dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=5),
                       resolution=10)
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"matplotlib", "numba", "plotly", "torch"})
        assert not heavy, heavy
    """)


# ---- numba: only for a compiled sweep ------------------------------------------------------------

def test_plot_sweep_and_tune_modules_do_not_import_numba():
    fresh("""
        import sys
        import descentlab.plot, descentlab.sweep, descentlab.tune
        assert "numba" not in sys.modules
        try:
            import numba  # noqa: F401
        except ImportError:
            raise SystemExit(0)
        import descentlab.sweep_kernel       # the compiled kernel is what needs it
        assert "numba" in sys.modules
    """)


def test_plot_commands_do_not_import_numba(tmp_path):
    fresh(f"""
        import sys
        from descentlab.cli import main
        assert main(["figure", "-o", {str(tmp_path / "figure.png")!r}]) == 0
        assert main(["compare", "--steps", "20", "-o", {str(tmp_path / "compare.png")!r}]) == 0
        assert main(["lookahead", "-o", {str(tmp_path / "lookahead.png")!r}]) == 0
        assert "matplotlib" in sys.modules      # it did draw
        assert "numba" not in sys.modules
    """)
    assert (tmp_path / "figure.png").read_bytes()[:4] == b"\x89PNG"
