"""Load a council's supplier-payment files into raw.spend_lines, one file per transaction.

Every file is first copied unchanged into the landing zone (:mod:`procure.extract.landing`)
and read from there. ``raw.spend_manifest`` keeps one row per version of every file,
keyed by (council, sha256), with its full account::

    rows_read = rows_loaded + rows_quarantined
              + skipped_blank + skipped_preamble + skipped_repeated_header + skipped_total

- The same bytes again change nothing (status ``unchanged``).
- Files add up: several files for one month (card payments, a month in two parts, another
  body's payments) each keep their rows. A file replaces another only when it is a re-issue
  of it: declared (``procure ingest spend --replaces NAME``), a
  name the council re-issues under (``spend_reissue_same_name`` globs in its configuration),
  or detected: the same name stem with a later version mark (``_v2``, ``(1)``, ``revised``,
  ``corrected`` ...) or the very same name, AND most of the older file's lines identical in
  the newer one (:mod:`procure.extract.spend_reissue`). The replaced version stays in the manifest
  as ``superseded`` and raw.spend_replacements records both files' lines and totals, the
  basis and the evidence. A month whose total jumps because two files overlap is flagged
  by the quality gate (expectations/raw_spend_months.py), naming both files.
- The months a file covers (``period_months``) are every month present in its dates.
- A file that cannot be read (format, encoding, no payment lines, no amount or date role,
  more than its allowed share of lines quarantined) is ``rejected``: the manifest says why,
  every line of it is kept in raw.spend_quarantine and the manifest accounts for them
  (:mod:`procure.extract.spend_quarantine`), and the other files still load. The same bytes
  with the same overrides are not retried; change the council's overrides and they are.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from procure.config import Council
from procure.extract.landing import LandedFile, drop_folder_files, land_sources, landed_or_raise
from procure.extract.sniff import DecompressionLimitError
from procure.extract.spend_quarantine import Kept, quarantine_file_records, quarantine_loaded_lines
from procure.extract.spend_reissue import LoadedFile as ReissueFile
from procure.extract.spend_reissue import replace_reissues, unknown_declared
from procure.warehouse import connect, transaction

log = logging.getLogger(__name__)

SOURCE = "spend"
#: WAL size at which the ingest connection checkpoints. DuckDB's default (16 MiB, about ten
#: monthly files) makes a long run checkpoint hundreds of times, each costlier as the tables
#: grow; at this size a 240-file run checkpoints twice and stays near 0.6 GB of memory.
INGEST_CHECKPOINT_THRESHOLD = "256MB"
#: Files sniffed ahead and read together where they share a layout (a council's year).
PREFETCH_FILES = 12
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
    ("date_precision", pa.string()),
    ("field_warnings", pa.string()),
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
    status: str  # loaded | rejected | unchanged | superseded (a newer version of it was already loaded)
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
    superseded_by: str | None = None  # a loaded file that is this one's re-issue (status superseded)

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


@dataclass
class SpendResult(FileResult):
    """A spend file's account, with the column roles the reader inferred and how sure it was."""

    #: the inferred column roles with their evidence and a confidence (SpendFile.column_evidence())
    column_evidence: dict[str, Any] | None = None
    rows_with_warnings: int = 0  # lines loaded with an optional field unreadable (field_warnings)

    def as_json(self) -> dict[str, Any]:
        evidence = self.column_evidence or {}
        return {
            **super().as_json(),
            "rows_with_warnings": self.rows_with_warnings,
            "column_map": evidence.get("column_map"),
            "confidence": evidence.get("confidence"),
            "column_evidence": self.column_evidence,
        }


# --------------------------------------------------------------------------- councils and inputs


