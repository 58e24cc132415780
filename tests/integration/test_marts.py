"""The marts on a real DuckDB file built from the sample data: incremental fct_spend, reconciliation,
documentation of every mart column, and read-only `procure query`.

One module-scoped warehouse is built once (ingest + dbt build, ~30 s) and shared by the tests, which
run in file order; tests that change it put it back as they found it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import MARTS, write_config


def _procure(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed `procure` command in its own process, as an analyst or a DAG task runs it.

    Its own process also means no DuckDB handle lingers in the test process (dbt-duckdb keeps one).
    """
    procure = Path(sys.executable).parent / "procure"
    return subprocess.run(
        [str(procure), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600
    )


def _build(*args: str) -> None:
    result = _procure("build", *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_dir) -> dict[str, Path]:
    """A warehouse of its own, ingested from the sample data and built once."""
    base = tmp_path_factory.mktemp("marts")
    paths = {
        "warehouse": base / "warehouse" / "procurement.duckdb",
        "config": write_config(base / "councils.yml", sample_dir),
        "dbt_target": base / "dbt_target",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCURE_WAREHOUSE", str(paths["warehouse"]))
        mp.setenv("PROCURE_PUBLISH_DIR", str(base / "publish"))
        mp.setenv("PROCURE_LANDING_DIR", str(base / "landing"))
        mp.setenv("PROCURE_CONFIG", str(paths["config"]))
        mp.setenv("DBT_TARGET_PATH", str(paths["dbt_target"]))
        mp.setenv("DBT_LOG_PATH", str(base / "dbt_logs"))
        ingested = _procure("ingest", "all", "--as-of", "2025-04-05")
        assert ingested.returncode == 0, ingested.stderr[-3000:]
        _build("--unit-tests")  # the suite's one DuckDB run of dbt's unit tests (production builds leave them out)
        yield paths


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _write(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def _mart_digests(path: Path) -> dict[str, tuple]:
    return {
        t: _query(
            path,
            f"select count(*), md5(string_agg(cast(r as varchar), '|' order by cast(r as varchar))) from marts.{t} r",
        )[0]
        for t in MARTS
    }


def _files(path: Path) -> list[str]:
    return [r[0] for r in _query(path, "select distinct source_file from marts.fct_spend order by 1")]


# ----------------------------------------------------------------------------- the marts exist


def test_every_mart_is_built_and_not_empty(built):
    for mart, (rows, _) in _mart_digests(built["warehouse"]).items():
        assert rows > 0, f"marts.{mart} is empty"


def test_money_is_decimal_never_float(built):
    cols = _query(
        built["warehouse"],
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and (column_name like '%_gbp' or column_name = 'amount_gbp')",
    )
    assert cols, "no money columns found"
    # a rate per pound (factor_kgco2e_per_gbp) is not an amount of money
    wrong = [c for c in cols if c[2] != "DECIMAL(18,2)" and not c[1].endswith("_per_gbp")]
    assert not wrong, wrong


# ----------------------------------------------------------------------------- incremental fct_spend


def test_fct_spend_rebuilds_only_changed_files_and_a_rerun_changes_nothing(built):
    """A marker written into fct_spend rows survives a rebuild unless their file changed.

    A changed build_fingerprint is what a replaced month (new SHA-256) or a changed supplier,
    category or contract looks like to the incremental build.
    """
    path = built["warehouse"]
    before = _mart_digests(path)
    first, second, *_ = _files(path)
    _write(
        path,
        f"update marts.fct_spend set transaction_number = 'MARKER' where source_file in ('{first}', '{second}')",
        f"update marts.fct_spend set build_fingerprint = 'replaced' where source_file = '{second}'",
    )
    _build()
    marked = dict(
        _query(path, "select source_file, count(*) from marts.fct_spend where transaction_number = 'MARKER' group by 1")
    )
    assert second not in marked, "the replaced file was not rebuilt"
    assert marked.get(first, 0) > 0, "a file whose inputs did not change was rebuilt"
    # put it back the same way: the rebuilt file is exactly what a full build gave
    _write(path, f"update marts.fct_spend set build_fingerprint = 'stale' where source_file = '{first}'")
    _build()
    assert _mart_digests(path) == before


def test_fct_spend_drops_a_file_no_longer_loaded_and_full_refresh_agrees(built):
    """Removing a file's raw lines removes its payments; an incremental run equals a full refresh."""
    path = built["warehouse"]
    *_, last = _files(path)
    keep = "create table raw.kept_lines as select * from raw.spend_lines where source_file = '{f}'"
    manifest = "raw.spend_manifest set rows_loaded = {n}, amount_total_gbp = {a} where source_file = '{f}'"
    _write(
        path,
        keep.format(f=last),
        f"delete from raw.spend_lines where source_file = '{last}'",
        "update " + manifest.format(n=0, a=0, f=last),
    )
    try:
        _build()
        assert last not in _files(path)
        incremental = _mart_digests(path)
        _build("--full-refresh")
        assert _mart_digests(path) == incremental
    finally:
        _write(
            path,
            "insert into raw.spend_lines select * from raw.kept_lines",
            "update "
            + manifest.format(
                n="(select count(*) from raw.kept_lines)", a="(select sum(amount_gbp) from raw.kept_lines)", f=last
            ),
            "drop table raw.kept_lines",
        )
        _build()
    assert last in _files(path)


# ----------------------------------------------------------------------------- reconciliation


def _dbt(*args: str) -> subprocess.CompletedProcess:
    from procure.config import dbt_project_dir

    dbt = Path(sys.executable).parent / "dbt"
    project = str(dbt_project_dir())
    return subprocess.run(
        [str(dbt), *args, "--project-dir", project, "--profiles-dir", project],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reconciliation_test_fails_when_the_manifest_disagrees(built):
    """The singular test is live: a manifest total one penny out fails it (one file disagrees)."""
    path = built["warehouse"]
    first, *_ = _files(path)
    total = "update raw.spend_manifest set amount_total_gbp = amount_total_gbp {op} 0.01 where source_file = '{f}'"
    _write(path, total.format(op="+", f=first))
    try:
        failed = _dbt("test", "--select", "assert_fct_spend_reconciles_per_file")
        assert failed.returncode != 0, failed.stdout[-2000:]
        assert "FAIL 1 assert_fct_spend_reconciles_per_file" in failed.stdout, failed.stdout[-2000:]
    finally:
        _write(path, total.format(op="-", f=first))
    passed = _dbt("test", "--select", "assert_fct_spend_reconciles_per_file")
    assert passed.returncode == 0, passed.stdout[-2000:]


def test_kpis_add_up_to_fct_spend_and_quarantine(built):
    path = built["warehouse"]
    kpi_total, kpi_quarantined = _query(
        path, "select sum(total_spend_gbp), sum(rows_quarantined) from marts.mart_procurement_kpis"
    )[0]
    assert kpi_total == _query(path, "select sum(amount_gbp) from marts.fct_spend")[0][0]
    quarantined = _query(
        path,
        "select count(*) from raw.spend_quarantine q join raw.spend_files f using (council_id, file_sha256) "
        "where f.first_payment_date is not null",
    )[0][0]
    assert kpi_quarantined == quarantined
    rag = {r[0] for r in _query(path, "select distinct on_contract_share_rag from marts.mart_procurement_kpis")}
    assert rag <= {"green", "amber", "red", None} and rag - {None}


# ----------------------------------------------------------------------------- documentation


def test_docs_generate_and_every_mart_column_is_described(built):
    """`dbt docs generate` works, and every column the catalog finds in a mart has a description."""
    generated = _dbt("docs", "generate")
    assert generated.returncode == 0, generated.stdout[-3000:]
    catalog = json.loads((built["dbt_target"] / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((built["dbt_target"] / "manifest.json").read_text(encoding="utf-8"))
    marts = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    assert {node["name"] for node in marts.values()} >= set(MARTS)
    missing = []
    for uid, node in marts.items():
        assert node["description"].strip(), f"{node['name']}: no model description"
        assert node["config"]["contract"]["enforced"], f"{node['name']}: contract not enforced"
        in_db = catalog["nodes"][uid]["columns"]
        described = {name.lower(): col for name, col in node["columns"].items()}
        for column in in_db:
            col = described.get(column.lower())
            if col is None or not (col.get("description") or "").strip():
                missing.append(f"{node['name']}.{column}")
    assert not missing, f"mart columns without a description: {missing}"
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"board_pack", "strategy_review_extracts"} <= set(exposures)


# ----------------------------------------------------------------------------- procure query


def test_query_prints_a_table_and_csv_read_only(built):
    env = {"PROCURE_WAREHOUSE": str(built["warehouse"])}
    sql = "select council_id, count(*) as months from marts.mart_procurement_kpis group by 1"
    table = _procure("query", sql, env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["council_id", "|", "months"]
    assert lines[2].split() == ["norwich", "|", "12"] and lines[-1] == "(1 row)"
    as_csv = _procure("query", "--csv", sql, env=env)
    assert as_csv.stdout == "council_id,months\nnorwich,12\n", as_csv.stderr
    before = _query(built["warehouse"], "select count(*) from marts.fct_spend")[0][0]
    refused = _procure("query", "delete from marts.fct_spend", env=env)
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower(), refused.stderr
    assert _query(built["warehouse"], "select count(*) from marts.fct_spend")[0][0] == before


def test_query_names_the_missing_warehouse(tmp_path):
    missing = tmp_path / "nope.duckdb"
    result = _procure("query", "select 1", env={"PROCURE_WAREHOUSE": str(missing)})
    assert result.returncode != 0 and str(missing) in result.stderr
    assert not missing.exists()


def test_query_table_and_csv_formats():
    from decimal import Decimal

    from procure.query import format_csv, format_table

    rows = [("a", Decimal("1.50"), None), ("bbb", Decimal("-20.00"), "x")]
    assert format_table(["name", "amount_gbp", "note"], rows).splitlines() == [
        "name | amount_gbp | note",
        "-----+------------+-----",
        "a    |       1.50 | NULL",
        "bbb  |     -20.00 | x",
        "(2 rows)",
    ]
    assert format_csv(["name", "amount_gbp", "note"], rows) == "name,amount_gbp,note\na,1.50,\nbbb,-20.00,x\n"
