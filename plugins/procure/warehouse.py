"""The DuckDB warehouse file: one writer at a time, raw and ops schemas migrated on open.

Airflow serialises writers with a one-slot pool; this module only opens connections.
The raw and ops tables the extractors write to are defined by the numbered migrations in
``procure.migrations`` (applied on every writable connection); dbt owns every other schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from procure.config import warehouse_path
from procure.migrations import upgrade


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; when writable, create its folder and bring its raw/ops schema up to date."""
    path = path or warehouse_path()
    if read_only:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException as exc:
            # this process already holds the file read-write (e.g. dbt-duckdb inside the same
            # Airflow task or dag.test run): DuckDB allows only one configuration per file
            if "different configuration" not in str(exc):
                raise
            return duckdb.connect(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        upgrade(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def transaction(
    path: Path | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection inside one transaction: all of it lands, or none of it.

    ``con``: an open warehouse connection to run the transaction on (it stays open), so a
    loop over many files pays for opening the file, the DDL and the closing checkpoint once.
    """
    own = con is None
    if con is None:
        con = connect(path)
    try:
        con.execute("begin transaction")
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        if own:
            con.close()
