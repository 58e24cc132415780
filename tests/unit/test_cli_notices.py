"""`procure ingest contracts-finder / find-a-tender` as a subprocess against the real local OCDS server.

The server (``procure.extract.ocds_server``) serves the 201 real Contracts Finder releases
over a real socket; the CLI runs in its own process with its own DuckDB file. A copy of
config/notice_sources.yml with no rate limit and tiny backoffs keeps the tests fast; only
loopback URLs are ever given, and without a URL or connection the CLI refuses to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest
import yaml
from conftest import ROOT, shared_data

from procure.extract.ocds_server import CF_PATH, FTS_PATH, OcdsServer, ReleaseStore

CF_DIR = ("contracts_finder_ocds", "cf_2025-01_2025-03_releases_apa999")
KEYS = {"windows", "pages", "releases_fetched", "releases_new", "releases_duplicate", "errors", "watermark"}


@pytest.fixture(scope="module")
def real_releases() -> list[dict]:
    return [json.loads(p.read_bytes()) for p in sorted(shared_data(*CF_DIR).glob("*.json"))]


@pytest.fixture
def server(real_releases):
    store = ReleaseStore()
    for release in real_releases:
        store.put(release)
    with OcdsServer(store) as srv:
        yield srv


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "config" / "notice_sources.yml").read_text(encoding="utf-8"))
    for entry in doc["sources"].values():
        entry.update(min_interval_s=0, backoff_base_s=0.01, backoff_max_s=0.05, max_retries=1, timeout_s=5)
    sources = tmp_path / "notice_sources.yml"
    sources.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    out.update(
        PROCURE_WAREHOUSE=str(tmp_path / "w.duckdb"),
        PROCURE_LANDING_DIR=str(tmp_path / "landing"),
        PROCURE_NOTICE_SOURCES=str(sources),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
    )
    return out


def procure(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "procure.cli", "ingest", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def releases_held(env: dict[str, str]) -> int:
    con = duckdb.connect(env["PROCURE_WAREHOUSE"], read_only=True)
    try:
        return con.execute("select count(*) from raw.notice_releases").fetchall()[0][0]
    finally:
        con.close()


def test_contracts_finder_json_account_and_rerun_stores_nothing_twice(server, env, real_releases):
    unique = len({(r["ocid"], r["id"]) for r in real_releases})
    args = ("contracts-finder", "--since", "2025-01-01", "--until", "2025-04-01", "--base-url", server.base_url)
    first = procure(env, *args, "--json")
    assert first.returncode == 0, first.stderr
    account = json.loads(first.stdout)
    assert set(account) >= KEYS
    assert account["windows"] == 6  # 90 days in 15-day windows
    assert account["releases_new"] == unique == releases_held(env)
    assert account["errors"] == []
    assert account["watermark"] == "2025-04-01T00:00:00Z"
    assert account["pages"] == sum(1 for line in server.requests if CF_PATH in line)

    again = json.loads(procure(env, *args, "--json").stdout)
    assert again["releases_new"] == 0
    assert again["releases_duplicate"] == again["releases_fetched"] == account["releases_fetched"]
    assert releases_held(env) == unique


def test_without_base_url_the_airflow_connection_is_used_as_in_the_dag(server, env):
    env["AIRFLOW_CONN_CONTRACTS_FINDER"] = server.base_url
    done = procure(env, "contracts-finder", "--since", "2025-03-01", "--until", "2025-03-16", "--json")
    assert done.returncode == 0, done.stderr
    account = json.loads(done.stdout)
    assert account["base_url"] == server.base_url
    assert account["windows"] == 1 and account["releases_new"] > 0
    assert server.requests, "the CLI did not call the connection's URL"


def test_without_base_url_or_connection_nothing_is_called(server, env):
    done = procure(env, "find-a-tender", "--since", "2025-03-01", "--until", "2025-03-02")
    assert done.returncode == 2
    assert "AIRFLOW_CONN_FIND_A_TENDER" in done.stderr and "notice_sources.yml" in done.stderr
    assert server.requests == []


def test_find_a_tender_walks_six_hour_windows(server, env, real_releases):
    done = procure(
        env, "find-a-tender", "--since", "2025-03-10", "--until", "2025-03-12", "--base-url", server.base_url, "--json"
    )
    assert done.returncode == 0, done.stderr
    account = json.loads(done.stdout)
    expected = {(r["ocid"], r["id"]) for r in real_releases if "2025-03-10" <= r["date"][:10] < "2025-03-12"}
    assert account["windows"] == 8
    assert account["releases_new"] == len(expected) == releases_held(env)
    assert all(FTS_PATH in line for line in server.requests)


def test_a_failed_window_exits_1_and_the_watermark_stops_before_it(server, env):
    # the first two requests (two windows of one page each) succeed, then every request gets 503
    server.inject("503", count=50, after=2)
    done = procure(
        env,
        "contracts-finder",
        "--since",
        "2025-02-01",
        "--until",
        "2025-04-01",
        "--base-url",
        server.base_url,
        "--json",
    )
    assert done.returncode == 1
    account = json.loads(done.stdout)
    assert account["windows"] == 2
    assert account["watermark"] == "2025-03-03T00:00:00Z"  # 2025-02-01 + 2 x 15 days
    assert any("HTTP 503" in e for e in account["errors"])
    assert any("window 2025-03-03T00:00:00Z..2025-03-18T00:00:00Z failed" in e for e in account["errors"])
    assert "harvest stopped" in done.stderr
    con = duckdb.connect(env["PROCURE_WAREHOUSE"], read_only=True)
    try:
        assert con.execute("select max(window_to) from raw.notice_pages").fetchall()[0][0].isoformat() == (
            "2025-03-03T00:00:00"
        )
    finally:
        con.close()


def test_a_bad_date_is_named(env):
    done = procure(env, "contracts-finder", "--until", "April", "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 2 and "--until" in done.stderr and "'April'" in done.stderr
