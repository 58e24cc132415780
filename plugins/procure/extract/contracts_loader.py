"""Load a council's contract register (CSV or XLSX) into raw.contracts.

A register is a snapshot of every current contract, so a new version replaces the
council's register as a whole, in one transaction; ``raw.contract_manifest`` keeps every
version (the older one marked ``superseded``) with its account::

    rows_read = rows_loaded + rows_quarantined + skipped_blank + skipped_preamble

Files are landed unchanged first (:mod:`procure.extract.landing`); the format is read
from the bytes (an XLSX is a zip holding ``xl/workbook.xml``, whatever its name), and
columns are matched through ``config/contract_register_aliases.yml``. The header is the
first row naming a contract reference and a supplier column; rows above it are preamble.
A row whose reference is missing or repeated, or whose date or value cannot be read, goes
to raw.contracts_quarantine with the file, line, field and reason. Company numbers are
normalised to Companies House's 8 characters (``gb/02165763``, ``2165763`` -> ``02165763``).
The same bytes again change nothing; a file that cannot be read, or has no usable row, is
recorded as rejected and leaves the loaded register in place.

XLSX: a formula cell is read as the value the spreadsheet last calculated (cached in the
file); a formula with no cached value (a workbook written by a program that does not
calculate) or an Excel error value (``#N/A``, ``#REF!``) in a column the register uses sends
the row to quarantine saying so, with the formula. A merged range is filled with its
top-left value (a supplier merged over the rows of its contracts belongs to each of them).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from procure.config import ConfigError, Council, contract_aliases_path, read_yaml
from procure.extract.landing import LandedFile, drop_folder_files, land_sources, landed_or_raise
from procure.extract.parse import parse_amount, parse_date
from procure.extract.sniff import detect_compression, open_decompressed, scan_encoding, sha256_of, sniff_delimiter
from procure.extract.spend_loader import UNREADABLE, FileResult, known_files, register_council
from procure.warehouse import transaction

log = logging.getLogger(__name__)

SOURCE = "contracts"
ALIASES_PATH = contract_aliases_path()
HEADER_SCAN_ROWS = 30
DATE_FIELDS = ("start_date", "end_date", "review_date")
AMOUNT_FIELDS = ("total_value_gbp", "annual_value_gbp", "irrecoverable_vat_gbp")
_KEY = re.compile(r"[^0-9a-z]+")


class RegisterFileError(ValueError):
    """The file cannot be read as a contract register; the message names the file and the fix."""


def _key(text: str) -> str:
    return _KEY.sub(" ", text.lower()).strip()


def _flag(value: str | None) -> bool | None:
    v = (value or "").strip().lower()
    if v in {"yes", "y", "true", "1", "sme", "vcse"}:
        return True
    if v in {"no", "n", "false", "0"}:
        return False
    return None


def normalise_company_number(value: str | None) -> str | None:
    """Companies House numbers as 8 characters: 'gb/02165763', '2165763', '02165763' -> '02165763'.

    Prefixed numbers (SC, NI, OC, IP...) are kept upper-case without spaces; an Excel cell that
    turned the number into 2165763.0 is read as 2165763.
    """
    v = re.sub(r"\s+", "", (value or "").upper())
    for prefix in ("GB-COH-", "GB-COH/", "GB/", "GB-"):
        v = v.removeprefix(prefix)
    if re.fullmatch(r"\d+\.0+", v):
        v = v.split(".")[0]
    if not v:
        return None
    return v.zfill(8) if v.isdigit() and len(v) <= 8 else v


# --------------------------------------------------------------------------- reading


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _is_xlsx(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return "xl/workbook.xml" in {n.lower() for n in zf.namelist()}


#: per record: (line, cells as text, {column index: why that cell cannot be read})
Records = Iterator[tuple[int, list[str], dict[int, str]]]


def _open_workbook(path: Path, data_only: bool):
    from openpyxl import load_workbook

    with path.open("rb") as fh:  # a file object: openpyxl would refuse a misleading extension
        try:
            return load_workbook(fh, data_only=data_only)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise RegisterFileError(f"{path.name}: not a readable Excel workbook ({exc})") from exc


def _xlsx_records(path: Path) -> Records:
    """The first sheet's rows: cached formula values, merged ranges filled, unreadable cells named.

    The workbook is opened twice, for the values the spreadsheet last calculated and for the
    formulas themselves (openpyxl gives one or the other); merged ranges need the full (not
    read-only) reader, which is fine for a register's size.
    """
    values_wb = _open_workbook(path, data_only=True)
    formulas_wb = _open_workbook(path, data_only=False)
    try:
        values, formulas = values_wb.worksheets[0], formulas_wb.worksheets[0]
        merged: dict[tuple[int, int], tuple[int, int]] = {}  # every cell of a merged range -> its top-left
        for rng in values.merged_cells.ranges:
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    merged[(r, c)] = (rng.min_row, rng.min_col)
        cached_formulas = 0
        for number, row in enumerate(values.iter_rows(), start=1):
            cells, unreadable = [], {}
            for index, cell in enumerate(row):
                r, c = merged.get((number, index + 1), (number, index + 1))
                source = values.cell(r, c) if (r, c) != (number, index + 1) else cell
                formula = formulas.cell(r, c)
                where = f"cell {source.coordinate}" + (
                    f" (merged into {cell.coordinate})" if source is not cell else ""
                )
                if formula.data_type == "f":
                    text = str(formula.value)
                    if source.value is None:
                        unreadable[index] = (
                            f"{where} holds the formula {text[:80]} with no cached value (the workbook was saved "
                            "by a program that does not calculate: open and save it in Excel or LibreOffice)"
                        )
                    else:
                        cached_formulas += 1
                if source.data_type == "e":
                    unreadable[index] = f"{where} holds the Excel error {source.value}"
                cells.append(_cell_text(source.value))
            yield number, cells, unreadable
        if cached_formulas:
            log.info("%s: %d formula cell(s) read as their cached values", path.name, cached_formulas)
    finally:
        values_wb.close()
        formulas_wb.close()


def _csv_records(path: Path, encoding: str, compression: str) -> Records:
    with open_decompressed(path, compression) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        sample = [line for _, line in zip(range(50), text, strict=False)]
    with open_decompressed(path, compression) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=sniff_delimiter(sample) if sample else ",")
        for cells in reader:
            yield reader.line_num, cells, {}


@dataclass
class RegisterRead:
    """A register file read in full: every data record is in ``rows`` or ``rejects``."""

    sha256: str
    file_format: str
    encoding: str | None
    header_line: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0
    skipped_blank: int = 0
    skipped_preamble: int = 0


def _load_aliases(aliases_path: Path) -> dict[str, set[str]]:
    doc = read_yaml(aliases_path, "contract-register aliases")
    for name, spellings in doc.items():
        if not isinstance(spellings, list) or not all(isinstance(a, str) and a.strip() for a in spellings):
            raise ConfigError(f"{aliases_path}: key {name!r}: expected a list of header spellings, got {spellings!r}")
    return {f: {_key(a) for a in names} for f, names in doc.items()}


def read_register_file(path: Path, aliases_path: Path = ALIASES_PATH) -> RegisterRead:
    """Read a CSV (any encoding, compressed or not) or XLSX register. Raises RegisterFileError."""
    path = Path(path)
    aliases = _load_aliases(aliases_path)
    if _is_xlsx(path):
        file_format, encoding, records = "xlsx", None, _xlsx_records(path)
    else:
        compression = detect_compression(path)
        with open_decompressed(path, compression) as stream:
            scan = scan_encoding(stream)
        if scan.bytes_read == 0:
            raise RegisterFileError(f"{path.name}: file is empty")
        file_format, encoding = "csv" if compression == "none" else f"csv+{compression}", scan.encoding
        records = _csv_records(path, encoding, compression)

    preamble: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    column_of: dict[str, int] = {}
    for line, cells, _unreadable in records:
        found: dict[str, int] = {}
        for i, cell in enumerate(cells):
            for name, spellings in aliases.items():
                if _key(cell) in spellings and name not in found:
                    found[name] = i
        if "contract_ref" in found and "supplier_name" in found:
            header, header_line, column_of = cells, line, found
            break
        preamble.append((line, cells))
        if len(preamble) >= HEADER_SCAN_ROWS:
            break
    if header is None:
        first = next((c for _, c in preamble if any(x.strip() for x in c)), [])
        raise RegisterFileError(
            f"{path.name}: no header row naming a contract reference and a supplier in the first "
            f"{HEADER_SCAN_ROWS} rows (first row: {first[:8]!r}); add the spellings to {aliases_path}"
        )
    out = RegisterRead(sha256_of(path), file_format, encoding, header_line, skipped_preamble=len(preamble))
    out.rows_read = len(preamble)
    seen: dict[str, int] = {}
    for line, cells, unreadable in records:
        out.rows_read += 1
        if not any(c.strip() for c in cells):
            out.skipped_blank += 1
            continue
        raw = json.dumps(dict(zip(header, cells, strict=False)), ensure_ascii=False)

        def cell(name: str, cells: list[str] = cells) -> str | None:
            i = column_of.get(name)
            v = cells[i].replace("\u00a0", " ").strip() if i is not None and i < len(cells) else ""
            return v or None

        row: dict[str, Any] = {name: cell(name) for name in aliases}
        problems: list[tuple[str, str]] = [
            (header[i] if i < len(header) else f"column {i + 1}", unreadable[i])
            for i in sorted(set(column_of.values()) & set(unreadable))
        ]
        bad_fields = {name for name, i in column_of.items() if i in unreadable}
        if not row["contract_ref"] and "contract_ref" not in bad_fields:
            problems.append(("contract_ref", "missing contract reference"))
        for name in DATE_FIELDS:
            if row.get(name) and name not in bad_fields:
                value, problem = parse_date(row[name])
                row[name] = value
                if problem:
                    problems.append((header[column_of[name]], problem))
        for name in AMOUNT_FIELDS:
            if row.get(name) and name not in bad_fields:
                value, problem = parse_amount(row[name])
                row[name] = value
                if problem:
                    problems.append((header[column_of[name]], problem))
        if not problems and row["contract_ref"] in seen:
            problems.append(
                ("contract_ref", f"{row['contract_ref']!r} already used on line {seen[row['contract_ref']]}")
            )
        if problems:
            out.rejects.append(
                {
                    "source_line": line,
                    "field": problems[0][0],
                    "reject_reason": f"{path.name} line {line}: " + "; ".join(f"field {f!r}: {p}" for f, p in problems),
                    "raw_record": raw,
                }
            )
            continue
        seen[row["contract_ref"]] = line
        row["is_sme"], row["is_vcse"] = _flag(row.get("is_sme")), _flag(row.get("is_vcse"))
        row["supplier_company_number"] = normalise_company_number(row.get("supplier_company_number"))
        row["source_line"], row["raw_record"] = line, raw
        out.rows.append(row)
    return out


# --------------------------------------------------------------------------- loading

COLUMNS = [
    "contract_ref",
    "title",
    "description",
    "service_area",
    "procurement_category",
    "supplier_name",
    "supplier_company_number",
    "supplier_charity_number",
    "supplier_postcode",
    "is_sme",
    "is_vcse",
    "start_date",
    "end_date",
    "review_date",
    "extension_options",
    "total_value_gbp",
    "annual_value_gbp",
    "irrecoverable_vat_gbp",
    "procurement_route",
    "notice_id",
]


def register_files(council: Council) -> list[Path]:
    """The register files offered for the council: ``contracts_file`` and the drop folder's files."""
    files = [council.contracts_file] if council.contracts_file is not None else []
    return files + drop_folder_files(council.contracts_dir, council.contracts_glob)


