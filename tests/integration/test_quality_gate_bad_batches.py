"""Bad batches are stopped at the gate and never reach the published outputs.

One good warehouse is built and published once per module (ingest -> dbt -> gate ->
publish, the same functions the DAGs call); each case works on its own copy, injects a
realistic defect into the raw layer, rebuilds the marts and runs the gate again.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import write_config

AS_OF = date(2025, 4, 5)


def _copy_warehouse(src: Path, dst: Path) -> None:
    """The DuckDB file with its write-ahead log: recent writes (dbt-duckdb keeps its in-process
    connection open, so nothing is checkpointed yet) live in the .wal until a checkpoint."""
    shutil.copy(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copy(wal, dst.with_name(dst.name + ".wal"))


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "data_docs" not in p.parts
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory, sample_dir):
    """A gate-passed, published warehouse on a private copy of the sample data."""
    base = tmp_path_factory.mktemp("good")
    shutil.copytree(sample_dir, base / "sample")
    env = {
        "PROCURE_WAREHOUSE": str(base / "w.duckdb"),
        "PROCURE_PUBLISH_DIR": str(base / "publish"),
        "PROCURE_CONFIG": str(write_config(base / "councils.yml", base / "sample")),
        "DBT_TARGET_PATH": str(base / "dbt_target"),
        "DBT_LOG_PATH": str(base / "dbt_logs"),
        "PROCURE_LANDING_DIR": str(base / "landing"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        from procure import tasks

        tasks.ingest_spend("good", AS_OF)
        tasks.ingest_contracts("good")
        tasks.ingest_notices("good")
        tasks.build_warehouse()
        tasks.quality_gate("good", AS_OF)
        tasks.publish_board_packs()
        tasks.publish_strategy_reviews()
    return base, env


@pytest.fixture
def copy_of_good(good, tmp_path, monkeypatch):
    """A private copy of the good warehouse, drop folder and published outputs."""
    base, _ = good
    _copy_warehouse(base / "w.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(base / "publish", tmp_path / "publish")
    shutil.copytree(base / "sample", tmp_path / "sample")
    shutil.copytree(base / "landing", tmp_path / "landing")
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(tmp_path / "publish"))
    monkeypatch.setenv("PROCURE_CONFIG", str(write_config(tmp_path / "councils.yml", tmp_path / "sample")))
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))
    return tmp_path


def _read_spend(path: Path) -> tuple[list[list[str]], int, list[str]]:
    """A sample payment file as (rows, header index, header) with the stdlib, in its own encoding."""
    with path.open(encoding="cp1252", newline="") as f:
        rows = list(csv.reader(f))
    at = next(i for i, r in enumerate(rows) if "Supplier Name" in r)
    return rows, at, rows[at]


def _write_spend(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="cp1252", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)


def _drop(tmp: Path) -> Path:
    return tmp / "sample" / "norwich" / "spend"


def _inject(warehouse: Path, *statements: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def _gate_blocks_and_outputs_unchanged(tmp: Path, expected_suite: str, expected_column: str):
    from procure import tasks
    from procure.publish.atomic import GateNotPassed
    from procure.quality.gate import QualityGateFailed

    before = _tree_hashes(tmp / "publish")
    assert before, "the good run published nothing: the comparison would prove nothing"
    tasks.ingest_spend("bad", AS_OF)  # the bad file goes through the real loader
    tasks.build_warehouse()
    with pytest.raises(QualityGateFailed) as failed:
        tasks.quality_gate("bad", AS_OF)
    message = str(failed.value)
    assert f"[critical] {expected_suite}.{expected_column}" in message, message

    con = duckdb.connect(str(tmp / "w.duckdb"))
    try:
        recorded = con.execute(
            "select suite, column_name, observed from ops.quality_results "
            "where run_id = 'bad' and severity = 'critical' and not success"
        ).fetchall()
    finally:
        con.close()
    assert (expected_suite, expected_column) in [(r[0], r[1]) for r in recorded], recorded

    with pytest.raises(GateNotPassed):
        tasks.publish_board_packs()
    with pytest.raises(GateNotPassed):
        tasks.publish_strategy_reviews()
    assert _tree_hashes(tmp / "publish") == before


def test_amounts_times_100_fail_the_gate(copy_of_good):
    """November re-issued with pence exported as pounds: it replaces November, then the gate stops it."""
    rows, at, header = _read_spend(_drop(copy_of_good) / "norwich_spend_2024-11.csv")
    col = header.index("Amount")
    for r in rows[at + 1 :]:
        if r and r[col].strip():
            r[col] = f"{Decimal(r[col].replace(',', '').strip()) * 100:.2f}"
    _write_spend(_drop(copy_of_good) / "norwich_spend_2024-11_corrected.csv", rows)
    _gate_blocks_and_outputs_unchanged(copy_of_good, "raw_spend_months", "amount_ratio")


def test_same_month_loaded_twice_fails_the_gate(copy_of_good):
    """A re-export covering October and November arrives under another name: their payments are doubled."""
    oct_rows, oct_at, _ = _read_spend(_drop(copy_of_good) / "norwich_spend_2024-10.csv")
    nov_rows, nov_at, _ = _read_spend(_drop(copy_of_good) / "norwich_spend_2024-11.csv")
    combined = oct_rows[: oct_at + 1] + oct_rows[oct_at + 1 :] + nov_rows[nov_at + 1 :]
    _write_spend(_drop(copy_of_good) / "norwich_spend_oct-nov_reexport.csv", combined)
    _gate_blocks_and_outputs_unchanged(copy_of_good, "raw_spend_files", "overlap_share")


def test_supplier_names_missing_beyond_tolerance_fail_the_gate(copy_of_good):
    """December re-issued with one payee name in ten missing."""
    rows, at, header = _read_spend(_drop(copy_of_good) / "norwich_spend_2024-12.csv")
    col = header.index("Supplier Name")
    for i, r in enumerate(rows[at + 1 :]):
        if r and i % 10 == 0:
            r[col] = ""
    _write_spend(_drop(copy_of_good) / "norwich_spend_2024-12_v2.csv", rows)
    _gate_blocks_and_outputs_unchanged(copy_of_good, "raw_spend_files", "named_share")


def _procure_check(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    exe = Path(sys.executable).parent / "procure"
    return subprocess.run(
        [str(exe), "check", "--run-id", "cli", "--as-of", AS_OF.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_procure_check_exit_status(good, tmp_path):
    base, env = good
    # the good copy passes
    _copy_warehouse(base / "w.duckdb", tmp_path / "good.duckdb")
    ok = _procure_check(
        {**env, "PROCURE_WAREHOUSE": str(tmp_path / "good.duckdb"), "PROCURE_PUBLISH_DIR": str(tmp_path / "p1")}
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "quality gate PASSED" in ok.stdout

    # one month of fct_spend x100: non-zero exit, the reason printed
    _copy_warehouse(base / "w.duckdb", tmp_path / "bad.duckdb")
    _inject(
        tmp_path / "bad.duckdb",
        "update marts.fct_spend set amount_gbp = amount_gbp * 100 where payment_month = date '2024-07-01'",
    )
    bad = _procure_check(
        {**env, "PROCURE_WAREHOUSE": str(tmp_path / "bad.duckdb"), "PROCURE_PUBLISH_DIR": str(tmp_path / "p2")}
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "quality gate FAILED" in bad.stdout
    assert "fct_spend.amount_gbp" in bad.stdout


def test_board_pack_reports_pipeline_failures_from_the_run_summary(copy_of_good):
    """A failed task recorded in ops.task_runs for the month shows in the pack's data-quality panel."""
    from procure import tasks

    _inject(
        copy_of_good / "w.duckdb",
        "insert into ops.task_runs values ('scheduled__2024-11-05', 'ingest_finance_spend', 'load_file', 3, 1, "
        "timestamp '2024-11-05 06:00', timestamp '2024-12-05 06:00', 'failed', 1.5, null, "
        "'norwich_spend_2024-11.csv: no payment lines', timestamp '2024-11-05 06:01')",
    )
    html = Path(tasks.publish_board_packs(date(2024, 11, 1))["norwich"]).read_text(encoding="utf-8")
    panel = html[html.index("Pipeline failures this month") :]
    assert "ingest_finance_spend" in panel[:3000]
    assert "no payment lines" in panel[:3000]
    other = Path(tasks.publish_board_packs(date(2024, 12, 1))["norwich"]).read_text(encoding="utf-8")
    december = other[other.index("Pipeline failures this month") :]
    assert "ingest_finance_spend" not in december[:1500]
