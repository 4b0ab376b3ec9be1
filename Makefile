# The two commands a new user needs: `make run` and `make test`.
# `make check-release` builds the sdist and wheel and tests the wheel as a host installs it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app example_app
PYTEST_ARGS ?=
RELEASE_ARGS ?=

.PHONY: run test test-mlflow-next lint docs install bench bench-web fuzz screenshots dist
.PHONY: check-release clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,docs]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Users upgrade their mlflow client before their server: the modules that drive the real client
# (marked live) or read its protobuf services run again with the next MLflow release, in a venv
# of their own, on SQLite (the client changes what travels on the wire, not what the database
# does). A new release is one line: MLFLOW_NEXT.
MLFLOW_NEXT ?= 3.18.0
NEXT_VENV := .venv-mlflow-next
NEXT_BIN := $(NEXT_VENV)/bin
NEXT_STAMP := $(NEXT_VENV)/.installed-mlflow-$(MLFLOW_NEXT)
MLFLOW_CLIENT_TESTS = $(shell grep -lE 'pytest\.mark\.live|^ *(import|from) mlflow' tests/test_*.py)

$(NEXT_BIN)/python:
	$(PYTHON) -m venv $(NEXT_VENV)
	$(NEXT_BIN)/python -m pip install --quiet --upgrade pip

$(NEXT_STAMP): $(NEXT_BIN)/python pyproject.toml
	$(NEXT_BIN)/python -m pip install --quiet -e '.[test-base]' 'mlflow==$(MLFLOW_NEXT)'
	touch $(NEXT_STAMP)

test-mlflow-next: $(NEXT_STAMP)
	$(NEXT_BIN)/python -m pytest -m 'not postgres' $(MLFLOW_CLIENT_TESTS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check flask_model_registry example_app tests benchmarks scripts docs/examples
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-web: $(STAMP)
	$(BIN)/python -m benchmarks.web_pages

fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_RANDOM=1 $(BIN)/python -m pytest --timeout=0 tests/test_fuzz_openapi.py $(PYTEST_ARGS)

# Refresh the pages' screenshots in docs/screenshots/ (the tests write theirs to a temp dir).
screenshots: $(STAMP)
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/browser/test_pages.py $(PYTEST_ARGS)

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

check-release: $(STAMP)
	$(BIN)/python -m scripts.check_release $(RELEASE_ARGS)

clean:
	rm -rf $(VENV) $(NEXT_VENV) build dist docs/_build *.egg-info .pytest_cache .mypy_cache .ruff_cache
