"""Byte-level sniffing of a published file: compression, encoding and delimiter.

Why not a library: charset-normalizer guesses cp932/cp1250 on small cp1252 CSVs and
loses the £, and csv.Sniffer is easily fooled by commas inside descriptions. Council
files come in very few encodings, so the rules are explicit:

1. A byte-order mark wins (UTF-8, UTF-16).
2. Bytes that are valid UTF-8 throughout are UTF-8. If they contain the mojibake of a
   double-encoded £ (``Â£``, bytes C3 82 C2 A3) or curly quote (``â€``), the file is
   flagged so the reader can repair cells.
3. Otherwise it is a single-byte Windows/DOS code page: cp437 if the DOS £ byte 0x9C is
   more frequent than the Windows £ byte 0xA3, else cp1252 (or latin-1 when the bytes
   include the five that cp1252 leaves undefined, so decoding never fails).

The whole (decompressed) file is scanned once, in 1 MiB chunks, so a cp1252 byte on row
five million is not missed and memory stays flat.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import hashlib
import io
import lzma
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1 << 20
DELIMITERS = (",", "\t", ";", "|")
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_SURROGATES = re.compile("[\udc80-\udcff]")
_DOUBLE_ENCODED = (b"\xc3\x82\xc2\xa3", b"\xc3\xa2\xe2\x82\xac")  # "Â£", "â€"


class SpendFileError(ValueError):
    """The file cannot be read as a spend file; the message names the file and the fix."""


class DecompressionLimitError(SpendFileError):
    """The file expands past the decompression limits (a zip bomb, or limits set too low)."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value.replace("_", ""))
    except ValueError as exc:
        raise SpendFileError(f"environment variable {name}={value!r} must be a whole number") from exc


@dataclass(frozen=True)
class Limits:
    """What one spend file may cost, so a hostile or broken file cannot exhaust the machine.

    - ``max_decompressed_bytes``: a compressed file (gzip, bz2, xz, zip, xlsx) may expand to at
      most this many bytes;
    - ``max_ratio``: ... and to at most this many times its size on disk, once past
      ``ratio_floor_bytes`` (small files of repeated lines compress very well and are fine);
    - ``max_line_chars``: one physical line (a record without line breaks) at most this long;
    - ``max_fields``: one record at most this many cells.

    Defaults come from the environment (``PROCURE_SPEND_MAX_DECOMPRESSED_BYTES``,
    ``PROCURE_SPEND_MAX_DECOMPRESSION_RATIO``, ``PROCURE_SPEND_MAX_LINE_CHARS``,
    ``PROCURE_SPEND_MAX_FIELDS``), read when :func:`default_limits` is called.
    """

    max_decompressed_bytes: int = 4_000_000_000
    max_ratio: int = 100
    ratio_floor_bytes: int = 64_000_000
    max_line_chars: int = 1_000_000
    max_fields: int = 1_000

    def decompressed_cap(self, compressed_size: int) -> int:
        return min(self.max_decompressed_bytes, max(self.ratio_floor_bytes, self.max_ratio * compressed_size))


def default_limits() -> Limits:
    base = Limits()
    return Limits(
        max_decompressed_bytes=_env_int("PROCURE_SPEND_MAX_DECOMPRESSED_BYTES", base.max_decompressed_bytes),
        max_ratio=_env_int("PROCURE_SPEND_MAX_DECOMPRESSION_RATIO", base.max_ratio),
        ratio_floor_bytes=_env_int("PROCURE_SPEND_RATIO_FLOOR_BYTES", base.ratio_floor_bytes),
        max_line_chars=_env_int("PROCURE_SPEND_MAX_LINE_CHARS", base.max_line_chars),
        max_fields=_env_int("PROCURE_SPEND_MAX_FIELDS", base.max_fields),
    )


class _CappedStream(io.RawIOBase):
    """A decompressing stream that refuses to produce more than ``cap`` bytes (a zip bomb)."""

    def __init__(self, inner: BinaryIO, cap: int, path: Path, compression: str, limits: Limits) -> None:
        self.inner, self.cap, self.path, self.compression, self.limits = inner, cap, path, compression, limits
        self.produced = 0

    def readable(self) -> bool:
        return True

    def _count(self, n: int) -> None:
        self.produced += n
        if self.produced > self.cap:
            size = self.path.stat().st_size
            raise DecompressionLimitError(
                f"{self.path.name}: rejected: the {self.compression} data expands past {self.cap:,} bytes "
                f"(the file is {size:,} bytes; limits: at most {self.limits.max_ratio}x its size beyond "
                f"{self.limits.ratio_floor_bytes:,} bytes and at most {self.limits.max_decompressed_bytes:,} bytes; "
                "set PROCURE_SPEND_MAX_DECOMPRESSION_RATIO / PROCURE_SPEND_MAX_DECOMPRESSED_BYTES to raise them)"
            )

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if size is not None and size >= 0 else CHUNK)
        self._count(len(data))
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        self._count(len(data))
        buffer[: len(data)] = data
        return len(data)


