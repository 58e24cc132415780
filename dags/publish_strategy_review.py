"""Publishes the annual strategy-review extracts per council (CSV, Parquet, one XLSX, README, manifest.json).

Triggered by a passed quality gate; extracts the latest fiscal year whose last month is
loaded, or the `fiscal_year` parameter (start year, e.g. 2024 for 2024-25). The folder is
swapped in whole and is byte-identical on re-run; a personal-looking payee name or a
failed gate stops it and leaves the previous extracts untouched.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from procure.assets import DEFAULT_ARGS, GATED_MARTS, NO_RETRY, WRITER_POOL


@dag(
    schedule=[GATED_MARTS],
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["publish", "transparency"],
    default_args=DEFAULT_ARGS,
    params={"fiscal_year": Param(None, type=["null", "integer"])},
    doc_md=__doc__,
)
def publish_strategy_review():
    @task(pool=WRITER_POOL, **NO_RETRY)  # DuckDB: a reader cannot open the file while another process writes
    def extract(params=None):
        from procure.tasks import publish_strategy_reviews

        return publish_strategy_reviews(params.get("fiscal_year") if params else None)

    extract()


publish_strategy_review()
