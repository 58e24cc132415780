"""Temporary files and folders that outlive a killed run are removed by the next one.

Whatever the pipeline builds aside before moving into place (a publish folder, a file being
landed, a harvested page) is named ``<prefix><pid>-<rest>``: the process that made it is in
its name. ``sweep`` removes the entries whose process no longer runs, so a SIGKILL (an
Airflow task killed at its timeout, an OOM kill) leaves nothing behind past the next run,
and a run still working next door is never touched.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def scratch_prefix(prefix: str) -> str:
    """``prefix`` + this process's pid + '-': the name start of anything this process builds aside."""
    return f"{prefix}{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def sweep(folder: Path, prefix: str) -> list[Path]:
    """Remove ``folder``'s entries named ``<prefix><pid>-...`` whose process is gone; return them."""
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    owner = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = []
    for entry in entries:
        match = owner.match(entry.name)
        if not match or _alive(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue  # another sweep got there first
        removed.append(entry)
    if removed:
        log.warning(
            "removed %d orphan(s) of killed runs in %s: %s", len(removed), folder, ", ".join(p.name for p in removed)
        )
    return removed
