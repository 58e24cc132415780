"""Lands each council's new supplier-payment files and loads them, one mapped task per file.

`list_new_files` copies every file in the councils' drop folders (and fetches their
`spend_urls`) into the landing zone, and lists those raw.spend_manifest does not know.
Each `load_file` task loads one file in its own transaction and emits RAW_SPEND: a
corrected month replaces that month's rows, the same bytes again are skipped, and a file
that cannot be read is recorded as rejected and fails only its own task, naming the file
and what is wrong. Runs monthly after councils publish (the 5th).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from procure.assets import DEFAULT_ARGS, IO_RETRIES, RAW_SPEND, WRITER_POOL, limits


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
    @task(pool=WRITER_POOL, **IO_RETRIES, **limits("list"))  # reads the manifest: queue behind the writer
    def list_new_files() -> list[dict]:
        from procure.tasks import list_new_spend_files

        return list_new_spend_files()

    @task(
        outlets=[RAW_SPEND],
        pool=WRITER_POOL,
        map_index_template="{{ spend_file }}",
        **IO_RETRIES,
        **limits("load_file"),
    )
    def load_file(item: dict, run_id=None, dag_run=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from procure.tasks import load_spend_file

        get_current_context()["spend_file"] = f"{item['council_id']}/{item['name']}"
        result = load_spend_file(item, run_id, dag_run.logical_date or dag_run.run_after)
        if result["status"] == "rejected":  # the file, not the machine: retrying cannot help
            raise AirflowFailException(f"rejected {item['origin']}: {result['reason']}")
        if result["status"] == "unchanged":  # loaded by an earlier run meanwhile: no new asset event
            raise AirflowSkipException(result["reason"] or "unchanged")
        return result

    load_file.expand(item=list_new_files())


ingest_finance_spend()
