# profileguard — every target bootstraps .venv when it is missing or older than pyproject.toml.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.stamp-base
DEV_STAMP := $(VENV)/.stamp-dev
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test bench lint clean docs

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# constraints.txt pins the versions the suite was last verified with (pip freeze)
$(BASE_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,spark]'
	touch $(BASE_STAMP) $@

demo: $(BASE_STAMP)
	$(BIN)/profileguard demo --dir demo-workspace $(DEMO_ARGS)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

docs: $(BASE_STAMP)
	$(BIN)/profileguard rules --write docs/rules.md
	$(BIN)/profileguard tags --manifest src/profileguard/demo/manifests/profileguard.yaml --format md > docs/tags.md

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache
