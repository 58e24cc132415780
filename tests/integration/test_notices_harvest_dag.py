"""``ingest_procurement_notices`` through real Airflow ``dag.test()``, harvesting a real local server.

The DAG runs in a child process with its own AIRFLOW_HOME (fresh SQLite metadata), the
connection given as ``AIRFLOW_CONN_CONTRACTS_FINDER=http://127.0.0.1:PORT``, and a socket
guard that fails the task if anything tries to reach a non-loopback address (the default
public endpoints included). The server serves the sample notices over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import duckdb
import pytest
import yaml
from conftest import ROOT

from procure.extract.ocds_server import CF_PATH, OcdsServer, ReleaseStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHILD = """
import json, socket, sys
import pendulum

real_connect = socket.socket.connect
def guarded(sock, address):
    if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
        raise AssertionError(f"the DAG tried to reach {address}")
    return real_connect(sock, address)
socket.socket.connect = guarded

from airflow.dag_processing.dagbag import DagBag
from airflow.models.pool import Pool
from airflow.utils import db

db.initdb()  # the fresh AIRFLOW_HOME's metadata, in this process (one start-up, not three CLI calls)
Pool.create_or_update_pool("duckdb_writer", 1, "DuckDB allows one writer per file", include_deferred=False)
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
assert not bag.import_errors, bag.import_errors
run = bag.get_dag("ingest_procurement_notices").test(logical_date=pendulum.datetime(2025, 4, 5, tz="UTC"))
print("STATE=" + json.dumps(str(getattr(run.state, "value", run.state))))
"""


def test_dag_harvests_the_local_server_into_the_warehouse(tmp_path, sample_dir):
    store = ReleaseStore.from_dir(sample_dir / "norwich" / "notices")
    expected_releases = len(store.releases)
    expected_ocids = len({ocid for ocid, _ in store.releases})
    config = tmp_path / "councils.yml"
    # no notices_dir: everything must come through the harvester
    config.write_text("councils:\n  - id: norwich\n    name: Norwich City Council\n", encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    # the real config with the client-side rate limit off (the windows and endpoints as shipped)
    sources = yaml.safe_load((ROOT / "config" / "notice_sources.yml").read_text(encoding="utf-8"))
    for source in sources["sources"].values():
        source["min_interval_s"] = 0
    sources_file = tmp_path / "notice_sources.yml"
    sources_file.write_text(yaml.safe_dump(sources), encoding="utf-8")
    with OcdsServer(store, page_size=100) as server:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW_CONN_CONTRACTS_FINDER": server.base_url,
            "PROCURE_WAREHOUSE": str(warehouse),
            "PROCURE_CONFIG": str(config),
            "PROCURE_NOTICE_SOURCES": str(sources_file),
            "PROCURE_LANDING_DIR": str(tmp_path / "landing"),
        }
        env.pop("AIRFLOW_CONN_FIND_A_TENDER", None)
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT / "dags" / "ingest_procurement_notices.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        requests = list(server.requests)
    state = [line for line in proc.stdout.splitlines() if line.startswith("STATE=")]
    assert state == ['STATE="success"'], proc.stdout[-3000:] + proc.stderr[-3000:]
    assert requests and all(r.startswith(CF_PATH) for r in requests)

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        releases = con.execute("select count(*), count(distinct ocid) from raw.notice_releases").fetchall()[0]
        records = con.execute("select count(*) from raw.notice_records").fetchall()[0][0]
        pages = con.execute("select count(*), sum(releases) from raw.notice_pages").fetchall()[0]
        marks = con.execute("select source, harvested_to from raw.notice_watermarks").fetchall()
        lineage = con.execute(
            "select count(*) from raw.notice_releases where source_file like 'notices/contracts_finder/%'"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert releases == (expected_releases, expected_ocids)
    assert records == expected_ocids
    assert pages[0] == len(requests) and pages[1] >= expected_releases
    assert lineage == expected_releases
    assert len(marks) == 1 and marks[0][0] == "contracts_finder"
    assert datetime(2025, 4, 4) <= marks[0][1] <= datetime(2025, 4, 5, 5)  # the run's data interval end
    first = [r for r in requests if "publishedFrom=2024-04-01T00%3A00%3A00Z" in r]
    assert first, "the first window (the configured start, 2024-04-01) was never requested"
