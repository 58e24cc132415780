"""Publish every council's output, several councils at once.

``publish_each`` runs one publish function per council in a pool of worker processes
(``spawn``: a fresh interpreter, safe next to DuckDB's and Airflow's threads), each worker
keeping what every council reuses (WeasyPrint fonts, the dbt manifest) for all
the councils it publishes. Workers: ``PROCURE_PUBLISH_WORKERS`` if set, else
``min(2, cpu count)``; never more than there are councils, so one council runs in this
process. Every council is attempted; the first failure (councils that could not even start,
e.g. with no data, first; then configuration order) is then raised after the others are
published, its notes naming each council that failed and why, and its ``published`` and
``failures`` attributes holding the results and the exceptions by council id.

The gate is checked once here before any work starts, and again by each council's publish.
A ``spawn`` worker re-imports the parent's ``__main__`` module: a script that publishes must
keep its work under ``if __name__ == "__main__":`` (the CLI, Airflow, pytest and bench do).
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WORKERS_ENV = "PROCURE_PUBLISH_WORKERS"


def workers_for(jobs: int) -> int:
    """Worker processes for ``jobs`` councils (see the module docstring)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        try:
            wanted = int(value)
        except ValueError:
            wanted = 0
        if wanted < 1:
            raise ValueError(f"{WORKERS_ENV}={value!r}: expected a whole number of worker processes, 1 or more")
    else:
        wanted = min(2, os.cpu_count() or 1)
    if wanted > 1 and multiprocessing.current_process().daemon:
        log.warning("publishing in this process: a daemonic process (%s) cannot start workers", os.getpid())
        wanted = 1
    return max(1, min(wanted, jobs))


def _worker_init(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s [worker %(process)d] %(message)s")


def _call(target: str, args: tuple) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def check_gate(warehouse: Path | None) -> None:
    from procure.publish.atomic import require_gate
    from procure.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        require_gate(con)
    finally:
        con.close()


def publish_each(
    what: str,
    target: str,
    jobs: Sequence[tuple[str, tuple]],
    warehouse: Path | None = None,
    failed: dict[str, BaseException] | None = None,
) -> dict[str, Any]:
    """``target`` ("module:function") called with each job's args; results by council id, in job order.

    ``what`` names the output in logs and errors ("board pack", "strategy review"); ``failed``:
    councils that already failed before their job could be made (reported with the others).
    """
    check_gate(warehouse)
    workers = workers_for(len(jobs))
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = dict(failed or {})
    for council_id, exc in errors.items():
        log.error("%s for council %s failed: %s: %s", what, council_id, type(exc).__name__, exc)
    if workers == 1:
        for council_id, args in jobs:
            try:
                results[council_id] = _call(target, args)
            except Exception as exc:  # reported below, after the other councils
                errors[council_id] = exc
                log.error("%s for council %s failed: %s: %s", what, council_id, type(exc).__name__, exc)
    else:
        log.info("publishing %d %ss in %d worker processes", len(jobs), what, workers)
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(logging.getLogger().getEffectiveLevel(),),
        ) as pool:
            futures = [(council_id, pool.submit(_call, target, args)) for council_id, args in jobs]
            for council_id, future in futures:
                try:
                    results[council_id] = future.result()
                except Exception as exc:  # reported below, after the other councils
                    errors[council_id] = exc
                    log.error("%s for council %s failed: %s: %s", what, council_id, type(exc).__name__, exc)
    for council_id, result in results.items():
        log.info("%s for council %s: %s", what, council_id, result)
    if errors:
        first_id, first = next(iter(errors.items()))
        first.add_note(f"{what} for council {first_id!r} failed")
        others = [f"{cid} ({type(e).__name__}: {e})" for cid, e in errors.items() if cid != first_id]
        if others:
            first.add_note(f"{what}s also failed for: {'; '.join(others)}")
        first.add_note(
            f"published for {len(results)} of {len(errors) + len(results)} councils: {', '.join(results) or 'none'}"
        )
        first.published, first.failures = dict(results), dict(errors)
        raise first
    return results
