# Two commands (README): `make baseline` sets up and runs the baseline scenario;
# `make test` sets up and runs lint and the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: baseline test setup browser bench clean

# Setting up says what it is doing: pip prints a line per package it collects (about a
# minute on a fresh machine), not one progress bar that logs and pipes never show.
$(STAMP): pyproject.toml
	@echo "setup: creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "setup: upgrading pip"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "setup: installing etsim and its dependencies from PyPI (a line per package)"
	$(BIN)/python -m pip install --progress-bar off -e ".[dev]"
	touch $(STAMP)
	@echo "setup: done ($(VENV) is ready)"

setup: $(STAMP) browser

# The what-if page's browser test drives Debian's chromium with Playwright; browsers are
# never downloaded (no `playwright install`). Quiet, and nothing to do, when it is there.
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null && echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the browser test"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "no apt-get: install chromium yourself, or tests/test_app_browser.py is skipped"; \
	  fi; }

baseline: $(STAMP)
	@echo "baseline: running scenarios/baseline.toml (about 20 s; a line per simulated year)"
	$(BIN)/etsim run scenarios/baseline.toml --out runs/baseline

test: $(STAMP) browser
	$(BIN)/ruff check sim tests benchmarks notebooks
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
