# Two commands (README): `make baseline` sets up and runs the baseline scenario;
# `make test` sets up and runs lint and the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: baseline test setup browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

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
	$(BIN)/etsim run scenarios/baseline.toml --out runs/baseline

test: $(STAMP) browser
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
