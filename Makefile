# gan-pipeline — every target installs what it needs by itself (fresh clone → result).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; override for CUDA, e.g. make install TORCH="torch==2.13.0 --index-url ..."
TORCH ?= torch==2.13.0
PYTEST_ARGS ?= -m "not slow"

.PHONY: install lint test test-slow test-all run stop bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

# ruff (lint + format, configured in pyproject.toml); `$(BIN)/ruff format .` applies the format.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The long tests (kill -9 and resume, concurrent runs, a killed deployment server): CI runs them too.
test-slow: install
	$(BIN)/python -m pytest -m slow

test-all: install
	$(BIN)/python -m pytest

# Start the local services (Prefect :4200, MLflow :5000, deployment server), run
# train-gan/default to completion, print the JSD and the addresses. Reuses what runs.
run: install
	$(BIN)/python -m flows.services start
	PREFECT_API_URL=http://127.0.0.1:4200/api $(BIN)/prefect deployment run train-gan/default --watch
	@$(BIN)/python -m flows.services summary

stop:
	@test -x $(BIN)/python && $(BIN)/python -m flows.services stop || true

# Every figure in BENCHMARKS.md (hours on a 2-core CPU; each script also runs alone).
bench: install
	$(BIN)/python benchmarks/throughput.py --threads 1 --compile --defaults
	$(BIN)/python benchmarks/jsd_accuracy.py
	$(BIN)/python benchmarks/pipeline_overhead.py dvc-noop
	$(BIN)/python benchmarks/pipeline_overhead.py e2e
	$(BIN)/python benchmarks/pipeline_overhead.py sweep-scaling --members 8 --workers 1 2 4
	$(BIN)/python benchmarks/gan_quality.py --seeds 10 --other-seeds 3
	$(BIN)/python benchmarks/gan_quality.py --floor --seeds 3

clean:
	rm -rf $(VENV) .pytest_cache
