# The two commands of the README (and docs, bench). Each creates .venv with what it needs, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint docs bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "DeskLedger needs Python 3.11 or newer (set PYTHON=python3.X)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Byte-compiled once at install, so that no command pays for compiling (the CLI's start-up
# budget), even where PYTHONDONTWRITEBYTECODE keeps Python from caching it later.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q engine projections adapters > /dev/null
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q engine projections adapters > /dev/null
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/deskledger demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# Regenerate the pages generated from the code (CLI reference, event catalogue, tables);
# tests/test_generated_docs.py fails until this has run after such a change.
docs: $(VENV)/.installed
	$(BIN)/python tools/gen_docs.py

# The performance suite: one table, bench/results.json. `make bench BENCH_ARGS="--size small"`.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache deskledger-demo.db
