"""Publishes each council's monthly board pack (self-contained HTML with SVG charts + A4 PDF) from the gated marts.

Triggered by a passed quality gate; reports on the latest month loaded unless the
`month` parameter (YYYY-MM) asks for another, so a past month can be re-published.
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
    tags=["publish", "board"],
    default_args=DEFAULT_ARGS,
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$")},
    doc_md=__doc__,
)
def publish_board_pack():
    @task(pool=WRITER_POOL, **NO_RETRY)  # DuckDB: a reader cannot open the file while another process writes
    def render(params=None):
        from datetime import date

        from procure.tasks import publish_board_packs

        month = params.get("month") if params else None
        return publish_board_packs(date.fromisoformat(f"{month}-01") if month else None)

    render()


publish_board_pack()
