"""Failure alerts: what failed and why, to a person (called by procure.dag_defaults' failure callback).

Alerts go to the task log and to a notifier chosen by the Airflow connection
``procure_alerts`` (set e.g. ``AIRFLOW_CONN_PROCURE_ALERTS``):

- ``http://host:port/path`` or ``https://...`` — a webhook: the alert is POSTed as JSON;
- ``smtp://user:password@host:port?to=a@b,c@d&from=airflow@council.gov.uk`` — an email.

With no connection the alert is only logged. The run summary (``ops.task_runs``) is
``procure.run_summary``'s.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
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


def alert_task_failure(context: dict[str, Any]) -> None:
    """Alert a person with what failed and why (a broken notifier only logs)."""
    from procure.run_summary import data_interval

    ti = context.get("ti") or context.get("task_instance")
    start, end = data_interval(context)
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
