"""The landing zone: every input file kept byte for byte, addressed by its content.

``<landing root>/<source>/<council>/<sha256>/<original name>``: the loaders read the
landed copy, never the drop folder, so a council can overwrite or delete what it dropped
and the warehouse still knows exactly which bytes each row came from. Landing the same
bytes twice is a no-op; two different files with the same name land side by side.

Files listed by URL in the council configuration are fetched with urllib straight into
the landing zone (streamed to a temporary file, hashed on the way, then renamed).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from procure.config import landing_dir
from procure.orphans import scratch_prefix, sweep

CHUNK = 1 << 20
SOURCES = ("spend", "contracts")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


class LandingError(OSError):
    """A file could not be landed (unreadable, download failed); the message names it."""


@dataclass(frozen=True)
class LandedFile:
    """One input file as stored in the landing zone."""

    council_id: str
    source: str
    original_name: str
    origin: str  # where it came from: a path or a URL
    sha256: str
    size_bytes: int
    path: Path  # the landed copy


def safe_name(name: str) -> str:
    """A file name that is safe on every file system, recognisably the original."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip(" .")
    return cleaned or "file"


def _target(root: Path, source: str, council_id: str, sha256: str, name: str) -> Path:
    if source not in SOURCES:
        raise ValueError(f"unknown landing source {source!r}; expected one of {SOURCES}")
    return root / source / council_id / sha256 / safe_name(name)


def _copy_hashing(src, dst) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _place(tmp: Path, target: Path) -> None:
    """Move a finished temporary file into place (same bytes already there: keep those)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        tmp.unlink()
    else:
        os.replace(tmp, target)


PART_PREFIX = "part-"


def _incoming(root: Path, source: str, council_id: str) -> Path:
    """The council's folder of files being landed; parts left by a killed run are removed first."""
    incoming = root / source / council_id / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    sweep(incoming, PART_PREFIX)
    return incoming


def _part(incoming: Path):
    return tempfile.NamedTemporaryFile(dir=incoming, prefix=scratch_prefix(PART_PREFIX), delete=False)


def land_file(path: Path, source: str, council_id: str, root: Path | None = None) -> LandedFile:
    """Copy ``path`` into the landing zone (unless the same bytes are already there)."""
    root = root or landing_dir()
    path = Path(path)
    incoming = _incoming(root, source, council_id)
    try:
        with path.open("rb") as src, _part(incoming) as tmp:
            sha256, size = _copy_hashing(src, tmp)
    except OSError as exc:
        raise LandingError(f"{path}: cannot be read for landing: {exc.strerror or exc}") from exc
    target = _target(root, source, council_id, sha256, path.name)
    _place(Path(tmp.name), target)
    return LandedFile(council_id, source, path.name, str(path), sha256, size, target)


def _name_from_response(url: str, headers: Message) -> str:
    disposition = headers.get_param("filename", header="content-disposition")
    if disposition:
        return safe_name(str(disposition))
    tail = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    return safe_name(tail or "download")


def fetch_url(url: str, source: str, council_id: str, root: Path | None = None, timeout: float = 60) -> LandedFile:
    """Download ``url`` into the landing zone; the name comes from Content-Disposition or the URL."""
    root = root or landing_dir()
    incoming = _incoming(root, source, council_id)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise LandingError(f"{url}: council {council_id!r}: only http(s) URLs can be fetched; drop local files instead")
    agent = {"User-Agent": "procure-ingest/1 (council transparency data)"}
    request = urllib.request.Request(url, headers=agent)  # noqa: S310 - scheme checked above
    with _part(incoming) as tmp:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
                name = _name_from_response(url, response.headers)
                sha256, size = _copy_hashing(response, tmp)
        except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
            tmp.close()
            Path(tmp.name).unlink(missing_ok=True)
            raise LandingError(f"{url}: download failed for council {council_id!r}: {exc}") from exc
    target = _target(root, source, council_id, sha256, name)
    _place(Path(tmp.name), target)
    return LandedFile(council_id, source, name, url, sha256, size, target)


def drop_folder_files(folder: Path | None, pattern: str) -> list[Path]:
    """Files waiting in a drop folder, in name order (hidden and editor lock files ignored)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith((".", "~$")) and p.name[-1] != "~"
    )


def land_sources(
    sources: list[Path | str], source: str, council_id: str, root: Path | None = None
) -> list[tuple[str, LandedFile | str]]:
    """Land local files (Path) and URLs (str); a source that cannot be landed gives
    (origin, error message) instead of a LandedFile, so one bad download does not stop the others."""
    out: list[tuple[str, LandedFile | str]] = []
    for item in sources:
        try:
            if isinstance(item, str):
                out.append((item, fetch_url(item, source, council_id, root)))
            else:
                out.append((str(item), land_file(item, source, council_id, root)))
        except LandingError as exc:
            out.append((str(item), str(exc)))
    return out


def landed_or_raise(pairs: list[tuple[str, LandedFile | str]]) -> list[LandedFile]:
    """The files of :func:`land_sources`' pairs, each sha256 once; the first source that could not
    be landed raises :class:`LandingError` naming it (a DAG task then retries, then fails)."""
    out: list[LandedFile] = []
    seen: set[str] = set()
    for _, item in pairs:
        if isinstance(item, str):
            raise LandingError(item)
        if item.sha256 not in seen:
            seen.add(item.sha256)
            out.append(item)
    return out
