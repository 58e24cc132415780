"""Numbered raw/ops migrations: a warehouse upgraded from any earlier version, or made by 0.1.0
before versions were recorded, ends with exactly the schema of a new one and keeps its rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from procure.migrations import MigrationError, current_version, latest_version, migrations, upgrade
from procure.warehouse import connect

FIXTURE_0_1_0 = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse_0_1_0.sql"


def _schema(path: Path) -> dict[str, object]:
    """Every raw/ops column with its type, nullability and default; primary keys; view definitions."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type, is_nullable, column_default "
            "from information_schema.columns where table_schema in ('raw', 'ops') "
            "order by table_schema, table_name, column_name"
        ).fetchall()
        keys = con.execute(
            "select schema_name, table_name, constraint_type, constraint_column_names::varchar "
            "from duckdb_constraints() where schema_name in ('raw', 'ops') and constraint_type in ('PRIMARY KEY', "
            "'UNIQUE') order by all"
        ).fetchall()
        views = con.execute(
            "select schema_name, view_name, sql from duckdb_views() where schema_name in ('raw', 'ops') order by all"
        ).fetchall()
    finally:
        con.close()
    return {"columns": columns, "keys": keys, "views": views}


@pytest.fixture(scope="module")
def new_schema(tmp_path_factory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("new") / "w.duckdb"
    connect(path).close()
    return _schema(path)


def test_a_new_warehouse_records_every_migration_in_order(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    try:
        recorded = con.execute("select version, name from ops.schema_version order by version").fetchall()
        assert current_version(con) == latest_version() >= 2
    finally:
        con.close()
    assert recorded == [(m.version, m.name) for m in migrations()]


def test_opening_again_applies_nothing(tmp_path):
    connect(tmp_path / "w.duckdb").close()
    con = connect(tmp_path / "w.duckdb")
    try:
        assert upgrade(con) == []
        rows = con.execute("select count(*) from ops.schema_version").fetchall()[0][0]
    finally:
        con.close()
    assert rows == latest_version()


@pytest.mark.parametrize("start", range(1, latest_version()))
def test_upgrading_from_each_earlier_version_gives_the_schema_of_a_new_warehouse(tmp_path, new_schema, start):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    try:
        assert len(upgrade(con, target=start)) == start
    finally:
        con.close()
    connect(path).close()
    assert _schema(path) == new_schema


def test_a_warehouse_made_by_0_1_0_is_upgraded_and_keeps_its_rows(tmp_path, new_schema):
    """0.1.0 (commit 7722756) created its tables ad hoc and recorded no version."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(FIXTURE_0_1_0.read_text(encoding="utf-8"))
        con.execute("insert into raw.councils values ('norwich', 'Norwich City Council', 'NR1', 4, 'NORWICH', null)")
        con.execute(
            "insert into raw.spend_manifest values ('norwich', 'abc', 'a.csv', '/drop/a.csv', '/landing/a.csv', 10, "
            "null, 'utf-8', ',', 1, '{}', '{}', 2, 1, 1, 0, 0, 0, 0, 12.50, date '2025-03-01', date '2025-03-31', "
            "'2025-03', 'loaded', null, null, 'run-1', timestamp '2025-04-05 06:00')"
        )
        con.execute(
            "insert into ops.quality_runs values ('run-1', timestamp '2025-04-05', true, 0, 0, 'ok', "
            "timestamp '2025-04-05 07:00')"
        )
    finally:
        con.close()

    con = connect(path)
    try:
        assert current_version(con) == latest_version()
        files = con.execute("select council_id, source_file, accepted, rejected from raw.spend_files").fetchall()
        council = con.execute("select council_name, buyer_names from raw.councils").fetchall()
        runs = con.execute("select run_id, passed from ops.quality_runs").fetchall()
    finally:
        con.close()
    assert files == [("norwich", "a.csv", 1, 1)]
    assert council == [("Norwich City Council", "NORWICH")]
    assert runs == [("run-1", True)]
    assert _schema(path) == new_schema


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_a_failed_migration_leaves_the_warehouse_at_the_version_before_it(tmp_path):
    folder = _write(
        tmp_path / "m",
        {
            "0001_first.sql": "create schema if not exists raw; create table raw.a (x integer);",
            "0002_broken.sql": "create table raw.b (x integer); alter table raw.missing add column y integer;",
        },
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        with pytest.raises(MigrationError, match=r"0002_broken\.sql failed; the warehouse stays at version 1"):
            upgrade(con, directory=folder)
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
        assert current_version(con) == 1
    finally:
        con.close()
    assert tables == [("a",)]  # raw.b rolled back with the failed migration


def test_python_migrations_run_their_upgrade_function(tmp_path):
    folder = _write(
        tmp_path / "m",
        {
            "0001_table.sql": "create schema if not exists raw; create table raw.a (x integer);",
            "0002_rows.py": "def upgrade(con):\n    con.execute('insert into raw.a values (1), (2)')\n",
        },
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        assert upgrade(con, directory=folder) == ["0001_table.sql", "0002_rows.py"]
        assert con.execute("select sum(x) from raw.a").fetchall() == [(3,)]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["0001_a.sql", "0001_b.sql"], "expected 0002, found 0001_a.sql, 0001_b.sql"),
        (["0001_a.sql", "0003_c.sql"], "expected 0002, found 0003_c.sql"),
    ],
)
def test_migration_numbers_run_without_repeats_or_gaps(tmp_path, names, message):
    folder = _write(tmp_path / "m", dict.fromkeys(names, "select 1;"))
    with pytest.raises(MigrationError, match=message):
        migrations(folder)


def test_a_warehouse_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "insert into ops.schema_version values (?, 'from the future', ?)",
            [latest_version() + 1, datetime(2030, 1, 1)],
        )
    finally:
        con.close()
    with pytest.raises(MigrationError, match="newer than this code knows"):
        connect(path)
