"""Harvests Contracts Finder / Find a Tender OCDS releases into the raw notice tables (daily).

Each API (connections `contracts_finder`, `find_a_tender`; config/notice_sources.yml) is
walked in date windows from its watermark to the end of the run's data interval; pages
land gzip-compressed under data/landing/notices/, releases are keyed by ocid and release
id (an unchanged release is skipped, an edited one replaces its earlier copy) and
compiled into one record per procurement (raw.notice_records). Landed release files in a
council's `notices_dir` are loaded too. `emit_raw_notices` (a teardown, after the load)
emits RAW_NOTICES only if this run stored a new or edited release, so a day with no new
notice triggers no warehouse build.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task, teardown

from procure.assets import RAW_NOTICES
from procure.dag_defaults import DEFAULT_ARGS, IO_RETRIES, LOAD_PRIORITY, WRITER_POOL, limits


@dag(
    schedule="30 4 * * *",
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["extract", "notices", "ocds"],
    default_args={**DEFAULT_ARGS, **LOAD_PRIORITY, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def ingest_procurement_notices():
    @task(pool=WRITER_POOL, **IO_RETRIES, **limits("harvest"))
    def load_notices(run_id=None, data_interval_end=None, logical_date=None):
        from procure.tasks import ingest_notices

        # harvests up to the end of the run's interval, never the wall clock
        return ingest_notices(run_id, until=data_interval_end or logical_date)

    @teardown
    @task(outlets=[RAW_NOTICES], pool=WRITER_POOL, **IO_RETRIES, **limits("list"))
    def emit_raw_notices(run_id=None) -> int:
        from airflow.sdk.exceptions import AirflowSkipException

        from procure.tasks import files_changed

        changed = files_changed("notices", run_id)
        if not changed:  # a skipped task emits no asset event: no build for nothing
            raise AirflowSkipException("this run stored no new or edited release: the notice tables are unchanged")
        return changed

    load_notices() >> emit_raw_notices()


ingest_procurement_notices()
