"""The sample's monthly ingest under a real scheduler: one build, one gate, one publish per ingest run.

`airflow dags test` (``make run``, ``test_pipeline_chain.py``) runs one DAG at a time and so
hides how the DAGs hand over through Assets. Here Airflow runs as deployed: api-server,
scheduler and dag-processor in child processes (``bench/airflow_stack.py``: SQLite metadata
DB, LocalExecutor, ``parallelism`` 2, the one-slot ``duckdb_writer`` pool). The contract
register and notices are loaded beforehand in-process; the DAGs are switched on through the
REST API (the spend ingest then runs its latest monthly schedule) and a second, manual ingest
is triggered at once. The test asserts that the 12 monthly files give exactly one run of each
downstream DAG (the second ingest, with nothing new, none), and reports the time from switching
on to the published board pack (``make run`` takes about 2 minutes on an idle machine).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT, write_config

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

DOWNSTREAM = ("build_warehouse", "quality_gate", "publish_board_pack", "publish_strategy_review")
INGEST = "ingest_finance_spend"
PORT = int(os.environ.get("PROCURE_E2E_AIRFLOW_PORT", "18380"))
#: a ceiling that catches a build per file (the old design took 17.5 min on the sample), not a timing target;
#: raise it on a machine shared with other jobs
CEILING_S = float(os.environ.get("PROCURE_E2E_CEILING_S", 15 * 60))


def _stack_module():
    spec = importlib.util.spec_from_file_location("airflow_stack", ROOT / "bench" / "airflow_stack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["airflow_stack"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def procure_env(tmp_path, sample_dir) -> dict[str, str]:
    """The project's paths for this test (warehouse, landing, publish, config, dbt target), set in os.environ too."""
    env = {
        "PROCURE_HOME": str(ROOT),
        "PROCURE_WAREHOUSE": str(tmp_path / "warehouse" / "procurement.duckdb"),
        "PROCURE_PUBLISH_DIR": str(tmp_path / "publish"),
        "PROCURE_LANDING_DIR": str(tmp_path / "landing"),
        "PROCURE_CONFIG": str(write_config(tmp_path / "councils.yml", sample_dir)),
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield env


def test_one_ingest_run_gives_one_build_one_gate_one_publish(tmp_path, procure_env):
    from procure import tasks

    # what the weekly and daily ingest DAGs would have loaded already (no Asset events: no build)
    tasks.ingest_contracts("preload")
    tasks.ingest_notices("preload")

    stacks = _stack_module()
    with stacks.AirflowStack(tmp_path / "airflow", port=PORT, env=procure_env) as stack:
        # Switched on, each cron DAG runs its latest past schedule at once (catchup=False): the spend
        # ingest's run loads the 12 files. A manual ingest is triggered straight after it; it queues
        # (max_active_runs=1), finds nothing new and must not trigger a second build. The publish DAGs'
        # own clock runs (a past deadline, reporting on a month with no data) are not what is tested.
        started = time.time()
        stack.unpause(INGEST, *DOWNSTREAM)
        stack.trigger(INGEST, logical_date="2025-04-05T06:00:00Z")

        def settled():
            runs = {d: [] for d in (INGEST, *DOWNSTREAM)} | stack.all_runs()
            if any(r["state"] in ("queued", "running") for rs in runs.values() for r in rs):
                return None
            if len(runs[INGEST]) < 2 or not all(
                _asset_runs(runs[d]) for d in ("publish_board_pack", "publish_strategy_review")
            ):
                failed = [r for d in (INGEST, *DOWNSTREAM[:2]) for r in runs[d] if r["state"] == "failed"]
                return runs if failed else None
            return runs

        runs = stack.wait_for(settled, CEILING_S, "the ingest to flow through to both publish DAGs", every=5)
        time.sleep(10)  # a few scheduler loops: a build stacked behind the first would be created by now
        runs = {d: [] for d in (INGEST, *DOWNSTREAM)} | stack.wait_for(stack.all_runs, 300, "the runs")
        failed = {
            f"{d}/{r['dag_run_id']}": [
                ti["task_id"] for ti in stack.task_instances(d, r["dag_run_id"]) if ti["state"] == "failed"
            ]
            for d, rs in runs.items()
            for r in (rs if d in (INGEST, *DOWNSTREAM[:2]) else _asset_runs(rs))
            if r["state"] != "success"
        }
        assert not failed, f"runs that did not succeed (their failed tasks): {failed}{_task_logs(stack, failed)}"
        published_at = max(
            datetime.fromisoformat(r["end_date"]).timestamp() for r in _asset_runs(runs["publish_board_pack"])
        )
        assert sorted(r["run_type"] for r in runs[INGEST]) == ["manual", "scheduled"]
        counts = {
            d: [(r["run_type"], r["state"]) for r in rs if r["run_type"] != "scheduled"] for d, rs in runs.items()
        }
        assert counts == {
            INGEST: [("manual", "success")],
            **{d: [("asset_triggered", "success")] for d in DOWNSTREAM},
        }, counts
        assert [r["run_type"] for d in DOWNSTREAM[:2] for r in runs[d]] == ["asset_triggered"] * 2

        emitted = {}
        for run in runs[INGEST]:
            tis = {ti["task_id"]: ti for ti in stack.task_instances(INGEST, run["dag_run_id"])}
            emitted[run["run_type"]] = tis["emit_raw_spend"]["state"]
            if tis["emit_raw_spend"]["state"] == "success":  # the run that loaded: one task for the 12 files
                assert tis["load_batch"]["rendered_map_index"] == "norwich (12 files)"
        # whichever of the two ran first loaded the files; the other found nothing new: no RAW_SPEND, no build
        assert sorted(emitted.values()) == ["skipped", "success"], emitted

    seconds = published_at - started
    pack = Path(procure_env["PROCURE_PUBLISH_DIR"]) / "board_pack" / "norwich" / "2025-03" / "board_pack.pdf"
    assert pack.is_file()
    report = {"unpause_to_published_pack_s": round(seconds, 1), "load_average": os.getloadavg()}
    log.warning("real scheduler: %s", json.dumps(report))
    print(f"\nreal scheduler: switched on to published board pack in {seconds:.0f} s (load {os.getloadavg()})")


def _asset_runs(runs: list[dict]) -> list[dict]:
    return [r for r in runs if r["run_type"] == "asset_triggered"]


def _task_logs(stack, failed: dict[str, list[str]], lines: int = 40) -> str:
    """The end of each failed task's log (the deployment's folder is a temporary one), then the services' logs."""
    out = []
    for run, task_ids in failed.items():
        dag_id, run_id = run.split("/", 1)
        for task_id in task_ids:
            for path in sorted(
                (stack.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/**/*.log")
            ):
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"\n--- {path.relative_to(stack.home)}\n" + "\n".join(tail))
    return "".join(out) + stack.log_tails()
