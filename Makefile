# Gatehouse: two commands set everything up on a fresh machine.
#   make run   — venv, install, migrate, serve on the embedded SQLite default
#   make test  — venv with dev extras, then the whole suite (SQLite and PostgreSQL)
#   make docs  — the guides (docs/, mkdocs.yml) built offline into site/; make screenshots retakes their pictures

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
PYTEST_ARGS ?=
# One worker per CPU; a test file stays on one worker (its module fixtures and servers are set up once).
PYTEST_WORKERS ?= -n auto --dist loadfile

.PHONY: run test lint typecheck bench bench-authz clean venv docs screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/gatehouse db upgrade
	@echo ""
	@echo "Gatehouse: open http://$(HOST):$(PORT) and sign in as 'admin'."
	@echo "  First run: the one-time password is printed below; you will choose your own at sign-in."
	@echo "  Forgot it: $(BIN)/gatehouse admin reset-password admin"
	@echo "  SCIM endpoint and token from a terminal: $(BIN)/gatehouse scim enable --json"
	@echo ""
	$(BIN)/gatehouse serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# Every dashboard picture of the guides, retaken by the browser tests (tests/support/browser.py copies each
# screenshot into docs/screenshots/ when GATEHOUSE_UPDATE_SCREENSHOTS=1).
screenshots: $(VENV)/.installed-dev
	GATEHOUSE_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/scim_bench.py

bench-authz: $(VENV)/.installed-dev
	$(BIN)/python bench/authz_bench.py

clean:
	rm -rf $(VENV) data site .pytest_cache .mypy_cache .ruff_cache
