"""The pipeline's steps, as the DAGs and the CLI call them.

Each step takes the run's identity (run id and the date it works for) instead of the
wall clock, writes the warehouse inside one transaction, and returns counts that the
caller logs. DAG files import this module inside their tasks, never at parse time.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from procure.config import load_councils, warehouse_path
from procure.warehouse import connect, transaction

log = logging.getLogger(__name__)


def _as_datetime(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime.combine(day, datetime.min.time())


def _timed(step: str, fn, *args, **kwargs) -> Any:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    log.info("%s finished in %.1f s: %s", step, time.perf_counter() - started, result)
    return result


def ingest_spend(run_id: str, logical_date: date | datetime, warehouse: Path | None = None) -> dict[str, Any]:
    """Load every new or changed payment file of every council."""
    from procure.extract.spend_loader import load_council_spend

    out: dict[str, Any] = {}
    for council in load_councils():
        loads = _timed(
            f"spend {council.id}", load_council_spend, council, run_id, _as_datetime(logical_date), warehouse
        )
        out[council.id] = {
            "files": len(loads),
            "changed": sum(1 for f in loads if f.status != "unchanged"),
            "records": sum(f.records for f in loads),
            "accepted": sum(f.accepted for f in loads),
            "rejected": sum(f.rejected for f in loads),
        }
    return out


def ingest_contracts(run_id: str, warehouse: Path | None = None) -> dict[str, Any]:
    """Replace each council's contract register with the current file."""
    from procure.extract.contracts_loader import load_register
    from procure.extract.spend_loader import register_council

    out = {}
    with transaction(warehouse) as con:
        for council in load_councils():
            register_council(con, council)
            out[council.id] = _timed(f"contracts {council.id}", load_register, con, council, run_id)
    return out


def ingest_notices(run_id: str, warehouse: Path | None = None) -> dict[str, Any]:
    """Load landed Contracts Finder / FTS release files for every council that has them."""
    from procure.extract.notices_loader import load_notice_dir

    out = {}
    with transaction(warehouse) as con:
        for council in load_councils():
            if council.notices_dir and council.notices_dir.is_dir():
                out[council.id] = _timed(f"notices {council.id}", load_notice_dir, con, council.notices_dir, run_id)
    return out


def build_warehouse(target: str = "duckdb", warehouse: Path | None = None) -> dict[str, Any]:
    from procure.transform.dbt_build import build

    lines = _timed("dbt build", build, target=target, warehouse=warehouse)
    return {"nodes": len(lines)}


def quality_gate(run_id: str, as_of: date, warehouse: Path | None = None) -> dict[str, Any]:
    from procure.quality.gate import run_gate

    result = _timed("quality gate", run_gate, run_id, as_of, warehouse)
    return {"checks": len(result.checks), "warnings": len(result.warnings), "passed": result.passed}


def latest_month(council_id: str, warehouse: Path | None = None) -> date:
    """The latest month with payments for the council: what an asset-triggered pack reports on."""
    con = connect(warehouse, read_only=True)
    try:
        row = con.execute(
            "select max(month) from marts.mart_kpi_monthly where council_id = ?", [council_id]
        ).fetchall()[0][0]
    finally:
        con.close()
    if row is None:
        raise LookupError(f"council {council_id!r}: no spend in the warehouse {warehouse or warehouse_path()}")
    return row


def latest_complete_fiscal_year(council_id: str, warehouse: Path | None = None) -> int:
    """Start year of the latest fiscal year whose final month has payments loaded."""
    from procure.config import get_council

    council = get_council(council_id)
    month = latest_month(council_id, warehouse)
    last_month = (council.fiscal_year_start_month - 2) % 12 + 1
    year = month.year if month.month >= council.fiscal_year_start_month else month.year - 1
    if month.month != last_month:
        year -= 1
    return year


def publish_board_packs(month: date | None = None, warehouse: Path | None = None) -> dict[str, str]:
    from procure.publish.board_pack import publish_board_pack

    out = {}
    for council in load_councils():
        m = month or latest_month(council.id, warehouse)
        paths = publish_board_pack(council, m, warehouse)
        out[council.id] = str(paths.html)
    return out


def publish_strategy_reviews(fy_start_year: int | None = None, warehouse: Path | None = None) -> dict[str, str]:
    from procure.publish.strategy_review import publish_strategy_review

    out = {}
    for council in load_councils():
        year = fy_start_year if fy_start_year is not None else latest_complete_fiscal_year(council.id, warehouse)
        out[council.id] = str(publish_strategy_review(council, year, warehouse))
    return out