def connect_for_ingest(warehouse: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse connection a whole ingest run shares (one transaction per file on it)."""
    con = connect(warehouse)
    con.execute(f"SET checkpoint_threshold = '{INGEST_CHECKPOINT_THRESHOLD}'")
    return con


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


@dataclass
class _FileSummary:
    """The loaded rows' total, first/last payment date and rows per month, summed batch by batch.

    Computed from the file's own rows as they are inserted (not by querying raw.spend_lines,
    which would cost a scan of the whole warehouse per file).
    """

    total: Decimal = Decimal("0.00")
    first: Any = None
    last: Any = None
    months: dict[str, int] = field(default_factory=dict)

    def add(self, table: pa.Table) -> None:
        """Add a batch (BATCH_SCHEMA): its loaded rows' amounts, dates and rows per payment month.

        Arrow kernels on the batch itself (~0.3 ms; a DuckDB query over it cost ~2 ms a file).
        """
        loaded = table.filter(pc.is_null(table.column("reject_reason")))
        total = pc.sum(loaded.column("amount_gbp")).as_py()
        if total is not None:
            self.total += total
        dates = loaded.column("payment_date")
        if dates.null_count == len(dates):
            return
        bounds = pc.min_max(dates).as_py()
        first, last = bounds["min"], bounds["max"]
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last > self.last:
            self.last = last
        year_month = pc.add(pc.multiply(pc.year(dates), 100), pc.month(dates))
        for item in pc.value_counts(year_month).to_pylist():
            if item["values"] is not None:
                month = f"{item['values'] // 100:04d}-{item['values'] % 100:02d}"
                self.months[month] = self.months.get(month, 0) + item["counts"]

    def covered_months(self) -> str | None:
        """Every month present in the loaded rows' payment dates, 'YYYY-MM,...' (None: no dates)."""
        return ",".join(sorted(self.months)) or None


def _manifest_row(con, council_id: str, sha256: str) -> tuple | None:
    return con.execute(
        "select status, reason, overrides, source_file from raw.spend_manifest where council_id = ? and file_sha256 = ?",
        [council_id, sha256],
    ).fetchone()


def _reject(
    landed: LandedFile,
    origin: str,
    overrides: str,
    reason: str,
    run_id: str,
    loaded_at: datetime,
    db,
    con=None,
    exc: BaseException | None = None,
):
    """Record a file refused before or while it was read, its records kept in quarantine.

    A file refused for expanding past the decompression limits (``exc``) is not expanded again
    to copy its lines: the landing copy keeps it.
    """
    with transaction(db, con) as con:
        for table in ("spend_manifest", "spend_quarantine"):  # an earlier attempt at the same bytes
            con.execute(
                f"delete from raw.{table} where council_id = ? and file_sha256 = ?", [landed.council_id, landed.sha256]
            )
        if isinstance(exc, DecompressionLimitError):
            kept = Kept(stopped="before the first record: the file is not expanded again")
        else:
            kept = quarantine_file_records(
                con, landed.council_id, landed.original_name, landed.sha256, landed.path, reason, run_id
            )
        if kept.stopped:
            reason = f"{reason} (reading its lines for quarantine stopped {kept.stopped}; the landing copy keeps it)"
            con.execute(
                "update raw.spend_quarantine set reject_reason = ? where council_id = ? and file_sha256 = ?",
                [reason, landed.council_id, landed.sha256],
            )
        con.execute(
            "insert into raw.spend_manifest (council_id, file_sha256, source_file, source_path, landing_path, "
            "size_bytes, overrides, rows_read, rows_loaded, rows_quarantined, rows_with_warnings, skipped_blank, "
            "skipped_preamble, skipped_repeated_header, skipped_total, status, reason, run_id, loaded_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, 0, 0, 0, 'rejected', ?, ?, ?)",
            [
                landed.council_id,
                landed.sha256,
                landed.original_name,
                origin,
                str(landed.path),
                landed.size_bytes,
                overrides,
                kept.rows_read,
                kept.quarantined,
                kept.blank,
                reason,
                run_id,
                loaded_at,
            ],
        )
    log.warning("rejected %s: %s", origin, reason)
    result = SpendResult(
        origin,
        "rejected",
        reason,
        landed.council_id,
        landed.original_name,
        landed.sha256,
        str(landed.path),
        rows_read=kept.rows_read,
        rows_quarantined=kept.quarantined,
    )
    result.skipped["skipped_blank"] = kept.blank
    return result


