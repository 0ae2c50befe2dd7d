# make run: set up and serve on http://127.0.0.1:8000 with SQLite and the demo data.
# make test: the whole suite (lint, Django checks, missing migrations, pytest).
# make bench-hsds: time the HSDS import and export of 100,000 synthetic services (not part of make test).
# make bench-search: time the search page and API against naive and raw-SQL references on 10,000 and 100,000
#   synthetic services, SQLite and PostgreSQL (not part of make test; BENCH_ARGS="--sizes 1000000" for more).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format check migrate demo clean admin bench-hsds bench-search

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	DEBUG=1 $(BIN)/python manage.py migrate --no-input

demo: migrate
	DEBUG=1 $(BIN)/python manage.py load_demo_data

run: demo
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	SECRET_KEY=checks-only $(BIN)/python manage.py check
	SECRET_KEY=checks-only $(BIN)/python manage.py makemigrations --check --dry-run

test: lint check
	SECRET_KEY=tests-only $(BIN)/python -m pytest $(PYTEST_ARGS)

bench-hsds: install
	$(BIN)/python tests/benchmarks/bench_hsds.py $(BENCH_ARGS)

bench-search: install
	$(BIN)/python tests/benchmarks/bench_search.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache

admin: migrate
	DEBUG=1 $(BIN)/python manage.py createsuperuser
