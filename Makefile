# Frontline — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FRONT := node_modules/.installed
export DJANGO_SETTINGS_MODULE := frontline.settings

.PHONY: demo test lint format migrations messages bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(FRONT): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(FRONT)

PORT ?= 8000

demo: $(STAMP) $(FRONT)
	$(BIN)/frontline demo --port $(PORT)

test: $(STAMP) $(FRONT)
	$(BIN)/python scripts/run_tests.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations: $(STAMP)
	$(BIN)/frontline makemigrations

messages: $(STAMP)
	cd src/frontline && ../../$(BIN)/frontline makemessages -l en --no-location --no-obsolete
	cd src/frontline && ../../$(BIN)/frontline compilemessages -l en

bench: $(STAMP) $(FRONT)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules var/test-*