def is_workbook(path: Path) -> bool:
    """Whether a zip file is an Excel workbook (.xlsx), whatever its name."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(m.filename.lower() == "xl/workbook.xml" for m in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return False


def detect_compression(path: Path) -> str:
    """'gzip', 'zip', 'bz2', 'xz', 'xlsx' or 'none', from the magic bytes, never the file name."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if is_workbook(path) else "zip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"%PDF"):
        raise SpendFileError(f"{path.name}: is a PDF, not a CSV file; ask the council for the CSV")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpendFileError(f"{path.name}: is an old Excel/OLE file (.xls), not CSV; export it as CSV")
    return "none"


def _zip_member(path: Path, zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [m for m in zf.infolist() if not m.is_dir()]
    names = {m.filename.lower() for m in members}
    if "xl/workbook.xml" in names:
        raise SpendFileError(f"{path.name}: is an Excel workbook (.xlsx), not CSV; export it as CSV")
    for suffixes in ((".csv",), (".txt", ".tsv")):
        for m in members:
            if m.filename.lower().endswith(suffixes):
                return m
    if not members:
        raise SpendFileError(f"{path.name}: is an empty zip archive")
    return members[0]


@contextmanager
def open_decompressed(
    path: Path, compression: str, limits: Limits | None = None, buffer_size: int = CHUNK
) -> Iterator[BinaryIO]:
    """A binary stream of the file's content (first CSV member of a zip).

    ``buffer_size``: how much is decompressed at a time; a small one lets a reader get the
    data before the damage in a cut-short archive (the whole read fails at the damage).

    A damaged or truncated archive raises :class:`SpendFileError` (also when the damage is
    only met while the caller reads), never a bare EOFError or zlib error; so does data that
    expands past ``limits`` (default: :func:`default_limits`).
    """
    limits = limits or default_limits()
    cap = limits.decompressed_cap(path.stat().st_size) if compression != "none" else 0

    def capped(fh: BinaryIO) -> BinaryIO:
        return io.BufferedReader(_CappedStream(fh, cap, path, compression, limits), buffer_size)  # type: ignore[return-value]

    try:
        if compression == "none":
            with path.open("rb") as fh:
                yield fh
        elif compression == "gzip":
            with gzip.open(path, "rb") as fh:
                yield capped(fh)
        elif compression == "bz2":
            with bz2.open(path, "rb") as fh:
                yield capped(fh)
        elif compression == "xz":
            with lzma.open(path, "rb") as fh:
                yield capped(fh)
        elif compression == "zip":
            with zipfile.ZipFile(path) as zf, zf.open(_zip_member(path, zf)) as fh:
                yield capped(fh)
        else:
            raise SpendFileError(f"{path.name}: unsupported compression {compression!r}")
    except (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, gzip.BadGzipFile, NotImplementedError) as exc:
        raise SpendFileError(f"{path.name}: the {compression} data is damaged or cut short ({exc})") from exc
    except OSError as exc:
        if compression == "none" or isinstance(exc, FileNotFoundError | PermissionError):
            raise
        raise SpendFileError(f"{path.name}: the {compression} data is damaged or cut short ({exc})") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ByteScan:
    """What one pass over the bytes found. The line facts (single-byte/UTF-8 encodings only)
    let the reader decide whether the DuckDB fast path applies (one record per line)."""

    encoding: str
    double_encoded: bool
    bytes_read: int
    lf: int = 0  # b"\n" bytes (CRLF included)
    crlf: int = 0
    cr: int = 0  # b"\r" bytes (CRLF included)
    empty_lines: int = 0  # > 0 if some line is empty (b"\n\n" or b"\n\r\n"; a lower bound)
    quotes: int = 0
    ends_with_newline: bool = False
    #: True when no byte can be (part of) a control character other than LF/CR or a
    #: whitespace character other than the space, in UTF-8, latin-1 or cp1252 (tab, U+0085,
    #: U+00A0, U+1680, U+2000-U+205F, U+3000); the DuckDB fast path then skips its per-row check
    plain_spacing: bool = False
    #: UTF-8 with a few invalid bytes (more valid multi-byte characters than invalid bytes):
    #: read as UTF-8, each invalid byte decoded alone as cp1252 and its line flagged
    mixed: bool = False
    invalid_bytes: int = 0


#: Printable ASCII and the line breaks: what :func:`_plain_spacing` removes before looking.
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\n\r"
_ODD_BYTES = frozenset([*range(0x20), 0x85, 0xA0]) - {0x0A, 0x0D}
#: UTF-8 of U+1680, U+2000-U+202F (a superset: U+2000-U+200A, U+2028, U+2029, U+202F), U+205F, U+3000
_ODD_SEQUENCES = (b"\xe1\x9a\x80", b"\xe2\x80", b"\xe2\x81\x9f", b"\xe3\x80\x80")


def _plain_spacing(chunk: bytes, tail: bytes) -> bool:
    """Whether ``chunk`` (after ``tail``, the previous chunk's last bytes) holds no odd spacing byte."""
    rest = chunk.translate(None, _PLAIN_BYTES)  # ~0.1 ms a 0.5 MB chunk; mostly empty
    if not rest:
        return True
    if not _ODD_BYTES.isdisjoint(rest):
        return False
    if any(b in rest for b in b"\xe1\xe2\xe3") or any(b in tail for b in b"\xe1\xe2\xe3"):
        window = tail + chunk[:3]
        return not any(seq in chunk or seq in window for seq in _ODD_SEQUENCES)
    return True


def scan_encoding(stream: BinaryIO, digest: Any = None) -> ByteScan:
    """Decide the encoding from the whole decompressed byte stream (see module docstring).

    ``digest`` (a hashlib object) is fed every byte read, so an uncompressed file is hashed
    in the same pass.
    """
    first = stream.read(CHUNK)
    if digest is not None:
        digest.update(first)
    if first.startswith(codecs.BOM_UTF8):
        bom = "utf-8-sig"
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 is self-describing; no need to scan further.
        while digest is not None and (rest := stream.read(CHUNK)):
            digest.update(rest)
        return ByteScan("utf-16", False, len(first))
    else:
        bom = ""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lenient: Any = None  # after the first invalid byte: counts the invalid bytes
    multibyte = invalid = 0
    utf8_ok = True
    double_encoded = False
    counts: Counter[int] = Counter()
    lines = ByteScan("", False, 0)
    tail = b""
    total = 0
    chunk = first
    plain_spacing = True
    # sha256 releases the GIL: hash chunk n in a thread while chunk n is scanned here
    pool = ThreadPoolExecutor(max_workers=1) if digest is not None else None
    hashing = None
    try:
        while chunk:
            total += len(chunk)
            # Counted within the chunk, plus the few bytes across the boundary with the last one
            # (slicing a 1 MiB chunk to glue the tail on would copy it).
            seam = tail[-2:] + chunk[:2]
            lines.lf += chunk.count(b"\n")
            lines.cr += chunk.count(b"\r")
            lines.crlf += chunk.count(b"\r\n") + (tail[-1:] == b"\r" and chunk[:1] == b"\n")
            lines.empty_lines += chunk.count(b"\n\n") + chunk.count(b"\n\r\n") + seam.count(b"\n\n")
            lines.empty_lines += seam.count(b"\n\r\n")
            lines.quotes += chunk.count(b'"')
            lines.ends_with_newline = chunk.endswith((b"\n", b"\r"))
            ascii_only = chunk.isascii()
            if not ascii_only:  # common UTF-8 lead bytes (£, accented letters, curly quotes)
                multibyte += chunk.count(b"\xc2") + chunk.count(b"\xc3") + chunk.count(b"\xe2")
            if utf8_ok and not (ascii_only and decoder.getstate()[0] == b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
                    lenient = codecs.getincrementaldecoder("utf-8")("surrogateescape")
            if lenient is not None and not ascii_only:
                invalid += len(_SURROGATES.findall(lenient.decode(chunk)))
            if not double_encoded and (not ascii_only or not tail.isascii()):
                window = tail + chunk[:8]
                if any(m in chunk or m in window for m in _DOUBLE_ENCODED):
                    double_encoded = True
            if not ascii_only:
                for byte in (0xA3, 0x9C, *_CP1252_UNDEFINED):
                    counts[byte] += chunk.count(bytes([byte]))
            if plain_spacing:
                plain_spacing = _plain_spacing(chunk, tail)
            tail = chunk[-5:]
            chunk = stream.read(CHUNK)
            if pool is not None:
                if hashing is not None:
                    hashing.result()
                hashing = pool.submit(digest.update, chunk) if chunk else None
        if hashing is not None:
            hashing.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    mixed = False
    if not utf8_ok and invalid and multibyte - invalid > invalid:
        utf8_ok = mixed = True  # mostly UTF-8: a few stray bytes do not make the file cp1252
    if utf8_ok:
        encoding = bom or "utf-8"
    elif counts[0x9C] > counts[0xA3]:
        encoding, double_encoded = "cp437", False
    elif any(counts[b] for b in _CP1252_UNDEFINED):
        encoding, double_encoded = "latin-1", False
    else:
        encoding, double_encoded = "cp1252", False
    lines.encoding, lines.double_encoded, lines.bytes_read = encoding, double_encoded, total
    lines.plain_spacing = plain_spacing
    lines.mixed, lines.invalid_bytes = mixed, invalid if mixed else 0
    return lines


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most sample rows into the same number (> 1) of fields.

    Counting parsed fields (quotes respected) beats csv.Sniffer on files whose
    descriptions contain commas or whose first lines are a one-cell title.
    """
    best, best_score = ",", (0, 0)
    sample = [ln for ln in lines if ln.strip()]
    text = "".join(sample)
    for delim in DELIMITERS:
        if delim not in text:
            continue  # every row would be one field
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(text), delimiter=delim)]
        except csv.Error:
            continue
        widths = [w for w in widths if w > 1]
        if not widths:
            continue
        mode, freq = Counter(widths).most_common(1)[0]
        score = (freq, mode)
        if score > best_score:
            best, best_score = delim, score
    return best
