"""Numbered migrations for the warehouse's raw and ops schemas (dbt owns every other schema).

A change to a raw or ops table is a new file in this folder, never an edit to one that has
shipped (warehouses that ran it exist):

- ``NNNN_what_changes.sql``: statements separated by ``;``, e.g.
  ``alter table raw.spend_manifest add column replaces varchar;``
- ``NNNN_what_changes.py``: a function ``upgrade(con)`` when the change needs a condition.

``NNNN`` is the next free number. ``upgrade`` (called by ``procure.warehouse.connect`` on every
writable connection) applies each migration newer than the warehouse's version, each in its
own transaction together with its row in ``ops.schema_version``, so a failed migration leaves
the warehouse at the version before it. ``tests/unit/test_warehouse_migrations.py`` checks that
a warehouse upgraded from any earlier version, and one made by 0.1.0 (before versions were
recorded), ends with exactly the schema of a new one.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")

VERSION_DDL = """
create schema if not exists ops;
create table if not exists ops.schema_version (
    version integer primary key,
    name varchar not null,                    -- the migration's file name
    applied_at timestamp not null             -- wall clock (UTC), for the record only
);
"""


class MigrationError(RuntimeError):
    """The warehouse cannot be brought to this code's schema; the message says which migration and why."""


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.path.suffix == ".sql":
            con.execute(self.path.read_text(encoding="utf-8"))
            return
        spec = importlib.util.spec_from_file_location(f"procure.migrations.m{self.path.stem}", self.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.upgrade(con)


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in version order; numbers must run 1, 2, 3, ... without gaps or repeats."""
    found = sorted(
        (Migration(int(m.group(1)), path) for path in directory.iterdir() if (m := _NAME.match(path.name))),
        key=lambda m: m.version,
    )
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            names = ", ".join(m.name for m in found if m.version in (expected, migration.version))
            raise MigrationError(
                f"{directory}: migration numbers must run 1, 2, 3, ... once each; "
                f"expected {expected:04d}, found {names} (renumber the newest)"
            )
    return found


def latest_version(directory: Path = MIGRATIONS_DIR) -> int:
    return len(migrations(directory))


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The warehouse's schema version: 0 for a new warehouse or one made before versions were recorded."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("select coalesce(max(version), 0) from ops.schema_version").fetchall()[0][0]


def upgrade(con: duckdb.DuckDBPyConnection, target: int | None = None, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations after the warehouse's version up to ``target`` (default: all); returns their names."""
    todo = migrations(directory)
    target = len(todo) if target is None else target
    version = current_version(con)
    if version > len(todo):
        raise MigrationError(
            f"the warehouse is at schema version {version}, newer than this code knows ({len(todo)}): "
            "upgrade procure, or point PROCURE_WAREHOUSE at a warehouse this version made"
        )
    applied = []
    for migration in todo[version:target]:
        con.execute("begin transaction")
        try:
            con.execute(VERSION_DDL)
            migration.apply(con)
            con.execute(
                "insert into ops.schema_version (version, name, applied_at) values (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC).replace(tzinfo=None)],
            )
            con.execute("commit")
        except Exception as exc:
            con.execute("rollback")
            raise MigrationError(
                f"migration {migration.name} failed; the warehouse stays at version {version}: {exc}"
            ) from exc
        version = migration.version
        applied.append(migration.name)
    return applied
