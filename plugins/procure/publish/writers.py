"""CSV, Parquet and XLSX writers for published extracts: safe to open, byte-identical on re-run.

- CSV and XLSX cells go through ``safety.neutralise`` (spreadsheet formula injection);
  Parquet keeps the typed values (it is read by code, not by a spreadsheet).
- No wall clock: XLSX core properties (created/modified) and every ZIP entry's timestamp
  are set from the data (``when``), so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from procure.publish.safety import neutralise

# Sheet names: at most 31 characters, none of []:*?/\
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def csv_value(v: Any) -> Any:
    """How a value is written to CSV: ISO dates, true/false, exact decimals, neutralised text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime | date):
        return v.isoformat()
    return neutralise(v)


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")  # RFC 4180
        w.writerow([neutralise(h) for h in headers])
        for r in rows:
            w.writerow([csv_value(v) for v in r])


def write_parquet(path: Path, table: pa.Table) -> None:
    # No pandas metadata, fixed compression: the bytes depend on the data only.
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd", write_statistics=True)


def write_xlsx(
    path: Path,
    sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]],
    when: datetime,
    title: str = "",
) -> None:
    """One sheet per (name, headers, rows); money (``*_gbp``), share (``*_share``, as %) and date columns
    formatted, headers frozen, a filter on every column.

    openpyxl (write-only mode) writes the workbook: styles, column widths, frozen header row.
    The data rows' XML is then written here as openpyxl would write it, byte for byte, for the
    plain values the extracts hold (text, numbers, booleans, dates): openpyxl's per-cell XML
    writer was most of a strategy review's cost. Any other value (an error-code or illegal
    string, NaN, a time, ...) sends the whole workbook through openpyxl cell by cell instead.
    """
    fast = all(_plain(v) for _name, _headers, rows in sheets for r in rows for v in r)
    data, rows_xml = _build_xlsx(sheets, when, title, fast=fast)
    _normalise_zip(data, path, when, rows_xml)


def _plain(raw: Any) -> bool:
    """A value ``_rows_xml`` writes as openpyxl would: text openpyxl keeps as text, finite numbers, dates."""
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    if raw is None:
        return True
    v = _xlsx_value(raw)
    t = type(v)
    if t is str:
        return not (
            len(v) > 32767 or (len(v) > 1 and v[0] == "=") or v in ERROR_CODES or ILLEGAL_CHARACTERS_RE.search(v)
        )
    if t is float:
        return math.isfinite(v)
    if t is Decimal:
        return v.is_finite()
    return t in (int, bool, date, datetime)


def _build_xlsx(sheets, when: datetime, title: str, fast: bool) -> tuple[bytes, dict[str, str]]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    rows_xml: dict[str, str] = {}
    for number, (name, headers, rows) in enumerate(sheets, start=1):
        ws = wb.create_sheet(_SHEET_BAD.sub("_", name)[:31])
        formats = []
        for i, h in enumerate(headers, start=1):
            width = max([len(str(h))] + [len(str(r[i - 1])) for r in rows[:200] if r[i - 1] is not None])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
            formats.append(column_format(str(h), _is_date_col(rows, i - 1)))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(headers), 1))}{len(rows) + 1}"
        head = []
        for h in headers:
            cell = WriteOnlyCell(ws, neutralise(h))
            cell.font = bold
            head.append(cell)
        ws.append(head)
        if fast:
            rows_xml[f"xl/worksheets/sheet{number}.xml"] = _rows_xml(ws, rows, formats)
            continue
        styled = [i for i, fmt in enumerate(formats) if fmt]
        for r in rows:
            values = [_xlsx_value(v) for v in r]
            for i in styled:
                if values[i] is not None:  # an empty cell stays absent, as before
                    cell = WriteOnlyCell(ws, values[i])
                    cell.number_format = formats[i]
                    values[i] = cell
            ws.append(values)
    wb.properties.creator = "procure"
    wb.properties.title = title
    wb.properties.created = when
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), rows_xml


