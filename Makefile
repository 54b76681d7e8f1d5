# gan-pipeline — every target installs what it needs by itself (fresh clone → result).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; override for CUDA, e.g. make install TORCH="torch==2.13.0 --index-url ..."
TORCH ?= torch==2.13.0
PYTEST_ARGS ?= -m "not slow"

.PHONY: install test test-all bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
