"""DuckDB fast path for clean spend files: the same rows as the Python reader, ~4x faster.

The Python reader (:mod:`procure.extract.spend_reader`) handles every oddity but runs at
~40k rows/s (this fast path: ~160k rows/s on a 1 GB file on the shared 2-core machine,
peak RSS ~440 MB; see bench/bench_ingest.py). Most files are clean: one record per physical line, LF or CRLF, no empty
lines, a header the sniffer found. For those, DuckDB's ``read_csv`` splits the records and
the canonical mapping, dates (dd/mm/yyyy, dd/mm/yy, ISO, ``05-Oct-21``, ``3 Apr 2023``,
with or without a time), amounts (``£1,234.00``, ``(3728)``, `` 507.50 ``), null markers,
redaction, p-card flags and ``raw_record`` JSON are computed vectorised in SQL. A row the
SQL cannot settle (an unusual date or amount form, a problem to report, a control
character or non-space whitespace anywhere in it) is rebuilt by the Python row builder
from its cells, so reject reasons and every value stay exactly those
of the Python path (``tests/unit/test_spend_reader.py`` compares both over every real file).

Qualifying (:func:`fast_plan`): encoding UTF-8 (with or without BOM), cp1252, latin-1 or
cp437 and not double-encoded; no bare CR; no empty line; no ``date_format`` override. A
pre-pass counts DuckDB's records in strict mode: the count must equal the physical lines
after the header (so no quoted cell spans lines and ``source_line`` is exact) and no record
may have more than :data:`EXTRA_CELLS` cells beyond the header (DuckDB's strict mode
errors otherwise, and the file takes the Python path). Non-UTF-8 and compressed files are first transcoded
to a temporary UTF-8 file in 1 MiB chunks. A separate in-memory DuckDB connection is used,
never the warehouse.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from procure.extract.sniff import CHUNK, SpendFileError, open_decompressed

if TYPE_CHECKING:
    from procure.extract.spend_reader import SpendFile

#: Cells a record may have beyond the header's width (trailing empties, an unnamed last column).
EXTRA_CELLS = 4
_FAST_ENCODINGS = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "cp437"}
#: SQL trims spaces only (a trim with a character set is ~3x slower). A record holding any
#: other character Python's str.strip() removes, or a control character (which JSON must
#: escape), is rebuilt in Python instead; such records are rare.
_OTHER_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != " ")
_ODD_CHARS = (
    "[\\x00-\\x09\\x0b-\\x1f" + "".join(f"\\x{{{ord(c):x}}}" for c in _OTHER_WHITESPACE if ord(c) >= 0x20) + "]"
)
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMERIC = rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{2}}|\d{{4}}){_TIME}$"
_ISO = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$"
_NAMED = rf"(?i)^(\d{{1,2}})(?:st|nd|rd|th)?[-\s/]+({_MONTH_RE})\.?[-\s/,]+(\d{{2}}|\d{{4}}){_TIME}$"
# After removing £, Â, GBP and ASCII whitespace: optional parentheses, sign, digits with
# well-placed thousands commas, optional fraction. Anything else goes to the Python parser.
_AMOUNT = r"^(\()?([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)(\))?$"


@dataclass(frozen=True)
class FastPlan:
    source: Path  # a UTF-8 file DuckDB reads (the original, or a transcoded temporary)
    temporary: bool
    skip: int  # physical lines before the first data line
    expected_rows: int
    extra_cells: int  # cells a record may have beyond the header (0 or EXTRA_CELLS)


def _redaction_re2(pattern: str) -> str:
    """The reader's redaction regex for RE2 over the cells joined by line breaks.

    Python compiles it with re.MULTILINE (``^...$`` per cell); RE2's multi-line mode is
    ~20% slower, so the per-line anchors are spelled out unless the analyst's patterns use
    ``^``/``$`` themselves. Case-insensitive either way.
    """
    m = re.fullmatch(r"\^\[ \\t\]\*(.*)\[ \\t\]\*\$", pattern, re.DOTALL)
    if m is None or "^" in m.group(1) or "$" in m.group(1):
        return "(?im)" + pattern
    return "(?i)(?:^|\n)[ \t]*" + m.group(1) + "[ \t]*(?:\n|$)"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def _read_csv(plan: FastPlan, delimiter: str, width: int) -> str:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    return (
        f"read_csv({_sql_str(str(plan.source))}, columns = {columns}, header = false, skip = {plan.skip}, "
        f"delim = {_sql_str(delimiter)}, quote = '\"', escape = '\"', "
        "null_padding = true, strict_mode = true, auto_detect = false, all_varchar = true, "
        "nullstr = '\x01', parallel = true)"
    )


def _transcode(sf: SpendFile) -> Path:
    fd, name = tempfile.mkstemp(prefix="procure_spend_", suffix=".csv")
    decoder = codecs.getincrementaldecoder(sf.encoding)("strict")
    try:
        with os.fdopen(fd, "wb") as out, open_decompressed(sf.path, sf.compression) as raw:
            while chunk := raw.read(CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def fast_plan(sf: SpendFile) -> FastPlan | None:
    """A plan if ``sf`` is clean enough for the DuckDB path (see the module docstring), else None."""
    scan = sf.scan
    if (
        scan is None
        or sf.encoding not in _FAST_ENCODINGS
        or sf.double_encoded
        or sf.date_format is not None
        or scan.encoding != sf.encoding
        or scan.cr != scan.crlf
        or scan.empty_lines
        or (scan.crlf and scan.crlf != scan.lf)
        or not sf.original_columns
    ):
        return None
    skip = sf.header_line or 0
    lines = scan.lf + (0 if scan.ends_with_newline else 1)
    expected = lines - skip
    if expected <= 0:
        return None
    plain = sf.encoding == "utf-8" and sf.compression == "none"
    source = sf.path if plain else _transcode(sf)
    con = _connect()
    try:
        for extra in (0, EXTRA_CELLS):  # strict mode: a record wider than declared is an error
            plan = FastPlan(source, not plain, skip, expected, extra)
            try:
                (count,) = con.execute(
                    f"select count(*) from {_read_csv(plan, sf.delimiter, len(sf.original_columns) + extra)}"
                ).fetchall()[0]
            except duckdb.Error:
                continue
            if count == expected:
                return plan
            break
    finally:
        con.close()
    if not plain:
        source.unlink(missing_ok=True)
    return None


def _arrow_schema() -> pa.Schema:
    from procure.extract.spend_reader import ROW_FIELDS, TEXT_FIELDS

    types: dict[str, pa.DataType] = {
        "source_line": pa.int64(),
        "record_index": pa.int64(),
        "payment_date": pa.date32(),
        "amount_gbp": pa.decimal128(18, 2),
        "irrecoverable_vat_gbp": pa.decimal128(18, 2),
        "is_redacted": pa.bool_(),
        "is_credit": pa.bool_(),
        "is_pcard": pa.bool_(),
    }
    for f in (*TEXT_FIELDS, "payment_date_raw", "amount_raw", "raw_record", "reject_reason", "reject_field"):
        types[f] = pa.string()
    return pa.schema([(f, types[f]) for f in ROW_FIELDS])


ARROW_SCHEMA: pa.Schema | None = None


def arrow_schema() -> pa.Schema:
    global ARROW_SCHEMA
    if ARROW_SCHEMA is None:
        ARROW_SCHEMA = _arrow_schema()
    return ARROW_SCHEMA


def _build_sql(sf: SpendFile, plan: FastPlan) -> str:
    """One streaming query in layers, so each trim and regular expression runs once per cell.

    l1 reads the cells and trims the mapped ones; l2 applies null markers and extracts the
    amount and the dd/mm/yyyy date parts; l3 tries ISO only where dd/mm/yyyy failed; l4
    tries named months only where both failed; the final select builds the values and
    ``_kind`` (0 settled in SQL, 1 blank, 2 rebuild in Python).
    """
    from procure.extract.spend_reader import TEXT_FIELDS

    aliases = sf._aliases
    assert aliases is not None
    n_named = len(sf.original_columns)
    names = [*sf.original_columns, *(f"col_{i + 1}" for i in range(n_named, n_named + plan.extra_cells))]
    width = len(names)
    pos = {c: i for i, c in enumerate(sf.original_columns)}
    fpos = {f: pos[c] for f, c in sf.column_map.items()}

    nulls = ", ".join(_sql_str(m) for m in sorted(aliases.null_markers)) or "chr(1)"
    # a cell can only lower() to a marker if it is at most ~3 bytes per marker character
    marker_bytes = 4 * max((len(m) for m in aliases.null_markers), default=1)
    cells = ", ".join(f"c{i}" for i in range(width))
    q = _sql_str

    # l1: trimmed mapped cells, all cells joined (redaction, blank and whitespace checks)
    l1 = [cells, f"concat_ws(chr(10), {cells}) as allc"]  # no cell holds a line break here
    used = [
        f for f in (*TEXT_FIELDS, "payment_date", "amount_gbp", "irrecoverable_vat_gbp", "payment_method") if f in fpos
    ]
    l1 += [f"trim(c{fpos[f]}) as t_{f}" for f in used]

    def nulled(f: str) -> str:
        if f not in fpos:
            return "null::varchar"
        # lower() only on short cells: markers are short (lower() is a full string pass)
        return (
            f"(case when t_{f} = '' or (strlen(t_{f}) <= {marker_bytes} and lower(t_{f}) in ({nulls})) "
            f"then null else t_{f} end)"
        )

    def amount_parts(expr: str) -> str:  # parse_amount's noise removal (ASCII whitespace only)
        cleaned = f"regexp_replace({expr}, '£|Â|(?i:GBP)|[\\t\\n\\x0b\\x0c\\r ]', '', 'g')"
        return f"regexp_extract({cleaned}, {q(_AMOUNT)}, ['p', 'v', 'q'])"

    def amount(cell: str, trimmed: str) -> str:
        """Plain numbers are cast directly; other forms go through parse_amount's rules."""
        return (
            f"(case when regexp_full_match({trimmed}, '-?[0-9]+(?:\\.[0-9]*)?') "
            f"then try_cast({trimmed} as decimal(18, 2)) else "
            f"{amount_slow(amount_parts(cell))} end)"
        )

    def amount_slow(col: str) -> str:  # col: the (p, v, q) struct of _AMOUNT
        return (
            f"(case when {col}.v <> '' and ({col}.p = '') = ({col}.q = '') then "
            f"(case when {col}.p = '(' then -1 else 1 end) * try_cast(replace({col}.v, ',', '') as decimal(18, 2)) end)"
        )

    def year(expr: str) -> str:
        return (
            f"(case when length({expr}) = 2 then (case when {expr}::int < 70 then 2000 else 1900 end) + {expr}::int "
            f"else {expr}::int end)"
        )

    def mkdate(y: str, m: str, d: str) -> str:
        return f"(case when {y} between 1990 and 2100 then try(make_date({y}, {m}, {d})) end)"

    # l2
    l2 = [cells, *(f"{nulled(f)} as {f}" for f in TEXT_FIELDS)]
    has_date = "payment_date" in fpos
    l2.append("t_payment_date as d" if has_date else "null::varchar as d")
    l2.append(f"{nulled('payment_date')} as payment_date_raw")
    l2.append(
        "(case when regexp_full_match(t_payment_date, '[0-9]{2}/[0-9]{2}/[0-9]{4}') then 1 "
        "when regexp_full_match(t_payment_date, '[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}:[0-9]{2})?') "
        "then 2 else 0 end) as ff"  # the two commonest forms, read by position (no capture groups)
        if has_date
        else "0 as ff"
    )
    l2.append(f"coalesce(c{fpos['amount_gbp']}, chr(1)) as a_cell, coalesce(t_amount_gbp, chr(1)) as a_trim")
    l2.append(f"{nulled('amount_gbp')} as amount_raw")
    if "irrecoverable_vat_gbp" in fpos:
        l2.append(f"{nulled('irrecoverable_vat_gbp')} as vat_text")
    l2.append(f"regexp_matches(allc, {q(_redaction_re2(aliases.redaction.pattern))}) as is_redacted")
    l2.append(f"regexp_matches(allc, {q(_ODD_CHARS)}) as odd_ws")

    l2.append("trim(replace(allc, chr(10), '')) = '' as is_blank")
    pcard_terms = []
    for f in ("transaction_number", "supplier_ref"):
        if f in fpos:
            pcard_terms.append(f"coalesce(regexp_matches({nulled(f)}, {q('(?i)' + aliases.pcard.pattern)}), false)")
    if "payment_method" in fpos:
        pcard_terms.append(f"coalesce(regexp_matches({nulled('payment_method')}, '(?i)card|\\bgpc\\b'), false)")
    l2.append(f"({' or '.join(pcard_terms) or 'false'}) as is_pcard")
    generated = {c for c in sf.original_columns if re.fullmatch(r"col_\d+", c)} | set(names[n_named:])
    parts = []
    for i, c in enumerate(names):
        key = q(json.dumps(c, ensure_ascii=False) + ": ")
        cond = f"c{i} is not null" + (f" and c{i} <> ''" if c in generated else "")
        escaped = f"replace(replace(c{i}, '\\', '\\\\'), '\"', '\\\"')"  # as json.dumps; control chars: Python
        parts.append(f"case when {cond} then concat({key}, '\"', {escaped}, '\"') end")
    general = f"concat('{{', concat_ws(', ', {', '.join(parts)}), '}}')"  # concat(): one allocation, not ||
    # Common case, one concatenation: every named cell present, generated/extra cells empty,
    # nothing to escape (no quote or backslash anywhere in the record).
    named = [i for i, c in enumerate(names) if c not in generated]
    others = [i for i, c in enumerate(names) if c in generated]
    if named:
        simple_cond = " and ".join(
            [
                f"c{named[-1]} is not null",
                *(f"coalesce(c{i}, '') = ''" for i in others),
                "not contains(allc, '\"')",
                "not contains(allc, '\\')",
            ]
        )
        pieces = []
        for n, i in enumerate(named):
            prefix = ("{" if n == 0 else ", ") + json.dumps(names[i], ensure_ascii=False) + ': "'
            pieces.append(f"{q(prefix)}, c{i}, '\"'")
        simple = f"concat({', '.join(pieces)}, '}}')"
        l2.append(f"(case when {simple_cond} then {simple} else {general} end) as raw_record")
    else:
        l2.append(f"{general} as raw_record")

    # l3, l4: the other date forms, only where the previous ones did not match
    months = "map {" + ", ".join(f"'{k}': {v}" for k, v in _MONTHS.items()) + "}"
    dn = f"case when ff = 0 and d is not null then regexp_extract(d, {q(_NUMERIC)}, ['a', 'b', 'y']) end as dn"
    di = f"case when d is not null and dn.y = '' then regexp_extract(d, {q(_ISO)}, ['y', 'm', 'd']) end as di"
    dm = f"case when d is not null and dn.y = '' and di.y = '' then regexp_extract(d, {q(_NAMED)}, ['d', 'm', 'y']) end as dm"
    pd = (
        "(case "
        f"when ff = 1 then {mkdate('substr(d, 7, 4)::int', 'substr(d, 4, 2)::int', 'substr(d, 1, 2)::int')} "
        f"when ff = 2 then {mkdate('substr(d, 1, 4)::int', 'substr(d, 6, 2)::int', 'substr(d, 9, 2)::int')} "
        f"when dn.y <> '' then {mkdate(year('dn.y'), 'dn.b::int', 'dn.a::int')} "
        f"when di.y <> '' then {mkdate('di.y::int', 'di.m::int', 'di.d::int')} "
        f"when dm.y <> '' then {mkdate(year('dm.y'), f'{months}[lower(dm.m)]', 'dm.d::int')} "
        "end)"
    )
    vat = (
        amount("coalesce(vat_text, chr(1))", "coalesce(vat_text, chr(1))")
        if "irrecoverable_vat_gbp" in fpos
        else "null::decimal(18, 2)"
    )
    vat_ok = "(vat_text is null or irrecoverable_vat_gbp is not null)" if "irrecoverable_vat_gbp" in fpos else "true"
    ok = f"(not odd_ws and payment_date is not null and amount_gbp is not null and {vat_ok})"
    return (
        f"with l1 as (select {', '.join(l1)} from {_read_csv(plan, sf.delimiter, width)}), "
        f"l2 as (select {', '.join(l2)} from l1), "
        f"l2b as (select *, {dn} from l2), "
        f"l3 as (select *, {di} from l2b), "
        f"l4 as (select *, {dm} from l3), "
        f"l5 as (select *, {pd} as payment_date, {amount('a_cell', 'a_trim')} as amount_gbp, {vat} as irrecoverable_vat_gbp from l4) "
        f"select {', '.join(TEXT_FIELDS)}, payment_date, payment_date_raw, amount_gbp, amount_raw, "
        "irrecoverable_vat_gbp, is_redacted, coalesce(amount_gbp < 0, false) as is_credit, is_pcard, raw_record, "
        "_kind, " + ", ".join(f"case when _kind = 2 then c{i} end as c{i}" for i in range(width)) + " from (select *, "
        f"case when is_blank and not odd_ws then 1 when {ok} then 0 else 2 end as _kind from l5)"
    )


