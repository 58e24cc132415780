"""Publishes each council's monthly board pack (self-contained HTML with SVG charts + A4 PDF) from the gated marts.

Runs when the quality gate passes (reporting on the latest month loaded) and on the 12th
of every month (reporting on the month before; publishing still refuses unless the
latest gate passed). The `month` parameter (YYYY-MM) re-publishes any past month. If a
run has not finished six hours after it was queued, the deadline alert fires
(procure.alerts.board_pack_late).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from procure.alerts import board_pack_late
from procure.assets import DEFAULT_ARGS, GATED_MARTS, NO_RETRY, WRITER_POOL


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 7 12 * *", timezone="Europe/London"), assets=GATED_MARTS
    ),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=6),
        callback=SyncCallback(board_pack_late),
    ),
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["publish", "board"],
    default_args=DEFAULT_ARGS,
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$")},
    doc_md=__doc__,
)
def publish_board_pack():
    @task(pool=WRITER_POOL, **NO_RETRY)  # DuckDB: a reader cannot open the file while another process writes
    def render(params=None, dag_run=None):
        from datetime import date

        from procure.tasks import month_before, publish_board_packs

        month = params.get("month") if params else None
        if month:
            return publish_board_packs(date.fromisoformat(f"{month}-01"))
        if dag_run.logical_date:  # a run on the clock (or a manual one for a date): the month before it
            return publish_board_packs(month_before(dag_run.logical_date))
        return publish_board_packs()  # triggered by the gate: the latest month loaded

    render()


publish_board_pack()
