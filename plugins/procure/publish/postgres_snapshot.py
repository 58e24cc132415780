"""Publishing from a PostgreSQL warehouse: the tables the publishers read, snapshotted into a DuckDB file.

Why a snapshot and not publishers that speak PostgreSQL: the board pack and the strategy-review
extracts are a few hundred lines of SQL written for a DuckDB connection (``?`` parameters,
``select * exclude (...)``, ``con.sql(...).arrow()``). Porting them would mean two copies of every
query, or a dialect layer, to keep in step; a snapshot keeps one copy of the publishing code, and
what it shows is still exactly what PostgreSQL computed: each table is copied row for row with
its types mapped exactly (numeric(p,s) -> DECIMAL(p,s), text/varchar -> VARCHAR, integers, double,
boolean, date, timestamp; any other type is an error naming the column, never a lossy guess).

Which tables: the ones the publishers' SQL names (``<schema>.<table>`` in the source of the
procure.publish package, for the schemas dbt builds - every ``+schema`` of dbt_project.yml: marts,
staging, reference - and ops and raw; :func:`tables_read_by_publishers`), so a query that starts
reading another table gets it in the snapshot without a list to keep up to date. Where each comes from:

- dbt's schemas (``marts.*``, ``staging.*``, ``reference.*``): PostgreSQL, always (a table PostgreSQL
  does not have is an error: build the warehouse there);
- ``ops.*`` that PostgreSQL has: PostgreSQL (the gate's record ops.quality_runs / quality_results,
  dbt's ops.dbt_model_builds), so publishing is refused unless the latest gate run *on PostgreSQL*
  passed (the gate's tables missing there means no gate ran there: they are snapshotted empty, and
  publishing refuses as when no gate has run);
- ``raw.*`` and ops tables PostgreSQL does not have (ops.task_runs, written by the Airflow
  callbacks): the DuckDB warehouse, where ingest writes the raw layer (PostgreSQL's raw schema is
  a mirror of it), as a publish on DuckDB reads them.

Rows are streamed, never held whole: PostgreSQL's ``COPY (select ...) TO STDOUT`` (CSV) is fed
through a pipe to Arrow's streaming CSV reader, whose record batches DuckDB inserts; the DuckDB
tables go over as Arrow batches too.

Atomic: the snapshot is written to a temp file beside the last one and moved over it only when
complete; a failed snapshot raises before anything is published, so the last published outputs
and the last snapshot stay as they were. A temp file left by a killed run is removed by the next.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from procure.config import warehouse_path

log = logging.getLogger(__name__)

#: schemas outside dbt a publisher's SQL can read: the gate's and the callbacks' records, the raw layer
OPS, RAW = "ops", "raw"
TMP_PREFIX = ".tmp-"
# rows per Arrow batch from DuckDB; bytes per CSV block from PostgreSQL
BATCH_ROWS = 50_000
CSV_BLOCK_BYTES = 4 << 20


class SnapshotFailed(RuntimeError):
    """The PostgreSQL warehouse could not be snapshotted for publishing (nothing was published)."""


def dbt_schemas() -> list[str]:
    """The schemas dbt builds (every ``+schema`` in dbt_project/dbt_project.yml: staging, marts, seeds'...)."""
    from procure.config import dbt_project_dir, read_yaml

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "+schema" and isinstance(value, str):
                    found.add(value.strip())
                walk(value)

    doc = read_yaml(dbt_project_dir() / "dbt_project.yml", "dbt project file")
    walk({k: doc.get(k) for k in ("models", "seeds", "snapshots")})
    return sorted(found)


def tables_read_by_publishers() -> list[tuple[str, str]]:
    """(schema, table) of every table the publishers' SQL names in dbt's schemas, ops or raw, sorted: read
    from the source of the procure.publish package (its queries, and the docstrings describing them).
    procure.tasks.latest_month, which picks the month to publish, reads marts.mart_procurement_kpis,
    which the board pack reads too."""
    import procure.publish

    schemas = [*dbt_schemas(), OPS, RAW]
    table_ref = re.compile(r"\b(" + "|".join(map(re.escape, schemas)) + r")\.([a-z_][a-z0-9_]*)\b")
    package = Path(procure.publish.__file__).parent
    sources = sorted(package.rglob("*.py"))
    found = {m.groups() for path in sources for m in table_ref.finditer(path.read_text(encoding="utf-8"))}
    return sorted(found)


def gate_tables() -> set[tuple[str, str]]:
    """The tables the PostgreSQL quality gate records its runs in (procure.quality.gate.OPS_DDL_POSTGRES)."""
    from procure.quality.gate import OPS_DDL_POSTGRES

    return {tuple(m.split(".")) for m in re.findall(r"create table if not exists (\w+\.\w+)", OPS_DDL_POSTGRES)}


def _gate_ddl(schema: str, table: str) -> str:
    """The PostgreSQL gate's ``create table`` of ``schema.table`` (plain SQL DuckDB also runs)."""
    from procure.quality.gate import OPS_DDL_POSTGRES

    for statement in OPS_DDL_POSTGRES.split(";"):
        if f"create table if not exists {schema}.{table} " in statement:
            return statement
    raise LookupError(f"{schema}.{table} is not created by procure.quality.gate.OPS_DDL_POSTGRES")


def snapshot_path(warehouse: Path | None = None) -> Path:
    """The DuckDB file publishing reads on the PostgreSQL target: beside the warehouse file."""
    path = warehouse or warehouse_path()
    return path.parent / "postgres_publish" / f"{path.stem}.snapshot.duckdb"


# PostgreSQL type (information_schema.columns.data_type) -> (DuckDB type, Arrow type); numeric is below
_TYPES: dict[str, tuple[str, pa.DataType]] = {
    "text": ("VARCHAR", pa.string()),
    "character varying": ("VARCHAR", pa.string()),
    "character": ("VARCHAR", pa.string()),
    "smallint": ("SMALLINT", pa.int16()),
    "integer": ("INTEGER", pa.int32()),
    "bigint": ("BIGINT", pa.int64()),
    "real": ("FLOAT", pa.float32()),
    "double precision": ("DOUBLE", pa.float64()),
    "boolean": ("BOOLEAN", pa.bool_()),
    "date": ("DATE", pa.date32()),
    "timestamp without time zone": ("TIMESTAMP", pa.timestamp("us")),
}


def _column_type(where: str, data_type: str, precision: int | None, scale: int | None) -> tuple[str, pa.DataType]:
    if data_type == "numeric":
        if precision is None or not 1 <= precision <= 38:
            raise SnapshotFailed(
                f"{where}: numeric{f'({precision},{scale})' if precision else ''} has no exact DuckDB type "
                "(DECIMAL holds at most 38 digits and needs a declared precision): give the column a "
                "numeric(p,s) type in its model's contract"
            )
        return f"DECIMAL({precision},{scale or 0})", pa.decimal128(precision, scale or 0)
    if data_type not in _TYPES:
        raise SnapshotFailed(
            f"{where}: PostgreSQL type {data_type!r} is not one publishing can copy exactly "
            f"(supported: numeric(p,s), {', '.join(_TYPES)})"
        )
    return _TYPES[data_type]


def _pg_columns(cur, schema: str, table: str) -> list[tuple[str, str, pa.DataType]]:
    """(name, DuckDB type, Arrow type) of a PostgreSQL table's columns, in order; [] when it does not exist."""
    cur.execute(
        "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        [schema, table],
    )
    return [
        (name, *_column_type(f"PostgreSQL {schema}.{table}.{name}", data_type, precision, scale))
        for name, data_type, precision, scale in cur.fetchall()
    ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _pg_rows(
    pg, schema: str, table: str, columns: list[tuple[str, str, pa.DataType]]
) -> Iterator[pa.RecordBatchReader]:
    """A streaming reader of the table's rows: COPY ... TO STDOUT (CSV) into a pipe that Arrow parses.

    In PostgreSQL's CSV a NULL is an unquoted empty field and an empty string is ``""``; booleans are
    ``t``/``f``. Nothing else is read as NULL (a supplier called "NA" stays "NA").
    """
    names = [c[0] for c in columns]
    select = f"select {', '.join(map(_quote, names))} from {_quote(schema)}.{_quote(table)}"
    read_end, write_end = os.pipe()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(write_end, "wb") as sink, pg.cursor() as cur:
                cur.copy_expert(f"copy ({select}) to stdout with (format csv)", sink, size=1 << 20)
        except BaseException as exc:  # reported by the reading side
            errors.append(exc)

    source = os.fdopen(read_end, "rb")
    producer = threading.Thread(target=produce, name=f"copy {schema}.{table}", daemon=True)
    producer.start()
    try:
        if not source.peek(1):  # no rows: Arrow's CSV reader refuses an empty file
            yield pa.RecordBatchReader.from_batches(pa.schema([(n, arrow) for n, _d, arrow in columns]), [])
            return
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: arrow for name, _duck, arrow in columns},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        yield reader
    except pa.ArrowInvalid as exc:
        raise SnapshotFailed(f"PostgreSQL {schema}.{table}: rows could not be read back exactly: {exc}") from exc
    finally:
        source.close()  # a producer still writing gets a broken pipe and ends
        producer.join()
        if errors and not isinstance(errors[0], BrokenPipeError):
            raise SnapshotFailed(f"PostgreSQL {schema}.{table}: COPY failed: {errors[0]}") from errors[0]


def _copy_from_postgres(pg, snap: duckdb.DuckDBPyConnection, schema: str, table: str, columns) -> None:
    ddl = ", ".join(f"{_quote(name)} {duck}" for name, duck, _arrow in columns)
    snap.execute(f"create table {schema}.{_quote(table)} ({ddl})")
    with _pg_rows(pg, schema, table, columns) as reader:
        snap.register("pg_rows", reader)
        try:
            snap.execute(f"insert into {schema}.{_quote(table)} select * from pg_rows")
        finally:
            snap.unregister("pg_rows")


def _copy_from_duckdb(duck: duckdb.DuckDBPyConnection, snap: duckdb.DuckDBPyConnection, schema: str, table: str):
    reader = duck.sql(f"select * from {schema}.{_quote(table)}").to_arrow_reader(BATCH_ROWS)
    snap.register("duck_rows", reader)
    try:
        snap.execute(f"create table {schema}.{_quote(table)} as select * from duck_rows")
    finally:
        snap.unregister("duck_rows")


def _duckdb_tables(duck: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = duck.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
    ).fetchall()
    return {(s, t) for s, t in rows}


def snapshot_for_publishing(warehouse: Path | None = None, dsn: str | None = None) -> Path:
    """Snapshot what the publishers read (module docstring) into :func:`snapshot_path`; return that path."""
    import psycopg2

    from procure.orphans import scratch_prefix, sweep
    from procure.transform.postgres_mirror import pg_dsn
    from procure.warehouse import connect

    target = snapshot_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep(target.parent, TMP_PREFIX)
    tmp = target.with_name(f"{scratch_prefix(TMP_PREFIX)}{target.name}")
    wanted = tables_read_by_publishers()
    counts: dict[str, int] = {}
    try:
        pg = psycopg2.connect(dsn or pg_dsn())
    except psycopg2.OperationalError as exc:
        raise SnapshotFailed(f"cannot reach the PostgreSQL warehouse (PROCURE_PG_*): {exc}".strip()) from exc
    duck = connect(warehouse, read_only=True)
    snap = duckdb.connect(str(tmp))
    try:
        pg.set_session(readonly=True, isolation_level="REPEATABLE READ")  # one consistent view of every table
        pg.set_client_encoding("UTF8")
        in_duckdb = _duckdb_tables(duck)
        for schema in sorted({schema for schema, _table in wanted}):
            snap.execute(f"create schema if not exists {_quote(schema)}")
        for schema, table in wanted:
            with pg.cursor() as cur:
                columns = _pg_columns(cur, schema, table) if schema != RAW else []
            if columns:
                _copy_from_postgres(pg, snap, schema, table, columns)
                source = "postgres"
            elif (schema, table) in gate_tables():
                # no gate ever ran on PostgreSQL: its tables, empty, so publishing refuses ("none has run")
                snap.execute(_gate_ddl(schema, table))
                source = "postgres (no gate run there)"
            elif schema not in (OPS, RAW):
                raise SnapshotFailed(
                    f"PostgreSQL has no {schema}.{table}, which publishing reads: build the warehouse there "
                    "(`procure build --target postgres`); published outputs were left untouched"
                )
            elif (schema, table) in in_duckdb:
                _copy_from_duckdb(duck, snap, schema, table)
                source = "duckdb"
            else:
                continue  # named by a publisher, in neither warehouse: its query reports it if it runs
            counts[f"{schema}.{table} ({source})"] = snap.execute(
                f"select count(*) from {schema}.{_quote(table)}"
            ).fetchall()[0][0]
        pg.rollback()
        snap.execute("checkpoint")
        snap.close()
        tmp.replace(target)
    except BaseException:
        snap.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    finally:
        pg.close()
        duck.close()
    log.info("PostgreSQL warehouse snapshotted for publishing into %s: %s", target, counts)
    return target
