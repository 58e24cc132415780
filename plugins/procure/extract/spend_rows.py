"""The canonical payment row and what every spend-file engine shares to make one.

The fields of a row (:data:`ROW_FIELDS`), the column alias table (:class:`Aliases`: header
spellings, redaction, procurement-card and null-marker patterns), the CSV record reader with its
size limits (:func:`csv_records`) and the row builder (:class:`RowBuilder`: one record's cells to
one canonical row, with its quarantine reason or field warnings). The sniffer and dispatcher
(:mod:`procure.extract.spend_reader`) and the engines it dispatches to (the DuckDB fast path
:mod:`procure.extract.spend_fast`, workbooks :mod:`procure.extract.spend_xlsx`) all build on this
module, which imports none of them: the import graph runs one way.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from procure.config import spend_aliases_path
from procure.extract.parse import (
    compact_header,
    looks_like_amount,
    looks_like_date,
    parse_amount,
    parse_date,
    parse_period,
    precision_of,
)
from procure.extract.sniff import Limits, SpendFileError, default_limits
from procure.extract.spend_infer import header_role_words, is_total_label

if TYPE_CHECKING:
    from procure.extract.spend_reader import SpendFile

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
    "date_precision",
    "field_warnings",
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


def is_header(cells: list[str], aliases: Aliases) -> bool:
    """A header by its names: known spellings, or words (``Net``, ``Clearing Date``, ``Payee``) in a row of words."""
    mapping, known = map_columns(cells, aliases)
    if known >= 2 and "amount_gbp" in mapping and ("payment_date" in mapping or "supplier_name" in mapping):
        return True
    roles = header_role_words(cells)  # cheap: words only; the shape check parses cells
    return "amount" in roles and ("date" in roles or "payee" in roles) and header_like(cells)


# --------------------------------------------------------------------------- records


class NumberedRecords:
    """The CSV records of ``lines`` (physical lines, universal newlines), each with the physical line it
    starts on: counting the lines handed to the csv module places records with multi-line quoted cells
    right. While a record is read, ``line`` is where it starts, for the message of an error the csv module
    or the decoder raises (they propagate)."""

    def __init__(self, lines: Iterable[str], delimiter: str) -> None:
        self.consumed = 0  # physical lines handed to the csv module so far
        self.line = 1
        self._reader = csv.reader(self._counted(lines), delimiter=delimiter)

    def _counted(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.consumed += 1
            yield line

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        for row in self._reader:
            yield self.line, row
            self.line = self.consumed + 1


def csv_records(
    text: Iterable[str], delimiter: str, name: str, limits: Limits | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) for each CSV record (:class:`NumberedRecords`).

    A line longer than ``limits.max_line_chars`` or a record with more than ``limits.max_fields``
    cells rejects the file (read no further: nothing is held in memory).
    """
    limits = limits or default_limits()
    max_chars, max_fields = limits.max_line_chars, limits.max_fields
    readline = getattr(text, "readline", None)

    def lines() -> Iterator[str]:
        source: Iterable[str] = text if readline is None else iter(lambda: readline(max_chars + 1), "")
        for line in source:
            if len(line) > max_chars:
                raise SpendFileError(
                    f"{name} line {records.consumed + 1}: rejected: the line is longer than {max_chars:,} "
                    "characters (limit PROCURE_SPEND_MAX_LINE_CHARS); is this a CSV file?"
                )
            yield line

    records = NumberedRecords(lines(), delimiter)
    try:
        for start, row in records:
            if len(row) > max_fields:
                raise SpendFileError(
                    f"{name} line {start}: rejected: the record has {len(row):,} fields, more than the limit of "
                    f"{max_fields:,} (PROCURE_SPEND_MAX_FIELDS)"
                )
            yield start, row
    except csv.Error as exc:
        raise SpendFileError(
            f"{name} line {records.line}: CSV structure error ({exc}); an unbalanced quote near this line "
            "usually means the file was cut or hand-edited"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SpendFileError(
            f"{name} near line {records.line}: bytes are not valid in the chosen encoding ({exc}); "
            "set overrides['encoding']"
        ) from exc


def is_blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


def repair_mojibake(text: str) -> str:
    if not any(m in text for m in _MOJIBAKE_MARKS):
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text.replace("Â£", "£")


_SURROGATE = re.compile("[\udc80-\udcff]")


def repair_bytes(cell: str) -> str:
    """A cell decoded with surrogateescape: each stray byte decoded alone as cp1252."""
    if not _SURROGATE.search(cell):
        return cell
    return _SURROGATE.sub(lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", errors="replace"), cell)


# --------------------------------------------------------------------------- rows


class RowBuilder:
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
        self.has_payee = "supplier_name" in self.pos
        self.mixed = sf.scan is not None and getattr(sf.scan, "mixed", False)

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
        return repair_mojibake(text) if self.sf.double_encoded else text

    def build(self, line: int, index: int, cells: list[str]) -> tuple[dict[str, Any], str | None]:
        """The canonical row, and the stats key if the record is to be skipped (not a payment).

        Only the essential fields (amount, payment date or period, payee) can quarantine a
        line; an optional field that does not parse keeps its raw text in ``raw_record``, gets
        a null value and a note in ``field_warnings``.
        """
        sf = self.sf
        where = f"{self.name} sheet {sf.sheet_name!r} row" if sf.sheet_name else f"{self.name} line"
        warnings: list[str] = []
        if self.mixed and any(_SURROGATE.search(c) for c in cells):
            cells = [repair_bytes(c) for c in cells]
            warnings.append("bytes that are not UTF-8 on this line were read as cp1252")
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
        if width > len(self.columns) and any(c.strip() for c in cells[len(self.columns) :]):
            problems.append((None, f"{width} fields, header has {len(self.columns)}"))

        # dates
        date_raw = self._cell(cells, "payment_date")
        payment_date: date | None = None
        precision: str | None = "day"
        date_col = sf.column_map.get("payment_date")
        if sf.date_kind is None:
            if sf.period is None:
                problems.append((None, "no payment-date column in this file (map one with overrides['column_map'])"))
            else:
                payment_date, precision = sf.period[0], precision_of(*sf.period)
        elif sf.date_kind == "period":
            period = parse_period(date_raw or "")
            if period is None:
                problems.append(
                    (date_col, f"field {date_col!r}: {(date_raw or '').strip()!r} is not a month or quarter")
                )
            else:
                payment_date, precision = period[0], precision_of(*period)
        else:
            payment_date, problem = parse_date(date_raw or "", sf.date_format)
            if problem:
                problems.append((date_col, f"field {date_col!r}: {problem}"))
        row["payment_date"] = payment_date
        row["payment_date_raw"] = self._text(date_raw)

        # money
        amount_raw = self._cell(cells, "amount_gbp")
        amount, problem = parse_amount(amount_raw or "")
        if problem:
            problems.append((sf.column_map["amount_gbp"], f"field {sf.column_map['amount_gbp']!r}: {problem}"))
        row["amount_gbp"] = amount
        row["amount_raw"] = self._text(amount_raw)
        vat_raw = self._text(self._cell(cells, "irrecoverable_vat_gbp"))
        vat: Decimal | None = None
        if vat_raw is not None:
            vat, problem = parse_amount(vat_raw)
            if problem:
                warnings.append(f"field {sf.column_map['irrecoverable_vat_gbp']!r}: {problem}")
        row["irrecoverable_vat_gbp"] = vat
        if self.has_payee and row["supplier_name"] is None:
            warnings.append(f"field {sf.column_map['supplier_name']!r}: payee is blank")

        # One search over all cells, one per line: patterns are anchored per line (re.M).
        row["is_redacted"] = self.aliases.redaction.search("\n".join(cells)) is not None
        row["is_credit"] = amount is not None and amount < 0
        row["is_pcard"] = self._is_pcard(row, cells)
        row["raw_record"] = json.dumps(raw_record, ensure_ascii=False)
        row["date_precision"] = precision if payment_date is not None else None
        row["field_warnings"] = "; ".join(warnings) if warnings else None

        skip: str | None = None
        if problems or (self.has_payee and row["supplier_name"] is None):
            filled = [i for i, c in enumerate(cells) if c.strip()]
            first = cells[filled[0]] if filled else ""
            if amount is not None and filled == [self.pos["amount_gbp"]]:
                skip = "skipped_total"  # only the amount is filled in: a total/summary line
            elif is_total_label(first) or is_total_label(row["supplier_name"]):
                skip = "skipped_total"  # 'Total', 'Grand Total', 'Sub-total' with no date or payee
            elif [compact_header(c) for c in cells[: len(self.columns)]] == self.header_compact or (
                sf.header_line is None and is_header(cells, self.aliases)
            ):
                skip = "skipped_repeated_header"
        row["reject_reason"] = f"{where} {line}, " + "; ".join(p for _, p in problems) if problems else None
        row["reject_field"] = problems[0][0] if problems else None
        return row, skip

    def _is_pcard(self, row: dict[str, Any], cells: list[str]) -> bool:
        for fname in ("transaction_number", "supplier_ref"):
            value = row[fname]
            if value and self.aliases.pcard.match(value):
                return True
        method = self._text(self._cell(cells, "payment_method"))
        return bool(method and re.search(r"card|\bgpc\b", method, re.IGNORECASE))


def header_like(cells: list[str]) -> bool:
    """At least two filled cells, nearly all of them words (not dates, amounts or long prose)."""
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) < 2:
        return False
    wordy = [
        c
        for c in filled
        if len(c) <= 80 and re.search(r"[A-Za-z]", c) and not looks_like_date(c) and not looks_like_amount(c)
    ]
    return len(wordy) >= 0.8 * len(filled) and len(set(filled)) >= 0.8 * len(filled)
