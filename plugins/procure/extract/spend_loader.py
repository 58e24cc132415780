"""Load a council's supplier-payment files into raw.spend_lines, one file per transaction.

Every file is first copied unchanged into the landing zone (:mod:`procure.extract.landing`)
and read from there. ``raw.spend_manifest`` keeps one row per version of every file,
keyed by (council, sha256), with its full account::

    rows_read = rows_loaded + rows_quarantined
              + skipped_blank + skipped_preamble + skipped_repeated_header + skipped_total

- The same bytes again change nothing (status ``unchanged``).
- A corrected file for the same period (same council, same covered months, different
  bytes, any name) replaces that period's rows in the transaction that loads it; the
  old version stays in the manifest as ``superseded``. The months a file covers are the
  months holding at least :data:`PERIOD_SHARE` of its loaded rows, so a few early or late
  payments dated in a neighbouring month do not change its period. A file none of whose
  rows has a usable date has no period; it replaces an earlier file of the same name.
- A file that cannot be read (format, encoding, no payment lines) is ``rejected``: the
  manifest says why, and the other files still load. The same bytes with the same
  overrides are not retried; change the council's overrides and they are.
- Rows the reader cannot use go to raw.spend_quarantine with line, field and reason.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from procure.config import Council
from procure.extract.landing import LandedFile, LandingError, drop_folder_files, land_sources
from procure.warehouse import connect, transaction

log = logging.getLogger(__name__)

SOURCE = "spend"
PERIOD_SHARE = Decimal("0.10")
SKIP_KINDS = ("skipped_blank", "skipped_preamble", "skipped_repeated_header", "skipped_total")

LINE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("source_line", pa.int32()),
    ("record_index", pa.int32()),
    ("body_name", pa.string()),
    ("service_area", pa.string()),
    ("expense_type", pa.string()),
    ("description", pa.string()),
    ("supplier_name", pa.string()),
    ("supplier_ref", pa.string()),
    ("company_number", pa.string()),
    ("charity_number", pa.string()),
    ("vat_number", pa.string()),
    ("transaction_number", pa.string()),
    ("proclass_code", pa.string()),
    ("proclass_label", pa.string()),
    ("capital_revenue", pa.string()),
    ("payment_date", pa.date32()),
    ("payment_date_raw", pa.string()),
    ("amount_gbp", pa.decimal128(18, 2)),
    ("amount_raw", pa.string()),
    ("irrecoverable_vat_gbp", pa.decimal128(18, 2)),
    ("is_redacted", pa.bool_()),
    ("is_credit", pa.bool_()),
    ("is_pcard", pa.bool_()),
    ("raw_record", pa.string()),
]
LINE_COLUMNS = [name for name, _ in LINE_FIELDS]
#: What a reader batch holds: the line fields plus why (and in which field) a row was rejected.
BATCH_SCHEMA = pa.schema([*LINE_FIELDS, ("reject_field", pa.string()), ("reject_reason", pa.string())])

#: Errors that mean "this file's bytes cannot be read as a spend file" (not a bug here).
UNREADABLE = (
    ValueError,  # SpendFileError, UnicodeDecodeError, and bad numbers in overrides
    csv.Error,
    EOFError,  # truncated gzip/bz2/xz
    zlib.error,
    gzip.BadGzipFile,
    zipfile.BadZipFile,
    lzma.LZMAError,
    OSError,  # bz2 raises OSError on corrupt data
)


@dataclass
class FileResult:
    """What happened to one input file (the CLI's ``--json`` shape plus a few details)."""

    path: str  # as given: drop-folder path or URL
    status: str  # loaded | rejected | unchanged
    reason: str | None = None
    council_id: str | None = None
    source_file: str | None = None
    sha256: str | None = None
    landing_path: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_KINDS, 0))
    amount_total: Decimal | None = None
    period_months: str | None = None
    superseded: list[str] = field(default_factory=list)  # file names whose rows this one replaced

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_skipped": self.rows_skipped,
            "amount_total": None if self.amount_total is None else f"{self.amount_total:.2f}",
        }


# --------------------------------------------------------------------------- councils and inputs


def register_council(con, council: Council) -> None:
    """Mirror the YAML council settings into raw.councils for dbt to read."""
    con.execute("delete from raw.councils where council_id = ?", [council.id])
    con.execute(
        "insert into raw.councils (council_id, council_name, local_postcode_prefixes, fiscal_year_start_month, "
        "buyer_names, buyer_ids) values (?, ?, ?, ?, ?, ?)",
        [
            council.id,
            council.name,
            ",".join(council.local_postcode_prefixes),
            council.fiscal_year_start_month,
            "|".join(council.buyer_names or (council.name,)),
            "|".join(council.buyer_ids),
        ],
    )


