# Two entry points for a fresh machine: `make demo` and `make test` (CI runs .ci/run, which
# installs system packages, starts the databases and then runs `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: setup demo test lint typecheck labcheck pytest bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: setup
	$(PY) -m mrsm_jupyter.demo

lint: setup
	$(PY) -m ruff check mrsm_jupyter tests bench
	$(PY) -m ruff format --check mrsm_jupyter tests bench

typecheck: setup
	$(PY) -m mypy

labcheck: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" bash labextension/check.sh

pytest: setup
	$(PY) -m coverage erase
	$(PY) -m pytest -n $(PYTEST_WORKERS) --cov --cov-report= $(PYTEST_ARGS)
	$(PY) -m coverage combine -q || true
	$(PY) -m coverage report --skip-covered --sort=cover

test: lint typecheck labcheck pytest

bench: setup
	bash bench/setup.sh
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
