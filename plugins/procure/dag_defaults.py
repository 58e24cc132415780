"""What every DAG's tasks share: default args, retry policies, timeouts, priorities, the writer
pool and the callbacks (run summary, alerts).

The Assets they hand over through are in ``procure.assets``. Light at parse time: only the
standard library is imported until a callback runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from procure.alerts import alert_task_failure
from procure.run_summary import record_task_run

WRITER_POOL = "duckdb_writer"  # one slot: DuckDB allows one writer per file

#: how long each kind of task may run before Airflow stops it (it then fails, alerts and, for I/O
#: tasks, retries). Sized to the job with wide headroom over the national benchmark (300 councils:
#: ingest 141 s, build 52 s, gate 29 s, publish 245 s; bench/README.md). A task stopped at its
#: timeout leaves nothing half-done: one transaction per file or OCDS window, publish folders built
#: aside and swapped in whole. Change them here.
TIMEOUTS = {
    "list": timedelta(minutes=10),  # list the new files of every council (reads the manifest)
    "load_batch": timedelta(hours=1),  # a batch of councils' files (~256 MB, about a minute; tasks.plan_spend)
    "harvest": timedelta(hours=2),  # one run of OCDS windows; the watermark keeps what completed
    "transform": timedelta(hours=1),  # supplier resolution, seeds, one dbt model, the cross-model tests
    "gate": timedelta(minutes=30),  # every Great Expectations checkpoint
    "publish": timedelta(hours=2),  # every council's board packs, or strategy reviews
}


def limits(kind: str) -> dict[str, timedelta]:
    """``execution_timeout`` for a task of ``kind`` (a key of ``TIMEOUTS``): ``@task(**limits("gate"))``."""
    return {"execution_timeout": TIMEOUTS[kind]}


def _priority(weight: int) -> dict:
    # "absolute": Airflow's default rule sums the weights of every task downstream, which would
    # put the first models of a long dbt graph ahead of a load
    return {"priority_weight": weight, "weight_rule": "absolute"}


#: The order queued tasks take the writer slot in: loads first (an ingest run's batches go in
#: back to back and its build starts once, after them), then builds, the gate, publishing.
LOAD_PRIORITY = _priority(40)
BUILD_PRIORITY = _priority(30)
GATE_PRIORITY = _priority(20)
PUBLISH_PRIORITY = _priority(10)


def on_task_success(context: dict[str, Any]) -> None:
    """Record the run in the run summary (ops.task_runs)."""
    record_task_run(context, "success")


def on_task_failure(context: dict[str, Any]) -> None:
    """Record the failure in the run summary and alert a person with what failed and why."""
    record_task_run(context, "failed")
    alert_task_failure(context)


DEFAULT_ARGS = {
    "owner": "data-eng",
    "execution_timeout": TIMEOUTS["transform"],  # any task not given its own kind
    "retries": 1,
    "retry_delay": timedelta(seconds=30),
    # every task's run is recorded in ops.task_runs (procure.run_summary); a failure also alerts (procure.alerts)
    "on_success_callback": on_task_success,
    "on_failure_callback": on_task_failure,
}
NO_RETRY = {"retries": 0}  # deterministic steps (dbt, gate, publish): a retry would fail the same way
IO_RETRIES = {"retries": 2, "retry_exponential_backoff": 2.0}  # delay doubles per try
