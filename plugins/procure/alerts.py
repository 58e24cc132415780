"""Failure alerts (a late board pack among them) and the run summary, as Airflow callbacks.

Alerts go to the task log and to a notifier chosen by the Airflow connection
``procure_alerts`` (set e.g. ``AIRFLOW_CONN_PROCURE_ALERTS``):

- ``http://host:port/path`` or ``https://...`` — a webhook: the alert is POSTed as JSON;
- ``smtp://user:password@host:port?to=a@b,c@d&from=airflow@council.gov.uk`` — an email.

With no connection the alert is only logged. Every task run (success or failure) is also
recorded in ``ops.task_runs`` (run id, DAG, task, interval, rows, status, duration), which
the board pack's data-quality panel reads. Nothing here is imported heavily at DAG parse
time: the callbacks import what they need when they run.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)

ALERT_CONN_ID = "procure_alerts"


def _connection(conn_id: str = ALERT_CONN_ID):
    """The notifier's Airflow connection, or None when it is not configured."""
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception:  # not configured (AirflowNotFoundException) or no Airflow context
        uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if not uri:
            return None
        from airflow.models.connection import Connection

        return Connection(conn_id=conn_id, uri=uri)


def notify(subject: str, payload: dict[str, Any], conn_id: str = ALERT_CONN_ID) -> str:
    """Send an alert through the configured notifier; return how it was sent."""
    log.error("ALERT %s: %s", subject, json.dumps(payload, default=str))
    conn = _connection(conn_id)
    if conn is None:
        return "log"
    conn_type = (conn.conn_type or "").lower()
    if conn_type in {"http", "https"}:
        scheme = conn_type
        port = f":{conn.port}" if conn.port else ""
        path = conn.schema or ""
        url = f"{scheme}://{conn.host}{port}/{path.lstrip('/')}"
        body = json.dumps({"subject": subject, **payload}, default=str).encode()
        req = urllib.request.Request(  # noqa: S310 - scheme is http(s), checked above
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the operator's own webhook
            resp.read()
        return "webhook"
    if conn_type in {"smtp", "email"}:
        extra = conn.extra_dejson
        msg = EmailMessage()
        msg["Subject"] = f"[procure] {subject}"
        msg["From"] = extra.get("from", "procure@localhost")
        msg["To"] = extra.get("to", "")
        msg.set_content(json.dumps(payload, indent=2, default=str))
        with smtplib.SMTP(conn.host, conn.port or 25, timeout=10) as smtp:
            if conn.login:
                smtp.login(conn.login, conn.password or "")
            smtp.send_message(msg)
        return "smtp"
    log.warning("connection %s has unsupported type %r: alert only logged", conn_id, conn_type)
    return "log"


def _interval(context: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    dag_run = context.get("dag_run")
    start = context.get("data_interval_start") or getattr(dag_run, "data_interval_start", None)
    end = context.get("data_interval_end") or getattr(dag_run, "data_interval_end", None)
    return start, end


def record_task_run(context: dict[str, Any], status: str) -> None:
    """Append the task's run to ops.task_runs (best effort: never fails the task)."""
    ti = context.get("ti") or context.get("task_instance")
    try:
        from procure.warehouse import connect

        start, end = _interval(context)
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


def on_task_success(context: dict[str, Any]) -> None:
    record_task_run(context, "success")


def on_task_failure(context: dict[str, Any]) -> None:
    """Record the failure and alert a person with what failed and why."""
    ti = context.get("ti") or context.get("task_instance")
    record_task_run(context, "failed")
    start, end = _interval(context)
    payload = {
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "interval": [start, end],
        "error": str(context.get("exception"))[:4000],
    }
    try:
        notify(f"{payload['dag_id']}.{payload['task_id']} failed", payload)
    except Exception as exc:  # a broken notifier must not hide the original failure
        log.error("alert notifier failed: %s", exc)
