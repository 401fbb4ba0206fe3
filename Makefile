# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo   -> .venv/, install, render the main figures into out/
#   make test   -> .venv/ with the test extras, Debian's chromium when it can be installed (root or
#                  passwordless sudo), then ruff, the import layers and the whole suite. Without
#                  ../shared/reference or a browser the tests that need them skip, and say so at the end
#                  (under CI=true a missing browser fails instead).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test gallery lint bench bench-sweep clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "descentlab needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch pinned to the CPU build on this machine's disk (an unpinned torch would fetch a CUDA build of
# several GB); it and scikit-learn draw the network figure.
$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[networks]' "torch==2.13.0"
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,networks]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	mkdir -p out
	$(BIN)/descentlab figure -o out/figure-6-1.png
	$(BIN)/descentlab figure --optimizer linesearch --steps 4 -o out/figure-6-1-linesearch.png
	$(BIN)/descentlab figure --optimizer momentum -o out/figure-6-1-momentum.png
	$(BIN)/descentlab figure --problem gabor -o out/figure-gabor.png
	$(BIN)/descentlab figure --problem rosenbrock -o out/figure-rosenbrock.png
	$(BIN)/descentlab figure --problem himmelblau --optimizer momentum -o out/figure-himmelblau.png
	$(BIN)/descentlab compare -o out/compare.png
	$(BIN)/descentlab lookahead -o out/lookahead.png
	$(BIN)/descentlab animate -o out/race.gif
	$(BIN)/descentlab landscape --model examples.networks:wave_mlp --data examples/data/wave.csv -o out/landscape-wave.png
	@echo "figures written to out/"

test: $(VENV)/.test
	@tools/ensure_chromium.sh
	$(BIN)/ruff check src tests benchmarks tools examples
	$(BIN)/lint-imports   # the layers in pyproject.toml [tool.importlinter]
	$(BIN)/python -m pytest -q

# Every command the README shows, rendered into out/gallery/ (index.txt lists them): look at each PNG.
gallery: $(VENV)/.test
	$(BIN)/python tools/gallery.py --out out/gallery

bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench_surface.py
	$(BIN)/python benchmarks/bench_animation.py
	$(BIN)/python benchmarks/bench_torch_step.py
	$(BIN)/python benchmarks/bench_web_figures.py
	$(BIN)/python benchmarks/bench_web.py

# JAX is only a benchmark baseline: it lives in its own environment, never in descentlab's.
.venv-bench/bin/python:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet -e '.[fast]' "torch==2.13.0" jax

bench-sweep: .venv-bench/bin/python
	.venv-bench/bin/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .venv-bench out build *.egg-info src/*.egg-info
