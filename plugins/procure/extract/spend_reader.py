"""Read any council "spend over £500" transparency file into canonical rows.

Councils publish the same idea in dozens of shapes: cp1252, cp437 or UTF-8 (with a BOM,
or double-encoded), CRLF, LF or old-Mac bare CR, title rows, SQL queries and blank rows
before the header, typos and camelCase in the header, interleaved empty columns,
embedded newlines in quoted cells, gzip or zip files named ``.csv``. This module
streams any of them into one row shape (:data:`CANONICAL_FIELDS`) without loading the
file into memory, and accounts for every record: each non-blank record is either
accepted or rejected with a reason naming the file, physical line and field.

How the file is understood (bytes first, see :mod:`procure.extract.sniff`):

- compression from magic bytes; encoding by BOM, strict UTF-8, then cp1252 vs cp437 by
  the £ byte; line endings CRLF/LF/CR are all line breaks;
- the header is the first row in which at least two cells are known column names
  (``config/spend_column_aliases.yml``) and which includes an amount column and a date or
  supplier column. Rows before it are the preamble. If a row that looks like data (a
  date and an amount) comes first, the file has no header: :class:`SpendFileError` says
  to set ``overrides["columns"]`` (positional layouts are never guessed).

Decisions worth knowing:

- Dates are day-first. A cell that is only a time (Oxford 2014-q2 ``00:00:00``) or a
  period (Darlington 2010-q2 ``July 2010-September 2010``) is NOT turned into a date:
  ``payment_date`` is None and the row is rejected with the reason; ``payment_date_raw``
  keeps the text. Taking the period end would invent a payment date. A file with no
  date column at all (Darlington 2011-11) rejects every row the same way; map a column
  with ``overrides["column_map"]`` if one exists under an unknown name.
- Every row needs a parseable amount. A record whose only filled cell is the amount (a
  total line) and a record repeating the header are not payments: they are skipped and
  counted by kind in ``stats`` (``skipped_total``, ``skipped_repeated_header``), as are
  blank records and preamble records; ``rows_read`` equals accepted + rejected + skipped.
  A file with no payment line at all raises :class:`SpendFileError` at the end of
  iteration. Rejected rows name the column in ``reject_field`` (None for whole-row problems).
- Clean files (one record per line, LF/CRLF, no empty lines) are read by DuckDB with the
  parsing vectorised in SQL (:mod:`procure.extract.spend_fast`, ~10x faster); the rows are
  identical to the Python path's, which every other file takes.
- Byte-identical rows are separate payments and are all kept.
- ``is_redacted`` is True when ANY cell of the record matches a redaction pattern (so
  Devon's ``REDACTED UNDER DP ACT`` invoice numbers count, not only supplier names).
- Double-encoded UTF-8 (``Â£``) is repaired cell by cell in the canonical fields;
  ``raw_record`` keeps the cells exactly as decoded.
- Text fields are stripped; blank and null markers (``NA``, ``N/A``…) become None.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from procure.config import spend_aliases_path
from procure.extract.parse import (
    compact_header,
    looks_like_amount,
    looks_like_date,
    parse_amount,
    parse_date,
)
from procure.extract.sniff import (
    SpendFileError,
    detect_compression,
    open_decompressed,
    scan_encoding,
    sha256_of,
    sniff_delimiter,
)

__all__ = [
    "CANONICAL_FIELDS",
    "MAPPABLE_FIELDS",
    "ROW_FIELDS",
    "STAT_KEYS",
    "TEXT_FIELDS",
    "SpendFile",
    "SpendFileError",
    "read_spend_file",
]

DEFAULT_ALIASES_PATH = spend_aliases_path()

TEXT_FIELDS: tuple[str, ...] = (
    "body_name",
    "service_area",
    "expense_type",
    "description",
    "supplier_name",
    "supplier_ref",
    "company_number",
    "charity_number",
    "vat_number",
    "transaction_number",
    "proclass_code",
    "proclass_label",
    "capital_revenue",
)
#: Fields a header column can be mapped to (aliases file, ``overrides["column_map"]``,
#: ``overrides["columns"]``). ``payment_method`` is read only to set ``is_pcard``.
MAPPABLE_FIELDS: tuple[str, ...] = (
    *TEXT_FIELDS,
    "payment_date",
    "amount_gbp",
    "irrecoverable_vat_gbp",
    "payment_method",
)
#: Keys of every row dict yielded by :meth:`SpendFile.iter_batches`, in column order.
CANONICAL_FIELDS: tuple[str, ...] = (
    "source_line",
    "record_index",
    *TEXT_FIELDS,
    "payment_date",
    "payment_date_raw",
    "amount_gbp",
    "amount_raw",
    "irrecoverable_vat_gbp",
    "is_redacted",
    "is_credit",
    "is_pcard",
    "raw_record",
    "reject_reason",
)
#: Keys of every yielded row: :data:`CANONICAL_FIELDS` plus ``reject_field`` (the original
#: column the first problem is in; None for accepted rows and whole-row problems).
ROW_FIELDS: tuple[str, ...] = (*CANONICAL_FIELDS, "reject_field")
#: ``SpendFile.stats`` keys. ``rows_read`` counts CSV records after the header and before it
#: (the header itself is not a row): rows_read == accepted + rejected + skipped_*.
STAT_KEYS: tuple[str, ...] = (
    "rows_read",
    "accepted",
    "rejected",
    "skipped_blank",
    "skipped_preamble",
    "skipped_repeated_header",
    "skipped_total",
)

_SETTINGS_KEYS = ("redaction_patterns", "pcard_patterns", "null_markers")
_OVERRIDE_KEYS = {
    "encoding",
    "delimiter",
    "header_line",
    "columns",
    "date_format",
    "column_map",
}
#: Smallest (decompressed) file for which engine='auto' tries the DuckDB fast path. Its fixed
#: cost per file is ~20 ms (the in-memory connection and the prepared query are reused), then
#: ~8 us a row against ~25 us on the Python path (~50 us once loaded, where the Python rows
#: still have to become Arrow): it wins from ~500 rows (~100 KB) in the loader.
AUTO_FAST_MIN_BYTES = 128_000
HEADER_SCAN_RECORDS = 1000  # records searched for the header (Darlington's is on line 21)
SNIFF_LINES = 200
_MOJIBAKE_MARKS = ("Â", "Ã", "â")


# --------------------------------------------------------------------------- aliases


@dataclass(frozen=True)
class Aliases:
    """The alias table: compact header spelling -> (field, preference rank), plus patterns."""

    by_compact: dict[str, tuple[str, int]]
    redaction: re.Pattern[str]
    pcard: re.Pattern[str]
    null_markers: frozenset[str]
    source: Path

    def field_for(self, header: str) -> tuple[str, int] | None:
        return self.by_compact.get(compact_header(header))


@lru_cache(maxsize=8)
def _load_aliases(path: Path, mtime_ns: int) -> Aliases:  # mtime in the key: edits are seen
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SpendFileError(f"cannot read the column alias table {path}: {exc}") from exc
    unknown = set(doc) - set(MAPPABLE_FIELDS) - set(_SETTINGS_KEYS)
    if unknown:
        raise SpendFileError(
            f"{path}: unknown key(s) {sorted(unknown)}; expected canonical fields "
            f"{list(MAPPABLE_FIELDS)} or {list(_SETTINGS_KEYS)}"
        )
    by_compact: dict[str, tuple[str, int]] = {}
    for name in MAPPABLE_FIELDS:
        for rank, spelling in enumerate(doc.get(name) or []):
            key = compact_header(str(spelling))
            if key in by_compact and by_compact[key][0] != name:
                raise SpendFileError(
                    f"{path}: header spelling {spelling!r} is listed under both {by_compact[key][0]!r} and {name!r}"
                )
            by_compact.setdefault(key, (name, rank))

    def union(key: str, anchor: str) -> re.Pattern[str]:
        patterns = [str(p) for p in doc.get(key) or []]
        try:
            for p in patterns:
                re.compile(p)
        except re.error as exc:
            raise SpendFileError(f"{path}: bad regular expression in {key}: {p!r} ({exc})") from exc
        body = "|".join(f"(?:{p})" for p in patterns) or r"(?!x)x"
        return re.compile(anchor.format(body), re.IGNORECASE | re.MULTILINE)

    return Aliases(
        by_compact=by_compact,
        redaction=union("redaction_patterns", r"^[ \t]*(?:{})[ \t]*$"),
        pcard=union("pcard_patterns", r"^\s*(?:{})"),
        null_markers=frozenset(str(m).casefold() for m in doc.get("null_markers") or []),
        source=path,
    )


def load_aliases(path: Path | None = None) -> Aliases:
    path = (path or DEFAULT_ALIASES_PATH).resolve()
    if not path.is_file():
        raise SpendFileError(f"column alias table not found: {path} (set PROCURE_HOME to the project folder)")
    return _load_aliases(path, path.stat().st_mtime_ns)


def map_columns(columns: list[str], aliases: Aliases) -> tuple[dict[str, str], int]:
    """Canonical field -> column name by alias preference; also how many cells are known names."""
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, position)
    known = 0
    for pos, name in enumerate(columns):
        hit = aliases.field_for(name)
        if hit is None:
            continue
        known += 1
        fname, rank = hit
        if fname not in best or rank < best[fname][0]:
            best[fname] = (rank, pos)
    return {f: columns[pos] for f, (_, pos) in best.items()}, known


def _is_header(cells: list[str], aliases: Aliases) -> bool:
    mapping, known = map_columns(cells, aliases)
    return known >= 2 and "amount_gbp" in mapping and ("payment_date" in mapping or "supplier_name" in mapping)


def _dedupe_names(cells: list[str]) -> list[str]:
    """Blank header cells become ``col_<position>``; repeats get ``_<n>`` appended."""
    names: list[str] = []
    seen: set[str] = set()
    for pos, cell in enumerate(cells, start=1):
        name = cell if cell.strip() else f"col_{pos}"
        if name in seen:
            n = 2
            while f"{name}_{n}" in seen:
                n += 1
            name = f"{name}_{n}"
        seen.add(name)
        names.append(name)
    return names


# --------------------------------------------------------------------------- records


def _records(text: Iterable[str], delimiter: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) for each CSV record.

    ``text`` yields physical lines (universal newlines), so counting the lines handed to
    the csv module gives the start line of every record, multi-line quoted cells included.
    """
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in text:
            consumed += 1
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SpendFileError(
                f"{name} line {start}: CSV structure error ({exc}); an unbalanced quote near this line "
                "usually means the file was cut or hand-edited"
            ) from exc
        except UnicodeDecodeError as exc:
            raise SpendFileError(
                f"{name} near line {start}: bytes are not valid in the chosen encoding ({exc}); "
                "set overrides['encoding']"
            ) from exc
        yield start, row


