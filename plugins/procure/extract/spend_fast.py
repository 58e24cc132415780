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
cp437 and not double-encoded; no bare CR; no empty line below the header; no
``date_format`` override. DuckDB's records (strict mode) must equal the physical lines
after the header (so no quoted cell spans lines and ``source_line`` is exact) and no record
may have more than :data:`EXTRA_CELLS` cells beyond the header (DuckDB's strict mode
errors otherwise, and the file takes the Python path). A file up to
:data:`SINGLE_PASS_MAX_BYTES` is read in one pass and the count checked on the fetched
result; a larger one is counted first, then streamed.

DuckDB reads UTF-8 and latin-1 files in place, and cp1252 files that hold none of the bytes
0x80-0x9F (the only ones where cp1252 and latin-1 differ) as latin-1; other encodings and
compressed files are first transcoded to a temporary UTF-8 file in 1 MiB chunks (named
with the pid: a killed run's copy is removed by the next process that transcodes). One
in-memory DuckDB connection per thread is reused for every file (never the warehouse), and
the query of a small file is prepared once per file layout, so a council's months pay for
binding and optimising it once.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from procure.extract.sniff import CHUNK, SpendFileError, open_decompressed
from procure.extract.spend_rows import ROW_FIELDS, TEXT_FIELDS, RowBuilder, csv_records, is_blank
from procure.orphans import scratch_prefix, sweep

if TYPE_CHECKING:
    from procure.extract.spend_reader import SpendFile

#: Name start of a transcoded copy (procure.orphans: ``procure_spend_<pid>-...``).
TRANSCODE_PREFIX = "procure_spend_"
#: Cells a record may have beyond the header's width (trailing empties, an unnamed last column).
EXTRA_CELLS = 4
_FAST_ENCODINGS = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "cp437"}
#: SQL trims spaces only (a trim with a character set is ~3x slower). A record holding any
#: other character Python's str.strip() removes, or a control character (which JSON must
#: escape), is rebuilt in Python instead; such records are rare.
#: (Every character str.isspace() accepts is at or below U+3000; scanning only that far
#: keeps the module import cheap.)
_OTHER_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace() and chr(c) != " ")
_ODD_CHARS = (
    "[\\x00-\\x09\\x0b-\\x1f" + "".join(f"\\x{{{ord(c):x}}}" for c in _OTHER_WHITESPACE if ord(c) >= 0x20) + "]"
)
#: Encodings whose bytes ByteScan.plain_spacing speaks for (cp437 maps 0xFF to U+00A0).
_PLAIN_SPACING_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "latin-1", "cp1252"})
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


#: Files up to this size (decompressed) are read in a single pass: the whole result is
#: fetched, then its record count checked (a larger file is counted first, then streamed).
SINGLE_PASS_MAX_BYTES = 32_000_000
_HIGH_CONTROL = re.compile(b"[\x80-\x9f]")  # where cp1252 and latin-1 differ


@dataclass(frozen=True)
class FastPlan:
    source: Path  # a file DuckDB reads (the original, or a transcoded UTF-8 temporary)
    temporary: bool
    skip: int  # physical lines before the first data line
    expected_rows: int
    extra_cells: int  # cells a record may have beyond the header (0 or EXTRA_CELLS)
    encoding: str = "utf-8"  # how DuckDB decodes ``source``: 'utf-8' or 'latin-1'
    #: True once the record count was checked; False: check it on the result (single pass)
    counted: bool = True


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


def _sql_text(value: str) -> str:
    """A SQL string constant spelled in ASCII: non-ASCII characters become ``chr(n)`` pieces.

    The DuckDB client maps every character of a non-ASCII query text to its UTF-8 offset in
    Python (~20 ms for this module's ~12,000-character queries, as much as reading a file),
    so a header such as ``Net Amount (£)`` must not put a '£' into the query text.
    """
    if value.isascii():
        return _sql_str(value)
    pieces = re.split(r"([^\x00-\x7f])", value)
    parts = [f"chr({ord(p)})" if i % 2 else _sql_str(p) for i, p in enumerate(pieces) if p]
    return f"concat({', '.join(parts)})"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


