"""The pipeline's steps, as the DAGs and the CLI call them.

Each step takes the run's identity (run id and the date it works for) instead of the
wall clock, writes the warehouse inside one transaction, and returns counts that the
caller logs. DAG files import this module inside their tasks, never at parse time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from procure.config import load_councils, warehouse_path, warehouse_target
from procure.warehouse import connect, transaction

log = logging.getLogger(__name__)


def _as_datetime(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime.combine(day, datetime.min.time())


def _timed(step: str, fn, *args, **kwargs) -> Any:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    log.info("%s finished in %.1f s: %s", step, time.perf_counter() - started, result)
    return result


def _summary(results) -> dict[str, Any]:
    """Per-council counts for the logs, with each file's account (the CLI's --json shape)."""
    return {
        "files": len(results),
        **{status: sum(1 for r in results if r.status == status) for status in ("loaded", "unchanged", "rejected")},
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "results": [r.as_json() for r in results],
    }


@dataclass
class SpendIngest:
    """What one run of :func:`ingest_spend` did: each council's files, in order."""

    results: dict[str, list] = field(default_factory=dict)  # council id -> [FileResult]

    def summary(self) -> dict[str, Any]:
        """Per-council counts with each file's account (logs, XCom, ``procure ingest all``)."""
        return {council_id: _summary(results) for council_id, results in self.results.items()}

    def rejected(self) -> list[str]:
        """One line per rejected file: its origin and why."""
        return [f"{r.path}: {r.reason}" for rs in self.results.values() for r in rs if r.status == "rejected"]


