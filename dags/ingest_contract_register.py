"""Lands each council's contract register files and loads the new ones, one mapped task per batch of councils (weekly).

A register is a snapshot: a new version replaces the council's raw.contracts in one
transaction and the older one stays in raw.contract_manifest as superseded. The same
bytes again are skipped; a file that cannot be read is recorded as rejected, the batch's
other files still load, and the task fails naming every rejected file and what is wrong.
`emit_raw_contracts` runs once after every batch (a teardown) and emits RAW_CONTRACTS only
if this run loaded a register, so one run triggers at most one warehouse build.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task, teardown

from procure.assets import RAW_CONTRACTS
from procure.dag_defaults import DEFAULT_ARGS, IO_RETRIES, LOAD_PRIORITY, WRITER_POOL, limits


@dag(
    schedule="0 5 * * 1",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "contracts"],
    default_args={**DEFAULT_ARGS, **LOAD_PRIORITY, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_contract_register():
    @task(pool=WRITER_POOL, **IO_RETRIES, **limits("list"))  # reads the manifest: queue behind the writer
    def list_new_files() -> list[dict]:
        from procure.tasks import plan_contracts

        return plan_contracts()

    @task(pool=WRITER_POOL, map_index_template="{{ register_batch }}", **IO_RETRIES, **limits("load_batch"))
    def load_batch(batch: dict, run_id=None, dag_run=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from procure.tasks import load_register_file

        get_current_context()["register_batch"] = batch["label"]
        day = dag_run.logical_date or dag_run.run_after
        results = [load_register_file(item, run_id, day) for items in batch["files"].values() for item in items]
        rejected = [f"{r['path']}: {r['reason']}" for r in results if r["status"] == "rejected"]
        if rejected:  # the files, not the machine: retrying cannot help
            raise AirflowFailException(
                f"{len(rejected)} file(s) rejected (the batch's other files loaded): " + "; ".join(rejected)
            )
        return results

    @teardown
    @task(outlets=[RAW_CONTRACTS], pool=WRITER_POOL, **IO_RETRIES, **limits("list"))
    def emit_raw_contracts(run_id=None) -> int:
        from airflow.sdk.exceptions import AirflowSkipException

        from procure.tasks import files_changed

        changed = files_changed("contracts", run_id)
        if not changed:  # a skipped task emits no asset event: no build for nothing
            raise AirflowSkipException("this run loaded no new register: raw.contracts is unchanged")
        return changed

    load_batch.expand(batch=list_new_files()) >> emit_raw_contracts()


ingest_contract_register()
