"""Run dbt in-process (dbtRunner) against the warehouse.

The same project builds on DuckDB (default) and PostgreSQL (``target="postgres"``,
connection from the PROCURE_PG_* variables); profiles.yml reads every path from the
environment, so this module only sets PROCURE_WAREHOUSE to the resolved file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from procure.config import dbt_project_dir, warehouse_path

log = logging.getLogger(__name__)


class DbtBuildFailed(RuntimeError):
    """dbt reported an error or a failing test; the message lists the failing nodes."""


def run_dbt(args: list[str], target: str = "duckdb", warehouse: Path | None = None) -> list[str]:
    """Run one dbt command; return the result lines; raise with the failing nodes."""
    from dbt.cli.main import dbtRunner

    project = dbt_project_dir()
    os.environ["PROCURE_WAREHOUSE"] = str((warehouse or warehouse_path()).resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    full = [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        target,
    ]
    res = dbtRunner().invoke(full)
    lines: list[str] = []
    failures: list[str] = []
    results = getattr(res.result, "results", None) or []
    for r in results:
        status = str(getattr(r.status, "value", r.status))
        lines.append(f"{r.node.unique_id}: {status}")
        if status in {"error", "fail", "runtime error"}:
            failures.append(f"{r.node.unique_id}: {status}: {(r.message or '').strip()[:300]}")
    if not res.success or failures:
        detail = "\n".join(failures) or str(res.exception)
        raise DbtBuildFailed(f"dbt {' '.join(args)} on target {target} failed:\n{detail}")
    log.info("dbt %s on %s: %d nodes ok", " ".join(args), target, len(lines))
    return lines


def build(target: str = "duckdb", warehouse: Path | None = None) -> list[str]:
    """``dbt build``: seeds, models, data tests and unit tests, in dependency order."""
    return run_dbt(["build"], target=target, warehouse=warehouse)
