"""The one resolver of the warehouse target (PROCURE_DBT_TARGET) and what reads it without a server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from procure.config import ConfigError, warehouse_target


@pytest.mark.parametrize("value", ["Postgres", "postgresql", " duckdb", "snowflake"])
def test_an_unknown_target_names_the_variable_and_the_choices(monkeypatch, value):
    monkeypatch.setenv("PROCURE_DBT_TARGET", value)
    with pytest.raises(ConfigError) as err:
        warehouse_target()
    assert str(err.value) == f"PROCURE_DBT_TARGET={value!r}: expected one of duckdb, postgres (unset means duckdb)"


def test_unset_or_empty_means_duckdb_and_postgres_is_read(monkeypatch):
    monkeypatch.delenv("PROCURE_DBT_TARGET", raising=False)
    assert warehouse_target() == "duckdb"
    monkeypatch.setenv("PROCURE_DBT_TARGET", "")
    assert warehouse_target() == "duckdb"
    monkeypatch.setenv("PROCURE_DBT_TARGET", "postgres")
    assert warehouse_target() == "postgres"


def test_the_cli_reports_a_bad_target_as_a_usage_error(monkeypatch):
    from procure.cli import main

    monkeypatch.setenv("PROCURE_DBT_TARGET", "bigquery")
    result = CliRunner().invoke(main, ["check", "--as-of", "2025-04-05"])
    assert result.exit_code == 1
    assert "PROCURE_DBT_TARGET='bigquery': expected one of duckdb, postgres" in result.output


def test_publishing_snapshots_every_table_the_publishers_query():
    """Derived from the publishers' SQL: the marts and the seed/staging tables the pack reads, the gate's
    record, and the raw tables it lists files from."""
    from procure.publish.postgres_snapshot import gate_tables, tables_read_by_publishers

    tables = tables_read_by_publishers()
    assert ("marts", "mart_procurement_kpis") in tables and ("marts", "fct_spend") in tables
    assert {("reference", "kpi_targets"), ("staging", "stg_contracts_finder__awards")} <= set(tables)
    assert gate_tables() == {("ops", "quality_runs"), ("ops", "quality_results")} <= set(tables)
    assert ("raw", "spend_files") in tables


def test_snapshot_types_are_exact_or_refused():
    import pyarrow as pa

    from procure.publish.postgres_snapshot import SnapshotFailed, _column_type

    assert _column_type("t.c", "numeric", 18, 2) == ("DECIMAL(18,2)", pa.decimal128(18, 2))
    assert _column_type("t.c", "timestamp without time zone", None, None)[0] == "TIMESTAMP"
    with pytest.raises(SnapshotFailed, match=r"marts.x.amount: numeric has no exact DuckDB type"):
        _column_type("marts.x.amount", "numeric", None, None)
    with pytest.raises(SnapshotFailed, match=r"marts.x.tags: PostgreSQL type 'ARRAY'"):
        _column_type("marts.x.tags", "ARRAY", None, None)
