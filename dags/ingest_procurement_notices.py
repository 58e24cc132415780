"""Loads Contracts Finder / Find a Tender OCDS releases into the raw notice tables (daily).

Releases are keyed by ocid and release id: an unchanged release is skipped, an edited
one (re-published in a later window) replaces its earlier copy.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from procure.assets import DEFAULT_ARGS, IO_RETRIES, RAW_NOTICES, WRITER_POOL


@dag(
    schedule="30 4 * * *",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "notices", "ocds"],
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_procurement_notices():
    @task(outlets=[RAW_NOTICES], pool=WRITER_POOL, **IO_RETRIES)
    def load_notices(run_id=None):
        from procure.tasks import ingest_notices

        return ingest_notices(run_id)

    load_notices()


ingest_procurement_notices()
