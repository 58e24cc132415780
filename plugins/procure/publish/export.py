"""`procure export`: one mart to CSV, Parquet or XLSX for an analyst, with the publishing safeguards.

The mart name is checked against the warehouse catalogue (never pasted into SQL unchecked);
``council_id`` / ``fiscal_year`` filters apply when the mart has those columns. CSV and
XLSX cells are neutralised against formula injection, and payee-name columns pass the
same privacy check as the published extracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from procure.publish.safety import check_privacy
from procure.publish.writers import write_csv, write_parquet, write_xlsx
from procure.warehouse import connect

FORMATS = ("csv", "parquet", "xlsx")
NAME_COLUMNS = ("supplier_name", "canonical_name", "supplier_name_as_paid", "top_supplier_name", "payee_name")


class ExportError(ValueError):
    """The export request cannot be served (unknown mart, filter the mart cannot take, ...)."""


@dataclass
class ExportResult:
    path: Path
    rows: int
    mart: str


def normalise_fiscal_year(value: str | int | None) -> str | None:
    """'2024', 2024 or '2024-25' -> '2024-25' (the marts' label)."""
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return f"{year}-{(year + 1) % 100:02d}"
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return text
    raise ExportError(f"fiscal year {value!r}: expected a start year (2024) or a label (2024-25)")


def export_mart(
    mart: str,
    fmt: str,
    out: Path | None = None,
    council_id: str | None = None,
    fiscal_year: str | int | None = None,
    warehouse: Path | None = None,
) -> ExportResult:
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    fy = normalise_fiscal_year(fiscal_year)
    con = connect(warehouse, read_only=True)
    try:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        if mart not in marts:
            raise ExportError(f"mart {mart!r} not found in schema marts; available: {', '.join(marts)}")
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
                "order by ordinal_position",
                [mart],
            ).fetchall()
        ]
        where, params = [], []
        for col, value in (("council_id", council_id), ("fiscal_year", fy)):
            if value is None:
                continue
            if col not in columns:
                raise ExportError(f"mart {mart!r} has no {col} column: cannot filter by it")
            where.append(f"{col} = ?")
            params.append(value)
        order = ", ".join(f'"{c}"' for c in columns)
        sql = (
            f'select * from marts."{mart}"' + (f" where {' and '.join(where)}" if where else "") + f" order by {order}"
        )
        table = con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()
    headers = list(table.column_names)
    rows = [tuple(r[h] for h in headers) for r in table.to_pylist()]
    for col in NAME_COLUMNS:
        if col in headers:
            i = headers.index(col)
            check_privacy(f"export of marts.{mart}", col, (r[i] for r in rows))
    suffix = "".join(f"_{v}" for v in (council_id, fy) if v)
    path = out or Path(f"{mart}{suffix}.{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        write_csv(path, headers, rows)
    elif fmt == "parquet":
        write_parquet(path, table)
    else:
        write_xlsx(path, [(mart, headers, rows)], datetime(2000, 1, 1), title=f"marts.{mart}")
    return ExportResult(path, len(rows), mart)