def load_landed_file(
    council: Council,
    landed: LandedFile,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    origin: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    sniffed: Any = None,
    replaces: Sequence[str] = (),
) -> FileResult:
    """Load one landed file in its own transaction; never raises for a file that cannot be read.

    ``con``: an open warehouse connection (see :func:`ingest_spend_files`); without it the
    file opens and closes one of its own. ``sniffed``: the file already opened with
    ``read_spend_file`` and the council's overrides for it (see :func:`_presniff`).
    ``replaces``: names of loaded files this one is declared to re-issue (``--replaces``);
    a name with no loaded file rejects this one before it is read, recording nothing.
    """
    if con is None:
        own = connect(warehouse)
        try:
            return load_landed_file(
                council, landed, run_id, loaded_at, warehouse, origin, on_batch, own, sniffed, replaces
            )
        finally:
            own.close()
    from procure.extract.spend_reader import read_spend_file

    origin = origin or landed.origin
    name = landed.original_name
    overrides = council.overrides_for(name)
    overrides_json = json.dumps(overrides, sort_keys=True, default=str)
    result = SpendResult(origin, "loaded", None, council.id, name, landed.sha256, str(landed.path))

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
    if replaces and (problem := unknown_declared(con, council.id, replaces)):
        result.status, result.reason = "rejected", f"{name}: {problem}"
        return result

    try:
        sf = (
            sniffed
            if sniffed is not None
            else read_spend_file(landed.path, overrides=overrides or None, sha256=landed.sha256)
        )
    except UNREADABLE as exc:
        return _reject(landed, origin, overrides_json, _reason(name, exc), run_id, loaded_at, warehouse, con, exc)

    key = [council.id, name, landed.sha256]
    summary = _FileSummary()
    try:
        with transaction(warehouse, con):
            for table in ("spend_manifest", "spend_quarantine", "spend_lines"):  # an earlier rejected attempt
                con.execute(
                    f"delete from raw.{table} where council_id = ? and file_sha256 = ?", [council.id, landed.sha256]
                )
            result.column_evidence = sf.column_evidence()
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
                        summary.add(table)
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
                result.rows_with_warnings += table.num_rows - table.column("field_warnings").null_count
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
            first, last = summary.first, summary.last
            too_many = _too_many_quarantined(name, result, sf, con, council.id, landed.sha256)
            if too_many is not None:  # rejected, every line kept in quarantine (nothing is lost)
                moved = quarantine_loaded_lines(con, council.id, landed.sha256, too_many)
                result.rows_loaded, result.rows_quarantined = 0, result.rows_quarantined + moved
                result.rows_with_warnings = 0
                _insert_manifest(con, council.id, landed, origin, sf, overrides_json, result, None, None, run_id,
                                 loaded_at, status="rejected", reason=too_many)  # fmt: skip
                result.status, result.reason = "rejected", too_many
                result.amount_total = None
                log.warning("rejected %s: %s", origin, too_many)
                return result
            result.amount_total = summary.total
            result.period_months = summary.covered_months()
            outcome = replace_reissues(
                con,
                council,
                ReissueFile(landed.sha256, name, result.rows_loaded, summary.total),
                replaces,
                run_id,
                loaded_at,
            )
            result.superseded = outcome.replaced
            if outcome.superseded_by is not None:
                result.status, result.reason = "superseded", outcome.reason
                result.superseded_by = outcome.superseded_by.name
            _insert_manifest(
                con,
                council.id,
                landed,
                origin,
                sf,
                overrides_json,
                result,
                first,
                last,
                run_id,
                loaded_at,
                status=result.status,
                reason=result.reason,
                superseded_by=outcome.superseded_by.sha256 if outcome.superseded_by else None,
            )
    except (_NoPaymentLines, *UNREADABLE) as exc:
        return _reject(landed, origin, overrides_json, _reason(name, exc), run_id, loaded_at, warehouse, con, exc)

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


def _insert_manifest(
    con,
    council_id: str,
    landed: LandedFile,
    origin: str,
    sf: Any,
    overrides_json: str,
    result: SpendResult,
    first: Any,
    last: Any,
    run_id: str,
    loaded_at: datetime,
    status: str = "loaded",
    reason: str | None = None,
    superseded_by: str | None = None,
) -> None:
    values = {
        "council_id": council_id,
        "file_sha256": landed.sha256,
        "source_file": landed.original_name,
        "source_path": origin,
        "landing_path": str(landed.path),
        "size_bytes": landed.size_bytes,
        "compression": sf.compression,
        "encoding": sf.encoding,
        "delimiter": sf.delimiter,
        "header_line": sf.header_line,
        "column_map": json.dumps(sf.column_map, sort_keys=True),
        "column_evidence": json.dumps(result.column_evidence, sort_keys=True, default=str),
        "map_confidence": (result.column_evidence or {}).get("confidence"),
        "overrides": overrides_json,
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded if status != "rejected" else 0,
        "rows_quarantined": result.rows_quarantined,
        "rows_with_warnings": result.rows_with_warnings,
        **{k: result.skipped[k] for k in SKIP_KINDS},
        "amount_total_gbp": result.amount_total if status != "rejected" else None,
        "first_payment_date": first,
        "last_payment_date": last,
        "period_months": result.period_months,
        "status": status,
        "reason": reason or (f"replaces {', '.join(result.superseded)}" if result.superseded else None),
        "superseded_by": superseded_by,
        "run_id": run_id,
        "loaded_at": loaded_at,
    }
    con.execute(
        f"insert into raw.spend_manifest ({', '.join(values)}) values ({', '.join('?' for _ in values)})",
        list(values.values()),
    )


