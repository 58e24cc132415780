"""Spend files published as Excel workbooks (.xlsx): every sheet that holds payment lines.

Councils publish a year as one workbook with a sheet per month, each with its own header
(columns drift between sheets), or one sheet with a title above the header. This module reads
the workbook (its size, its sheets, each sheet's cells as text); the sniffer reads each sheet
like a CSV file of its own (header found by names or shape, roles inferred from header and
values: ``_read_workbook`` in :mod:`procure.extract.spend_reader`); a sheet with no payment lines (notes,
a pivot, an empty sheet) is left out and named in the evidence. Cells are turned into the
text a CSV export would hold: real dates become ISO dates, a date typed as a number (an
Excel serial in a General-format cell) stays a number the date parser reads as a serial,
and binary float noise (``9533.910000000003``) is rounded to pence by the amount parser.

The workbook is opened read-only (streamed) with cached formula values. Its zip members
may not expand past the reader's decompression limits (see :class:`procure.extract.sniff.Limits`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from procure.extract.sniff import DecompressionLimitError, Limits, SpendFileError


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def check_size(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            expanded = sum(m.file_size for m in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise SpendFileError(f"{path.name}: the workbook is damaged ({exc})") from exc
    cap = limits.decompressed_cap(path.stat().st_size)
    if expanded > cap:
        raise DecompressionLimitError(
            f"{path.name}: rejected: the workbook expands to {expanded:,} bytes, past the limit of {cap:,} "
            f"(at most {limits.max_ratio}x its size beyond {limits.ratio_floor_bytes:,} bytes and at most "
            f"{limits.max_decompressed_bytes:,} bytes; PROCURE_SPEND_MAX_DECOMPRESSION_RATIO / "
            "PROCURE_SPEND_MAX_DECOMPRESSED_BYTES)"
        )


def _open(path: Path):
    from openpyxl import load_workbook

    try:
        # keep_links=False: a workbook's cached external-link tables can dwarf its data (and are not read)
        return load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise SpendFileError(f"{path.name}: cannot open the workbook ({type(exc).__name__}: {exc})") from exc


def sheet_records(path: Path, sheet: str, limits: Limits, wb: Any = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for each row of one sheet; trailing empty cells dropped.

    ``wb``: the workbook already open (opening one costs more than reading a sheet)."""
    own = wb is None
    wb = _open(path) if own else wb
    try:
        ws = wb[sheet]
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            while cells and not cells[-1].strip():
                cells.pop()
            if len(cells) > limits.max_fields:
                raise SpendFileError(
                    f"{path.name} sheet {sheet!r} row {n}: rejected: {len(cells):,} cells, more than the limit of "
                    f"{limits.max_fields:,} (PROCURE_SPEND_MAX_FIELDS)"
                )
            yield n, cells
    finally:
        if own:
            wb.close()


@contextmanager
def open_workbook(path: Path) -> Iterator[Any]:
    wb = _open(path)
    try:
        yield wb
    finally:
        wb.close()
