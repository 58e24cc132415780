"""Lands each council's contract register files and loads the new ones, one mapped task per file (weekly).

A register is a snapshot: a new version replaces the council's raw.contracts in one
transaction and the older one stays in raw.contract_manifest as superseded. The same
bytes again are skipped; a file that cannot be read is recorded as rejected and fails
only its own task, naming the file and what is wrong.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from procure.assets import DEFAULT_ARGS, IO_RETRIES, RAW_CONTRACTS, WRITER_POOL, limits


@dag(
    schedule="0 5 * * 1",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "contracts"],
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_contract_register():
    @task(pool=WRITER_POOL, **IO_RETRIES, **limits("list"))  # reads the manifest: queue behind the writer
    def list_new_files() -> list[dict]:
        from procure.tasks import list_new_register_files

        return list_new_register_files()

    @task(
        outlets=[RAW_CONTRACTS],
        pool=WRITER_POOL,
        map_index_template="{{ register_file }}",
        **IO_RETRIES,
        **limits("load_file"),
    )
    def load_file(item: dict, run_id=None, dag_run=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from procure.tasks import load_register_file

        get_current_context()["register_file"] = f"{item['council_id']}/{item['name']}"
        result = load_register_file(item, run_id, dag_run.logical_date or dag_run.run_after)
        if result["status"] == "rejected":
            raise AirflowFailException(f"rejected {item['origin']}: {result['reason']}")
        if result["status"] == "unchanged":
            raise AirflowSkipException(result["reason"] or "unchanged")
        return result

    load_file.expand(item=list_new_files())


ingest_contract_register()