def _too_many_quarantined(name: str, result: SpendResult, sf: Any, con, council_id: str, sha256: str) -> str | None:
    """Why the file must be rejected for its quarantined share (None: it loads).

    "Loaded" with no rows is impossible: a file none of whose lines loads is rejected whatever the share.
    """
    total = result.rows_loaded + result.rows_quarantined
    share = float(getattr(sf, "max_quarantine_share", 0.2))
    if total == 0 or (result.rows_loaded > 0 and result.rows_quarantined <= share * total):
        return None
    problems = con.execute(
        "select coalesce(field, '(whole line)'), count(*), min(reject_reason) from raw.spend_quarantine "
        "where council_id = ? and file_sha256 = ? group by 1 order by 2 desc limit 3",
        [council_id, sha256],
    ).fetchall()
    detail = "; ".join(f"{n} in {f}, e.g. {example}" for f, n, example in problems)
    return (
        f"{name}: rejected: {result.rows_quarantined:,} of {total:,} payment lines "
        f"({result.rows_quarantined / total:.0%}) could not be read, more than the {share:.0%} allowed "
        f"(overrides['max_quarantine_share']); all its lines are kept in raw.spend_quarantine (those that "
        f"could be read with this reason). {detail}. "
        f"Columns used: {json.dumps(sf.column_map)}. If a column was mis-read, set "
        "spend_file_overrides/spend_overrides column_map in config/councils.yml"
    )


