# Two commands (README): `make baseline` sets up and runs the baseline scenario;
# `make test` sets up and runs lint and the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: baseline test setup bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

baseline: $(STAMP)
	$(BIN)/etsim run scenarios/baseline.toml --out runs/baseline

test: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
