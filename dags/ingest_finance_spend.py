"""Loads each council's new or changed supplier-payment files into raw.spend_lines.

Idempotent by content: a file already loaded is skipped; a re-published file replaces
its earlier rows; rejected rows go to raw.spend_quarantine with the reason. Runs monthly
after councils publish (the 5th); a manual run picks up any file dropped since.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from procure.assets import DEFAULT_ARGS, IO_RETRIES, RAW_SPEND, WRITER_POOL


@dag(
    schedule="0 6 5 * *",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "finance"],
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_finance_spend():
    @task(outlets=[RAW_SPEND], pool=WRITER_POOL, **IO_RETRIES)
    def load_spend_files(run_id=None, dag_run=None):
        from procure.tasks import ingest_spend

        return ingest_spend(run_id, dag_run.logical_date or dag_run.run_after)

    load_spend_files()


ingest_finance_spend()
