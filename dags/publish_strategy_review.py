"""Publishes the annual strategy-review extracts per council (CSV, Parquet, one XLSX, README, manifest.json).

Runs yearly on 1 June, after the fiscal year (April-March) has closed and its last
payments have arrived, extracting that year; and when the quality gate passes, extracting
the latest fiscal year whose last month is loaded. The `fiscal_year` parameter (start
year, e.g. 2024 for 2024-25) re-publishes any past year. The folder is
swapped in whole and is byte-identical on re-run; a personal-looking payee name or a
failed gate stops it and leaves the previous extracts untouched. The marts are the configured
warehouse's (``PROCURE_DBT_TARGET``; on PostgreSQL a snapshot of what it computed, procure.publish.postgres_snapshot).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from procure.assets import GATED_MARTS
from procure.dag_defaults import DEFAULT_ARGS, NO_RETRY, PUBLISH_PRIORITY, WRITER_POOL, limits


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 7 1 6 *", timezone="Europe/London"), assets=GATED_MARTS
    ),
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["publish", "transparency"],
    default_args={**DEFAULT_ARGS, **PUBLISH_PRIORITY},
    params={"fiscal_year": Param(None, type=["null", "integer"])},
    doc_md=__doc__,
)
def publish_strategy_review():
    @task(
        pool=WRITER_POOL, **NO_RETRY, **limits("publish")
    )  # DuckDB: a reader cannot open the file while another process writes
    def extract(params=None, dag_run=None):
        from procure.tasks import publish_strategy_reviews

        year = params.get("fiscal_year") if params else None
        if year is not None:
            return publish_strategy_reviews(year)
        # on the clock (or manual for a date): the year that closed before it; gate-triggered: the latest
        return publish_strategy_reviews(as_of=dag_run.logical_date)

    extract()


publish_strategy_review()
