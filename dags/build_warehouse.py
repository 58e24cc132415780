"""Builds the dbt warehouse (staging, intermediate, marts; data and unit tests) whenever raw data changes."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from procure.assets import DEFAULT_ARGS, MARTS, NO_RETRY, RAW_CONTRACTS, RAW_NOTICES, RAW_SPEND, WRITER_POOL


@dag(
    schedule=(RAW_SPEND | RAW_CONTRACTS | RAW_NOTICES),
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["transform", "dbt"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def build_warehouse():
    @task(outlets=[MARTS], pool=WRITER_POOL, **NO_RETRY)
    def dbt_build():
        from procure.tasks import build_warehouse as build

        return build()

    dbt_build()


build_warehouse()
