"""Copy the raw layer from the DuckDB warehouse into PostgreSQL, so dbt can build the same
marts there (``procure build --target postgres``).

The extractors write DuckDB; a council that runs its warehouse on PostgreSQL mirrors the
raw schema after each load. Tables are replaced whole inside one PostgreSQL transaction.

Rows are streamed: DuckDB hands over Arrow record batches, each is written as CSV and fed to
``COPY ... FROM STDIN`` as PostgreSQL reads, so memory holds one batch whatever the table's
size. Values go over as text, exactly: decimals as written (no float round trip), every
string quoted (so an empty string stays empty, a NULL is the unquoted empty field).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from procure.warehouse import connect

log = logging.getLogger(__name__)

RAW_TABLES = (
    "councils",
    "spend_files",
    "spend_lines",
    "spend_quarantine",
    "contracts",
    "contracts_quarantine",
    "notice_releases",
    "notice_parties",
    "notice_awards",
    "supplier_name_matches",  # written by procure.transform.supplier_match before dbt
)


def pg_dsn() -> str:
    """libpq connection string from the same PROCURE_PG_* variables profiles.yml reads."""
    parts = {
        "host": os.environ.get("PROCURE_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("PROCURE_PG_PORT", "5432"),
        "user": os.environ.get("PROCURE_PG_USER", "postgres"),
        "dbname": os.environ.get("PROCURE_PG_DATABASE", "procurement"),
    }
    if os.environ.get("PROCURE_PG_PASSWORD"):
        parts["password"] = os.environ["PROCURE_PG_PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items())


# rows per record batch streamed from DuckDB into COPY (a few MB of CSV for raw.spend_lines)
BATCH_ROWS = 20_000
# a scan needs little memory; without a limit DuckDB keeps every block it read cached (80% of RAM)
DUCKDB_MEMORY_LIMIT = "256MB"


def _pg_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return t.replace("DECIMAL", "numeric")
    return {
        "VARCHAR": "text",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "DOUBLE": "double precision",
    }.get(t, "text")


class _CsvStream:
    """A file-like COPY source that renders the DuckDB result to CSV one batch per ``read``.

    psycopg2's ``copy_expert`` sends whatever each ``read`` returns, so a batch is encoded
    only when PostgreSQL is ready for it and dropped once sent.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch]):
        self._batches = batches
        # quoting_style="needed" quotes every string (empty string -> ""), leaves NULL unquoted empty
        self._options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        self.rows = 0

    def read(self, size: int = -1) -> bytes:
        for batch in self._batches:
            if batch.num_rows:
                sink = io.BytesIO()
                pacsv.write_csv(_plain_strings(batch), sink, self._options)
                self.rows += batch.num_rows
                return sink.getvalue()
        return b""


def _plain_strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Arrow's CSV writer takes no string views (DuckDB can be set to produce them)."""
    if not any(pa.types.is_string_view(f.type) for f in batch.schema):
        return batch
    fields = [pa.field(f.name, pa.large_string()) if pa.types.is_string_view(f.type) else f for f in batch.schema]
    return batch.cast(pa.schema(fields))


def _select_for_copy(table: str, columns: list[tuple]) -> str:
    """The DuckDB query whose Arrow batches become the COPY input: columns PostgreSQL stores
    as text (types not mapped in ``_pg_type``) are cast to text by DuckDB."""
    exprs = []
    for name, duck_type, *_ in columns:
        quoted = f'"{name}"'
        if _pg_type(duck_type) == "text" and duck_type.upper() != "VARCHAR":
            exprs.append(f"cast({quoted} as varchar) as {quoted}")
        else:
            exprs.append(quoted)
    return f"select {', '.join(exprs)} from raw.{table}"


def _copy_table(duck, cur, table: str, columns: list[tuple]) -> int:
    """Stream one DuckDB table into the (new, empty) PostgreSQL table; return rows copied."""
    names = ", ".join(f'"{c[0]}"' for c in columns)
    reader = duck.sql(_select_for_copy(table, columns)).to_arrow_reader(BATCH_ROWS)
    source = _CsvStream(iter(reader))
    cur.copy_expert(f"copy raw.{table} ({names}) from stdin with (format csv)", source, size=1 << 20)
    return source.rows


def mirror_raw_to_postgres(warehouse: Path | None = None, dsn: str | None = None) -> dict[str, int]:
    """Replace PostgreSQL's raw.* tables with the DuckDB warehouse's; return row counts."""
    import psycopg2

    duck = connect(warehouse, read_only=True)
    # the setting belongs to the database instance, which this process may share: put it back
    memory_limit = duck.execute("select current_setting('memory_limit')").fetchall()[0][0]
    duck.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    pg = psycopg2.connect(dsn or pg_dsn())
    pg.set_client_encoding("UTF8")  # the CSV is UTF-8 whatever the server's default
    counts: dict[str, int] = {}
    try:
        with pg, pg.cursor() as cur:
            cur.execute("create schema if not exists raw")
            for table in RAW_TABLES:
                columns = duck.execute(f"describe raw.{table}").fetchall()
                ddl = ", ".join(f'"{c[0]}" {_pg_type(c[1])}' for c in columns)
                cur.execute(f"drop table if exists raw.{table} cascade")
                cur.execute(f"create table raw.{table} ({ddl})")
                counts[table] = _copy_table(duck, cur, table, columns)
                # statistics now, in the same transaction: dbt reads these tables next, before autovacuum
                # would get to them, and without statistics the planner guesses its joins
                cur.execute(f"analyze raw.{table}")
    finally:
        pg.close()
        duck.execute(f"set memory_limit = '{memory_limit}'")
        duck.close()
    log.info("mirrored raw layer to PostgreSQL: %s", counts)
    return counts
