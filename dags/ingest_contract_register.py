"""Replaces each council's contract register in raw.contracts with the current file (weekly)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from procure.assets import DEFAULT_ARGS, IO_RETRIES, RAW_CONTRACTS, WRITER_POOL


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
    @task(outlets=[RAW_CONTRACTS], pool=WRITER_POOL, **IO_RETRIES)
    def load_register(run_id=None):
        from procure.tasks import ingest_contracts

        return ingest_contracts(run_id)

    load_register()


ingest_contract_register()
