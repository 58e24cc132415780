"""Publishes each council's monthly board pack (self-contained HTML with SVG charts + A4 PDF) from the gated marts
(of the configured warehouse, ``PROCURE_DBT_TARGET``: on PostgreSQL from a snapshot of what it computed,
procure.publish.postgres_snapshot).

Runs when the quality gate passes (reporting on the latest month loaded) and on the 12th
of every month, the board's deadline (reporting on the month before; publishing still
refuses unless the latest gate passed). If on the 12th last month's pack cannot be
published — its payments are not loaded or the gate has not passed — the run fails with
"board pack ... is late" and the failure alert goes out (procure.dag_defaults -> procure.alerts). The `month`
parameter (YYYY-MM) re-publishes any past month.

(Airflow 3.3's DeadlineAlert is not used: `dag.test()`/`airflow dags test` crash on a
successful run of a DAG that has one, in DagRun.update_state.)
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from procure.assets import GATED_MARTS
from procure.dag_defaults import DEFAULT_ARGS, NO_RETRY, PUBLISH_PRIORITY, WRITER_POOL, limits


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 7 12 * *", timezone="Europe/London"), assets=GATED_MARTS
    ),
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["publish", "board"],
    default_args={**DEFAULT_ARGS, **PUBLISH_PRIORITY},
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$")},
    doc_md=__doc__,
)
def publish_board_pack():
    @task(
        pool=WRITER_POOL, **NO_RETRY, **limits("publish")
    )  # DuckDB: a reader cannot open the file while another process writes
    def render(params=None, dag_run=None):
        from datetime import date

        from procure.publish.atomic import GateNotPassed
        from procure.tasks import BoardPackLate, month_before, publish_board_packs

        month = params.get("month") if params else None
        if month:
            return publish_board_packs(date.fromisoformat(f"{month}-01"))
        if dag_run.logical_date:  # a run on the clock (or a manual one for a date): the month before it
            due = month_before(dag_run.logical_date)
            try:
                return publish_board_packs(due)
            except (LookupError, GateNotPassed) as exc:
                raise BoardPackLate(f"board pack for {due:%B %Y} is late: {exc}") from exc
        return publish_board_packs()  # triggered by the gate: the latest month loaded

    render()


publish_board_pack()