def land_inputs(
    council: Council, files: Iterable[Path] | None = None, root: Path | None = None
) -> list[tuple[str, LandedFile | str]]:
    """Like :func:`procure.extract.spend_loader.land_inputs`, for registers."""
    sources: list[Path | str] = (
        [*register_files(council), *council.contracts_urls] if files is None else [Path(f) for f in files]
    )
    return land_sources(sources, SOURCE, council.id, root)


def _reject(landed: LandedFile, origin: str, reason: str, run_id: str, loaded_at: datetime, db) -> FileResult:
    with transaction(db) as con:
        con.execute(
            "delete from raw.contract_manifest where council_id = ? and file_sha256 = ?",
            [landed.council_id, landed.sha256],
        )
        con.execute(
            "insert into raw.contract_manifest (council_id, file_sha256, source_file, source_path, landing_path, "
            "size_bytes, status, reason, run_id, loaded_at) values (?, ?, ?, ?, ?, ?, 'rejected', ?, ?, ?)",
            [
                landed.council_id,
                landed.sha256,
                landed.original_name,
                origin,
                str(landed.path),
                landed.size_bytes,
                reason,
                run_id,
                loaded_at,
            ],
        )
    log.warning("rejected contract register %s: %s", origin, reason)
    return FileResult(origin, "rejected", reason, landed.council_id, landed.original_name, landed.sha256)


