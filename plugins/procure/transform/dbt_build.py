"""Run dbt in-process (dbtRunner) against the warehouse.

The same project builds on DuckDB (default) and PostgreSQL (``target="postgres"``,
connection from the PROCURE_PG_* variables); profiles.yml reads every path from the
environment, so this module only sets PROCURE_WAREHOUSE to the resolved file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from procure.config import (
    DUCKDB_MEMORY_LIMIT_ENV,
    cosmos_manifest_path,
    dbt_project_dir,
    duckdb_memory_limit,
    warehouse_path,
)

log = logging.getLogger(__name__)


class DbtBuildFailed(RuntimeError):
    """dbt reported an error or a failing test; the message lists the failing nodes."""


def run_dbt(args: list[str], target: str = "duckdb", warehouse: Path | None = None) -> list[str]:
    """Run one dbt command; return the result lines; raise with the failing nodes."""
    from dbt.cli.main import dbtRunner

    project = dbt_project_dir()
    os.environ["PROCURE_WAREHOUSE"] = str((warehouse or warehouse_path()).resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ[DUCKDB_MEMORY_LIMIT_ENV] = duckdb_memory_limit()  # validated here; profiles.yml reads it
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


# Models built on the forecasting step's output (procure.transform.forecast): they wait for it.
FORECAST_SELECTOR = "tag:forecast"

# dbt unit tests check the SQL of a model against fixed, hand-built inputs: they test the code, not the
# data, so a production build (the build_warehouse DAG, `procure build`) leaves them out, as dbt advises,
# and they run where the code changes: the test suite and `procure build --unit-tests`. Data tests always
# run. The one place this rule is written; the DAG passes the same flags to every Cosmos task.
PRODUCTION_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")


def build_flags(unit_tests: bool = False) -> list[str]:
    """Flags of every ``dbt build`` of the warehouse: unit tests only when asked for."""
    return [] if unit_tests else list(PRODUCTION_BUILD_FLAGS)


def build(
    target: str = "duckdb", warehouse: Path | None = None, full_refresh: bool = False, unit_tests: bool = False
) -> list[str]:
    """``dbt build``: seeds, models and data tests in dependency order (and unit tests when ``unit_tests``);
    then the forecasts.

    fct_spend is incremental by source file; ``full_refresh`` rebuilds it from scratch.
    """
    flags = ["--full-refresh"] if full_refresh else []
    lines = run_dbt(
        ["build", "--exclude", FORECAST_SELECTOR, *flags, *build_flags(unit_tests)], target=target, warehouse=warehouse
    )
    return lines + build_forecasts(target=target, warehouse=warehouse, unit_tests=unit_tests)


def build_forecasts(target: str = "duckdb", warehouse: Path | None = None, unit_tests: bool = False) -> list[str]:
    """The forecasting step, then the marts built on it (``tag:forecast``) and their tests.

    Forecasting needs statsmodels, and dbt Python models do not run on PostgreSQL, so it runs here,
    between two dbt invocations, against the same target (see procure.transform.forecast).
    """
    from procure.transform.forecast import write_forecasts

    write_forecasts(target=target, warehouse=warehouse)
    return run_dbt(
        ["build", "--select", FORECAST_SELECTOR, *build_flags(unit_tests)], target=target, warehouse=warehouse
    )


def seed(target: str = "duckdb", warehouse: Path | None = None) -> list[str]:
    """Seeds (reference lookups) and their tests: the first step of the build_warehouse DAG.

    Run here rather than as Cosmos seed tasks: Cosmos runs each task in a temporary copy of the
    project and reuses dbt's partial-parse cache, whose seed paths point at an earlier, deleted copy
    (dbt-duckdb then fails with "No files found that match the pattern .../seeds/x.csv").
    """
    # cautious: a seed's own tests run here; a test that also reads a model waits for cross_model_tests
    return run_dbt(
        ["build", "--select", "resource_type:seed", "--indirect-selection", "cautious"],
        target=target,
        warehouse=warehouse,
    )


# Tests that read more than one model (relationships, singular reconciliation tests). Cosmos runs each
# model's own tests with it (indirect selection "cautious"); these run once, after every model is built.
CROSS_MODEL_TESTS = ("test_type:singular", "test_name:relationships")


def cross_model_tests(target: str = "duckdb", warehouse: Path | None = None) -> list[str]:
    """``dbt test`` of the tests that span models: the last step before the marts Asset is updated."""
    return run_dbt(["test", "--select", *CROSS_MODEL_TESTS], target=target, warehouse=warehouse)


def write_manifest(path: Path | None = None) -> Path:
    """``dbt parse`` into the folder of ``path``: the manifest Cosmos renders build_warehouse from.

    Run at set-up time (``make setup``), so that parsing the DAG file runs no dbt. Parsing opens no
    database, so it works without a warehouse; the file is replaced atomically by dbt.
    """
    from dbt.cli.main import dbtRunner

    path = path or cosmos_manifest_path()
    project = dbt_project_dir()
    res = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(path.parent.resolve()),
        ]
    )
    if not res.success:
        raise DbtBuildFailed(f"dbt parse of {project} failed: {res.exception}")
    written = path.parent / "manifest.json"
    if written != path:
        written.replace(path)
    return path
