"""Assets the DAGs hand over through (data-aware scheduling, no sensors)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

from procure.alerts import on_task_failure, on_task_success

RAW_SPEND = Asset("warehouse://raw/spend_lines")
RAW_CONTRACTS = Asset("warehouse://raw/contracts")
RAW_NOTICES = Asset("warehouse://raw/notice_releases")
MARTS = Asset("warehouse://marts")
GATED_MARTS = Asset("warehouse://marts/quality_gated")

WRITER_POOL = "duckdb_writer"  # one slot: DuckDB allows one writer per file

DEFAULT_ARGS = {
    "owner": "data-eng",
    "retries": 1,
    "retry_delay": timedelta(seconds=30),
    # every task's run is recorded in ops.task_runs; a failure also alerts (procure.alerts)
    "on_success_callback": on_task_success,
    "on_failure_callback": on_task_failure,
}
NO_RETRY = {"retries": 0}  # deterministic steps (dbt, gate, publish): a retry would fail the same way
IO_RETRIES = {"retries": 2, "retry_exponential_backoff": 2.0}  # delay doubles per try
