"""What the OCDS loaders share: reading OCDS timestamps and inserting dict rows into raw tables.

A module of its own so the loaders (notices_loader, ocds_records, ocds_validate) import it,
and not each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def ocds_timestamp(value: Any) -> datetime | None:
    """An OCDS date-time as a naive datetime (offset dropped); None when missing or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def insert_rows(con, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows (same keys) in one statement through Arrow: executemany runs per row."""
    if not rows:
        return
    import pyarrow as pa

    cols = list(rows[0])
    try:
        batch = pa.table({c: pa.array([r[c] for r in rows]) for c in cols})  # noqa: F841 - read by DuckDB below
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed Python types in a column (e.g. a flag given as text): let DuckDB cast row by row
        con.executemany(
            f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [[r[c] for c in cols] for r in rows],
        )
        return
    con.execute(f"insert into {table} ({', '.join(cols)}) select {', '.join(cols)} from batch")
