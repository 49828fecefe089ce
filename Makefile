# The two commands: `make run` (set up and start on SQLite) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 8000
export STATUSPAGE_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test fuzz install install-dev migrate demo lint bench clean browser nginx

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) statuspage demo --scenario aug14

## make run: virtualenv, install, migrate, seed the demo, then gunicorn + worker (Ctrl-C stops both).
run: demo
	@echo ""
	@echo "  Status page:  $(STATUSPAGE_BASE_URL)/"
	@echo "  Admin:        $(STATUSPAGE_BASE_URL)/admin/"
	@echo "  Create the first admin (there is no default password):"
	@echo "    $(FLASK) statuspage create-user you@example.com --role admin"
	@echo ""
	@# Stop both children and wait until they have finished (the worker ends its batch in flight).
	@# The trap is reset first and signals only the two children: a `kill 0` trap signalled its own
	@# shell, fired again and recursed until it crashed ("Segmentation fault").
	@trap 'trap - INT TERM; kill $$worker $$web 2>/dev/null; wait' INT TERM; \
	$(FLASK) statuspage worker & worker=$$!; \
	$(BIN)/gunicorn -c python:statuspage.edge.gunicorn_conf --bind $(HOST):$(PORT) app:app & web=$$!; \
	wait

tests/clients/node_modules/.installed: tests/clients/package.json tests/clients/package-lock.json
	npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error
	touch $@

## Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; its own download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium from apt for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## Debian's nginx for the test of docs/nginx-static.conf (the tests start it themselves, on a free loopback port).
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "Installing nginx from apt for the publishing tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

## make test: dev dependencies, then the whole suite (PostgreSQL too when STATUSPAGE_TEST_POSTGRES_URL is set).
## It runs in TEST_WORKERS processes (pytest-xdist), each with its own SQLite file and PostgreSQL database
## (<name>_gw0, <name>_gw1, ... created next to the configured one).
TEST_WORKERS ?= auto
test: lint tests/clients/node_modules/.installed browser nginx
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

## make fuzz: the schemathesis test of every API operation, with FUZZ_EXAMPLES random requests each (15 in `make test`).
FUZZ_EXAMPLES ?= 1000
fuzz: install-dev
	STATUSPAGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests/test_openapi.py \
		-k test_no_request_gets_a_server_error_or_an_undocumented_answer

## make lint: ruff, the layer contracts (import-linter) and the types (mypy).
lint: install-dev
	$(BIN)/ruff check statuspage tests bench migrations app.py
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy statuspage

bench: install-dev
	$(BIN)/python bench/public_page.py

clean:
	rm -rf $(VENV) .pytest_cache
