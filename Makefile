# The README's two commands: `make run` (the whole pipeline through Airflow on the
# bundled sample data) and `make test` (lint + the whole suite). Both set themselves up.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

export PROCURE_HOME := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/airflow_home/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 2
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export AIRFLOW__LOGGING__LOGGING_LEVEL := WARNING
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export PATH := $(BIN):$(PATH)

# the demo's "as of" date: the pack for March 2025, after the fiscal year 2024-25 closed
RUN_DATE ?= 2025-04-05
OCDS_PORT ?= 8765
DAG_ORDER := ingest_finance_spend ingest_contract_register ingest_procurement_notices \
             build_warehouse quality_gate publish_board_pack publish_strategy_review

.PHONY: setup run test lint clean airflow-db sample outputs manifest bench bench-ingest system-check

setup: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q "uv==$(UV_VERSION)"
	UV="$$(command -v uv || echo "$(PYTHON) -m uv")"
	$$UV sync --frozen --compile-bytecode -p $(PYTHON)
	touch $@

# the system libraries PDF rendering needs (pango; libharfbuzz-subset0 optional): a clear message, not a traceback
system-check: setup
	@$(BIN)/python -m procure.publish.pdf

# build_warehouse renders one Airflow task per dbt model from this manifest (Cosmos LoadMode.DBT_MANIFEST),
# so parsing the DAG runs no dbt; rewritten whenever the dbt project changes
DBT_MANIFEST := dbt_project/target/cosmos/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -path dbt_project/logs -prune -o \
                 -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)

manifest: $(DBT_MANIFEST)

$(DBT_MANIFEST): $(VENV)/.synced $(DBT_SOURCES)
	$(BIN)/procure build --manifest-only > /dev/null

airflow-db: setup $(DBT_MANIFEST)
	mkdir -p $(AIRFLOW_HOME)/plugins
	$(BIN)/airflow db migrate >/dev/null
	$(BIN)/airflow pools set duckdb_writer 1 "DuckDB allows one writer per file" >/dev/null

sample: setup
	@$(BIN)/procure sample-data > /dev/null && echo "== sample data in data/sample (procure sample-data)"

run: setup system-check airflow-db sample
	@echo "== running the pipeline through Airflow (logs in $(AIRFLOW_HOME)/dags_test_*.log)"
	# ingest_procurement_notices harvests the sample notices from a local Contracts Finder-shaped server
	$(BIN)/python -m procure.extract.ocds_server --dir data/sample/norwich/notices --port $(OCDS_PORT) \
		> $(AIRFLOW_HOME)/ocds_server.log 2>&1 &
	OCDS_PID=$$!
	trap 'kill $$OCDS_PID 2>/dev/null || true' EXIT
	for _ in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$(OCDS_PORT)) 2>/dev/null && break; sleep 0.2; done
	export AIRFLOW_CONN_CONTRACTS_FINDER=http://127.0.0.1:$(OCDS_PORT)
	for dag in $(DAG_ORDER); do
		echo "== airflow dags test $$dag $(RUN_DATE)"
		AIRFLOW__LOGGING__LOGGING_LEVEL=INFO $(BIN)/airflow dags test $$dag $(RUN_DATE) > $(AIRFLOW_HOME)/dags_test_$$dag.log 2>&1 \
			|| { tail -50 $(AIRFLOW_HOME)/dags_test_$$dag.log; echo "DAG $$dag failed: see $(AIRFLOW_HOME)/dags_test_$$dag.log"; exit 1; }
		grep -qE "DagRun Finished: dag_id=$$dag,.*state=success" $(AIRFLOW_HOME)/dags_test_$$dag.log \
			|| { tail -50 $(AIRFLOW_HOME)/dags_test_$$dag.log; echo "DAG $$dag did not succeed"; exit 1; }
	done
	$(BIN)/procure outputs

outputs: setup
	$(BIN)/procure outputs

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# sqlfluff only compiles the models: an in-memory DuckDB, no warehouse file needed
	cd dbt_project && PROCURE_WAREHOUSE=:memory: $(BIN)/sqlfluff lint models macros --processes 2

# two pytest-xdist workers (the machine's two cores); tests that share a module fixture, the PostgreSQL
# server or the Airflow stack's ports run on one worker (tests/conftest.py); TEST_WORKERS=0: one process
TEST_WORKERS ?= 2
test: setup system-check lint airflow-db
	$(BIN)/pytest -q $$( [ "$(TEST_WORKERS)" = 0 ] || echo "-n $(TEST_WORKERS)" )

# rows/s and peak RSS of the spend reader (real files + a generated ~1 GB file in /tmp); not part of test
bench-ingest: setup
	$(BIN)/python bench/bench_ingest.py

# issue 8: N councils x M months through every stage, next to DuckDB's read_csv floor; writes bench/results.json
# SIZE=national (300 x 12, ~10 M rows, ~2 GB of CSV), small (20 x 12) or tiny (2 x 2, what make test runs)
SIZE ?= national
# TARGET=postgres: the whole pipeline with the marts on PostgreSQL (mirror, dbt, gate, publish there),
# written to bench/results_postgres.json (bench/results.json stays the DuckDB record)
TARGET ?= duckdb
# postgres_over_duckdb and TARGET=postgres need a PostgreSQL server: the one in PROCURE_PG_* when set, else
# a throwaway one on loopback when the server binaries are installed (apt-get install postgresql); without
# one postgres_over_duckdb is skipped and TARGET=postgres fails saying so
bench: setup
	if [ -z "$${PROCURE_PG_HOST:-}" ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	  eval "$$(PROCURE_PG_PORT=$${PROCURE_PG_PORT:-5439} bash .ci/start_postgres.sh)"
	  stop_pg() { if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- "$$PROCURE_PG_BIN/pg_ctl" -D "$$PROCURE_PG_DATADIR" -m fast stop
	              else "$$PROCURE_PG_BIN/pg_ctl" -D "$$PROCURE_PG_DATADIR" -m fast stop; fi >/dev/null 2>&1 || true; }
	  trap stop_pg EXIT
	fi
	$(BIN)/python bench/run_bench.py --size $(SIZE) --target $(TARGET)

clean:
	rm -rf warehouse publish airflow_home data/sample dbt_project/target dbt_project/logs