def spend_files(council: Council) -> list[Path]:
    """The payment files waiting in the council's drop folder, in name order."""
    if not council.spend_dir.is_dir() and not council.spend_urls:
        raise FileNotFoundError(
            f"council {council.id!r}: spend_dir {council.spend_dir} does not exist and no spend_urls are "
            "configured (set spend_dir or spend_urls in the council configuration)"
        )
    return drop_folder_files(council.spend_dir, council.spend_glob)


def land_inputs(
    council: Council, files: Iterable[Path] | None = None, root: Path | None = None
) -> list[tuple[str, LandedFile | str]]:
    """Land the given files, or the drop folder's files and the configured URLs.

    Returns (origin, landed file) pairs; a file that could not be landed gives
    (origin, error message) instead, so one bad download does not stop the others.
    """
    if files is None:
        sources: list[Path | str] = [*spend_files(council), *council.spend_urls]
    else:
        sources = [Path(f) for f in files]
    return land_sources(sources, SOURCE, council.id, root)


# --------------------------------------------------------------------------- one file


def _as_table(batch: list[dict[str, Any]] | pa.Table) -> pa.Table:
    """A reader batch (row dicts or an Arrow table with the same columns) in BATCH_SCHEMA."""
    if isinstance(batch, pa.Table):
        columns = []
        for f in BATCH_SCHEMA:
            if f.name in batch.column_names:
                columns.append(batch.column(f.name).cast(f.type))
            else:
                columns.append(pa.nulls(batch.num_rows, f.type))
        return pa.Table.from_arrays(columns, schema=BATCH_SCHEMA)
    return pa.Table.from_pylist(batch, schema=BATCH_SCHEMA)


def _account(stats: dict[str, int], preamble_lines: int) -> dict[str, int]:
    """The reader's stats in the manifest's terms (also from readers that predate the skip kinds)."""
    if "rows_read" in stats:
        return {k: int(stats.get(k, 0)) for k in ("rows_read", "accepted", "rejected", *SKIP_KINDS)}
    blank = int(stats.get("blank_lines_skipped", 0))
    accepted, rejected = int(stats.get("accepted", 0)), int(stats.get("rejected", 0))
    return {
        "rows_read": accepted + rejected + blank + preamble_lines,
        "accepted": accepted,
        "rejected": rejected,
        "skipped_blank": blank,
        "skipped_preamble": preamble_lines,
        "skipped_repeated_header": 0,
        "skipped_total": 0,
    }


def _covered_months(con, council_id: str, sha256: str) -> str | None:
    counts = con.execute(
        "select strftime(payment_date, '%Y-%m') as month, count(*) from raw.spend_lines "
        "where council_id = ? and file_sha256 = ? and payment_date is not null group by 1 order by 1",
        [council_id, sha256],
    ).fetchall()
    total = sum(n for _, n in counts)
    months = [m for m, n in counts if n >= PERIOD_SHARE * total]
    return ",".join(months) or None


def _manifest_row(con, council_id: str, sha256: str) -> tuple | None:
    return con.execute(
        "select status, reason, overrides, source_file from raw.spend_manifest where council_id = ? and file_sha256 = ?",
        [council_id, sha256],
    ).fetchone()


def _reject(landed: LandedFile, origin: str, overrides: str, reason: str, run_id: str, loaded_at: datetime, db):
    with transaction(db) as con:
        con.execute(
            "delete from raw.spend_manifest where council_id = ? and file_sha256 = ?",
            [landed.council_id, landed.sha256],
        )
        con.execute(
            "insert into raw.spend_manifest (council_id, file_sha256, source_file, source_path, landing_path, "
            "size_bytes, overrides, status, reason, run_id, loaded_at) values (?, ?, ?, ?, ?, ?, ?, 'rejected', ?, ?, ?)",
            [
                landed.council_id,
                landed.sha256,
                landed.original_name,
                origin,
                str(landed.path),
                landed.size_bytes,
                overrides,
                reason,
                run_id,
                loaded_at,
            ],
        )
    log.warning("rejected %s: %s", origin, reason)
    return FileResult(
        origin,
        "rejected",
        reason,
        landed.council_id,
        landed.original_name,
        landed.sha256,
        str(landed.path),
    )