def load_landed_register(
    council: Council,
    landed: LandedFile,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    origin: str | None = None,
) -> FileResult:
    """Replace the council's register with this file's rows, in one transaction."""
    origin = origin or landed.origin
    name = landed.original_name
    result = FileResult(origin, "loaded", None, council.id, name, landed.sha256, str(landed.path))
    with transaction(warehouse) as con:
        known = con.execute(
            "select status, reason, source_file from raw.contract_manifest where council_id = ? and file_sha256 = ?",
            [council.id, landed.sha256],
        ).fetchone()
    if known is not None and known[0] != "rejected":
        result.status, result.reason = "unchanged", f"same bytes as {known[2]} (already {known[0]})"
        return result
    try:
        read = read_register_file(landed.path)
    except UNREADABLE as exc:
        text = str(exc)
        return _reject(
            landed, origin, text if text.startswith(name) else f"{name}: {text}", run_id, loaded_at, warehouse
        )
    if not read.rows:
        reason = (
            f"{name}: no usable contracts ({read.rows_read} rows read, {len(read.rejects)} quarantined "
            "reasons below); the loaded register is left as it was"
            if read.rejects
            else f"{name}: no contract lines after the header on line {read.header_line}"
        )
        if read.rejects:
            reason += ": " + "; ".join(r["reject_reason"] for r in read.rejects[:3])
        return _reject(landed, origin, reason, run_id, loaded_at, warehouse)

    result.rows_read = read.rows_read
    result.rows_loaded, result.rows_quarantined = len(read.rows), len(read.rejects)
    result.skipped = {
        "skipped_blank": read.skipped_blank,
        "skipped_preamble": read.skipped_preamble,
        "skipped_repeated_header": 0,
        "skipped_total": 0,
    }
    result.amount_total = sum((r["total_value_gbp"] or Decimal(0) for r in read.rows), Decimal("0.00"))
    with transaction(warehouse) as con:
        old = con.execute(
            "select file_sha256, source_file from raw.contract_manifest "
            "where council_id = ? and status = 'loaded' and file_sha256 <> ?",
            [council.id, landed.sha256],
        ).fetchall()
        con.execute("delete from raw.contracts where council_id = ?", [council.id])
        con.execute("delete from raw.contracts_quarantine where council_id = ?", [council.id])
        con.execute(
            "update raw.contract_manifest set status = 'superseded', superseded_by = ?, reason = ? "
            "where council_id = ? and status = 'loaded' and file_sha256 <> ?",
            [landed.sha256, f"replaced by {name} ({landed.sha256[:12]})", council.id, landed.sha256],
        )
        con.execute(
            "delete from raw.contract_manifest where council_id = ? and file_sha256 = ?", [council.id, landed.sha256]
        )
        cols = ["council_id", "source_file", "file_sha256", "source_line", *COLUMNS, "raw_record", "run_id"]
        con.executemany(
            f"insert into raw.contracts ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [
                [
                    council.id,
                    name,
                    landed.sha256,
                    r["source_line"],
                    *(r.get(c) for c in COLUMNS),
                    r["raw_record"],
                    run_id,
                ]
                for r in read.rows
            ],
        )
        if read.rejects:
            con.executemany(
                "insert into raw.contracts_quarantine (council_id, source_file, file_sha256, source_line, field, "
                "reject_reason, raw_record, run_id) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        council.id,
                        name,
                        landed.sha256,
                        r["source_line"],
                        r["field"],
                        r["reject_reason"],
                        r["raw_record"],
                        run_id,
                    ]
                    for r in read.rejects
                ],
            )
        con.execute(
            "insert into raw.contract_manifest (council_id, file_sha256, source_file, source_path, landing_path, "
            "size_bytes, file_format, encoding, header_line, rows_read, rows_loaded, rows_quarantined, "
            "skipped_blank, skipped_preamble, status, reason, superseded_by, run_id, loaded_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, null, ?, ?)",
            [
                council.id,
                landed.sha256,
                name,
                origin,
                str(landed.path),
                landed.size_bytes,
                read.file_format,
                read.encoding,
                read.header_line,
                read.rows_read,
                result.rows_loaded,
                result.rows_quarantined,
                read.skipped_blank,
                read.skipped_preamble,
                f"replaces {', '.join(n for _, n in old)}" if old else None,
                run_id,
                loaded_at,
            ],
        )
    result.superseded = [n for _, n in old]
    log.info(
        "contract register %s: %d read, %d contracts, %d quarantined, %d skipped",
        name,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
        result.rows_skipped,
    )
    return result


def ingest_register_files(
    council: Council,
    files: Iterable[Path] | None,
    run_id: str,
    loaded_at: datetime,
    warehouse: Path | None = None,
    on_file: Callable[[str], None] | None = None,
) -> list[FileResult]:
    """Land and load register files (None: ``contracts_file``, the drop folder and the URLs), in order."""
    with transaction(warehouse) as con:
        register_council(con, council)
    results = []
    for origin, landed in land_inputs(council, files):
        if on_file is not None:
            on_file(origin)
        if isinstance(landed, str):
            results.append(FileResult(origin, "rejected", landed, council.id, Path(origin).name))
        else:
            results.append(load_landed_register(council, landed, run_id, loaded_at, warehouse, origin))
    return results


def new_landed_files(council: Council, warehouse: Path | None = None) -> list[LandedFile]:
    """Land the council's register files; return those raw.contract_manifest does not know yet."""
    known = known_files("contract_manifest", council.id, warehouse)
    return [item for item in landed_or_raise(land_inputs(council)) if item.sha256 not in known]