_LOCAL = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB connection, opened once (~15 ms) and reused for every file.

    Never the warehouse. A forked child (Airflow task runners) opens its own.
    """
    con = getattr(_LOCAL, "con", None)
    if con is None or _LOCAL.pid != os.getpid():
        con = _LOCAL.con = _connect()
        _LOCAL.pid = os.getpid()
        _LOCAL.prepared = {}  # query text -> name of the statement prepared on this connection
        _LOCAL.serial = 0
        _LOCAL.small = None  # the threads setting: None (default), True (one thread)
    return con


def _shared() -> duckdb.DuckDBPyConnection:
    """A cursor on this thread's database; close it when done (that also drops an unread result)."""
    return _connection().cursor()


#: Prepared layouts kept per connection (a council's files share one; each costs ~1 MB).
PREPARED_MAX = 64


def _run_prepared(sf: SpendFile, plan: FastPlan) -> pa.Table:
    """The whole result for a small file, through a statement prepared once per file layout.

    Binding and optimising the query costs ~15 ms, more than reading a 0.5 MB file; files
    of the same layout (a council's months) differ only in the file name, which is the
    statement's parameter. Runs on this thread's connection itself (prepared statements
    belong to it), so the result is always fetched whole.
    """
    con = _connection()
    prepared: dict[str, str] = _LOCAL.prepared
    sql = _build_sql(sf, plan, "$1")
    name = prepared.get(sql)
    if name is None:
        if len(prepared) >= PREPARED_MAX:
            con.execute(f"DEALLOCATE {prepared.pop(next(iter(prepared)))}")
        name = f"spend_layout_{_LOCAL.serial}"
        _LOCAL.serial += 1
        con.execute(f"PREPARE {name} AS {sql}")
        prepared[sql] = name
    _set_threads(con, small=True)
    return con.sql(f"EXECUTE {name}({_sql_str(str(plan.source))})").to_arrow_table()


def _set_threads(con: duckdb.DuckDBPyConnection, small: bool) -> None:
    """One thread for a small file (each thread pays the query's setup), DuckDB's default otherwise."""
    if getattr(_LOCAL, "small", None) is not small:
        con.execute("SET threads = 1" if small else "RESET threads")
        _LOCAL.small = small


def _read_csv(plan: FastPlan, delimiter: str, width: int, source: str | None = None, filename: bool = False) -> str:
    """``source``: SQL for the file name(s) (default: ``plan.source`` as a literal; ``$1`` when
    prepared; a list for :func:`prefetch`, with ``filename``)."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    return (
        f"read_csv({source or _sql_str(str(plan.source))}, filename = {str(filename).lower()}, columns = {columns}, header = false, skip = {plan.skip}, "
        f"delim = {_sql_str(delimiter)}, quote = '\"', escape = '\"', "
        "null_padding = true, strict_mode = true, auto_detect = false, all_varchar = true, "
        f"nullstr = '\x01', parallel = true, encoding = {_sql_str(plan.encoding)})"
    )


@cache
def _scratch_folder(folder: str) -> Path:
    """The temporary folder, swept once per process of what killed runs left in it."""
    sweep(Path(folder), TRANSCODE_PREFIX)
    return Path(folder)


def _transcode(sf: SpendFile) -> Path:
    """A temporary UTF-8 copy of the file, named with this process's pid (swept if the run is killed)."""
    folder = _scratch_folder(tempfile.gettempdir())
    fd, name = tempfile.mkstemp(prefix=scratch_prefix(TRANSCODE_PREFIX), suffix=".csv", dir=folder)
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


def _direct_encoding(sf: SpendFile, skip: int) -> str | None:
    """How DuckDB can read the file as it is ('utf-8' or 'latin-1'), or None: transcode it first.

    cp1252 equals latin-1 except for the bytes 0x80-0x9F, so a cp1252 file without them is
    read as latin-1. A UTF-8 BOM sits on the skipped header line.
    """
    if sf.compression != "none":
        return None
    if sf.encoding == "utf-8" or (sf.encoding == "utf-8-sig" and skip >= 1):
        return "utf-8"
    if sf.encoding == "latin-1":
        return "latin-1"
    if sf.encoding == "cp1252":
        with sf.path.open("rb") as raw:
            while chunk := raw.read(CHUNK):
                if _HIGH_CONTROL.search(chunk):
                    return None
        return "latin-1"
    return None


