"""Copy the raw layer from the DuckDB warehouse into PostgreSQL, so dbt can build the same
marts there (``procure build --target postgres``).

The extractors write DuckDB; a council that runs its warehouse on PostgreSQL mirrors the
raw schema after each load. Tables are replaced whole inside one PostgreSQL transaction.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path

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


def mirror_raw_to_postgres(warehouse: Path | None = None, dsn: str | None = None) -> dict[str, int]:
    """Replace PostgreSQL's raw.* tables with the DuckDB warehouse's; return row counts."""
    import psycopg2

    duck = connect(warehouse, read_only=True)
    pg = psycopg2.connect(dsn or pg_dsn())
    counts: dict[str, int] = {}
    try:
        with pg, pg.cursor() as cur:
            cur.execute("create schema if not exists raw")
            for table in RAW_TABLES:
                columns = duck.execute(f"describe raw.{table}").fetchall()
                names = [c[0] for c in columns]
                ddl = ", ".join(f'"{c[0]}" {_pg_type(c[1])}' for c in columns)
                cur.execute(f"drop table if exists raw.{table} cascade")
                cur.execute(f"create table raw.{table} ({ddl})")
                # DuckDB -> CSV in memory -> COPY: exact decimals, no float round trip
                buf = io.StringIO()
                rows = duck.sql(f"select * from raw.{table}").fetchall()
                writer = csv.writer(buf)
                for row in rows:
                    writer.writerow(["\\N" if v is None else v for v in row])
                buf.seek(0)
                cur.copy_expert(
                    f"copy raw.{table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                    "from stdin with (format csv, null '\\N')",
                    buf,
                )
                counts[table] = len(rows)
    finally:
        pg.close()
        duck.close()
    log.info("mirrored raw layer to PostgreSQL: %s", counts)
    return counts
