# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test fuzz lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/exerpain demo --overwrite

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

fuzz: setup
	EXERPAIN_FUZZ=fuzz $(BIN)/python -m pytest -q tests/fuzz -p no:cacheprovider --hypothesis-show-statistics

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/single_simulation.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/calibration_gradient.py
	$(BIN)/python benchmarks/trial_throughput.py

clean:
	rm -rf $(VENV) exerpain-demo
