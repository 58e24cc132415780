"""Failure callbacks alert through a real local webhook and record the run in ops.task_runs."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP server on loopback that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_PROCURE_ALERTS", f"http://127.0.0.1:{server.server_port}/hooks/procure")
    yield received
    server.shutdown()


def test_notify_posts_to_the_configured_webhook(webhook):
    from procure.alerts import notify

    how = notify("test alert", {"dag_id": "x", "error": "boom"})
    assert how == "webhook"
    assert webhook == [{"path": "/hooks/procure", "body": {"subject": "test alert", "dag_id": "x", "error": "boom"}}]


def test_notify_without_a_connection_only_logs(monkeypatch, caplog):
    from procure.alerts import notify

    monkeypatch.delenv("AIRFLOW_CONN_PROCURE_ALERTS", raising=False)
    assert notify("nobody listening", {"k": 1}) == "log"
    assert "ALERT nobody listening" in caplog.text


def test_failed_task_alerts_and_is_recorded(isolated_env, airflow_db, webhook):
    """The gate on a warehouse with no marts fails; the callback alerts and records it."""
    from airflow.dag_processing.dagbag import DagBag

    from procure.warehouse import connect

    connect().close()  # an empty warehouse: raw schema only, no marts
    dag = DagBag(dag_folder=str(ROOT / "dags" / "quality_gate.py")).get_dag("quality_gate")
    run = dag.test(logical_date=datetime(2025, 4, 5, tzinfo=UTC))
    assert str(run.state).endswith("failed")

    alerts = [a["body"] for a in webhook]
    assert len(alerts) == 1, alerts
    assert alerts[0]["dag_id"] == "quality_gate"
    assert alerts[0]["task_id"] == "run_checkpoints"
    assert "marts" in alerts[0]["error"].lower()

    con = duckdb.connect(str(isolated_env["warehouse"]))
    try:
        rows = con.execute("select dag_id, task_id, status, error from ops.task_runs").fetchall()
    finally:
        con.close()
    assert [(r[0], r[1], r[2]) for r in rows] == [("quality_gate", "run_checkpoints", "failed")]
    assert rows[0][3]


def test_board_pack_not_publishable_on_its_day_alerts_as_late(isolated_env, airflow_db, webhook):
    """On the 12th, last month's pack is due: without a passed gate the run fails as late and alerts."""
    from airflow.dag_processing.dagbag import DagBag

    from procure.warehouse import connect

    connect().close()  # nothing loaded, no gate run
    dag = DagBag(dag_folder=str(ROOT / "dags" / "publish_board_pack.py")).get_dag("publish_board_pack")
    run = dag.test(logical_date=datetime(2025, 5, 12, 6, tzinfo=UTC))
    assert str(run.state).endswith("failed")
    alerts = [a["body"] for a in webhook]
    assert len(alerts) == 1, alerts
    assert "board pack for April 2025 is late" in alerts[0]["error"]
    assert not (isolated_env["publish"] / "board_pack").exists()
