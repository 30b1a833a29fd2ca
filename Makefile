# CrowdPay Connect wallet service. `make run` serves it; `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests (and the worker) use the real PostgreSQL and Redis; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crowdpay
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
WORKER_REDIS_URL ?= redis://127.0.0.1:6379/0
# The bench drops and re-creates both of these databases on every run (their names must contain "bench").
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crowdpay_bench
BENCH_PGBENCH_DATABASE ?= crowdpay_pgbench

.PHONY: help install run worker test lint format services bench bench-smoke clean sdk reliability

help:
	@echo "make run      serve on http://$(HOST):$(PORT) (SQLite + in-process tasks unless DATABASE_URL/REDIS_URL are set)"
	@echo "make test     the test suite against PostgreSQL and Redis, with coverage"
	@echo "make worker   a Celery worker with beat, on every queue (needs Redis; any number may run: one beat leads)"
	@echo "make lint     ruff, formatting, missing migrations, bandit and mypy (pre-commit runs the same)"
	@echo "make sdk      regenerate the SDK's low-level client (sdk/) from the OpenAPI schema"
	@echo "make bench    benchmarks beside pgbench (bench/README.md); make bench-smoke for tiny sizes"
	@echo "make reliability  50 clients x 60 s with faults on a private PostgreSQL/Redis, fuzzing, security"

$(STAMP): requirements/base.txt requirements/prod.txt requirements/dev.txt sdk/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e "sdk[async]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py dev_keys
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: $(STAMP)
	REDIS_URL=$${REDIS_URL:-$(WORKER_REDIS_URL)} $(VENV)/bin/celery -A crowdpay worker --beat --loglevel=INFO --concurrency=2

services:
	@bash .ci/services

test: $(STAMP) services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m bandit -q -c .ci/bandit.yaml -x '*/tests/*' -r crowdpay wallets sagas compliance
	$(VENV)/bin/mypy

# The full reliability suite. The stress part starts its OWN PostgreSQL cluster and Redis on free
# ports (never the shared ones) and kills them; then fuzzing with more examples and the security checks.
RELIABILITY_ARGS ?=
reliability: $(STAMP) services
	$(PY) -m crowdpay.tests.reliability $(RELIABILITY_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		RELIABILITY_FUZZ_EXAMPLES=$${RELIABILITY_FUZZ_EXAMPLES:-100} $(PY) -m pytest --no-cov -q \
		crowdpay/tests/test_reliability_fuzz.py crowdpay/tests/test_reliability_security.py \
		crowdpay/tests/test_reliability_outages.py crowdpay/tests/test_health.py \
		wallets/tests/test_integrity.py::test_database_refuses_update_and_delete_of_events \
		wallets/tests/test_integrity.py::test_verify_events_names_the_altered_event

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The SDK's generated client follows the API: regenerate it (offline) after any API change.
sdk: $(STAMP)
	$(PY) sdk/generate.py

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) requirements/bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) services
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_PGBENCH_DATABASE=$(BENCH_PGBENCH_DATABASE) $(PY) -m bench $(BENCH_ARGS)

bench-smoke: $(STAMP) services
	BENCH_SMOKE=1 BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_PGBENCH_DATABASE=$(BENCH_PGBENCH_DATABASE) $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .coverage htmlcov
