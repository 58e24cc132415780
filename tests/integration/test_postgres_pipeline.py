"""PROCURE_DBT_TARGET=postgres makes the whole pipeline run on a real PostgreSQL server, configuration only:
build (supplier resolution on the DuckDB raw layer, the raw mirror, dbt there), the quality gate there, and
publishing of what PostgreSQL computed, refused unless the latest gate run on PostgreSQL passed.

Needs a server (see test_postgres_portability.py); runs in the "postgresql-server" xdist group.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

MONTH = date(2025, 3, 1)


@pytest.fixture
def pg(pg_clean):
    return pg_clean("raw", "staging", "intermediate", "marts", "reference", "ops")


def _figure(html: Path, name: str) -> Decimal:
    match = re.search(rf'data-figure="{name}"[^>]*data-value="([^"]*)"', html.read_text(encoding="utf-8"))
    assert match, f"no figure {name} in {html}"
    return Decimal(match.group(1))


def test_pipeline_on_postgres_publishes_what_postgres_computed(isolated_env, pg, monkeypatch):
    from procure import tasks
    from procure.publish.atomic import GateNotPassed
    from procure.publish.postgres_snapshot import SnapshotFailed
    from procure.warehouse import connect

    monkeypatch.setenv("PROCURE_DBT_TARGET", "postgres")
    monkeypatch.setenv("PROCURE_PUBLISH_WORKERS", "1")
    tasks.ingest_spend("pg-e2e", date(2025, 4, 5))
    tasks.ingest_contracts("pg-e2e")
    tasks.ingest_notices("pg-e2e")

    built = tasks.build_warehouse()
    assert built["target"] == "postgres" and built["mirrored_rows"] > 20_000
    duck = connect(read_only=True)
    try:  # the marts were built on PostgreSQL only: the DuckDB file holds the raw layer
        assert not duck.execute("select * from information_schema.tables where table_schema = 'marts'").fetchall()
    finally:
        duck.close()
    with pytest.raises(GateNotPassed):  # no gate has run on PostgreSQL yet
        tasks.publish_board_packs(MONTH)
    assert tasks.quality_gate("pg-e2e", date(2025, 4, 5))["passed"]

    # a mark only PostgreSQL's mart carries: the published pack must show it
    with pg.cursor() as cur:
        cur.execute(
            "update marts.mart_procurement_kpis set total_spend_gbp = total_spend_gbp + 0.07 "
            "where council_id = 'norwich' and month = %s returning total_spend_gbp",
            [MONTH],
        )
        (on_postgres,) = cur.fetchone()
    html = Path(tasks.publish_board_packs(MONTH)["norwich"])
    assert _figure(html, "spend_month") == on_postgres
    before = html.read_bytes()

    # the gate's verdict is PostgreSQL's: a failed run recorded there refuses the publish, outputs untouched
    with pg.cursor() as cur:
        cur.execute(
            "insert into ops.quality_runs (run_id, checked_at, passed, critical_failures, warnings, summary, "
            "recorded_at) values ('pg-e2e-bad', now(), false, 1, 0, 'failed', now() + interval '1 minute')"
        )
    with pytest.raises(GateNotPassed):
        tasks.publish_board_packs(MONTH)
    assert html.read_bytes() == before

    # a snapshot that cannot be made (a table the pack reads is gone) publishes nothing either
    with pg.cursor() as cur:
        cur.execute("delete from ops.quality_runs where run_id = 'pg-e2e-bad'")
        cur.execute("drop schema staging cascade")
    with pytest.raises(SnapshotFailed, match=r"PostgreSQL has no staging\.stg_contracts_finder__"):
        tasks.publish_board_packs(MONTH)
    assert html.read_bytes() == before