def _rows_xml(ws, rows: Sequence[Sequence[Any]], formats: list[str | None]) -> str:
    """Rows 2.. of ``ws`` as openpyxl's write-only writer serialises them; every value ``_plain``."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import get_time_format
    from openpyxl.compat import safe_string
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel

    letters = [get_column_letter(i) for i in range(1, len(formats) + 1)]
    style_attr: dict[str, str] = {}
    auto_formats: dict[type, str] = {}

    def s(fmt: str | None) -> str:
        if fmt is None:
            return ""
        if fmt not in style_attr:
            cell = WriteOnlyCell(ws)
            cell.number_format = fmt
            style_attr[fmt] = f' s="{cell.style_id}"'  # registers the style in the workbook
        return style_attr[fmt]

    out = []
    for n, r in enumerate(rows, start=2):
        cells = []
        for col, raw in enumerate(r):
            v = None if raw is None else _xlsx_value(raw)
            if v is None:
                continue
            ref, t = f"{letters[col]}{n}", type(v)
            if t is str:
                if v == "":
                    cells.append(f'<c r="{ref}"{s(formats[col])} t="inlineStr" />')
                    continue
                stripped = v.strip()
                space = ' xml:space="preserve"' if stripped and v != stripped else ""
                text = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                cells.append(f'<c r="{ref}"{s(formats[col])} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif t is bool:
                cells.append(f'<c r="{ref}"{s(formats[col])} t="b"><v>{safe_string(v)}</v></c>')
            elif t is int or (t is float and math.isfinite(v)) or (t is Decimal and v.is_finite()):
                cells.append(f'<c r="{ref}"{s(formats[col])} t="n"><v>{safe_string(v)}</v></c>')
            elif t is date or t is datetime:
                if formats[col] and t not in auto_formats:  # openpyxl first gives the cell its own date format
                    WriteOnlyCell(ws).number_format = auto_formats.setdefault(t, get_time_format(t))
                cells.append(
                    f'<c r="{ref}"{s(formats[col] or get_time_format(t))} t="n"><v>{safe_string(to_excel(v))}</v></c>'
                )
            else:
                raise TypeError(f"{ref}: {t.__name__} value is not plain (see _plain)")
        out.append(f'<row r="{n}">{"".join(cells)}</row>')
    return "".join(out)


#: a column named ``*_share`` holds a fraction 0-1 (the marts' convention): shown as a percentage
PERCENT_SUFFIXES = ("_share",)


def column_format(header: str, is_date: bool) -> str | None:
    """The number format of a column by its name: pounds and pence, a percentage, a date, or none."""
    if header.endswith("_gbp"):
        return "#,##0.00"
    if header.endswith(PERCENT_SUFFIXES):
        return "0.0%"
    return "yyyy-mm-dd" if is_date else None


def _is_date_col(rows: Sequence[Sequence[Any]], i: int) -> bool:
    return any(isinstance(r[i], date) for r in rows[:50])


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v  # openpyxl writes the exact decimal as a number
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    return neutralise(v)


def _normalise_zip(data: bytes, path: Path, when: datetime, rows_xml: dict[str, str] | None = None) -> None:
    """Rewrite the XLSX with fixed entry timestamps and core properties (openpyxl stamps 'now'),
    each sheet's data rows (``rows_xml``, by entry name) after its header row."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: m.group(1) + stamp + m.group(3),
                    text,
                )
                body = text.encode("utf-8")
            elif rows_xml and rows_xml.get(info.filename):
                text = body.decode("utf-8")
                if text.count("</sheetData>") != 1:
                    raise ValueError(f"{info.filename}: expected one sheetData element from openpyxl")
                body = text.replace("</sheetData>", rows_xml[info.filename] + "</sheetData>").encode("utf-8")
            out = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = 0o644 << 16
            dst.writestr(out, body)
