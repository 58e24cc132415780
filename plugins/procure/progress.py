"""A progress bar for long command-line loads (rich): files done of the total, rows read, rows/s.

Shown on stderr only when it is a terminal and the caller wants it (``procure ingest`` without
``--json``); the DAG tasks pass no callbacks, so nothing is drawn under Airflow.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


def wanted(quiet: bool = False) -> bool:
    """Draw a bar: not asked to be quiet and stderr is a terminal (not a log file or a pipe)."""
    return not quiet and sys.stderr.isatty()


@dataclass
class LoadProgress:
    """Callbacks for :func:`procure.tasks.ingest_spend`: ``on_file`` (a file starts), ``on_batch`` (rows read)."""

    progress: Progress | None
    task: TaskID | None
    rows: int = 0
    started: float = field(default_factory=time.perf_counter)
    _open_file: bool = False

    def on_file(self, origin: str) -> None:
        if self.progress is None or self.task is None:
            return
        self.progress.update(self.task, advance=1 if self._open_file else 0, file=Path(origin).name)
        self._open_file = True

    def on_batch(self, rows: int) -> None:
        self.rows += rows
        if self.progress is None or self.task is None:
            return
        rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, rows=self.rows, rate=rate)

    def finish(self) -> None:
        if self.progress is not None and self.task is not None and self._open_file:
            self.progress.update(self.task, advance=1, file="")
            self._open_file = False


@contextmanager
def load_progress(label: str, total_files: int, show: bool) -> Iterator[LoadProgress]:
    """A bar over ``total_files`` files while the block runs (no bar when ``show`` is false)."""
    if not show:
        yield LoadProgress(None, None)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files  {task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[file]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=max(total_files, 1), rows=0, rate=0.0, file="")
        bar = LoadProgress(progress, task)
        try:
            yield bar
        finally:
            bar.finish()
