"""Spend files published as Excel workbooks (.xlsx): every sheet that holds payment lines.

Councils publish a year as one workbook with a sheet per month, each with its own header
(columns drift between sheets), or one sheet with a title above the header. Each sheet is
read like a CSV file of its own (header found by names or shape, roles inferred from header
and values, see :mod:`procure.extract.spend_reader`); a sheet with no payment lines (notes,
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
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procure.extract.sniff import DecompressionLimitError, Limits, SpendFileError

if TYPE_CHECKING:
    from procure.extract.spend_reader import Aliases, SpendFile


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


def _check_size(path: Path, limits: Limits) -> None:
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


def read_workbook(path: Path, overrides: dict[str, Any], aliases: Aliases, sha256: str, limits: Limits) -> SpendFile:
    """A SpendFile whose ``sheets`` are the workbook's sheets with payment lines, each sniffed on its own."""
    _check_size(path, limits)
    with open_workbook(path) as wb:
        return _sniff_sheets(path, wb, overrides, aliases, sha256, limits)


def _sniff_sheets(
    path: Path, wb: Any, overrides: dict[str, Any], aliases: Aliases, sha256: str, limits: Limits
) -> SpendFile:
    from procure.extract.spend_reader import (
        HEADER_SCAN_RECORDS,
        MAX_QUARANTINE_SHARE,
        SpendFile,
        _dedupe_names,
        _find_header,
        _sample,
        _settle_roles,
    )

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
