"""The run summary: every Airflow task run, success or failure, as a row of ``ops.task_runs``
(run id, DAG, task, interval, returned row counts, status, duration, error), which the board
pack's data-quality panel reads. Written by the callbacks in ``procure.dag_defaults``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


def data_interval(context: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    dag_run = context.get("dag_run")
    start = context.get("data_interval_start") or getattr(dag_run, "data_interval_start", None)
    end = context.get("data_interval_end") or getattr(dag_run, "data_interval_end", None)
    return start, end


def record_task_run(context: dict[str, Any], status: str) -> None:
    """Append the task's run to ops.task_runs (best effort: never fails the task)."""
    ti = context.get("ti") or context.get("task_instance")
    try:
        from procure.warehouse import connect

        start, end = data_interval(context)
        started = getattr(ti, "start_date", None)
        now = datetime.now(UTC)
        duration = (now - started).total_seconds() if started else None
        rows = None
        if status == "success":
            try:
                rows = ti.xcom_pull(task_ids=ti.task_id, key="return_value", map_indexes=getattr(ti, "map_index", -1))
            except Exception:  # a task that returned nothing
                rows = None
        error = context.get("exception")
        con = connect()
        try:
            con.execute(
                "insert into ops.task_runs (run_id, dag_id, task_id, map_index, try_number, interval_start, interval_end, "
                "status, duration_s, rows_json, error, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    context.get("run_id"),
                    ti.dag_id,
                    ti.task_id,
                    getattr(ti, "map_index", -1) if getattr(ti, "map_index", None) is not None else -1,
                    getattr(ti, "try_number", None),
                    start.replace(tzinfo=None) if start else None,
                    end.replace(tzinfo=None) if end else None,
                    status,
                    duration,
                    json.dumps(rows, default=str) if rows is not None else None,
                    str(error)[:2000] if error else None,
                    now.replace(tzinfo=None),
                ],
            )
        finally:
            con.close()
    except Exception as exc:  # the warehouse may be locked or broken: the log still has it
        log.warning("could not record %s run of %s in ops.task_runs: %s", status, getattr(ti, "task_id", "?"), exc)
