# mer_lab: the two commands of the quick start are `make dashboard` and `make test`.
# Both create the virtual environment in .venv and install what they need on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 5006
# pytest workers; the suite is written for 2 cores
JOBS   ?= 2

STAMP_CORE := $(VENV)/.stamp-core
STAMP_DEV  := $(VENV)/.stamp-dev

.PHONY: help install install-dev dashboard test test-fast lab chromium benchmarks clean-cache

help:
	@echo "make dashboard   serve dashboards/compare.py on the built-in synthetic corpus (http://localhost:$(PORT))"
	@echo "make test        install everything the tests need and run the whole suite"
	@echo "make lab         open the course notebooks in JupyterLab"
	@echo "make benchmarks  run the speed and quality figures in benchmarks/"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_CORE): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[faces,notebooks]"
	touch $@

$(STAMP_DEV): pyproject.toml $(STAMP_CORE)
	$(PY) -m pip install --quiet -e ".[faces,notebooks,dev,deep]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(STAMP_CORE)
install-dev: $(STAMP_DEV)

# Debian's Chromium for the browser tests (Playwright drives the system browser;
# it never downloads one of its own).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

dashboard: $(STAMP_CORE)
	$(VENV)/bin/panel serve dashboards/compare.py --address 127.0.0.1 --port $(PORT) --allow-websocket-origin=localhost:$(PORT) --allow-websocket-origin=127.0.0.1:$(PORT)

test: $(STAMP_DEV) chromium
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests

test-fast: $(STAMP_DEV)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "not browser and not notebook" tests

lab: $(STAMP_CORE)
	$(VENV)/bin/jupyter lab notebooks/

benchmarks: $(STAMP_CORE)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-cache:
	rm -rf $${MER_LAB_CACHE:-$$HOME/.cache/mer_lab}
