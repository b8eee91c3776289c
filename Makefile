# The README's two commands: `make book` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch is installed first, on its own, and never replaced afterwards. On this CPU
# machine torch==2.13.0 resolves to the local CPU wheel; on a GPU machine the same
# spec gives the CUDA build from PyPI. An already installed torch is kept as it is.
TORCH  ?= torch==2.13.0
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
STAMP  := $(VENV)/.snnlib-installed
VENDOR := _vendor/.complete
# Downloads (the paper profile) land in the checkout's git-ignored cache when run through make.
export SNNLIB_DATA ?= $(CURDIR)/data/cache

.PHONY: help setup book test test-lib test-notebooks test-book bench clean

help:
	@echo "make book   build the HTML book into _build/html (profile: \$${SNNLIB_PROFILE:-book})"
	@echo "make test   unit tests, every notebook under the ci profile, and a -W book build"
	@echo "make bench  run the benchmarks (prints ratios, writes JSON to _build/bench)"
	@echo "make clean  remove build outputs (keeps .venv)"

setup: $(STAMP) $(VENDOR)

# Re-runs only when pyproject.toml changes, so a second `make test` installs nothing.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH)"
	$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/constraints.txt
	@echo "pinned: $$(cat $(VENV)/constraints.txt)"
	$(PY) -m pip install -c $(VENV)/constraints.txt -e ".[spikingjelly,chapters,book,dev]"
	$(PY) -m pip install -c $(VENV)/constraints.txt --no-deps $$($(PY) tools/deps.py without-deps)
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (snnlib)" >/dev/null
	@echo "compiling the fused CPU kernels once (cached on disk)"; $(PY) -c "from snnlib.kernels import cpu; cpu.warm_up()"
	$(PY) -c "import torch; import sys; sys.exit(torch.__version__ != open('$(VENV)/constraints.txt').read().strip()[7:])" \
	  || { echo "torch was replaced during the install; refusing to continue" >&2; exit 1; }
	touch $(STAMP)

# plotly.js, the ipywidgets manager, require.js and MathJax, served by the site (no CDN).
$(VENDOR): $(STAMP) tools/vendor.py tools/vendor.lock.json
	$(PY) tools/vendor.py

# Notebooks run without a front end (the static book, the notebook tests): live ipywidgets are
# left out (snnlib.viz.interact; a widget cell can stall nbclient until its cell timeout,
# jupyter/nbclient#312) and progress bars are off (a bar frozen at 100 % says nothing on a page).
NO_FRONT_END := SNNLIB_STATIC_BOOK=1 TQDM_DISABLE=1

book: setup
	$(NO_FRONT_END) $(VENV)/bin/jupyter-book build . --all -W -n --keep-going

test: setup test-lib test-notebooks test-book

test-lib: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --ignore=tests/test_rendered_page.py

test-notebooks: $(STAMP)
	@# one notebook at a time. Under ci no cell takes more than about 15 s on 2 cores, so a cell
	@# that has not answered in 40 s has stalled: it is cut, and the notebook runs again (twice at
	@# most) instead of idling for minutes.
	$(NO_FRONT_END) SNNLIB_PROFILE=ci $(PY) -m pytest --nbmake --nbmake-timeout=40 --timeout=240 --reruns 2 \
	  --durations=0 -p no:cacheprovider book/

test-book: setup
	$(NO_FRONT_END) SNNLIB_PROFILE=ci $(VENV)/bin/jupyter-book build . --all -W -n --keep-going
	$(PY) -m pytest tests/test_rendered_page.py

bench: $(STAMP)
	@mkdir -p _build/bench
	@for b in benchmarks/bench_*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(PY) $$b --out _build/bench || exit 1; done

clean:
	rm -rf _build .pytest_cache