def _empty_lines_after(sf: SpendFile, skip: int) -> bool:
    """Whether an empty line follows physical line ``skip`` (an uncompressed LF/CRLF file).

    The byte scan only says whether the file has empty lines anywhere; those in a preamble
    above the header are skipped with it and do not matter.
    """
    seen = 0
    tail = b""
    with sf.path.open("rb") as raw:
        while chunk := raw.read(CHUNK):
            start = -1
            while seen < skip:
                nl = chunk.find(b"\n", start + 1)
                if nl < 0:
                    break
                seen += 1
                start = nl  # keep the line's own line break: an empty line right after it counts
            if seen < skip:
                continue
            window = chunk[start:] if start >= 0 else tail + chunk
            if b"\n\n" in window or b"\n\r\n" in window:
                return True
            tail = window[-2:]
    return False


def fast_plan(sf: SpendFile) -> FastPlan | None:
    """A plan if ``sf`` is clean enough for the DuckDB path (see the module docstring), else None.

    A file up to :data:`SINGLE_PASS_MAX_BYTES` gets a plan whose record count is checked
    on the result (``counted`` False: use :func:`fast_batches`); a larger one is counted here.
    """
    scan = sf.scan
    if (
        scan is None
        or sf.encoding not in _FAST_ENCODINGS
        or sf.double_encoded
        or sf.date_format is not None
        or sf.date_kind != "day"
        or sf.sheets
        or getattr(scan, "mixed", False)
        or scan.encoding != sf.encoding
        or scan.cr != scan.crlf
        or (scan.crlf and scan.crlf != scan.lf)
        or not sf.original_columns
    ):
        return None
    skip = sf.header_line or 0
    if scan.empty_lines and (skip <= 1 or sf.compression != "none" or _empty_lines_after(sf, skip)):
        return None
    lines = scan.lf + (0 if scan.ends_with_newline else 1)
    expected = lines - skip
    if expected <= 0:
        return None
    encoding = _direct_encoding(sf, skip)
    source = sf.path if encoding else _transcode(sf)
    if scan.bytes_read <= SINGLE_PASS_MAX_BYTES:
        return FastPlan(source, encoding is None, skip, expected, 0, encoding or "utf-8", counted=False)
    con = _shared()
    try:
        _set_threads(con, small=False)
        for extra in (0, EXTRA_CELLS):  # strict mode: a record wider than declared is an error
            plan = FastPlan(source, encoding is None, skip, expected, extra, encoding or "utf-8")
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
    if encoding is None:
        source.unlink(missing_ok=True)
    return None


def fast_batches(sf: SpendFile, batch_rows: int) -> Iterator[pa.Table] | None:
    """The file's batches through DuckDB (see :func:`iter_arrow_batches`), or None: not clean enough.

    A small file is read in one pass; if DuckDB's records do not match the physical lines
    (a quoted cell spanning lines) or a record is too wide, None, before any row is yielded.
    """
    prefetched = sf.__dict__.pop("_fast_prefetched", None)
    if prefetched is not None:
        plan, rows = prefetched
        return iter_arrow_batches(sf, plan, batch_rows, rows)
    plan = fast_plan(sf)
    if plan is None:
        return None
    if plan.counted:
        return iter_arrow_batches(sf, plan, batch_rows)
    for extra in (0, EXTRA_CELLS):  # strict mode: a record wider than declared is an error
        wide = replace(plan, extra_cells=extra)
        try:
            table = _run_prepared(sf, wide)
        except duckdb.Error:
            continue
        if table.num_rows == plan.expected_rows:
            return iter_arrow_batches(sf, wide, batch_rows, table)
        break
    if plan.temporary:
        plan.source.unlink(missing_ok=True)
    return None


def _arrow_schema() -> pa.Schema:
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
    for f in (*TEXT_FIELDS, "payment_date_raw", "amount_raw", "raw_record", "date_precision", "field_warnings"):
        types[f] = pa.string()
    for f in ("reject_reason", "reject_field"):
        types[f] = pa.string()
    return pa.schema([(f, types[f]) for f in ROW_FIELDS])


ARROW_SCHEMA: pa.Schema | None = None


def arrow_schema() -> pa.Schema:
    global ARROW_SCHEMA
    if ARROW_SCHEMA is None:
        ARROW_SCHEMA = _arrow_schema()
    return ARROW_SCHEMA


