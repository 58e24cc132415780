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

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from procure.extract.parse import (
    compact_header,
    looks_like_amount,
    looks_like_date,
    parse_date,
    parse_period,
)
from procure.extract.sniff import (
    Limits,
    SpendFileError,
    default_limits,
    detect_compression,
    open_decompressed,
    scan_encoding,
    sha256_of,
    sniff_delimiter,
)
from procure.extract.spend_infer import ESSENTIAL, Inference, infer_roles
from procure.extract.spend_rows import (
    CANONICAL_FIELDS,
    MAPPABLE_FIELDS,
    ROW_FIELDS,
    STAT_KEYS,
    TEXT_FIELDS,
    Aliases,
    RowBuilder,
    csv_records,
    header_like,
    is_blank,
    is_header,
    load_aliases,
    map_columns,
    repair_mojibake,
)
from procure.extract.spend_xlsx import check_size, open_workbook, sheet_records

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

_OVERRIDE_KEYS = {
    "encoding",
    "delimiter",
    "header_line",
    "columns",
    "date_format",
    "column_map",
    "max_quarantine_share",
    "period",
}
#: A file with more than this share of its payment lines quarantined is rejected (its lines
#: stay in quarantine); per council or file: overrides["max_quarantine_share"].
MAX_QUARANTINE_SHARE = 0.2
#: Smallest (decompressed) file for which engine='auto' tries the DuckDB fast path. Its fixed
#: cost per file is ~20 ms (the in-memory connection and the prepared query are reused), then
#: ~8 us a row against ~25 us on the Python path (~50 us once loaded, where the Python rows
#: still have to become Arrow): it wins from ~500 rows (~100 KB) in the loader.
AUTO_FAST_MIN_BYTES = 128_000
HEADER_SCAN_RECORDS = 1000  # records searched for the header (Darlington's is on line 21)
FIRST_LOOK_RECORDS = 300  # records read first; all HEADER_SCAN_RECORDS only when no header is among them
SNIFF_LINES = 200


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
    #: How the payment date is read: 'day' (a date column), 'period' (a column of months or
    #: quarters) or None (no date column: every line takes ``period``).
    date_kind: str | None = "day"
    #: (first day, last day) of the file's period, from a title row, the file name or
    #: overrides["period"]; used only when the file has no date column.
    period: tuple[date, date] | None = None
    #: Where ``period`` came from ('title row 2', 'file name', 'overrides').
    period_source: str | None = None
    #: The inferred roles with their evidence and confidence (see :mod:`procure.extract.spend_infer`).
    inference: Inference | None = field(default=None, repr=False)
    #: 'csv' or 'xlsx'; a workbook is read sheet by sheet (``sheets``), each with its own header.
    file_format: str = "csv"
    sheets: list[Any] = field(default_factory=list, repr=False)
    sheet_name: str | None = None
    limits: Limits | None = field(default=None, repr=False)
    max_quarantine_share: float = MAX_QUARANTINE_SHARE

    def column_evidence(self) -> dict[str, Any]:
        """The column map with the evidence for each role and a confidence (0-1), for the manifest."""
        out: dict[str, Any] = {
            "column_map": dict(self.column_map),
            "evidence": dict(self.inference.evidence) if self.inference else {},
            "confidence": round(self.inference.confidence, 2) if self.inference else 1.0,
            "date": self.date_kind or "file period",
        }
        if self.period is not None and self.date_kind is None:
            out["period"] = [self.period[0].isoformat(), self.period[1].isoformat(), self.period_source]
        if self.date_format == "monthfirst":
            out["date_order"] = "month-first"
        if self.sheets:
            out["sheets"] = {s.sheet_name: s.column_evidence() for s in self.sheets}
            out["confidence"] = min((v["confidence"] for v in out["sheets"].values()), default=0.0)
        return out

    @contextmanager
    def _text(self) -> Iterator[io.TextIOWrapper]:
        with open_decompressed(self.path, self.compression, self.limits) as raw:
            errors = "surrogateescape" if self.scan is not None and getattr(self.scan, "mixed", False) else "strict"
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors=errors, newline=None)
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
        if self.sheets:
            self.engine_used = "python"
            yield from self._iter_sheets(batch_rows)
            return
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
        with self._text() as text:
            records = (
                (self, start, cells) for start, cells in csv_records(text, self.delimiter, self.path.name, self.limits)
            )
            yield from self._batches(records, batch_rows)

    def _iter_sheets(self, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        """A workbook: each sheet with payment lines, through its own row builder; one record index."""
        limits = self.limits or default_limits()
        with open_workbook(self.path) as wb:
            records = (
                (part, start, cells)
                for part in self.sheets
                for start, cells in sheet_records(self.path, part.sheet_name, limits, wb)
            )
            yield from self._batches(records, batch_rows)

    def _batches(
        self, records: Iterable[tuple[SpendFile, int, list[str]]], batch_rows: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Canonical rows of (file or sheet, line, cells) records, in batches; every record counted in ``stats``.

        Records above a part's header are preamble, the header itself is not a row; one record
        index runs over all parts.
        """
        stats = self.new_stats()
        builders: dict[int, RowBuilder] = {}
        batch: list[dict[str, Any]] = []
        index = 0
        for part, start, cells in records:
            if part.header_line is not None and start <= part.header_line:
                if start < part.header_line:
                    stats["rows_read"] += 1
                    stats["skipped_preamble"] += 1
                continue
            stats["rows_read"] += 1
            if is_blank(cells):
                stats["skipped_blank"] += 1
                continue
            builder = builders.get(id(part))
            if builder is None:
                builder = builders[id(part)] = RowBuilder(part)
            row, skip = builder.build(start, index, cells)
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
    """(a date, an amount) if the record reads like a payment line."""
    dates = [
        c
        for c in cells
        if looks_like_date(c)
        or (_US_DATE.match(c) and parse_date(c, "monthfirst")[0])
        or (_PERIODISH.search(c) and parse_period(c))
    ]
    if not dates:
        return None
    amounts = [c for c in cells if c not in dates and looks_like_amount(c) and re.search(r"[.,£]", c)]
    return (dates[0].strip(), amounts[0].strip()) if amounts else None


_DIGIT = re.compile(r"\d")
_PERIODISH = re.compile(r"[A-Za-z]|^\d{6}$")
_US_DATE = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4}\s*$")


def _two_row(upper: list[str], lower: list[str]) -> bool:
    """Whether ``lower`` completes ``upper`` (``Amount`` spanning ``Gross, VAT, Net``)."""
    if not header_like(lower):
        return False
    width = max(len(upper), len(lower))
    up = [(upper[i].strip() if i < len(upper) else "") for i in range(width)]
    low = [(lower[i].strip() if i < len(lower) else "") for i in range(width)]
    spanned = [i for i in range(1, width) if low[i] and not up[i] and any(up[:i])]
    return bool(spanned) and sum(1 for u in up if u) < sum(1 for v in low if v) + sum(1 for u in up if u)


def _merge_two_row(upper: list[str], lower: list[str]) -> list[str]:
    width = max(len(upper), len(lower))
    out, parent = [], ""
    for i in range(width):
        u = upper[i].strip() if i < len(upper) else ""
        v = lower[i].strip() if i < len(lower) else ""
        if u:
            parent = u
        elif not v:
            parent = ""
        out.append(f"{parent} {v}".strip() if v and (u or parent) else (v or u))
    return out


def _followed_by_data(rows: list[tuple[int, list[str]]], k: int) -> bool:
    """Whether payment lines follow ``rows[k]``: one of the next three filled records reads like one
    (whole-pound amounts such as ``1234`` do not, so the first line alone may not tell)."""
    following = rows[k + 1 : k + 4]
    return bool(following) and not header_like(following[0][1]) and any(_data_like(c) for _, c in following)


@dataclass
class _Header:
    line: int | None  # physical line of the header (the lower one of a two-row header); None: header-less
    cells: list[str]
    note: str = ""  # how it was found, for the evidence
    preamble: list[tuple[int, list[str]]] = field(default_factory=list)  # filled records above it


def _find_header(
    sf_name: str, records: list[tuple[int, list[str]]], aliases: Aliases, look_below: bool = True
) -> _Header:
    """The header row, found by its names (aliases) or by its shape (words above payment lines).

    A file whose first filled record already reads like data has no header at the top; a
    header-shaped record of the same width further down (some exports put it last) names its
    columns, else they are ``col_<n>`` and the roles come from the values alone.
    ``look_below=False``: say only whether the header is at the top (line None if not).
    """
    rows = [(start, cells) for start, cells in records[:HEADER_SCAN_RECORDS] if not is_blank(cells)]
    for k, (start, cells) in enumerate(rows):
        known = is_header(cells, aliases)
        shaped = not known and header_like(cells) and _followed_by_data(rows, k)
        if known or shaped or (header_like(cells) and k + 1 < len(rows) and _two_row(cells, rows[k + 1][1])):
            if k + 1 < len(rows) and _two_row(cells, rows[k + 1][1]) and _followed_by_data(rows, k + 1):
                lower_line, lower = rows[k + 1]
                return _Header(lower_line, _merge_two_row(cells, lower), "two-row header", rows[:k])
            if known or shaped:
                return _Header(start, cells, "header names" if known else "header row found by its shape", rows[:k])
        if _data_like(cells):
            width = len(cells)
            for later_start, later in rows[k + 1 :] if look_below else ():
                if len(later) == width and is_header(later, aliases):
                    return _Header(None, later, f"header-less file; column names from line {later_start}")
            return _Header(None, [f"col_{i}" for i in range(1, width + 1)], "header-less file")
    error = SpendFileError(
        f"{sf_name}: no header row and no payment line found in the first {HEADER_SCAN_RECORDS} records "
        "(a payment line has a date and an amount). Is this a spend file? If it is, set overrides['header_line'] "
        "and overrides['column_map']"
    )
    error.not_payments = True  # type: ignore[attr-defined]
    raise error


_NAME_PERIODS = [
    # yyyy-qN / qN-yyyy (calendar quarters)
    (re.compile(r"(?<!\d)(\d{4})[-_ .]?q([1-4])(?![0-9a-z])", re.I), lambda m: f"Q{m.group(2)} {m.group(1)}"),
    (re.compile(r"(?<![a-z0-9])q([1-4])[-_ .]?(\d{4})(?!\d)", re.I), lambda m: f"Q{m.group(1)} {m.group(2)}"),
]
_MONTHS_RE = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
_TEXT_PERIOD = re.compile(
    rf"(?<![a-z])((?:{_MONTHS_RE})\.?[-_ ]+(?:\d{{4}}[-_ ]+)?(?:-|to|_|\u2013)?[-_ ]*(?:{_MONTHS_RE})\.?[-_ ,]+\d{{4}}"
    rf"|(?:{_MONTHS_RE})\.?[-_ ,]+\d{{4}})(?!\d)",
    re.I,
)
_NAME_YYYYMM = re.compile(r"(?<!\d)(\d{4})[-_ .]?(0[1-9]|1[0-2])(?![0-9])")


def _text_period(text: str, numeric: bool = True) -> tuple[date, date] | None:
    """The one period a title row or file name names (``November 2011``, ``apr-jun-2014``, ``2014-q2``);
    ``numeric``: also ``2011-11`` / ``201111`` when no month is named."""
    found: set[tuple[date, date]] = set()
    for rx, fmt in _NAME_PERIODS:
        for m in rx.finditer(text):
            if got := parse_period(fmt(m)):
                found.add(got)
    for m in _TEXT_PERIOD.finditer(text):
        cleaned = re.sub(r"[-_ ,.]+", " ", m.group(1)).strip()
        parts = cleaned.split()
        candidates = [cleaned]
        if len(parts) == 3 and parts[1].isalpha():  # "apr jun 2014"
            candidates.insert(0, f"{parts[0]} {parts[2]} - {parts[1]} {parts[2]}")
        if len(parts) == 4 and parts[1].isdigit():  # "jul 2010 sep 2010"
            candidates.insert(0, f"{parts[0]} {parts[1]} - {parts[2]} {parts[3]}")
        for c in candidates:
            if got := parse_period(c):
                found.add(got)
                break
    if not found and numeric:
        for m in _NAME_YYYYMM.finditer(text):
            if got := parse_period(f"{m.group(1)}-{m.group(2)}"):
                found.add(got)
    # one period, or nested ones (a quarter and a month in it): the widest
    if found and all(any(a[0] <= b[0] and b[1] <= a[1] for a in found) for b in found):
        return min(found, key=lambda p: (p[0], -p[1].toordinal()))
    return None


def _file_period(name: str, preamble: list[tuple[int, list[str]]], overrides: dict[str, Any]):
    """(first day, last day, source) of the period a file covers, when it has no date column."""
    if overrides.get("period"):
        got = parse_period(str(overrides["period"]))
        if got is None:
            raise SpendFileError(f"{name}: overrides['period'] = {overrides['period']!r} is not a month or quarter")
        return (*got, "overrides['period']")
    for numeric in (False, True):  # a named month ("November 2011") before a bare number ("201108")
        for start, cells in preamble:
            text = " ".join(c for c in cells if c.strip())
            if got := _text_period(text, numeric):
                return (*got, f"title row {start}: {text.strip()[:80]!r}")
    stem = Path(name).stem
    if got := _text_period(stem):
        return (*got, f"file name {name!r}")
    return None


def _fix_hint(name: str, missing: str, columns: list[str]) -> str:
    example = next((c for c in columns if not re.fullmatch(r"col_\d+", c)), columns[0] if columns else "?")
    field_for = {"amount": "amount_gbp", "payment date": "payment_date", "payee": "supplier_name"}[missing]
    text = (
        f"To fix: in config/councils.yml set spend_file_overrides: {{'{name}': {{column_map: "
        f"{{{field_for}: '<one of the columns above, e.g. {example}>'}}}}}} for this file (or spend_overrides "
        "for all of the council's files)"
    )
    if missing == "payment date":
        text += ", or period: 'YYYY-MM' if the file has no date at all and covers one month"
    return text


def _explain(name: str, line: int | None, columns: list[str], inf: Inference, problem: str, missing: str) -> str:
    found = ", ".join(f"{f} = {c!r} ({inf.evidence.get(f, 'alias')})" for f, c in inf.column_map.items()) or "none"
    absent = [r for r in ESSENTIAL if r not in inf.column_map]
    where = f"line {line}" if line else "no header line"
    return (
        f"{name}: rejected: {problem}. Header seen ({where}): {columns}. Roles found: {found}. "
        f"Roles missing: {absent}. {_fix_hint(name, missing, columns)}"
    )


def _settle_roles(
    sf: SpendFile,
    header: _Header | None,
    sample: list[list[str]],
    overrides: dict[str, Any],
    aliases: Aliases,
) -> None:
    """Fill ``sf.column_map``, ``date_kind``, ``period`` from inference and overrides; refuse what cannot load."""
    name = sf.path.name if sf.sheet_name is None else f"{sf.path.name} sheet {sf.sheet_name!r}"
    columns_override = overrides.get("columns")
    if columns_override is not None:
        inf = Inference()
        inf.column_map = {f: sf.original_columns[i] for i, f in enumerate(columns_override) if f}
        inf.evidence = dict.fromkeys(inf.column_map, "overrides['columns']")
        inf.confidence = 1.0
        inf.date_kind = "day" if "payment_date" in inf.column_map else None
    elif not sample:  # a header and nothing under it: the names alone (iterating says "no payment lines")
        inf = Inference()
        inf.column_map, _ = map_columns(sf.original_columns, aliases)
        inf.evidence = dict.fromkeys(inf.column_map, "header spelling in the alias table (no lines to check)")
        inf.date_kind = "day" if "payment_date" in inf.column_map else None
    else:
        inf = infer_roles(sf.original_columns, sample, aliases)
        if header is not None and header.note:
            inf.evidence["header"] = header.note
    date_set_by_override = False
    for fname, original in (overrides.get("column_map") or {}).items():
        if original is None:
            inf.column_map.pop(fname, None)
            continue
        matches = [c for c in sf.original_columns if c == original] or [
            c for c in sf.original_columns if compact_header(c) == compact_header(original)
        ]
        if not matches:
            raise SpendFileError(
                f"{sf.path.name}: overrides['column_map'][{fname!r}] = {original!r} is not a column of this file; "
                f"columns are {sf.original_columns}"
            )
        for other, col in list(inf.column_map.items()):
            if col == matches[0] and other != fname:
                del inf.column_map[other]
        inf.column_map[fname] = matches[0]
        inf.evidence[fname] = "overrides['column_map']"
        if fname == "payment_date":
            date_set_by_override = True
        if fname == "amount_gbp" and inf.ambiguous and inf.ambiguous.startswith("amount"):
            inf.ambiguous = None
    if date_set_by_override:
        col = inf.column_map["payment_date"]
        p = inf.profiles.get(col)
        inf.date_kind = "period" if p is not None and p.period > p.date and p.period >= 0.5 else "day"
        if inf.ambiguous and inf.ambiguous.startswith("payment date"):
            inf.ambiguous = None
    sf.inference = inf
    line = sf.header_line
    if not sample and columns_override is None and "amount_gbp" not in inf.column_map:
        raise SpendFileError(f"{sf.path.name}: no payment lines: 0 data rows after the header (line {line or 0})")
    if "amount_gbp" not in inf.column_map:
        error = SpendFileError(
            _explain(sf.path.name, line, sf.original_columns, inf, "no amount column (no column of amounts)", "amount")
        )
        error.not_payments = True  # type: ignore[attr-defined]  # a workbook sheet of notes, say
        raise error
    if inf.ambiguous:
        missing = "amount" if inf.ambiguous.startswith("amount") else "payment date"
        raise SpendFileError(
            _explain(sf.path.name, line, sf.original_columns, inf, f"ambiguous {inf.ambiguous}", missing)
        )
    sf.date_kind = inf.date_kind if "payment_date" in inf.column_map else None
    if not sample and columns_override is None:
        sf.column_map = {f: inf.column_map[f] for f in MAPPABLE_FIELDS if f in inf.column_map}
        return
    if sf.date_kind is None:
        got = _file_period(sf.path.name, header.preamble if header else [], overrides)
        if got is None:
            raise SpendFileError(
                _explain(
                    name,
                    line,
                    sf.original_columns,
                    inf,
                    "no payment-date column (no column of dates or periods) and no period in a title row or "
                    "the file name",
                    "payment date",
                )
            )
        sf.period, sf.period_source = (got[0], got[1]), got[2]
        inf.evidence["payment_date"] = f"no date column: every line dated {got[0]:%Y-%m} ({got[2]})"
    if sf.date_format is None and inf.date_order == "monthfirst":
        sf.date_format = "monthfirst"
    sf.column_map = {f: inf.column_map[f] for f in MAPPABLE_FIELDS if f in inf.column_map}


def _sample(records: list[tuple[int, list[str]]], header_line: int | None, aliases: Aliases) -> list[list[str]]:
    """The data records whose values are profiled: PROFILE_ROWS of them, evenly spread over those read."""
    from procure.extract.spend_infer import PROFILE_ROWS

    out = []
    for start, cells in records:
        if header_line is not None and start <= header_line:
            continue
        if sum(1 for c in cells if c.strip()) < 2 or not _DIGIT.search("\x1f".join(cells)):
            continue  # blank, a lone total or note, a repeated header (no amount: no digit)
        out.append(cells)
    if len(out) <= PROFILE_ROWS:
        return out
    step = len(out) / PROFILE_ROWS
    return [out[int(i * step)] for i in range(PROFILE_ROWS)]


def _read_workbook(path: Path, overrides: dict[str, Any], aliases: Aliases, sha256: str, limits: Limits) -> SpendFile:
    """A SpendFile whose ``sheets`` are the workbook's sheets with payment lines, each sniffed on its own."""
    check_size(path, limits)
    with open_workbook(path) as wb:
        return _sniff_sheets(path, wb, overrides, aliases, sha256, limits)


def _sniff_sheets(
    path: Path, wb: Any, overrides: dict[str, Any], aliases: Aliases, sha256: str, limits: Limits
) -> SpendFile:
    names = list(wb.sheetnames)
    parent = SpendFile(
        path=path,
        sha256=sha256,
        compression="xlsx",
        encoding="xlsx",
        delimiter="",
        header_line=None,
        preamble_lines=0,
        original_columns=[],
        column_map={},
        date_format=overrides.get("date_format"),
        _aliases=aliases,
        limits=limits,
        file_format="xlsx",
        max_quarantine_share=float(overrides.get("max_quarantine_share", MAX_QUARANTINE_SHARE)),
    )
    sheets: list[SpendFile] = []
    skipped: dict[str, str] = {}
    for name in names:
        records = []
        for rec in sheet_records(path, name, limits, wb):
            records.append(rec)
            if len(records) >= HEADER_SCAN_RECORDS:
                break
        part = replace(parent, sheet_name=name, sheets=[])
        try:
            header = _find_header(f"{path.name} sheet {name!r}", records, aliases)
            # unlabelled columns right of the header (helper columns) get col_<n> names, as a CSV
            # header with trailing commas would: their cells are not "more fields than the header"
            width = max((len(c) for _, c in records), default=0)
            part.original_columns = _dedupe_names(header.cells + [""] * (width - len(header.cells)))
            part.header_line = header.line
            part.preamble_lines = (header.line or 1) - 1
            _settle_roles(part, header, _sample(records, header.line, aliases), overrides, aliases)
        except SpendFileError as exc:
            if not getattr(exc, "not_payments", False):
                raise  # a payment sheet that cannot be read: the whole workbook is refused
            skipped[name] = str(exc)
            continue
        sheets.append(part)
    if not sheets:
        detail = "; ".join(f"sheet {n!r}: {why}" for n, why in skipped.items())
        raise SpendFileError(f"{path.name}: rejected: no sheet holds payment lines. {detail}")
    parent.sheets = sheets
    first = sheets[0]
    parent.original_columns, parent.column_map, parent.header_line = (
        first.original_columns,
        first.column_map,
        first.header_line,
    )
    parent.inference, parent.date_kind = first.inference, first.date_kind
    parent.skipped_sheets = skipped  # type: ignore[attr-defined]
    return parent


def read_spend_file(
    path: Path,
    overrides: dict[str, Any] | None = None,
    aliases_path: Path | None = None,
    sha256: str | None = None,
    limits: Limits | None = None,
) -> SpendFile:
    """Sniff ``path`` (one pass over the bytes plus a look at the first records).

    ``sha256``: the file's digest when the caller already has it (the landing zone hashed the
    file while copying it); otherwise the scan computes it. ``limits``: size caps (default
    :func:`procure.extract.sniff.default_limits`).

    The header is found by its names or its shape, and the essential roles (amount, payment
    date or period, payee) are inferred from the header and the values together
    (:mod:`procure.extract.spend_infer`); ``sf.column_evidence()`` says what was chosen and why.
    A file with no amount, no date and no known period, or an ambiguous amount or date, raises
    :class:`SpendFileError` naming the file, the header seen, the roles found and missing, and
    the override that would fix it.

    ``overrides`` (per-council configuration) may set ``encoding``, ``delimiter``,
    ``header_line`` (1-based physical line), ``columns`` (canonical field or None per
    position, for header-less files), ``date_format`` (strptime format, 'dayfirst' or
    'monthfirst'), ``column_map`` (canonical field -> header as found; wins over the
    inference), ``period`` ('YYYY-MM' or 'Q2 2024': the period of a file with no date column)
    and ``max_quarantine_share`` (default :data:`MAX_QUARANTINE_SHARE`).
    """
    path = Path(path)
    overrides = dict(overrides or {})
    _check_overrides(path, overrides)
    if not path.is_file():
        raise SpendFileError(f"{path}: file not found")
    limits = limits or default_limits()
    aliases = load_aliases(aliases_path)
    compression = detect_compression(path)
    if compression == "xlsx":
        return _read_workbook(path, overrides, aliases, sha256 or sha256_of(path), limits)
    hasher = hashlib.sha256() if compression == "none" and sha256 is None else None
    with open_decompressed(path, compression, limits) as raw:
        scan = scan_encoding(raw, hasher)  # an uncompressed file is hashed in the same pass
    digest = sha256 or (hasher.hexdigest() if hasher is not None else sha256_of(path))
    if scan.bytes_read == 0:
        raise SpendFileError(f"{path.name}: file is empty")
    encoding = overrides.get("encoding") or scan.encoding
    double_encoded = scan.double_encoded and not overrides.get("encoding")
    if overrides.get("encoding"):
        scan.mixed = False

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
        limits=limits,
        scan=scan,
        max_quarantine_share=float(overrides.get("max_quarantine_share", MAX_QUARANTINE_SHARE)),
    )
    with sf._text() as text:
        sample = [line for _, line in zip(range(SNIFF_LINES), text, strict=False)]
    sf.delimiter = overrides.get("delimiter") or sniff_delimiter(sample)

    columns_override = overrides.get("columns")
    header_line = overrides.get("header_line")

    def first_records(n: int) -> list[tuple[int, list[str]]]:
        with sf._text() as text:
            out = []
            for start, cells in csv_records(text, sf.delimiter, path.name, limits):
                out.append((start, cells))
                if len(out) >= n:
                    break
        return out

    # most headers are near the top: look at a few hundred records first, all 1000 only if needed
    records = first_records(FIRST_LOOK_RECORDS)
    first_look: _Header | None = None  # the header the first records settle (not searched again)
    if len(records) == FIRST_LOOK_RECORDS and columns_override is None and header_line is None:
        try:
            first_look = _find_header(path.name, records, aliases, look_below=False)
        except SpendFileError:
            first_look = None
        if first_look is None or first_look.line is None:
            first_look = None
            records = first_records(HEADER_SCAN_RECORDS)
    elif header_line is not None and header_line > len(records):
        records = first_records(HEADER_SCAN_RECORDS)
    header: _Header | None = None
    if header_line is not None:
        found = [cells for start, cells in records if start == header_line]
        if not found:
            raise SpendFileError(
                f"{path.name}: overrides['header_line'] = {header_line} is not the start of a record "
                "(past the end of the file, or inside a multi-line cell)"
            )
        header = _Header(
            header_line,
            found[0],
            "overrides['header_line']",
            [(s_, c) for s_, c in records if s_ < header_line and not is_blank(c)],
        )
    elif columns_override is None:
        header = first_look or _find_header(path.name, records, aliases)
        header_line = header.line

    if columns_override is not None:
        width = max((len(c) for _, c in records[:SNIFF_LINES]), default=0)
        sf.original_columns = [f"col_{i}" for i in range(1, max(width, len(columns_override)) + 1)]
    else:
        assert header is not None
        cells = [repair_mojibake(c) for c in header.cells] if double_encoded else header.cells
        sf.original_columns = _dedupe_names(cells)
    sf.header_line = header_line
    sf.preamble_lines = header_line - 1 if header_line else 0
    _settle_roles(sf, header, _sample(records, header_line, aliases), overrides, aliases)
    return sf