def _is_blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


def _repair_mojibake(text: str) -> str:
    if not any(m in text for m in _MOJIBAKE_MARKS):
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text.replace("Â£", "£")


# --------------------------------------------------------------------------- SpendFile


@dataclass
class SpendFile:
    """A sniffed spend file, ready to stream. Build it with :func:`read_spend_file`."""

    path: Path
    sha256: str
    compression: str
    encoding: str
    delimiter: str
    header_line: int | None
    preamble_lines: int
    original_columns: list[str]
    column_map: dict[str, str]
    double_encoded: bool = False
    date_format: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    #: 'auto': the DuckDB fast path for a qualifying file of at least AUTO_FAST_MIN_BYTES
    #: (below that DuckDB's fixed cost outweighs its speed), else Python; 'duckdb': the fast
    #: path whenever the file qualifies, else Python; 'python': always Python. Rows are the
    #: same either way. Set before iterating.
    engine: str = "auto"
    #: Which engine the last :meth:`iter_batches` used ('python' or 'duckdb').
    engine_used: str | None = None
    #: Newline/quote facts from the byte scan, used to decide whether the fast path applies.
    scan: Any = field(default=None, repr=False)
    _aliases: Aliases | None = field(default=None, repr=False)

    @contextmanager
    def _text(self) -> Iterator[io.TextIOWrapper]:
        with open_decompressed(self.path, self.compression) as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors="strict", newline=None)
            try:
                yield text
            finally:
                text.detach()

    def iter_batches(self, batch_rows: int = 50_000) -> Iterator[Any]:
        """Stream rows in batches of at most ``batch_rows``.

        A batch is a ``list[dict]`` (keys: :data:`ROW_FIELDS`) from the Python path, or a
        ``pyarrow.Table`` with the same columns from the DuckDB fast path
        (:mod:`procure.extract.spend_fast`), which is used when the file is clean (see there).
        Both give identical rows. ``self.stats`` is reset at the start and complete once the
        iterator is exhausted; a file with no payment lines raises :class:`SpendFileError`.
        """
        if batch_rows < 1:
            raise ValueError("batch_rows must be >= 1")
        if self.engine not in ("auto", "python", "duckdb"):
            raise ValueError(f"engine must be 'auto', 'python' or 'duckdb', not {self.engine!r}")
        if self.wants_fast_path():
            from procure.extract.spend_fast import fast_batches

            batches = fast_batches(self, batch_rows)
            if batches is not None:
                self.engine_used = "duckdb"
                yield from batches
                return
        self.engine_used = "python"
        yield from self._iter_python(batch_rows)

    def wants_fast_path(self) -> bool:
        """Whether :meth:`iter_batches` tries the DuckDB path (it still checks the file qualifies)."""
        if self.engine not in ("auto", "duckdb"):
            return False
        big = self.scan is not None and self.scan.bytes_read >= AUTO_FAST_MIN_BYTES
        return self.engine == "duckdb" or big

    def new_stats(self) -> dict[str, int]:
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        return self.stats

    def finish_stats(self) -> None:
        """Fill the compatibility keys and refuse a file without payment lines."""
        st = self.stats
        st["records"] = st["accepted"] + st["rejected"]
        st["blank_lines_skipped"] = st["skipped_blank"]
        if st["records"] == 0:
            raise SpendFileError(
                f"{self.path.name}: no payment lines: 0 data rows after the header "
                f"(line {self.header_line or 0}); {st['rows_read']} record(s) read: "
                f"{st['skipped_blank']} blank, {st['skipped_preamble']} preamble, "
                f"{st['skipped_repeated_header']} repeated header, {st['skipped_total']} total line(s)"
            )

    def _iter_python(self, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        stats = self.new_stats()
        row_builder = _RowBuilder(self)
        batch: list[dict[str, Any]] = []
        index = 0
        with self._text() as text:
            for start, cells in _records(text, self.delimiter, self.path.name):
                if self.header_line is not None and start <= self.header_line:
                    if start < self.header_line:
                        stats["rows_read"] += 1
                        stats["skipped_preamble"] += 1
                    continue
                stats["rows_read"] += 1
                if _is_blank(cells):
                    stats["skipped_blank"] += 1
                    continue
                row, skip = row_builder.build(start, index, cells)
                if skip:
                    stats[skip] += 1
                    continue
                index += 1
                stats["rejected" if row["reject_reason"] else "accepted"] += 1
                batch.append(row)
                if len(batch) >= batch_rows:
                    yield batch
                    batch = []
        self.finish_stats()
        if batch:
            yield batch


class _RowBuilder:
    """Turns one CSV record into a canonical row; positions are resolved once per file."""

    def __init__(self, sf: SpendFile) -> None:
        assert sf._aliases is not None
        self.sf = sf
        self.name = sf.path.name
        self.aliases = sf._aliases
        self.columns = sf.original_columns
        self.header_compact = [compact_header(c) for c in self.columns]
        self.generated = {c for c in self.columns if re.fullmatch(r"col_\d+", c)}
        pos = {c: i for i, c in enumerate(self.columns)}
        self.pos = {f: pos[c] for f, c in sf.column_map.items()}
        self.text_pos = [(f, self.pos.get(f)) for f in TEXT_FIELDS]

    def _cell(self, cells: list[str], fname: str) -> str | None:
        i = self.pos.get(fname)
        if i is None or i >= len(cells):
            return None
        return cells[i]

    def _text(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        text = raw.strip()
        if not text or text.casefold() in self.aliases.null_markers:
            return None
        return _repair_mojibake(text) if self.sf.double_encoded else text

    def build(self, line: int, index: int, cells: list[str]) -> tuple[dict[str, Any], str | None]:
        """The canonical row, and the stats key if the record is to be skipped (not a payment)."""
        raw_record: dict[str, str] = {}
        for i, cell in enumerate(cells):
            col = self.columns[i] if i < len(self.columns) else f"col_{i + 1}"
            if cell or (col not in self.generated and i < len(self.columns)):
                raw_record[col] = cell
        problems: list[tuple[str | None, str]] = []  # (original column or None, problem)

        row: dict[str, Any] = {"source_line": line, "record_index": index}
        width = len(cells)
        for fname, i in self.text_pos:
            row[fname] = self._text(cells[i]) if i is not None and i < width else None

        # dates
        date_raw = self._cell(cells, "payment_date")
        payment_date: date | None = None
        if "payment_date" not in self.pos:
            problems.append((None, "no payment-date column in this file (map one with overrides['column_map'])"))
        else:
            payment_date, problem = parse_date(date_raw or "", self.sf.date_format)
            if problem:
                problems.append(
                    (self.sf.column_map["payment_date"], f"field {self.sf.column_map['payment_date']!r}: {problem}")
                )
        row["payment_date"] = payment_date
        row["payment_date_raw"] = self._text(date_raw)

        # money
        amount_raw = self._cell(cells, "amount_gbp")
        amount, problem = parse_amount(amount_raw or "")
        if problem:
            problems.append(
                (self.sf.column_map["amount_gbp"], f"field {self.sf.column_map['amount_gbp']!r}: {problem}")
            )
        row["amount_gbp"] = amount
        row["amount_raw"] = self._text(amount_raw)
        vat_raw = self._text(self._cell(cells, "irrecoverable_vat_gbp"))
        vat: Decimal | None = None
        if vat_raw is not None:
            vat, problem = parse_amount(vat_raw)
            if problem:
                problems.append(
                    (
                        self.sf.column_map["irrecoverable_vat_gbp"],
                        f"field {self.sf.column_map['irrecoverable_vat_gbp']!r}: {problem}",
                    )
                )

        row["irrecoverable_vat_gbp"] = vat
        # One search over all cells, one per line: patterns are anchored per line (re.M).
        row["is_redacted"] = self.aliases.redaction.search("\n".join(cells)) is not None
        row["is_credit"] = amount is not None and amount < 0
        row["is_pcard"] = self._is_pcard(row, cells)
        row["raw_record"] = json.dumps(raw_record, ensure_ascii=False)

        skip: str | None = None
        if problems:
            filled = [i for i, c in enumerate(cells) if c.strip()]
            if amount is not None and filled == [self.pos["amount_gbp"]]:
                skip = "skipped_total"  # only the amount is filled in: a total/summary line
            elif [compact_header(c) for c in cells[: len(self.columns)]] == self.header_compact or (
                self.sf.header_line is None and _is_header(cells, self.aliases)
            ):
                skip = "skipped_repeated_header"
        row["reject_reason"] = f"{self.name} line {line}, " + "; ".join(p for _, p in problems) if problems else None
        row["reject_field"] = problems[0][0] if problems else None
        return row, skip

    def _is_pcard(self, row: dict[str, Any], cells: list[str]) -> bool:
        for fname in ("transaction_number", "supplier_ref"):
            value = row[fname]
            if value and self.aliases.pcard.match(value):
                return True
        method = self._text(self._cell(cells, "payment_method"))
        return bool(method and re.search(r"card|\bgpc\b", method, re.IGNORECASE))


# --------------------------------------------------------------------------- sniffing


def _check_overrides(path: Path, overrides: dict[str, Any]) -> None:
    unknown = set(overrides) - _OVERRIDE_KEYS
    if unknown:
        raise SpendFileError(f"{path.name}: unknown override(s) {sorted(unknown)}; expected {sorted(_OVERRIDE_KEYS)}")
    for key in ("columns", "column_map"):
        value = overrides.get(key)
        if value is None:
            continue
        names = value if key == "columns" else list(value)
        bad = [n for n in names if n is not None and n not in MAPPABLE_FIELDS]
        if bad:
            raise SpendFileError(
                f"{path.name}: overrides[{key!r}] names unknown field(s) {bad}; expected {list(MAPPABLE_FIELDS)}"
            )
    if overrides.get("header_line") is not None and (
        not isinstance(overrides["header_line"], int) or overrides["header_line"] < 1
    ):
        raise SpendFileError(f"{path.name}: overrides['header_line'] must be a 1-based line number")


def _data_like(cells: list[str]) -> tuple[str, str] | None:
    dates = [c for c in cells if looks_like_date(c)]
    if not dates:
        return None
    amounts = [c for c in cells if c not in dates and looks_like_amount(c) and re.search(r"[.,£]", c)]
    return (dates[0].strip(), amounts[0].strip()) if amounts else None


def _find_header(sf_name: str, records: Iterator[tuple[int, list[str]]], aliases: Aliases) -> tuple[int, list[str]]:
    first_data: tuple[int, tuple[str, str]] | None = None
    for n, (start, cells) in enumerate(records):
        if n >= HEADER_SCAN_RECORDS:
            break
        if _is_blank(cells):
            continue
        if _is_header(cells, aliases):
            if first_data is None:
                return start, cells
            line, (d, a) = first_data
            raise SpendFileError(
                f"{sf_name}: no header row at the top; line {line} already looks like data (date {d!r}, "
                f"amount {a!r}) and a header-like row only appears at line {start}. Set "
                "overrides['columns'] to the canonical field (or None) of each position"
            )
        if first_data is None and (hit := _data_like(cells)):
            first_data = (start, hit)
    if first_data is not None:
        line, (d, a) = first_data
        raise SpendFileError(
            f"{sf_name}: no header row; line {line} looks like data (date {d!r}, amount {a!r}). Set "
            "overrides['columns'] to the canonical field (or None) of each position, e.g. "
            "['service_area', None, 'description', ..., 'payment_date', 'amount_gbp'], or "
            "overrides['header_line'] and overrides['column_map'] if the header has unknown names"
        )
    raise SpendFileError(
        f"{sf_name}: no header row found in the first {HEADER_SCAN_RECORDS} records (a header needs at least "
        "two known column names, including an amount and a date or supplier column). Add the spellings to "
        "config/spend_column_aliases.yml, or set overrides['header_line'] and overrides['column_map']"
    )


def read_spend_file(
    path: Path,
    overrides: dict[str, Any] | None = None,
    aliases_path: Path | None = None,
    sha256: str | None = None,
) -> SpendFile:
    """Sniff ``path`` (one pass over the bytes plus a look at the first records).

    ``sha256``: the file's digest when the caller already has it (the landing zone hashed the
    file while copying it); otherwise the scan computes it.

    ``overrides`` (per-council configuration) may set ``encoding``, ``delimiter``,
    ``header_line`` (1-based physical line), ``columns`` (canonical field or None per
    position, for header-less files), ``date_format`` (strptime format, 'dayfirst' or
    'monthfirst') and ``column_map`` (canonical field -> header as found; wins over the
    aliases). Raises :class:`SpendFileError` with the file name and the fix.
    """
    path = Path(path)
    overrides = dict(overrides or {})
    _check_overrides(path, overrides)
    if not path.is_file():
        raise SpendFileError(f"{path}: file not found")
    aliases = load_aliases(aliases_path)
    compression = detect_compression(path)
    hasher = hashlib.sha256() if compression == "none" and sha256 is None else None
    with open_decompressed(path, compression) as raw:
        scan = scan_encoding(raw, hasher)  # an uncompressed file is hashed in the same pass
    digest = sha256 or (hasher.hexdigest() if hasher is not None else sha256_of(path))
    if scan.bytes_read == 0:
        raise SpendFileError(f"{path.name}: file is empty")
    encoding = overrides.get("encoding") or scan.encoding
    double_encoded = scan.double_encoded and not overrides.get("encoding")

    sf = SpendFile(
        path=path,
        sha256=digest,
        compression=compression,
        encoding=encoding,
        delimiter=",",
        header_line=None,
        preamble_lines=0,
        original_columns=[],
        column_map={},
        double_encoded=double_encoded,
        date_format=overrides.get("date_format"),
        _aliases=aliases,
    )
    with sf._text() as text:
        sample = [line for _, line in zip(range(SNIFF_LINES), text, strict=False)]
    sf.delimiter = overrides.get("delimiter") or sniff_delimiter(sample)

    columns_override = overrides.get("columns")
    header_line = overrides.get("header_line")
    header_cells: list[str] | None = None
    with sf._text() as text:
        records = _records(text, sf.delimiter, path.name)
        if header_line is not None:
            for start, cells in records:
                if start == header_line:
                    header_cells = cells
                    break
                if start > header_line:
                    break
            if header_cells is None:
                raise SpendFileError(
                    f"{path.name}: overrides['header_line'] = {header_line} is not the start of a record "
                    "(past the end of the file, or inside a multi-line cell)"
                )
        elif columns_override is None:
            header_line, header_cells = _find_header(path.name, records, aliases)
        else:
            width = 0
            for n, (_, cells) in enumerate(records):
                width = max(width, len(cells))
                if n >= SNIFF_LINES:
                    break

    if header_cells is not None:
        if double_encoded:
            header_cells = [_repair_mojibake(c) for c in header_cells]
        sf.original_columns = _dedupe_names(header_cells)
    else:
        sf.original_columns = [f"col_{i}" for i in range(1, max(width, len(columns_override)) + 1)]
    sf.header_line = header_line
    sf.preamble_lines = header_line - 1 if header_line else 0

    if columns_override is not None:
        column_map = {f: sf.original_columns[i] for i, f in enumerate(columns_override) if f}
    else:
        column_map, _ = map_columns(sf.original_columns, aliases)
    for fname, original in (overrides.get("column_map") or {}).items():
        if original is None:
            column_map.pop(fname, None)
            continue
        matches = [c for c in sf.original_columns if c == original] or [
            c for c in sf.original_columns if compact_header(c) == compact_header(original)
        ]
        if not matches:
            raise SpendFileError(
                f"{path.name}: overrides['column_map'][{fname!r}] = {original!r} is not a column of this file; "
                f"columns are {sf.original_columns}"
            )
        column_map[fname] = matches[0]
    if "amount_gbp" not in column_map:
        raise SpendFileError(
            f"{path.name}: no amount column among {sf.original_columns}; add its spelling to amount_gbp in "
            f"{aliases.source} or set overrides['column_map']['amount_gbp']"
        )
    sf.column_map = {f: column_map[f] for f in MAPPABLE_FIELDS if f in column_map}
    sf.scan = scan
    return sf
