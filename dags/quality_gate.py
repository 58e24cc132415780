"""Runs the Great Expectations suites on the marts; only a pass lets anything be published.

On the configured warehouse (``PROCURE_DBT_TARGET``: DuckDB through GX's pandas datasource, PostgreSQL
through its SQL datasource; procure.tasks.quality_gate), which records the run there.

A failed critical expectation fails the task with a message naming the table, column
and expectation; the publish DAGs are triggered only by this DAG's successful output.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from procure.assets import GATED_MARTS, MARTS
from procure.dag_defaults import DEFAULT_ARGS, GATE_PRIORITY, NO_RETRY, WRITER_POOL, limits


@dag(
    schedule=[MARTS],
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["quality", "great-expectations"],
    default_args={**DEFAULT_ARGS, **GATE_PRIORITY},
    doc_md=__doc__,
)
def quality_gate():
    @task(outlets=[GATED_MARTS], pool=WRITER_POOL, **NO_RETRY, **limits("gate"))
    def run_checkpoints(run_id=None, dag_run=None):
        from procure.tasks import quality_gate as gate

        # asset-triggered runs have no logical date: they check as of when they ran
        return gate(run_id, (dag_run.logical_date or dag_run.run_after).date())

    run_checkpoints()


quality_gate()
