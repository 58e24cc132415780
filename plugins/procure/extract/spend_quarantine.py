"""Keep every line of a rejected spend file in raw.spend_quarantine, so nothing is lost.

A file can be rejected at three points: while it is sniffed (no amount or no date role,
ambiguous roles, no header, no payment lines), while it is read (a CSV structure error), or
after it is read, because more than its allowed share of lines could not be read. In the
last case the reader has already built every line: the lines that read move from
raw.spend_lines to raw.spend_quarantine with the file's reason, the others keep their own
(:func:`quarantine_loaded_lines`). In the first two the row builder never ran, so
:func:`quarantine_file_records` reads the file again with as few assumptions as possible:

- the bytes are decompressed and decoded as the sniffer would (bytes that do not decode are
  replaced: the landing copy keeps them exactly), split into CSV records with the sniffed
  delimiter, or into physical lines when the CSV structure itself is broken;
- a workbook is read sheet by sheet;
- every non-blank record, the header and any title rows included (the file was refused
  before they could be told apart from payment lines), becomes one quarantine row whose
  reason is the file's; its cells are kept in ``raw_record`` as ``{"col_1": ..., ...}``
  (``{"line": ...}`` for a physical line, plus ``"sheet"`` for a workbook). Blank records
  are counted, so the manifest accounts for every record read:
  ``rows_read = rows_quarantined + skipped_blank``.

When the bytes cannot be read past some point (a truncated gzip, a decompression limit, a
workbook that does not open), the records before it are kept and :class:`Kept` says where
and why reading stopped.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa

from procure.extract.sniff import (
    Limits,
    SpendFileError,
    default_limits,
    detect_compression,
    open_decompressed,
    scan_encoding,
    sniff_delimiter,
)
from procure.extract.spend_rows import NumberedRecords

BATCH_ROWS = 50_000
SNIFF_LINES = 200
SALVAGE_BUFFER = 1 << 13  # decompressed at a time, so a cut-short archive yields what precedes the cut
PREFIX_BYTES = 4 << 20  # bytes whose encoding is judged when the file cannot be read to its end
_SCHEMA = pa.schema([("source_line", pa.int32()), ("record_index", pa.int32()), ("raw_record", pa.string())])
#: Errors that stop reading a rejected file's bytes (what was read before them is kept).
_STOPS = (SpendFileError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError, UnicodeError)


@dataclass
class Kept:
    """What :func:`quarantine_file_records` kept: records quarantined, blank records counted,
    and why reading stopped early (None: the whole file was read)."""

    quarantined: int = 0
    blank: int = 0
    stopped: str | None = None

    @property
    def rows_read(self) -> int:
        return self.quarantined + self.blank


class _BrokenCsv(Exception):
    """The CSV structure cannot be followed: read the file as physical lines instead."""


def _cells_json(cells: list[str], sheet: str | None = None) -> str:
    record: dict[str, str] = {"sheet": sheet} if sheet is not None else {}
    record.update({f"col_{i}": cell for i, cell in enumerate(cells, start=1)})
    return json.dumps(record, ensure_ascii=False)


def _encoding(path: Path, compression: str, limits: Limits) -> str:
    """The encoding the sniffer would choose; from the bytes that can be read when the rest cannot."""
    try:
        with open_decompressed(path, compression, limits) as raw:
            return scan_encoding(raw).encoding
    except _STOPS:
        pass
    head = bytearray()
    try:
        with open_decompressed(path, compression, limits, buffer_size=SALVAGE_BUFFER) as raw:
            while len(head) < PREFIX_BYTES and (chunk := raw.read(1 << 16)):
                head += chunk
    except _STOPS:
        pass
    return scan_encoding(io.BytesIO(bytes(head))).encoding if head else "utf-8"


def _text_records(
    path: Path, compression: str, limits: Limits, as_lines: bool, kept: Kept
) -> Iterator[tuple[int, str]]:
    """(physical line, raw_record) per non-blank record of a delimited text file."""
    encoding = _encoding(path, compression, limits)
    sample: list[str] = []
    try:
        with open_decompressed(path, compression, limits, buffer_size=SALVAGE_BUFFER) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None)
            try:
                for _, line in zip(range(SNIFF_LINES), text, strict=False):
                    sample.append(line)
            finally:
                text.detach()
    except _STOPS:
        pass  # the delimiter from the lines before the damage; reading the records says where it is
    delimiter = sniff_delimiter(sample)
    cap = limits.max_line_chars
    with open_decompressed(path, compression, limits, buffer_size=SALVAGE_BUFFER) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None)
        consumed = 0

        def lines() -> Iterator[str]:
            nonlocal consumed
            for line in iter(lambda: text.readline(cap + 1), ""):
                if len(line) > cap and not as_lines:
                    raise _BrokenCsv
                if len(line) > cap:  # a line past the limit: its first part, the rest skipped
                    while (rest := text.readline(cap + 1)) and not rest.endswith("\n"):
                        pass
                    line = line[:cap]
                consumed += 1
                yield line

        try:
            if as_lines:
                for line in lines():
                    if line.strip():
                        yield consumed, json.dumps({"line": line.rstrip("\n")}, ensure_ascii=False)
                    else:
                        kept.blank += 1
                return
            try:
                for start, cells in NumberedRecords(lines(), delimiter):
                    if any(c.strip() for c in cells):
                        yield start, _cells_json(cells)
                    else:
                        kept.blank += 1
            except csv.Error as exc:
                raise _BrokenCsv from exc
        finally:
            text.detach()


def _workbook_records(path: Path, limits: Limits, kept: Kept) -> Iterator[tuple[int, str]]:
    from procure.extract.spend_xlsx import check_size, open_workbook, sheet_records

    check_size(path, limits)  # never expand a workbook bomb
    unlimited = replace(limits, max_fields=1 << 30)  # a wide row is kept, not refused
    with open_workbook(path) as wb:
        for sheet in wb.sheetnames:
            for row, cells in sheet_records(path, sheet, unlimited, wb):
                if any(c.strip() for c in cells):
                    yield row, _cells_json(cells, sheet)
                else:
                    kept.blank += 1


def quarantine_file_records(
    con,
    council_id: str,
    source_file: str,
    sha256: str,
    path: Path,
    reason: str,
    run_id: str,
    limits: Limits | None = None,
) -> Kept:
    """Insert every non-blank record of ``path`` into raw.spend_quarantine with ``reason``.

    Runs on ``con`` inside the caller's transaction (the file's earlier quarantine rows are
    already deleted). Never raises for the file's bytes: see :class:`Kept`. (A file rejected for
    expanding past the decompression limits is not given here: it is not expanded again.)
    """
    limits = limits or default_limits()
    compression = "none"
    try:
        compression = detect_compression(path)
    except _STOPS as exc:
        return Kept(stopped=f"before the first record: {exc}")
    for as_lines in (False, True):
        kept = Kept()
        if compression == "xlsx":
            records = _workbook_records(path, limits, kept)
        else:
            records = _text_records(path, compression, limits, as_lines, kept)
        try:
            _insert(con, [council_id, source_file, sha256, reason, run_id], records, kept)
        except _BrokenCsv:
            con.execute(
                "delete from raw.spend_quarantine where council_id = ? and file_sha256 = ?", [council_id, sha256]
            )
            continue
        except _STOPS as exc:
            kept.stopped = f"after {kept.rows_read:,} record(s): {exc}"
        return kept
    raise AssertionError("unreachable: the physical-line reading never raises _BrokenCsv")


def _insert(con, key: list[str], records: Iterator[tuple[int, str]], kept: Kept) -> None:
    lines: list[int] = []
    raws: list[str] = []

    def flush() -> None:
        if not lines:
            return
        first = kept.quarantined
        table = pa.Table.from_arrays(
            [pa.array(lines, pa.int32()), pa.array(range(first, first + len(lines)), pa.int32()), pa.array(raws)],
            schema=_SCHEMA,
        )
        con.register("_rejected_batch", table)
        try:
            con.execute(
                "insert into raw.spend_quarantine (council_id, source_file, file_sha256, source_line, record_index, "
                "field, reject_reason, raw_record, run_id) select ?, ?, ?, source_line, record_index, null, ?, "
                "raw_record, ? from _rejected_batch",
                key,
            )
        finally:
            con.unregister("_rejected_batch")
        kept.quarantined += len(lines)
        lines.clear()
        raws.clear()

    try:
        for line, raw in records:
            lines.append(line)
            raws.append(raw)
            if len(lines) >= BATCH_ROWS:
                flush()
    finally:
        flush()  # what was read before a stop is kept


def quarantine_loaded_lines(con, council_id: str, sha256: str, reason: str) -> int:
    """Move the file's lines that read from raw.spend_lines to raw.spend_quarantine with ``reason``.

    For a file rejected after it was read (too many of its lines quarantined): the lines that
    could not be read are already there with their own reasons. Returns how many moved.
    """
    moved = con.execute(
        "insert into raw.spend_quarantine (council_id, source_file, file_sha256, source_line, record_index, field, "
        "reject_reason, raw_record, run_id) select council_id, source_file, file_sha256, source_line, record_index, "
        "null, ?, raw_record, run_id from raw.spend_lines where council_id = ? and file_sha256 = ?",
        [reason, council_id, sha256],
    ).fetchone()[0]
    con.execute("delete from raw.spend_lines where council_id = ? and file_sha256 = ?", [council_id, sha256])
    return int(moved)
