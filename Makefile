# The README's commands: `make demo`, `make test` and, while working, `make check`. Everything
# is installed into .venv from this project's own files (pyproject.toml, pinned by
# requirements/constraints.txt).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := requirements/constraints.txt

# An example patient: post-operative, unilateral swollen tender calf.
DEMO_PATIENT := age=65_plus onset=gradual side=unilateral exertion=unrelated swelling=yes \
	calf_tenderness=yes recent_immobilization=yes trauma=no

.PHONY: demo test check lint typecheck pytest docs bench validate constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=25.1"

$(VENV)/.demo-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -q -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -q -c $(CONSTRAINTS) -e . --group dev
	touch $@ $(VENV)/.demo-installed

## demo: diagnose an example patient on the tables shipped with calfdx
demo: $(VENV)/.demo-installed
	$(BIN)/calfdx diagnose $(DEMO_PATIENT)

## test: lint, type-check, build the docs, and run every test (doctests, CLI, wheel install)
# The docs build executes the notebooks (a failing cell fails it), so pytest does not run them
# a second time here; `pytest` on its own still does.
test: lint typecheck docs
	CALFDX_NOTEBOOKS_RUN_BY_DOCS=1 $(MAKE) pytest

## check: the quick loop (under a minute): lint, type-check, and the tests not marked slow
# Skips the notebooks, the wheel install and the docs build (make test runs them), and runs
# the property tests on a tenth of their examples (CALFDX_QUICK, tests/conftest.py).
check: lint typecheck
	CALFDX_QUICK=1 $(BIN)/pytest -q -m "not slow"

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# Fails when the tests cover less of src/calfdx than [tool.coverage.report] fail_under.
pytest: $(VENV)/.test-installed
	$(BIN)/pytest --cov=calfdx --cov-report=term

## docs: build the documentation site into docs/_build/html; warnings are errors
docs: $(VENV)/.test-installed
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

## bench: speed and memory against pgmpy in one process; writes benchmarks/RESULTS.md
bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/run.py

## validate: score the model on published case reports (validation/cases.json); always exits 0
validate: $(VENV)/.demo-installed
	$(BIN)/python validation/run.py

## constraints: re-pin every dependency to what is installed in .venv now
constraints: $(VENV)/.test-installed
	$(PIP) freeze --exclude-editable --exclude calfdx > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) build dist docs/_build docs/_generated .pytest_cache .mypy_cache .ruff_cache .hypothesis
