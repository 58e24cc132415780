"""The DuckDB warehouse file: one writer at a time, raw and ops schemas migrated on open.

Airflow serialises writers with a one-slot pool; this module only opens connections.
The raw and ops tables the extractors write to are defined by the numbered migrations in
``procure.migrations`` (applied on every writable connection); dbt owns every other schema.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from procure.config import duckdb_memory_limit, warehouse_path
from procure.migrations import upgrade

log = logging.getLogger(__name__)

#: how long to wait for another process's lock on the warehouse file before giving up
LOCK_TIMEOUT_ENV = "PROCURE_WAREHOUSE_LOCK_TIMEOUT_S"
LOCK_TIMEOUT_DEFAULT_S = 300.0
_LOCK_HELD = re.compile(r"Could not set lock on file|Conflicting lock", re.I)
_LOCK_PID = re.compile(r"\(PID (\d+)\)")


class WarehouseBusy(RuntimeError):
    """Another process kept the warehouse file locked for longer than the lock timeout."""


def lock_timeout_s() -> float:
    value = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not value:
        return LOCK_TIMEOUT_DEFAULT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={value!r}: expected a number of seconds, 0 or more")
    return seconds


def _open(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, waiting up to ``lock_timeout_s()`` while another process holds the file.

    DuckDB allows one process to write a file (and no other process to read it meanwhile). In
    Airflow the ``duckdb_writer`` pool keeps tasks apart; this covers what the pool cannot see
    (a CLI ingest beside a DAG run, two shells): the second waits, then fails with a clear error.
    """
    timeout = lock_timeout_s()
    started = time.monotonic()
    pause = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _LOCK_HELD.search(str(exc)):
                raise
            waited = time.monotonic() - started
            holder = _LOCK_PID.search(str(exc))
            pid = holder.group(1) if holder else "unknown"
            if waited >= timeout:
                raise WarehouseBusy(
                    f"warehouse is busy: another load is running (pid {pid}) and has held {path} for the "
                    f"{timeout:g} s this process waited; try again when it ends, or raise {LOCK_TIMEOUT_ENV}"
                ) from exc
            if pause == 0.1:
                log.warning("warehouse %s is locked by pid %s: waiting up to %g s", path, pid, timeout)
            time.sleep(min(pause, max(timeout - waited, 0.01)))
            pause = min(pause * 2, 2.0)


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; when writable, create its folder and bring its raw/ops schema up to date.

    Waits for another process's lock up to ``PROCURE_WAREHOUSE_LOCK_TIMEOUT_S`` (default 300 s),
    then raises ``WarehouseBusy`` naming the process that holds it. DuckDB's memory is capped at
    ``config.duckdb_memory_limit()`` (without a cap it caches every block it reads, up to 80 % of RAM).
    """
    path = path or warehouse_path()
    limit = duckdb_memory_limit()
    if read_only:
        try:
            con = _open(path, read_only=True)
        except duckdb.ConnectionException as exc:
            # this process already holds the file read-write (e.g. dbt-duckdb inside the same
            # Airflow task or dag.test run): DuckDB allows only one configuration per file
            if "different configuration" not in str(exc):
                raise
            con = duckdb.connect(str(path))
        con.execute(f"set memory_limit = '{limit}'")
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path)
    try:
        con.execute(f"set memory_limit = '{limit}'")
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
