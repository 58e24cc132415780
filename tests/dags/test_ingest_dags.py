"""The spend ingest's one path and its DAG: batches of councils, per-file accounts, one RAW_SPEND per run.

The first test drives the DAG's steps (``tasks.plan_spend`` then ``tasks.ingest_spend`` per
batch) on real council files and a real DuckDB file; the second runs the real DAG with
``dag.test()`` and reads the asset events Airflow recorded.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT, shared_data

from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
OXFORD = "oxford_2014-q2_expenditure-over-500_time-not-date.csv"
UNDATED = "zz_payments-undated.csv"  # no payment date column: rejected
UNDATED_BYTES = b"Payee,Reference,Net Amount\r\nACME LTD,R1,1250.00\r\nBETA LTD,R2,99.50\r\n"
LOADED_AT = datetime(2025, 4, 5, 6, 0)
RAW_SPEND_URI = "warehouse://raw/spend_lines"


@pytest.fixture
def two_councils(tmp_path, monkeypatch) -> Path:
    """Council 'alpha' with a good and an unreadable file, 'beta' with a good file; own warehouse and landing."""
    drops = {"alpha": (HYNDBURN,), "beta": (OXFORD,)}
    lines = ["councils:"]
    for council_id, names in drops.items():
        drop = tmp_path / "drop" / council_id
        drop.mkdir(parents=True)
        for name in names:
            shutil.copyfile(shared_data("spend", name), drop / name)
        if council_id == "alpha":
            (drop / UNDATED).write_bytes(UNDATED_BYTES)
        lines += [f"  - id: {council_id}", f"    name: {council_id.title()} Council", f"    spend_dir: {drop}"]
    config = tmp_path / "councils.yml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("PROCURE_CONFIG", str(config))
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(db))
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    return db


def _query(db: Path, sql: str, params=()) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_plan_batches_councils_and_the_one_ingest_path_loads_each_file_once(two_councils):
    from procure import tasks

    db = two_councils
    [batch] = tasks.plan_spend(db)  # ~256 MB per batch: both councils in one
    assert batch["label"] == "alpha .. beta (2 councils, 3 files)"
    assert {cid: sorted(i["name"] for i in items) for cid, items in batch["files"].items()} == {
        "alpha": sorted([HYNDBURN, UNDATED]),
        "beta": [OXFORD],
    }
    # a council is never split across batches; a tiny batch size gives one batch per council
    assert [b["label"] for b in tasks.plan_spend(db, batch_bytes=1)] == ["alpha (2 files)", "beta (1 file)"]

    run = tasks.ingest_spend("run-1", LOADED_AT, files=batch["files"])

    statuses = {r.source_file: r.status for rs in run.results.values() for r in rs}
    assert statuses == {HYNDBURN: "loaded", UNDATED: "rejected", OXFORD: "loaded"}
    [rejected] = run.rejected()
    assert rejected.startswith(f"{db.parent / 'drop' / 'alpha' / UNDATED}: {UNDATED}"), rejected
    summary = run.summary()
    assert {cid: (c["loaded"], c["rejected"]) for cid, c in summary.items()} == {"alpha": (1, 1), "beta": (1, 0)}
    assert _query(db, "select council_id, source_file, status, run_id from raw.spend_manifest order by 2") == [
        ("alpha", HYNDBURN, "loaded", "run-1"),
        ("beta", OXFORD, "loaded", "run-1"),
        ("alpha", UNDATED, "rejected", "run-1"),
    ]
    assert tasks.files_changed("spend", "run-1", db) == 2  # the rejected file changes nothing

    assert tasks.plan_spend(db) == []  # the next run has nothing to map over
    again = tasks.ingest_spend("run-2", LOADED_AT, files=batch["files"])  # a retried task
    assert {r.status for rs in again.results.values() for r in rs} == {"unchanged", "rejected"}
    assert tasks.files_changed("spend", "run-2", db) == 0


def _raw_spend_events(dag_id: str, run_id: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == RAW_SPEND_URI, AssetEvent.source_dag_id == dag_id)
            .where(AssetEvent.source_run_id == run_id)
        )


@pytest.mark.slow
def test_dag_loads_a_batch_per_task_fails_it_for_a_bad_file_and_emits_raw_spend_once(two_councils, airflow_db):
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    db = two_councils
    dag = DagBag(dag_folder=ROOT / "dags" / "ingest_finance_spend.py", safe_mode=False).get_dag("ingest_finance_spend")

    run = dag.test(logical_date=pendulum.datetime(2025, 4, 5, tz="UTC"))

    tis = {(ti.task_id, ti.rendered_map_index): ti.state for ti in run.get_task_instances()}
    # one task for both councils; it fails because one file was rejected, after loading the others
    assert tis[("load_batch", "alpha .. beta (2 councils, 3 files)")] == "failed"
    assert tis[("emit_raw_spend", None)] == "success"
    assert str(getattr(run.state, "value", run.state)) == "failed"  # the emit teardown does not hide the failure
    assert _query(db, "select source_file, status from raw.spend_manifest order by 1") == [
        (HYNDBURN, "loaded"),
        (OXFORD, "loaded"),
        (UNDATED, "rejected"),
    ]
    assert _raw_spend_events("ingest_finance_spend", run.run_id) == 1

    # nothing new: no batch, the emit task skips, no asset event, so no build
    quiet = dag.test(logical_date=pendulum.datetime(2025, 4, 6, tz="UTC"))
    tis = {ti.task_id: ti.state for ti in quiet.get_task_instances()}
    assert tis["emit_raw_spend"] == "skipped"
    assert str(getattr(quiet.state, "value", quiet.state)) == "success"
    assert _raw_spend_events("ingest_finance_spend", quiet.run_id) == 0
