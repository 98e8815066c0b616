# `make run` and `make test` do all the set-up themselves: a .venv with khabar installed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# With no KHABAR_BOT_TOKEN (environment or .env): the sandbox (khabar sandbox), saying so.
run: $(STAMP)
	$(VENV)/bin/khabar run --or-sandbox

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The loop while working: no process, benchmark or multi-second bot tests (pytest -m "not slow").
test-fast: $(STAMP)
	$(VENV)/bin/python tests/support/with_redis.py $(VENV)/bin/pytest -q -m "not slow"

test: lint
	$(VENV)/bin/python tests/support/with_redis.py $(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
