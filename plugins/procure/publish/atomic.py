"""Write a whole output folder or nothing: build in a sibling temp folder, then swap.

A failed publish leaves the previously published folder exactly as it was. A publish
killed outright (SIGKILL, out of memory) can leave its temp folder (``.tmp-<pid>-...``)
or, between the two renames of the swap, the last good folder as ``.<name>.old``: the
next publish into the same parent folder removes dead processes' temp folders
(``procure.orphans``) and puts a stranded ``.old`` back before it starts.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_PREFIX = ".tmp-"


def recover(target: Path) -> None:
    """Undo what a killed publish left next to ``target`` (see the module docstring)."""
    from procure.orphans import sweep

    old = target.with_name(f".{target.name}.old")
    if old.exists():
        if target.exists():
            shutil.rmtree(old)
        else:
            old.rename(target)  # killed mid-swap: the last good folder comes back
    sweep(target.parent, TMP_PREFIX)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    from procure.orphans import scratch_prefix

    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(TMP_PREFIX) + f"{target.name}-", dir=target.parent))
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