def _reason(name: str, exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{name}: cannot be decoded as {exc.encoding} at byte {exc.start}: {exc.reason}"
    text = str(exc) or type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


# --------------------------------------------------------------------------- a council


def ingest_spend_files(
    council: Council,
    files: Iterable[Path] | None,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    on_file: Callable[[str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    landed_ahead: Future | None = None,
    replaces: Sequence[str] = (),
) -> list[FileResult]:
    """Land and load the given files (None: the drop folder and the configured URLs), each on its own.

    One warehouse connection serves every file (``con`` if given, else one opened and closed
    here); each file still loads in its own transaction. A rejected file is recorded and
    reported; it does not stop the files after it. ``landed_ahead``: the files already landed
    and their first window sniffed (:func:`_land_ahead`, see :func:`iter_council_spend`).
    ``replaces``: names of loaded files the ONE given file re-issues (``--replaces``).
    """
    files = None if files is None else list(files)
    if replaces and landed_ahead is None and (files is None or len(files) != 1):
        raise ValueError("replaces (--replaces) needs exactly one file to load: the re-issue of the named file(s)")
    if con is None:
        own = connect_for_ingest(warehouse)
        try:
            return ingest_spend_files(
                council, files, run_id, loaded_at, warehouse, on_file, on_batch, own, landed_ahead, replaces
            )
        finally:
            own.close()
    with transaction(warehouse, con):
        register_council(con, council)
    results = []
    inputs, first = landed_ahead.result() if landed_ahead is not None else (land_inputs(council, files), None)
    for start in range(0, len(inputs), PREFETCH_FILES):
        window = inputs[start : start + PREFETCH_FILES]
        if start == 0 and first is not None:
            sniffed = first
        else:
            sniffed = _presniff(con, council, [landed for _, landed in window if not isinstance(landed, str)])
        for origin, landed in window:
            if on_file is not None:
                on_file(origin)
            if isinstance(landed, str):
                results.append(SpendResult(origin, "rejected", landed, council.id, Path(origin).name))
                continue
            sf = sniffed.pop(landed.sha256, None)
            results.append(
                load_landed_file(council, landed, run_id, loaded_at, warehouse, origin, on_batch, con, sf, replaces)
            )
    return results


def _land_ahead(
    council: Council, cursor, given: Sequence[Path] | Sequence[LandedFile] | None = None
) -> tuple[list[tuple[str, LandedFile | str]], dict[str, Any]]:
    """Land a council's files and sniff and prefetch the first window (runs in a worker thread).

    ``given``: the files to load instead of the drop folder and URLs: paths (landed here) or
    files already landed (the DAG lands them in its listing task).
    """
    if given and all(isinstance(f, LandedFile) for f in given):
        inputs: list[tuple[str, LandedFile | str]] = [(f.origin, f) for f in given]
    else:
        inputs = land_inputs(council, None if given is None else [Path(f) for f in given])
    window = [landed for _, landed in inputs[:PREFETCH_FILES] if not isinstance(landed, str)]
    return inputs, _presniff(cursor, council, window)


def iter_council_spend(
    councils: list[Council],
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    inputs: Mapping[str, Sequence[Path] | Sequence[LandedFile]] | None = None,
    on_file: Callable[[str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    replaces: Sequence[str] = (),
) -> Iterator[tuple[Council, list[FileResult]]]:
    """(council, results) for each council in turn, as :func:`load_council_spend` gives them.

    While one council's files load (on ``con``, one transaction per file), a worker thread
    lands the next council's files and reads them through DuckDB (which releases the GIL):
    the two cores each take one side. The worker reads the manifest on its own cursor and
    never writes the warehouse. ``inputs``: council id -> the files to load instead of its
    drop folder and URLs (see :func:`_land_ahead`). ``on_file``/``on_batch``: progress.
    ``replaces``: see :func:`ingest_spend_files` (one council, one file).
    """
    if con is None:
        own = connect_for_ingest(warehouse)
        try:
            yield from iter_council_spend(
                councils, run_id, loaded_at, warehouse, own, inputs, on_file, on_batch, replaces
            )
        finally:
            own.close()
        return
    given = inputs or {}
    cursor = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spend-ahead") as pool:
            ahead = [pool.submit(_land_ahead, c, cursor, given.get(c.id)) for c in councils[:1]]
            for i, council in enumerate(councils):
                if i + 1 < len(councils):
                    nxt = councils[i + 1]
                    ahead.append(pool.submit(_land_ahead, nxt, cursor, given.get(nxt.id)))
                results = ingest_spend_files(
                    council,
                    None,
                    run_id,
                    loaded_at,
                    warehouse,
                    on_file,
                    on_batch,
                    con=con,
                    landed_ahead=ahead[i],
                    replaces=replaces,
                )
                ahead[i] = None  # its prefetched rows are loaded: let them go
                yield council, results
    finally:
        cursor.close()


def _presniff(con, council: Council, window: list[LandedFile]) -> dict[str, Any]:
    """sha256 -> SpendFile for the window's files that will be read, small ones prefetched together.

    Reading a council's small files in one DuckDB query (:func:`procure.extract.spend_fast.prefetch`)
    saves ~20 ms a file. A file that cannot be sniffed is left out: loading it rejects it.
    """
    from procure.extract import spend_reader
    from procure.extract.spend_fast import prefetch

    if len(window) < 2:
        return {}
    out: dict[str, Any] = {}
    for landed in window:
        if landed.sha256 in out:
            continue
        overrides = council.overrides_for(landed.original_name)
        known = _manifest_row(con, council.id, landed.sha256)
        if known is not None and (
            known[0] != "rejected" or known[2] == json.dumps(overrides, sort_keys=True, default=str)
        ):
            continue  # unchanged, or rejected again without reading it
        try:
            out[landed.sha256] = spend_reader.read_spend_file(
                landed.path, overrides=overrides or None, sha256=landed.sha256
            )
        except UNREADABLE:
            continue
    prefetch([sf for sf in out.values() if isinstance(sf, spend_reader.SpendFile)])
    return out


def load_council_spend(
    council: Council,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[FileResult]:
    """Everything new in the council's drop folder and URLs (what ``procure ingest all`` runs)."""
    return ingest_spend_files(council, None, run_id, loaded_at, warehouse, con=con)


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
    known = known_files("spend_manifest", council.id, warehouse)
    out = []
    for item in landed_or_raise(land_inputs(council)):
        state = known.get(item.sha256)
        overrides = json.dumps(council.overrides_for(item.original_name), sort_keys=True, default=str)
        if state is None or (state[0] == "rejected" and state[1] != overrides):
            out.append(item)
    return out
