# Two entry points for a fresh machine: `make demo` and `make test` (CI runs .ci/run, which
# installs system packages, starts the databases and then runs `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2
# Just under the measured figure (90% on 2026-12-02): it only ever rises.
COVERAGE_FLOOR ?= 89
# Meerschaum 4.x runs in its own environment (its imports change sys.path and warnings);
# the interop tests drive it as a subprocess. Its DuckDB must be ours, to open our files.
MEERSCHAUM_VENV ?= .venv-meerschaum

.PHONY: setup meerschaum demo test lint typecheck labcheck labbuild pytest bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

meerschaum: $(MEERSCHAUM_VENV)/.installed

$(MEERSCHAUM_VENV)/.installed: $(VENV)/.installed
	$(PYTHON) -m venv $(MEERSCHAUM_VENV)
	$(MEERSCHAUM_VENV)/bin/pip install -q --upgrade pip
	$(MEERSCHAUM_VENV)/bin/pip install -q "duckdb==$$($(PY) -c 'import duckdb; print(duckdb.__version__)')" \
		pandas pyarrow sqlalchemy "psycopg[binary]" "meerschaum==4.1.7" PyYAML packaging semver pytz \
		rich pygments humanfriendly duckdb-engine
	touch $@

demo: setup
	$(PY) -m mrsm_jupyter.demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

labcheck: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" bash labextension/check.sh

# The prebuilt extension the browser tests load (git-ignored build output).
labbuild: labcheck
	cd labextension && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm build:prod

pytest: setup meerschaum labbuild
	$(PY) -m coverage erase
	$(PY) -m pytest -n $(PYTEST_WORKERS) --cov --cov-report= $(PYTEST_ARGS)
	$(PY) -m coverage combine -q || true
	$(PY) -m coverage report --skip-covered --sort=cover --fail-under=$(COVERAGE_FLOOR)

test: lint typecheck labcheck pytest

bench: setup
	bash bench/setup.sh
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(MEERSCHAUM_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
