"""Read-only SQL against the warehouse for analysts (`procure query "select ..."`).

DuckDB allows one writer per file, and a writer locks readers out of other processes: a
read-only connection never blocks a build by itself, but it cannot open the file while a
build (or an ingest) holds it. PostgreSQL runs the query in a read-only transaction.

The DuckDB connection can read the warehouse and nothing else: external access is off
(no ``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH``, extensions or URLs) and the
configuration is locked, so the query cannot switch it back on. ``--csv`` output goes
through the extracts' formula neutralising (``procure.publish.safety.neutralise``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from procure.config import warehouse_path
from procure.publish.safety import neutralise

#: settings of the DuckDB connection `procure query` runs on: the warehouse file and nothing else
SANDBOX = {"enable_external_access": False, "lock_configuration": True}


class QueryError(RuntimeError):
    """The query could not run: the message says why and what to do."""


def run_query(sql: str, target: str = "duckdb", warehouse: Path | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read-only query; return (column names, rows)."""
    if target == "postgres":
        return _run_postgres(sql)
    import duckdb

    path = warehouse or warehouse_path()
    if not path.exists():
        raise QueryError(f"warehouse {path} does not exist: run `procure build` first (or set PROCURE_WAREHOUSE)")
    try:
        con = duckdb.connect(str(path), read_only=True, config=SANDBOX)
    except duckdb.IOException as exc:
        raise QueryError(
            f"warehouse {path} is open for writing by another process (a build or ingest is running; "
            f"DuckDB allows one writer and no readers beside it): try again when it ends. ({exc})"
        ) from exc
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall() if columns else []
    except duckdb.Error as exc:
        raise QueryError(f"query failed on {path}: {exc}") from exc
    finally:
        con.close()
    return columns, rows


def _run_postgres(sql: str) -> tuple[list[str], list[tuple]]:
    import psycopg2

    from procure.transform.postgres_mirror import pg_dsn

    con = psycopg2.connect(pg_dsn())
    try:
        con.set_session(readonly=True)
        with con.cursor() as cur:
            cur.execute(sql)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchall() if columns else []
    except psycopg2.Error as exc:
        raise QueryError(f"query failed on PostgreSQL: {str(exc).strip()}") from exc
    finally:
        con.rollback()
        con.close()
    return columns, rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def format_csv(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    """CSV for a spreadsheet: text that a spreadsheet would run as a formula is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(c) for c in columns])
    writer.writerows([neutralise(_text(v)) for v in row] for row in rows)
    return out.getvalue()


def format_table(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    """Aligned plain-text table; numbers right-aligned, nulls shown as NULL."""
    cells = [[("NULL" if v is None else _text(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return " | ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    parts = [line(list(columns)), "-+-".join("-" * w for w in widths)]
    parts += [line(r) for r in cells]
    parts.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(parts)