def load_landed_file(
    council: Council,
    landed: LandedFile,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    origin: str | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> FileResult:
    """Load one landed file in its own transaction; never raises for a file that cannot be read."""
    from procure.extract.spend_reader import read_spend_file

    origin = origin or landed.origin
    name = landed.original_name
    overrides = council.overrides_for(name)
    overrides_json = json.dumps(overrides, sort_keys=True, default=str)
    result = FileResult(origin, "loaded", None, council.id, name, landed.sha256, str(landed.path))

    with transaction(warehouse) as con:
        known = _manifest_row(con, council.id, landed.sha256)
    if known is not None:
        status, reason, known_overrides, known_name = known
        if status != "rejected":
            result.status = "unchanged"
            result.reason = f"same bytes as {known_name} (already {status})"
            return result
        if known_overrides == overrides_json:
            result.status, result.reason = "rejected", reason
            return result

    try:
        sf = read_spend_file(landed.path, overrides=overrides or None)
    except UNREADABLE as exc:
        return _reject(landed, origin, overrides_json, _reason(name, exc), run_id, loaded_at, warehouse)

    key = [council.id, name, landed.sha256]
    try:
        with transaction(warehouse) as con:
            con.execute(
                "delete from raw.spend_manifest where council_id = ? and file_sha256 = ?", [council.id, landed.sha256]
            )
            for batch in sf.iter_batches():
                table = _as_table(batch)
                loaded = table.column("reject_reason").null_count
                con.register("_spend_batch", table)
                try:
                    if loaded:
                        con.execute(
                            f"insert into raw.spend_lines (council_id, source_file, file_sha256, "
                            f"{', '.join(LINE_COLUMNS)}, run_id) select ?, ?, ?, {', '.join(LINE_COLUMNS)}, ? "
                            "from _spend_batch where reject_reason is null",
                            [*key, run_id],
                        )
                    if loaded < table.num_rows:
                        con.execute(
                            "insert into raw.spend_quarantine (council_id, source_file, file_sha256, source_line, "
                            "record_index, field, reject_reason, raw_record, run_id) select ?, ?, ?, source_line, "
                            "record_index, reject_field, reject_reason, raw_record, ? from _spend_batch "
                            "where reject_reason is not null",
                            [*key, run_id],
                        )
                finally:
                    con.unregister("_spend_batch")
                result.rows_loaded += loaded
                result.rows_quarantined += table.num_rows - loaded
                if on_batch is not None:
                    on_batch(table.num_rows)
            account = _account(sf.stats, getattr(sf, "preamble_lines", 0) or 0)
            if (account["accepted"], account["rejected"]) != (result.rows_loaded, result.rows_quarantined):
                raise RuntimeError(
                    f"{name}: reader counted {account['accepted']} accepted / {account['rejected']} rejected rows "
                    f"but yielded {result.rows_loaded} / {result.rows_quarantined}"
                )
            if result.rows_loaded + result.rows_quarantined == 0:
                skipped = ", ".join(f"{account[k]} {k.removeprefix('skipped_')}" for k in SKIP_KINDS)
                raise _NoPaymentLines(
                    f"{name}: no payment lines: {account['rows_read']} rows read, none of them a payment "
                    f"({skipped} skipped)"
                )
            result.rows_read = account["rows_read"]
            result.skipped = {k: account[k] for k in SKIP_KINDS}
            if result.rows_read != result.rows_loaded + result.rows_quarantined + result.rows_skipped:
                raise RuntimeError(f"{name}: reader stats do not add up: {sf.stats}")
            total, first, last = con.execute(
                "select sum(amount_gbp), min(payment_date), max(payment_date) from raw.spend_lines "
                "where council_id = ? and file_sha256 = ?",
                [council.id, landed.sha256],
            ).fetchone()
            result.amount_total = total if total is not None else Decimal("0.00")
            result.period_months = _covered_months(con, council.id, landed.sha256)
            result.superseded = _supersede(con, council.id, landed.sha256, name, result.period_months)
            con.execute(
                "insert into raw.spend_manifest values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, null, ?, ?)",
                [
                    council.id,
                    landed.sha256,
                    name,
                    origin,
                    str(landed.path),
                    landed.size_bytes,
                    sf.compression,
                    sf.encoding,
                    sf.delimiter,
                    sf.header_line,
                    json.dumps(sf.column_map, sort_keys=True),
                    overrides_json,
                    result.rows_read,
                    result.rows_loaded,
                    result.rows_quarantined,
                    *(result.skipped[k] for k in SKIP_KINDS),
                    result.amount_total,
                    first,
                    last,
                    result.period_months,
                    f"replaces {', '.join(result.superseded)}" if result.superseded else None,
                    run_id,
                    loaded_at,
                ],
            )
    except (_NoPaymentLines, *UNREADABLE) as exc:
        return _reject(landed, origin, overrides_json, _reason(name, exc), run_id, loaded_at, warehouse)

    log.info(
        "loaded %s: %d read, %d loaded, %d quarantined, %d skipped, £%s, period %s%s",
        name,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
        result.rows_skipped,
        result.amount_total,
        result.period_months,
        f", replacing {result.superseded}" if result.superseded else "",
    )
    return result


class _NoPaymentLines(Exception):
    pass


def _reason(name: str, exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{name}: cannot be decoded as {exc.encoding} at byte {exc.start}: {exc.reason}"
    text = str(exc) or type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _supersede(con, council_id: str, sha256: str, name: str, period: str | None) -> list[str]:
    """Retire the loaded files this one corrects; return their names."""
    if period is None:
        match, params = "period_months is null and source_file = ?", [name]
    else:
        match, params = "(period_months = ? or (period_months is null and source_file = ?))", [period, name]
    old = con.execute(
        f"select file_sha256, source_file from raw.spend_manifest where council_id = ? and status = 'loaded' "
        f"and file_sha256 <> ? and {match}",
        [council_id, sha256, *params],
    ).fetchall()
    for old_sha, old_name in old:
        for table in ("spend_lines", "spend_quarantine"):
            con.execute(f"delete from raw.{table} where council_id = ? and file_sha256 = ?", [council_id, old_sha])
        con.execute(
            "update raw.spend_manifest set status = 'superseded', superseded_by = ?, reason = ? "
            "where council_id = ? and file_sha256 = ?",
            [sha256, f"replaced by {name} ({sha256[:12]}) for period {period or 'unknown'}", council_id, old_sha],
        )
        log.info("%s (%s) superseded by %s for period %s", old_name, old_sha[:12], name, period)
    return [n for _, n in old]


# --------------------------------------------------------------------------- a council


def ingest_spend_files(
    council: Council,
    files: Iterable[Path] | None,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    on_file: Callable[[str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Land and load the given files (None: the drop folder and the configured URLs), each on its own.

    A rejected file is recorded and reported; it does not stop the files after it.
    """
    with transaction(warehouse) as con:
        register_council(con, council)
    results = []
    for origin, landed in land_inputs(council, files):
        if on_file is not None:
            on_file(origin)
        if isinstance(landed, str):
            results.append(FileResult(origin, "rejected", landed, council.id, Path(origin).name))
            continue
        results.append(load_landed_file(council, landed, run_id, loaded_at, warehouse, origin, on_batch))
    return results


def load_council_spend(
    council: Council, run_id: str, loaded_at: datetime, warehouse: Path | None = None
) -> list[FileResult]:
    """Everything new in the council's drop folder and URLs (what ``procure ingest all`` runs)."""
    return ingest_spend_files(council, None, run_id, loaded_at, warehouse)


def known_files(table: str, council_id: str, warehouse: Path | None = None) -> dict[str, tuple[str, str | None]]:
    """sha256 -> (status, overrides) of the council's files in a manifest table (empty before the first load)."""
    try:
        con = connect(warehouse, read_only=True)
    except duckdb.IOException:  # no warehouse yet: every file is new
        return {}
    try:
        columns = "file_sha256, status, overrides" if table == "spend_manifest" else "file_sha256, status, null"
        rows = con.execute(f"select {columns} from raw.{table} where council_id = ?", [council_id]).fetchall()
    except duckdb.CatalogException:  # a warehouse from before the manifest: every file is new
        rows = []
    finally:
        con.close()
    return {sha: (status, overrides) for sha, status, overrides in rows}


def new_landed_files(council: Council, warehouse: Path | None = None) -> list[LandedFile]:
    """Land the council's drop folder and URLs; return the files the manifest does not know yet.

    A file rejected before counts as new again when the council's overrides for it changed.
    A failed download raises (the DAG task retries with backoff, then fails naming the URL).
    """
    landed = []
    for _, item in land_inputs(council):
        if isinstance(item, str):
            raise LandingError(item)
        landed.append(item)
    known = known_files("spend_manifest", council.id, warehouse)
    out, seen = [], set()
    for item in landed:
        if item.sha256 in seen:
            continue
        seen.add(item.sha256)
        state = known.get(item.sha256)
        overrides = json.dumps(council.overrides_for(item.original_name), sort_keys=True, default=str)
        if state is None or (state[0] == "rejected" and state[1] != overrides):
            out.append(item)
    return out
