# `make run`: the whole system, embedded (SQLite + embedded Redis, simulated venues, demo data).
# `make test`: the test suite against whatever DATABASE_URL / REDIS_URL say (embedded by default).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
WEB_PORT ?= 8000
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test lint bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

var/secret_key:
	mkdir -p var
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

install: $(BIN)/.installed

run: $(BIN)/.installed var/secret_key
	export SECRET_KEY="$$(cat var/secret_key)" WEB_PORT=$(WEB_PORT) && \
	python manage.py migrate --noinput && \
	python manage.py seed_demo && \
	python manage.py collectstatic --noinput --verbosity 0 && \
	echo && echo "  Blotter: http://127.0.0.1:$(WEB_PORT)/   Admin: http://127.0.0.1:$(WEB_PORT)/admin/   API: http://127.0.0.1:$(WEB_PORT)/api/" && echo && \
	honcho start

test: $(BIN)/.installed
	pytest

bench: $(BIN)/.installed
	python -m ems.bench --json var/bench/bench.json $(BENCH_ARGS)

lint: $(BIN)/.installed
	ruff check .
	ruff format --check .
	mypy .
	lint-imports

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache .hypothesis
