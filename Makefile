# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test fuzz lint bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/exerpain demo --overwrite

# The web page is tested in a real headless Chromium (Debian's chromium + chromium-driver),
# installed here when missing (needs root or sudo, as on CI).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	  >/dev/null; }

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test file per process at a time,
# so each file's session fixtures are built once; JAX compiles on one core, so two workers
# use both of CI's cores. Each worker holds 4-5 GB at its peak.
TEST_WORKERS ?= 2

test: setup browser
	$(BIN)/ruff check src tests benchmarks
	EXERPAIN_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

fuzz: setup
	EXERPAIN_FUZZ=fuzz $(BIN)/python -m pytest -q tests/fuzz -p no:cacheprovider --hypothesis-show-statistics

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/single_simulation.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/calibration_gradient.py
	$(BIN)/python benchmarks/trial_throughput.py
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) exerpain-demo
