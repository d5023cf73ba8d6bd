# Every target makes its own .venv from the hashed lockfile on a fresh machine.
# `make demo` runs the app on embedded defaults; `make test` runs the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_ADDR ?= localhost:8000
SANDBOX_ADDR ?= 127.0.0.1:9000
# `make fidelity`'s bundles: the workspace's published Synthea set when present, else the vendored ones.
FIDELITY_BUNDLES ?= $(if $(wildcard ../shared/fixtures/synthea-r4/*.json),../shared/fixtures/synthea-r4,tests/fixtures/synthea)

# manage.py needs DEBUG=true on a laptop (with DEBUG off it requires SECRET_KEY and the rest).
MANAGE := DEBUG=true APP_BASE_URL=http://$(DEMO_ADDR) $(BIN)/python manage.py

.DEFAULT_GOAL := help
.PHONY: help demo admin test e2e fidelity lint fmt bench bench-smoke lock key browser clean

help:
	@echo "make demo         run the app on http://$(DEMO_ADDR) and the sandbox EHR on http://$(SANDBOX_ADDR)"
	@echo "                  (SQLite, in-process cache, eager Celery; prints the demo client's secret)"
	@echo "make admin        create a Django admin user for the demo (createsuperuser)"
	@echo "make test         run the whole test suite (set DATABASE_URL / REDIS_URL to use real services)"
	@echo "make e2e          run only the browser tests"
	@echo "make fidelity     the rendered summary against raw FHIR bundles (FIDELITY_BUNDLES=$(FIDELITY_BUNDLES));"
	@echo "                  a table per patient and section, also in var/fidelity.txt"
	@echo "make lint         ruff + mypy"
	@echo "make fmt          ruff format + ruff check --fix, on the whole tree"
	@echo "make bench        benchmarks: a table and bench/results.json (see README)"
	@echo "make bench-smoke  the benchmarks with tiny counts (what CI runs)"
	@echo "make lock         regenerate requirements/*.lock from pyproject.toml"
	@echo "make key          print a new TOKEN_ENCRYPTION_KEYS key"
	@echo "make browser      install Debian's chromium for the browser tests (as root, when missing)"
	@echo "make clean        remove .venv and the tool caches"
	@echo "Variables: DEMO_ADDR=$(DEMO_ADDR) SANDBOX_ADDR=$(SANDBOX_ADDR) PYTEST_ARGS=... PYTHON=$(PYTHON)"

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

# Ctrl-C stops both servers and exits 0 (scripts/demo.py explains the signal handling).
demo: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) sandbox_seed --origin http://$(SANDBOX_ADDR)
	@DEBUG=true APP_BASE_URL=http://$(DEMO_ADDR) exec $(BIN)/python scripts/demo.py \
	  --app $(DEMO_ADDR) --sandbox $(SANDBOX_ADDR)

admin: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) createsuperuser

test: $(STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

e2e: $(STAMP) browser
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

# Each patient's summary page against the raw FHIR it came from (tests/fidelity/); mismatches fail.
fidelity: $(STAMP)
	FIDELITY_BUNDLES=$(FIDELITY_BUNDLES) $(BIN)/pytest -m fidelity tests/fidelity -p no:cacheprovider -q

# The summary's screenshots in docs/screenshots/ (three Synthea patients and one edge patient,
# in the chart iframe at 1280x680 and on a phone at 390x844); its README lists them.
.PHONY: screenshots
screenshots: $(STAMP) browser
	SCREENSHOTS=1 $(BIN)/pytest -m e2e tests/e2e/test_screenshots.py -p no:cacheprovider -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The load comes from Debian's wrk, installed with apt-get when missing (as root; otherwise the
# run stops and says how): bench/loadgen.py.
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/extraction.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --smoke
	$(BIN)/python bench/extraction.py --smoke

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