def _build_sql(sf: SpendFile, plan: FastPlan, source: str | None = None, filename: bool = False) -> str:
    """One streaming query in layers, so each trim and regular expression runs once per cell.

    l1 reads the cells and trims the mapped ones; l2 applies null markers and extracts the
    amount and the dd/mm/yyyy date parts; l3 tries ISO only where dd/mm/yyyy failed; l4
    tries named months only where both failed; the final select builds the values and
    ``_kind`` (0 settled in SQL, 1 blank, 2 rebuild in Python).
    """
    aliases = sf._aliases
    assert aliases is not None
    n_named = len(sf.original_columns)
    names = [*sf.original_columns, *(f"col_{i + 1}" for i in range(n_named, n_named + plan.extra_cells))]
    width = len(names)
    pos = {c: i for i, c in enumerate(sf.original_columns)}
    fpos = {f: pos[c] for f, c in sf.column_map.items()}

    nulls = ", ".join(_sql_text(m) for m in sorted(aliases.null_markers)) or "chr(1)"
    # a cell can only lower() to a marker if it is at most ~3 bytes per marker character
    marker_bytes = 4 * max((len(m) for m in aliases.null_markers), default=1)
    cells = ", ".join(f"c{i}" for i in range(width))
    q = _sql_text  # keeps the query text ASCII

    # l1: trimmed mapped cells, all cells joined (redaction, blank and whitespace checks)
    l1 = [cells, f"concat_ws(chr(10), {cells}) as allc"]  # no cell holds a line break here
    if filename:  # several files in one query (:func:`prefetch`): which one each record is from
        l1.append("filename")
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
        # £ and Â spelled as RE2 escapes: the query text stays ASCII (see :func:`_build_sql`)
        cleaned = f"regexp_replace({expr}, '\\x{{a3}}|\\x{{c2}}|(?i:GBP)|[\\t\\n\\x0b\\x0c\\r ]', '', 'g')"
        return f"regexp_extract({cleaned}, {q(_AMOUNT)}, ['p', 'v', 'q'])"

    plain_number = "'-?[0-9]+(?:\\.[0-9]*)?'"

    def amount(trimmed: str, plain: str, parts: str) -> str:
        """Plain numbers are cast directly; other forms go through parse_amount's rules.

        ``plain`` and ``parts`` are columns of earlier layers (each expression written once:
        binding and optimising a query that repeats them cost more than reading a small file).
        """
        return f"(case when {plain} then try_cast({trimmed} as decimal(18, 2)) else {amount_slow(parts)} end)"

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
    if filename:
        l2.append("filename")
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
    scan = sf.scan
    if scan is not None and scan.plain_spacing and scan.encoding == sf.encoding in _PLAIN_SPACING_ENCODINGS:
        l2.append("false as odd_ws")  # the sniffer saw no such byte in the whole file
    else:
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
    has_vat = "irrecoverable_vat_gbp" in fpos
    vat_cell = "coalesce(vat_text, chr(1))"
    plain = [f"regexp_full_match(a_trim, {plain_number}) as a_plain"]
    parts = [f"case when not a_plain then {amount_parts('a_cell')} end as ap"]
    if has_vat:
        plain.append(f"regexp_full_match({vat_cell}, {plain_number}) as v_plain")
        parts.append(f"case when not v_plain then {amount_parts(vat_cell)} end as vp")
    vat = amount(vat_cell, "v_plain", "vp") if has_vat else "null::decimal(18, 2)"
    vat_ok = "(vat_text is null or irrecoverable_vat_gbp is not null)" if "irrecoverable_vat_gbp" in fpos else "true"
    # Python settles: a blank payee (a total line, or a warning), cells beyond the header (quarantined)
    payee_ok = "supplier_name is not null" if "supplier_name" in fpos else "true"
    extras = [f"coalesce(c{i}, '') = ''" for i in range(n_named, width)]
    extra_ok = " and ".join(extras) if extras else "true"
    ok = (
        f"(not odd_ws and payment_date is not null and amount_gbp is not null and {vat_ok} and {payee_ok} "
        f"and {extra_ok})"
    )
    return (
        f"with l1 as (select {', '.join(l1)} from {_read_csv(plan, sf.delimiter, width, source, filename)}), "
        f"l2 as (select {', '.join(l2)} from l1), "
        f"l2b as (select *, {dn} from l2), "
        f"l3 as (select *, {di} from l2b), "
        f"l4 as (select *, {dm} from l3), "
        f"l4b as (select *, {', '.join(plain)} from l4), "
        f"l4c as (select *, {', '.join(parts)} from l4b), "
        f"l5 as (select *, {pd} as payment_date, {amount('a_trim', 'a_plain', 'ap')} as amount_gbp, "
        f"{vat} as irrecoverable_vat_gbp from l4c) "
        f"select {'filename, ' if filename else ''}{', '.join(TEXT_FIELDS)}, payment_date, payment_date_raw, "
        "amount_gbp, amount_raw, "
        "irrecoverable_vat_gbp, is_redacted, coalesce(amount_gbp < 0, false) as is_credit, is_pcard, raw_record, "
        "'day' as date_precision, null::varchar as field_warnings, "
        "_kind, " + ", ".join(f"case when _kind = 2 then c{i} end as c{i}" for i in range(width)) + " from (select *, "
        f"case when is_blank and not odd_ws then 1 when {ok} then 0 else 2 end as _kind from l5)"
    )


