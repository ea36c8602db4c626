# Jangar developer commands. `make run` and `make test` are the two a new user needs; both set up the
# virtual environment on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(sort $(wildcard proto/jangar/v1/*.proto))
# Envoy needs google.rpc.Status and its details in the descriptor set, or rich errors reach REST clients as
# empty bodies.
DESCRIPTOR_EXTRAS := proto/google/rpc/status.proto proto/google/rpc/error_details.proto

.PHONY: install run test gen gen-check lint fmt migrate bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: start Postgres (unless JANGAR_DATABASE_URL is set), migrate, start the server and Envoy
run: $(STAMP)
	$(VENV)/bin/jangar-dev

## test: ruff, buf lint, the gen/ and deploy/ freshness check and every test against real Postgres and Envoy
test: $(STAMP)
	$(VENV)/bin/ruff check server reconciler migrations tests
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

## gen: regenerate gen/ (messages, gRPC stubs, .pyi stubs, Envoy's descriptor set) from proto/, and deploy/crds/
## and deploy/rbac/ (CustomResourceDefinitions and RBAC, from the kind registry and the .proto comments)
gen: $(STAMP)
	@bash tests/tools/gen.sh gen

## gen-check: fail when gen/ or deploy/ differs from what `make gen` would produce
gen-check: $(STAMP)
	@bash tests/tools/gen.sh check

lint: $(STAMP)
	$(VENV)/bin/buf lint
	$(VENV)/bin/ruff check server reconciler migrations tests
	$(VENV)/bin/ruff format --check server reconciler migrations tests

fmt: $(STAMP)
	$(VENV)/bin/ruff format server reconciler migrations tests
	$(VENV)/bin/ruff check --fix server reconciler migrations tests

## migrate: bring the database at JANGAR_DATABASE_URL (or the local one) to the newest schema
migrate: $(STAMP)
	$(VENV)/bin/jangar-dev migrate

## bench: print throughput and latency of the API next to this machine's ceiling (BENCH_ARGS=--scale adds
## ListAgentRuns at 1,000,000 runs). REST is driven by wrk, installed here when missing and run as root.
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
		echo "wrk not found (Debian package wrk): the REST rows are skipped" >&2; }
	$(PY) -m tests.bench $(BENCH_ARGS)

## clean: delete .venv and .jangar, and what a root launcher put in /var/tmp/jangar for them (see README)
clean:
	@if [ -x $(VENV)/bin/jangar-dev ]; then $(VENV)/bin/jangar-dev clean; fi
	rm -rf $(VENV) .jangar
