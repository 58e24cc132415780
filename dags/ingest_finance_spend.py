"""Lands each council's new supplier-payment files and loads them, one mapped task per batch of councils.

`list_new_files` copies every file in the councils' drop folders (and fetches their
`spend_urls`) into the landing zone and groups the files raw.spend_manifest does not know
into batches of councils (about 256 MB of new files each; the sample is one batch).
Each `load_batch` task loads its files in one process through `procure.tasks.ingest_spend`,
the same function `procure ingest spend`, `procure ingest all` and the benchmark run: each
file in its own transaction with its own manifest row. A corrected month replaces that
month's rows, the same bytes again are skipped, and a file that cannot be read is recorded
as rejected; the batch's other files still load, then the task fails naming every rejected
file and why (other batches are not affected).

`emit_raw_spend` runs once after every batch, whatever their outcome (a teardown: it does
not decide the run's state), and emits RAW_SPEND only if this run loaded or replaced a file,
so one monthly ingest triggers one warehouse build, and a run with nothing new none.
Runs monthly after councils publish (the 5th).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task, teardown

from procure.assets import RAW_SPEND
from procure.dag_defaults import DEFAULT_ARGS, IO_RETRIES, LOAD_PRIORITY, WRITER_POOL, limits


@dag(
    schedule="0 6 5 * *",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "finance"],
    default_args={**DEFAULT_ARGS, **LOAD_PRIORITY, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_finance_spend():
    @task(pool=WRITER_POOL, **IO_RETRIES, **limits("list"))  # reads the manifest: queue behind the writer
    def list_new_files() -> list[dict]:
        from procure.tasks import plan_spend

        return plan_spend()

    @task(pool=WRITER_POOL, map_index_template="{{ spend_batch }}", **IO_RETRIES, **limits("load_batch"))
    def load_batch(batch: dict, run_id=None, dag_run=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from procure.tasks import ingest_spend

        get_current_context()["spend_batch"] = batch["label"]
        run = ingest_spend(run_id, dag_run.logical_date or dag_run.run_after, files=batch["files"])
        rejected = run.rejected()
        if rejected:  # the files, not the machine: retrying cannot help
            raise AirflowFailException(
                f"{len(rejected)} file(s) rejected (the batch's other files loaded): " + "; ".join(rejected)
            )
        return {cid: {k: v for k, v in c.items() if k != "results"} for cid, c in run.summary().items()}

    @teardown
    @task(outlets=[RAW_SPEND], pool=WRITER_POOL, **IO_RETRIES, **limits("list"))
    def emit_raw_spend(run_id=None) -> int:
        from airflow.sdk.exceptions import AirflowSkipException

        from procure.tasks import files_changed

        changed = files_changed("spend", run_id)
        if not changed:  # a skipped task emits no asset event: no build for nothing
            raise AirflowSkipException("this run loaded no new or corrected file: raw.spend_lines is unchanged")
        return changed

    load_batch.expand(batch=list_new_files()) >> emit_raw_spend()


ingest_finance_spend()