#: At most this many bytes of files are read by one :func:`prefetch` query.
PREFETCH_MAX_BYTES = 64_000_000


def prefetch(sfs: list[SpendFile]) -> int:
    """Read small files of the same layout (a council's months) in one DuckDB query.

    Each query has a fixed cost of ~20 ms (setting up its many expressions), as much as
    reading a 0.3 MB file; one query over a council's year pays it once. Each file's rows are
    kept on its SpendFile for :func:`fast_batches` (the same rows as reading it alone). Files
    that do not qualify, take a transcoded copy or whose record count does not match are
    left to be read on their own; a query that fails leaves its whole group so. Returns the
    number of files prefetched.
    """
    groups: dict[str, list[tuple[SpendFile, FastPlan]]] = {}
    for sf in sfs:
        small = sf.scan is not None and sf.scan.bytes_read <= SINGLE_PASS_MAX_BYTES
        plan = fast_plan(sf) if small and sf.wants_fast_path() else None
        if plan is None:
            continue
        if plan.temporary:
            plan.source.unlink(missing_ok=True)
            continue
        groups.setdefault(_build_sql(sf, plan, "$1"), []).append((sf, plan))
    done = 0
    for group in groups.values():
        while group:
            chunk, size = [], 0
            while group and (not chunk or size + group[0][0].scan.bytes_read <= PREFETCH_MAX_BYTES):
                chunk.append(group.pop(0))
                size += chunk[-1][0].scan.bytes_read
            if len(chunk) > 1:
                done += _prefetch_group(chunk)
    return done


def _prefetch_group(group: list[tuple[SpendFile, FastPlan]]) -> int:
    first, plan = group[0]
    files = "[" + ", ".join(_sql_str(str(p.source)) for _, p in group) + "]"
    con = _connection()
    _set_threads(con, small=True)
    try:
        table = con.sql(_build_sql(first, plan, files, filename=True)).to_arrow_table()
    except duckdb.Error:
        return 0
    names = table.column("filename")
    table = table.drop_columns(["filename"])
    done = 0
    for sf, p in group:
        rows = table.filter(pc.equal(names, str(p.source)))
        if rows.num_rows == p.expected_rows:
            sf.__dict__["_fast_prefetched"] = (p, rows)
            done += 1
    return done


def _slices(table: pa.Table, batch_rows: int) -> Iterator[pa.Table]:
    table = table.combine_chunks()
    for start in range(0, table.num_rows, batch_rows):
        yield table.slice(start, batch_rows)


def iter_arrow_batches(
    sf: SpendFile, plan: FastPlan, batch_rows: int, result: pa.Table | None = None
) -> Iterator[pa.Table]:
    """Yield ``pyarrow.Table`` batches with the columns of ``ROW_FIELDS``; fills ``sf.stats``.

    ``result``: the query's whole result, already fetched (single pass); else it is streamed.
    """
    schema = arrow_schema()
    stats = sf.new_stats()
    stats["rows_read"] = stats["skipped_preamble"] = _preamble_records(sf)
    builder = RowBuilder(sf)
    line = plan.skip + 1  # physical line of the next DuckDB record
    width = len(sf.original_columns) + plan.extra_cells
    index = 0
    con = None
    try:
        if result is not None:
            tables: Iterator[pa.Table] = _slices(result, batch_rows)
        else:
            con = _shared()
            _set_threads(con, small=False)
            reader = con.sql(_build_sql(sf, plan)).to_arrow_reader(batch_rows)
            tables = (pa.Table.from_batches([rb]) for rb in reader)
        for t in tables:
            n = t.num_rows
            if n == 0:
                continue
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
                    if is_blank(cells):
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
        if con is not None:
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
    n = 0
    with sf._text() as text:
        for start, _ in csv_records(text, sf.delimiter, sf.path.name):
            if start >= sf.header_line:
                break
            n += 1
    return n