def ingest_spend(
    run_id: str,
    logical_date: date | datetime,
    warehouse: Path | None = None,
    *,
    councils: Iterable[str] | None = None,
    files: Mapping[str, Sequence[Path | str | dict[str, Any]]] | None = None,
    on_file: Callable[[str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    replaces: Sequence[str] = (),
) -> SpendIngest:
    """Land and load new or corrected payment files: the one spend ingest path.

    The DAG's mapped load task (one per batch of councils, :func:`plan_spend`), ``procure
    ingest spend``, ``procure ingest all`` and the benchmark all run this. ``councils``: the
    council ids to load (default: ``files``' councils, else every configured council).
    ``files``: council id -> the files to load instead of its drop folder and URLs, as
    paths (landed here) or as landed files listed by :func:`plan_spend`. One warehouse
    connection serves the run, each file loads in its own transaction and gets its own
    manifest row; a rejected file is recorded and reported and does not stop the others.
    ``on_file``/``on_batch``: progress callbacks (a file started; rows read). ``replaces``:
    names of loaded files that the one given file re-issues (``--replaces``).
    """
    from procure.config import get_council
    from procure.extract.spend_loader import iter_council_spend

    if replaces and (files is None or [len(f) for f in files.values()] != [1]):
        raise ValueError("replaces (--replaces) needs exactly one file to load: the re-issue of the named file(s)")
    ids = list(councils) if councils is not None else list(files) if files is not None else None
    chosen = load_councils() if ids is None else [get_council(c) for c in ids]
    inputs = None
    if files is not None:
        inputs = {
            cid: [_landed_from_item(f, "spend") if isinstance(f, dict) else Path(f) for f in given]
            for cid, given in files.items()
        }
    run = SpendIngest()
    started = time.perf_counter()
    loaded_at = _as_datetime(logical_date)
    for council, results in iter_council_spend(
        chosen, run_id, loaded_at, warehouse, inputs=inputs, on_file=on_file, on_batch=on_batch, replaces=replaces
    ):
        run.results[council.id] = results
        counts = {k: v for k, v in _summary(results).items() if k != "results"}
        log.info("spend %s finished in %.1f s: %s", council.id, time.perf_counter() - started, counts)
        started = time.perf_counter()
    return run


#: New files per mapped load task of the ingest DAG, in bytes: enough work (~30-60 s) that a
#: task's start-up (seconds under a real scheduler) stays small beside it, few enough tasks
#: that a failure names a small batch. A council's files always stay in one batch.
INGEST_BATCH_BYTES = 256 * 2**20


def plan_spend(warehouse: Path | None = None, batch_bytes: int = INGEST_BATCH_BYTES) -> list[dict[str, Any]]:
    """Land every council's dropped and published payment files; batches of the new ones (for .expand).

    Each batch is ``{"label": ..., "files": {council id: [landed file]}}``, councils in
    configuration order, about ``batch_bytes`` of new files each: the DAG loads a batch in
    one task with :func:`ingest_spend`. Councils with nothing new are left out.
    """
    from procure.extract.spend_loader import new_landed_files

    return _batches(new_landed_files, "spend", warehouse, batch_bytes)


def files_changed(source: str, run_id: str, warehouse: Path | None = None) -> int:
    """How many files (spend, contracts) or releases (notices) the run loaded: 0 means the raw data is as it was.

    The ingest DAGs emit their raw Asset, and so trigger a warehouse build, only when this is
    not 0. Read from the warehouse, not from the load tasks' results, so a load that committed
    files and then failed still counts.
    """
    query = {
        "spend": "select count(*) from raw.spend_manifest where run_id = ? and status <> 'rejected'",
        "contracts": "select count(*) from raw.contract_manifest where run_id = ? and status <> 'rejected'",
        "notices": "select count(*) from raw.notice_releases where run_id = ?",
    }[source]
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(query, [run_id]).fetchone()[0]
    finally:
        con.close()


def ingest_contracts(
    run_id: str, warehouse: Path | None = None, logical_date: date | datetime | None = None
) -> dict[str, Any]:
    """Land and load each council's contract register files (a new version replaces the register)."""
    from procure.extract.contracts_loader import ingest_register_files

    loaded_at = _as_datetime(logical_date) if logical_date is not None else datetime.now()
    out: dict[str, Any] = {}
    for council in load_councils():
        results = _timed(f"contracts {council.id}", ingest_register_files, council, None, run_id, loaded_at, warehouse)
        out[council.id] = _summary(results)
    return out


def _landed_item(landed) -> dict[str, Any]:
    return {
        "council_id": landed.council_id,
        "name": landed.original_name,
        "origin": landed.origin,
        "sha256": landed.sha256,
        "size_bytes": landed.size_bytes,
        "path": str(landed.path),
    }


def _landed_from_item(item: dict[str, Any], source: str):
    from procure.extract.landing import LandedFile

    return LandedFile(
        item["council_id"], source, item["name"], item["origin"], item["sha256"], item["size_bytes"], Path(item["path"])
    )


def _register_councils(warehouse: Path | None = None) -> list:
    """Mirror councils.yml into raw.councils (also on runs with no new file: names and settings change)."""
    from procure.extract.spend_loader import register_council

    councils = load_councils()
    with transaction(warehouse) as con:
        for council in councils:
            register_council(con, council)
    return councils


def _batches(new_landed_files, what: str, warehouse: Path | None, batch_bytes: int) -> list[dict[str, Any]]:
    councils = _register_councils(warehouse)
    batches: list[dict[str, list[dict[str, Any]]]] = []
    current: dict[str, list[dict[str, Any]]] = {}
    size = 0
    for council in councils:
        items = [_landed_item(f) for f in new_landed_files(council, warehouse)]
        if not items:
            continue
        current[council.id] = items
        size += sum(i["size_bytes"] for i in items)
        if size >= batch_bytes:
            batches.append(current)
            current, size = {}, 0
    if current:
        batches.append(current)
    out = [{"label": _batch_label(b), "files": b} for b in batches]
    log.info("%d new %s file(s) in %d batch(es): %s", sum(map(len, batches)), what, len(out), [b["label"] for b in out])
    return out


def _batch_label(batch: dict[str, list[dict[str, Any]]]) -> str:
    """What the UI shows for a mapped load task: the council (or first and last ones) and the file count."""
    ids, n = list(batch), sum(len(items) for items in batch.values())
    files = f"{n} file{'s' if n != 1 else ''}"
    return f"{ids[0]} ({files})" if len(ids) == 1 else f"{ids[0]} .. {ids[-1]} ({len(ids)} councils, {files})"


def _load_one(load_landed, source: str, item: dict[str, Any], run_id: str, logical_date, warehouse) -> dict[str, Any]:
    from procure.config import get_council
    from procure.extract.spend_loader import register_council

    council = get_council(item["council_id"])
    with transaction(warehouse) as con:
        register_council(con, council)
    landed = _landed_from_item(item, source)
    return load_landed(council, landed, run_id, _as_datetime(logical_date), warehouse, item["origin"]).as_json()


def plan_contracts(warehouse: Path | None = None, batch_bytes: int = INGEST_BATCH_BYTES) -> list[dict[str, Any]]:
    """Land every council's contract register files; batches of the new ones, as :func:`plan_spend`."""
    from procure.extract.contracts_loader import new_landed_files

    return _batches(new_landed_files, "contract register", warehouse, batch_bytes)


def load_register_file(
    item: dict[str, Any], run_id: str, logical_date: date | datetime, warehouse: Path | None = None
) -> dict[str, Any]:
    """Load one landed contract register file (listed by :func:`plan_contracts`); its account."""
    from procure.extract.contracts_loader import load_landed_register

    return _load_one(load_landed_register, "contracts", item, run_id, logical_date, warehouse)


def ingest_notices(run_id: str, until: date | datetime | None = None, warehouse: Path | None = None) -> dict[str, Any]:
    """Harvest the OCDS APIs up to ``until`` (when given), then load landed release files of every council."""
    from procure.extract.notices_loader import load_notice_dir
    from procure.extract.ocds_records import refresh_pending

    out: dict[str, Any] = {}
    if until is not None:
        from procure.extract.ocds_harvest import base_urls_from_airflow, harvest_all

        urls = base_urls_from_airflow()
        out["harvest"] = _timed("notices harvest", harvest_all, urls, _as_datetime(until), run_id, warehouse)
    with transaction(warehouse) as con:
        for council in load_councils():
            if council.notices_dir and council.notices_dir.is_dir():
                out[council.id] = _timed(f"notices {council.id}", load_notice_dir, con, council.notices_dir, run_id)
        out["records"] = refresh_pending(con, run_id)
    return out


def build_warehouse(
    target: str | None = None, warehouse: Path | None = None, full_refresh: bool = False, unit_tests: bool = False
) -> dict[str, Any]:
    """Resolve supplier names on the DuckDB raw layer, then dbt build on ``target`` (default: the configured
    warehouse, procure.config.warehouse_target). On PostgreSQL the raw layer, supplier matches included,
    is mirrored first, so dbt there reads what was just loaded (dbt unit tests only when ``unit_tests``:
    see procure.transform.dbt_build.PRODUCTION_BUILD_FLAGS)."""
    from procure.transform.dbt_build import build
    from procure.transform.supplier_match import write_matches

    target = target or warehouse_target()
    seconds: dict[str, float] = {}

    def step(name: str, label: str, fn, *args, **kwargs):
        started = time.perf_counter()
        result = _timed(label, fn, *args, **kwargs)
        seconds[name] = round(time.perf_counter() - started, 3)
        return result

    out: dict[str, Any] = {"target": target}
    out["suppliers"] = step("suppliers", "supplier resolution", write_matches, warehouse)
    if target == "postgres":
        from procure.transform.postgres_mirror import mirror_raw_to_postgres

        out["mirrored_rows"] = sum(
            step("mirror", "raw mirror to PostgreSQL", mirror_raw_to_postgres, warehouse).values()
        )
    lines = step(
        "dbt", "dbt build", build, target=target, warehouse=warehouse, full_refresh=full_refresh, unit_tests=unit_tests
    )
    out["nodes"] = len(lines)
    out["seconds"] = seconds  # each step's wall time (the benchmark reports them)
    return out


def quality_gate(run_id: str, as_of: date, warehouse: Path | None = None, target: str | None = None) -> dict[str, Any]:
    """The Great Expectations gate on the configured warehouse (``target``: duckdb or postgres, default
    procure.config.warehouse_target); raises when a critical expectation fails."""
    from procure.quality.gate import run_gate, run_gate_postgres

    if (target or warehouse_target()) == "postgres":
        result = _timed("quality gate (PostgreSQL)", run_gate_postgres, run_id, as_of)
    else:
        result = _timed("quality gate", run_gate, run_id, as_of, warehouse)
    return {"checks": len(result.checks), "warnings": len(result.warnings), "passed": result.passed}


def latest_month(council_id: str, warehouse: Path | None = None) -> date:
    """The latest month with payments for the council: what an asset-triggered pack reports on."""
    con = connect(warehouse, read_only=True)
    try:
        row = con.execute(
            "select max(month) from marts.mart_procurement_kpis where council_id = ?", [council_id]
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


class BoardPackLate(RuntimeError):
    """The month's board pack could not be published by its deadline (the failure alert says why)."""


def month_before(day: date | datetime) -> date:
    """The calendar month before ``day``: what a pack run on the clock (e.g. 12 April) reports on."""
    first = date(day.year, day.month, 1)
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


def fiscal_year_closed_before(day: date | datetime, start_month: int = 4) -> int:
    """Start year of the latest fiscal year that ended before ``day`` (1 June 2025 -> 2024 for 2024-25)."""
    return day.year - 1 if day.month >= start_month else day.year - 2


def publish_source(warehouse: Path | None = None, target: str | None = None) -> Path | None:
    """The DuckDB file the publishers read: the warehouse itself, or on the PostgreSQL target (default: the
    configured one) a fresh snapshot of what PostgreSQL computed (procure.publish.postgres_snapshot)."""
    if (target or warehouse_target()) != "postgres":
        return warehouse
    from procure.publish.postgres_snapshot import snapshot_for_publishing

    return _timed("PostgreSQL snapshot for publishing", snapshot_for_publishing, warehouse)


def publish_board_packs(
    month: date | None = None, warehouse: Path | None = None, source: Path | None = None
) -> dict[str, str]:
    """Every council's pack, councils in parallel (procure.publish.parallel: PROCURE_PUBLISH_WORKERS),
    from the configured warehouse (:func:`publish_source`; ``source``: one already taken, so that several
    outputs are published from the same snapshot)."""
    from procure.publish.parallel import publish_each

    warehouse = source or publish_source(warehouse)
    jobs, failed = [], {}
    for c in load_councils():
        try:
            jobs.append((c.id, (c, month or latest_month(c.id, warehouse), warehouse)))
        except LookupError as exc:  # no data: the others are still published, this one is reported
            failed[c.id] = exc
    paths = publish_each("board pack", "procure.publish.board_pack:publish_board_pack", jobs, warehouse, failed)
    return {cid: str(p.html) for cid, p in paths.items()}


def publish_strategy_reviews(
    fy_start_year: int | None = None,
    warehouse: Path | None = None,
    as_of: date | datetime | None = None,
    source: Path | None = None,
) -> dict[str, str]:
    """Extracts for ``fy_start_year``; else the year that closed before ``as_of``; else the latest complete one;
    from the configured warehouse (:func:`publish_source`, or ``source`` as for :func:`publish_board_packs`)."""
    from procure.publish.parallel import publish_each

    warehouse = source or publish_source(warehouse)
    jobs, failed = [], {}
    for council in load_councils():
        if fy_start_year is not None:
            year = fy_start_year
        elif as_of is not None:
            year = fiscal_year_closed_before(as_of, council.fiscal_year_start_month)
        else:
            try:
                year = latest_complete_fiscal_year(council.id, warehouse)
            except LookupError as exc:  # no data: the others are still published, this one is reported
                failed[council.id] = exc
                continue
        jobs.append((council.id, (council, year, warehouse)))
    paths = publish_each(
        "strategy review", "procure.publish.strategy_review:publish_strategy_review", jobs, warehouse, failed
    )
    return {cid: str(p) for cid, p in paths.items()}
