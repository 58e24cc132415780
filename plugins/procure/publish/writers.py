"""CSV, Parquet and XLSX writers for published extracts: safe to open, byte-identical on re-run.

- CSV and XLSX cells go through ``safety.neutralise`` (spreadsheet formula injection);
  Parquet keeps the typed values (it is read by code, not by a spreadsheet).
- No wall clock: XLSX core properties (created/modified) and every ZIP entry's timestamp
  are set from the data (``when``), so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import io
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
    """One sheet per (name, headers, rows); money columns (``*_gbp``) formatted, headers frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, headers, rows in sheets:
        ws = wb.create_sheet(_SHEET_BAD.sub("_", name)[:31])
        ws.append([neutralise(h) for h in headers])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append([_xlsx_value(v) for v in r])
        for i, h in enumerate(headers, start=1):
            letter = ws.cell(row=1, column=i).column_letter
            width = max([len(str(h))] + [len(str(r[i - 1])) for r in rows[:200] if r[i - 1] is not None])
            ws.column_dimensions[letter].width = min(max(width + 2, 8), 60)
            fmt = "#,##0.00" if str(h).endswith("_gbp") else "yyyy-mm-dd" if _is_date_col(rows, i - 1) else None
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"
    wb.properties.creator = "procure"
    wb.properties.title = title
    wb.properties.created = when
    buf = io.BytesIO()
    wb.save(buf)
    _normalise_zip(buf.getvalue(), path, when)


def _is_date_col(rows: Sequence[Sequence[Any]], i: int) -> bool:
    return any(isinstance(r[i], date) for r in rows[:50])


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v  # openpyxl writes the exact decimal as a number
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    return neutralise(v)


def _normalise_zip(data: bytes, path: Path, when: datetime) -> None:
    """Rewrite the XLSX with fixed entry timestamps and core properties (openpyxl stamps 'now')."""
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
            out = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = 0o644 << 16
            dst.writestr(out, body)
