# Every target makes its own .venv from the hashed lockfile on a fresh machine.
# `make demo` runs the app on embedded defaults; `make test` runs the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_ADDR ?= localhost:8000
SANDBOX_ADDR ?= 127.0.0.1:9000

.DEFAULT_GOAL := help
.PHONY: help demo test e2e lint fmt bench bench-smoke lock key browser clean

help:
	@echo "make demo    run the app on http://$(DEMO_ADDR) (SQLite, in-process cache, eager Celery)"
	@echo "make test    run the whole test suite (set DATABASE_URL / REDIS_URL to use real services)"
	@echo "make e2e     run only the browser tests"
	@echo "make lint    ruff + mypy"
	@echo "make bench   benchmarks: a table and bench/results.json (see README)"
	@echo "make lock    regenerate requirements/*.lock from pyproject.toml"
	@echo "make key     print a new TOKEN_ENCRYPTION_KEYS key"

$(STAMP): requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@

# Debian's Chromium for the Playwright tests (Playwright cannot download its own
# browser here). Installed when missing and we are allowed to; otherwise the
# browser tests skip with a reason (and fail under CI=true).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: /usr/bin/chromium missing; run 'sudo apt-get install chromium' for the browser tests"; fi

demo: $(STAMP)
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py sandbox_seed
	@echo ""
	@echo "  App:          http://$(DEMO_ADDR)/        (health: /healthz, readiness: /readyz)"
	@echo "  Sandbox EHR:  http://$(SANDBOX_ADDR)/   (EHR chart: http://$(SANDBOX_ADDR)/ehr/)"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	DEBUG=true $(BIN)/python manage.py runsandbox --addr $(SANDBOX_ADDR) & \
	DEBUG=true $(BIN)/python manage.py runserver $(DEMO_ADDR)

test: $(STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

e2e: $(STAMP) browser
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --smoke

lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet uv
	.venv-lock/bin/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/prod.lock
	.venv-lock/bin/uv pip compile pyproject.toml --python-version 3.11 --extra dev --generate-hashes -q -o requirements/dev.lock
	rm -rf .venv-lock

key: $(STAMP)
	@$(BIN)/python -c "from config.environment import new_token_key; print(new_token_key())"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