def iter_arrow_batches(sf: SpendFile, plan: FastPlan, batch_rows: int) -> Iterator[pa.Table]:
    """Yield ``pyarrow.Table`` batches with the columns of ``ROW_FIELDS``; fills ``sf.stats``."""
    from procure.extract.spend_reader import _is_blank, _RowBuilder

    schema = arrow_schema()
    stats = sf.new_stats()
    stats["rows_read"] = stats["skipped_preamble"] = _preamble_records(sf)
    builder = _RowBuilder(sf)
    con = _connect()
    line = plan.skip + 1  # physical line of the next DuckDB record
    width = len(sf.original_columns) + plan.extra_cells
    index = 0
    try:
        reader = con.sql(_build_sql(sf, plan)).to_arrow_reader(batch_rows)
        for rb in reader:
            n = rb.num_rows
            if n == 0:
                continue
            t = pa.Table.from_batches([rb])
            lines = pa.array(range(line, line + n), pa.int64())
            line += n
            stats["rows_read"] += n
            kind = t.column("_kind")
            stats["skipped_blank"] += pc.sum(pc.equal(kind, 1)).as_py() or 0
            fast = t.filter(pc.equal(kind, 0))
            fast_lines = lines.filter(pc.equal(kind, 0).combine_chunks())
            slow_mask = pc.equal(kind, 2).combine_chunks()
            slow_rows: list[dict[str, Any]] = []
            if pc.any(slow_mask).as_py():
                raw = t.select([f"c{i}" for i in range(width)]).filter(slow_mask).to_pylist()
                slow_cells = [[c for c in r.values() if c is not None] for r in raw]  # None: padding
                for ln, cells in zip(lines.filter(slow_mask).to_pylist(), slow_cells, strict=True):
                    if _is_blank(cells):
                        stats["skipped_blank"] += 1
                        continue
                    row, skip = builder.build(ln, 0, cells)
                    if skip:
                        stats[skip] += 1
                    else:
                        slow_rows.append(row)
            stats["accepted"] += fast.num_rows
            out = _to_schema(fast, fast_lines, schema)
            if slow_rows:
                stats["accepted"] += sum(1 for r in slow_rows if r["reject_reason"] is None)
                stats["rejected"] += sum(1 for r in slow_rows if r["reject_reason"] is not None)
                slow = pa.Table.from_pylist(slow_rows, schema=schema)
                out = pa.concat_tables([out, slow])
                out = out.take(pc.sort_indices(out, [("source_line", "ascending")]))
            if out.num_rows == 0:
                continue
            out = out.set_column(1, "record_index", pa.array(range(index, index + out.num_rows), pa.int64()))
            index += out.num_rows
            yield out
    except duckdb.Error as exc:
        raise SpendFileError(f"{sf.path.name}: DuckDB could not read the file ({exc})") from exc
    finally:
        con.close()
        if plan.temporary:
            plan.source.unlink(missing_ok=True)
    sf.finish_stats()


def _to_schema(fast: pa.Table, lines: pa.Array, schema: pa.Schema) -> pa.Table:
    n = fast.num_rows
    arrays = []
    for fld in schema:
        if fld.name == "source_line":
            arrays.append(lines)
        elif fld.name == "record_index":
            arrays.append(pa.nulls(n, pa.int64()))
        elif fld.name in ("reject_reason", "reject_field"):
            arrays.append(pa.nulls(n, pa.string()))
        else:
            arrays.append(fast.column(fld.name).cast(fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _preamble_records(sf: SpendFile) -> int:
    """CSV records before the header (counted like the Python path does)."""
    if not sf.header_line or sf.header_line <= 1:
        return 0
    from procure.extract.spend_reader import _records

    n = 0
    with sf._text() as text:
        for start, _ in _records(text, sf.delimiter, sf.path.name):
            if start >= sf.header_line:
                break
            n += 1
    return n
