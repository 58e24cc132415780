"""Write a whole output folder or nothing: build in a sibling temp folder, then swap.

A failed publish leaves the previously published folder exactly as it was.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # published folders are for readers, not only this user
    try:
        yield tmp
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        old = target.with_name(f".{target.name}.old")
        if old.exists() and not target.exists():
            old.rename(target)  # the swap itself failed: put the last good folder back
        raise


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class GateNotPassed(RuntimeError):
    """Publishing refused: the latest quality gate on this warehouse did not pass."""


def require_gate(con) -> None:
    from procure.quality.gate import latest_gate_passed

    if not latest_gate_passed(con):
        raise GateNotPassed(
            "the latest quality-gate run did not pass (or none has run): run `procure check` "
            "and fix the critical failures before publishing; published outputs were left untouched"
        )
