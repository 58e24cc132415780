"""The OCDS harvester against a real local HTTP server serving the 201 real Contracts Finder releases.

Every test talks to ``procure.extract.ocds_server`` over a real socket, with faults
injected (429 with and without Retry-After, 403, 503/504, a stall past the client's
timeout, a truncated body, an invalid number, a vanished next link, an edited release in a
later window, a SIGKILL mid-window). Sleeps go through an injected function that records
the requested waits, so the tests check the backoff and cool-down values without waiting.
A guard refuses any socket to a non-loopback address: the default endpoints are never hit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, shared_data

from procure.extract.notices_loader import load_notice_dir, loads_tolerant
from procure.extract.ocds_harvest import (
    Client,
    HarvestError,
    base_url_from_connection,
    decode_tolerant,
    harvest,
    load_sources,
    windows_between,
)
from procure.extract.ocds_server import CF_PATH, FTS_PATH, OcdsServer, ReleaseStore

CF_DIR = ("contracts_finder_ocds", "cf_2025-01_2025-03_releases_apa999")
SINCE, UNTIL = datetime(2025, 1, 1), datetime(2025, 4, 1)
TABLES = ("notice_releases", "notice_parties", "notice_awards", "notice_records", "notice_pages", "notice_watermarks")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Fail any connection or DNS lookup that is not loopback (the real endpoints included)."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in LOOPBACK and not str(address).startswith("/"):
            raise AssertionError(f"test tried to reach {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise AssertionError(f"test tried to resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


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
def env(tmp_path, monkeypatch) -> dict[str, Path]:
    paths = {"warehouse": tmp_path / "w.duckdb", "landing": tmp_path / "landing"}
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(paths["warehouse"]))
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(paths["landing"]))
    return paths


class Sleeps(list):
    """Records the waits the client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 3))


def cf(**changes):
    """Contracts Finder as configured, with small pages (so cursors are exercised) and no real waits."""
    base = {
        "page_limit": 20,
        "min_interval_s": 0.0,
        "backoff_base_s": 0.5,
        "backoff_max_s": 4,
        "timeout_s": 5,
        "max_retries": 3,
    }
    return replace(load_sources()["contracts_finder"], **{**base, **changes})


def run(server, env, source=None, sleeps=None, **kwargs):
    source = source or cf()
    client = Client(source, sleep=sleeps if sleeps is not None else Sleeps())
    kwargs.setdefault("since", SINCE)
    return harvest(source, server.base_url, UNTIL, "run-1", warehouse=env["warehouse"], client=client, **kwargs)


def snapshot(warehouse: Path) -> dict[str, list]:
    """Every notice table's rows, minus run ids and (for pages) the URL's port."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in TABLES:
            cols = [
                c[0]
                for c in con.execute(f"describe raw.{table}").fetchall()
                if c[0] not in {"run_id", "url", "page_no", "release_json", "compiled_json"}
            ]
            out[table] = con.execute(f"select {', '.join(cols)} from raw.{table} order by all").fetchall()
        return out
    finally:
        con.close()


def unique_keys(releases: list[dict]) -> int:
    return len({(r["ocid"], r["id"]) for r in releases})


# ----------------------------------------------------------------------------- the happy path


def test_every_real_release_is_harvested_once_through_cursors(server, env, real_releases):
    result = run(server, env)
    expected = unique_keys(real_releases)  # 201 files, 200 distinct releases (two copies of one)
    assert expected == 200
    assert result.releases_new == expected
    assert result.errors == []
    assert result.windows == len(windows_between(SINCE, UNTIL, cf().window)) == 6
    assert any("cursor=" in r for r in server.requests), "paging never followed a cursor"
    assert all(r.startswith(CF_PATH) for r in server.requests)
    assert result.watermark == "2025-04-01T00:00:00Z"
    tables = snapshot(env["warehouse"])
    assert len(tables["notice_releases"]) == expected
    assert len(tables["notice_records"]) == len({r["ocid"] for r in real_releases}) == 190
    assert result.pages == len(server.requests) == len(tables["notice_pages"])


def test_landed_pages_are_the_bodies_unchanged(server, env):
    run(server, env)
    con = duckdb.connect(str(env["warehouse"]), read_only=True)
    pages = con.execute("select sha256, landed_path, bytes, releases from raw.notice_pages").fetchall()
    con.close()
    assert pages and sum(p[3] for p in pages) >= 200
    for sha, rel, size, _ in pages:
        path = env["landing"] / rel
        assert rel.startswith("notices/contracts_finder/")
        body = gzip.decompress(path.read_bytes())
        assert len(body) == size and hashlib.sha256(body).hexdigest() == sha


def test_reharvesting_a_window_stores_nothing_twice(server, env):
    first = run(server, env)
    before = snapshot(env["warehouse"])
    second = run(server, env)
    assert second.releases_new == 0 and second.releases_changed == 0
    assert second.releases_duplicate == second.releases_fetched == first.releases_fetched
    assert snapshot(env["warehouse"]) == before


def test_watermark_resumes_where_the_last_harvest_stopped(server, env):
    run(server, env, since=SINCE)
    requests_before = len(server.requests)
    later = harvest(cf(), server.base_url, datetime(2025, 4, 16), "run-2", warehouse=env["warehouse"])
    assert later.windows == 1  # only 2025-04-01 .. 2025-04-16: the watermark was 2025-04-01
    assert len(server.requests) == requests_before + 1
    assert later.watermark == "2025-04-16T00:00:00Z"


def test_find_a_tender_shape_six_hour_windows(server, env):
    source = replace(load_sources()["find_a_tender"], min_interval_s=0, page_limit=10)
    result = harvest(
        source, server.base_url, datetime(2025, 1, 24), "run-1", since=datetime(2025, 1, 23), warehouse=env["warehouse"]
    )
    assert result.windows == 4
    assert all(r.startswith(FTS_PATH) and "updatedFrom=" in r for r in server.requests)
    con = duckdb.connect(str(env["warehouse"]), read_only=True)
    held = con.execute("select count(*) from raw.notice_releases where release_date < '2025-01-24'").fetchall()[0][0]
    con.close()
    assert held == result.releases_new > 0


# ----------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fault", "options", "expected_wait"),
    [
        ("429", {"retry_after": "7"}, 7.0),  # Retry-After honoured
        ("429", {}, 0.5),  # no Retry-After: backoff base
        ("503", {}, 0.5),
        ("504", {}, 0.5),
        ("503", {"retry_after": "3"}, 3.0),
        ("403", {}, 0.25),  # Contracts Finder's cool-down (a parameter; 300 s in production)
        ("truncated", {}, 0.5),
    ],
)
def test_transient_faults_are_retried_and_nothing_is_lost(server, env, real_releases, fault, options, expected_wait):
    server.inject(fault, count=2, after=3, **options)  # the 4th and 5th requests fail
    sleeps = Sleeps()
    result = run(server, env, source=cf(cooldown_403_s=0.25), sleeps=sleeps)
    assert result.releases_new == unique_keys(real_releases)
    assert result.watermark == "2025-04-01T00:00:00Z"
    waits = [s for s in sleeps if s > 0]
    assert waits[0] == expected_wait
    if fault not in {"403"} and not options.get("retry_after"):
        assert waits[:2] == [0.5, 1.0]  # exponential backoff
    assert len([w for w in result.warnings if "failed" in w]) == 2
    assert len(snapshot(env["warehouse"])["notice_releases"]) == unique_keys(real_releases)


def test_retry_after_is_capped(server, env):
    server.inject("429", retry_after="86400")
    sleeps = Sleeps()
    run(server, env, source=cf(retry_after_max_s=9), sleeps=sleeps)
    assert 9.0 in sleeps and 86400.0 not in sleeps


def test_a_stall_past_the_client_timeout_is_retried(server, env, real_releases):
    server.inject("timeout", stall_s=1.0, after=1)
    result = run(server, env, source=cf(timeout_s=0.3))
    assert any("timed out" in w.lower() or "timeout" in w.lower() for w in result.warnings), result.warnings
    assert result.releases_new == unique_keys(real_releases)


def test_invalid_number_becomes_null_with_a_warning(server, env, real_releases):
    server.inject("invalid_number", after=1)
    result = run(server, env)
    assert any("1e9999" in w for w in result.warnings)
    assert result.releases_new == unique_keys(real_releases)


def test_vanished_next_link_resumes_from_the_latest_date(server, env, real_releases):
    server.inject("drop_next", count=3, after=1)
    result = run(server, env)
    assert any("without links.next" in w for w in result.warnings)
    assert result.releases_new == unique_keys(real_releases)
    assert len(snapshot(env["warehouse"])["notice_releases"]) == unique_keys(real_releases)


def test_persistent_failure_stops_with_a_clear_error_and_keeps_the_watermark(server, env, real_releases):
    # window 1 (2025-01-01..16) has no releases: one request. Window 2 holds 23 January.
    server.inject("503", count=10, after=1)
    with pytest.raises(HarvestError, match=r"window 2025-01-16T00:00:00Z\.\.2025-01-31T00:00:00Z failed.*HTTP 503"):
        run(server, env)
    con = duckdb.connect(str(env["warehouse"]), read_only=True)
    mark = con.execute("select harvested_to from raw.notice_watermarks").fetchall()
    held = con.execute("select count(*) from raw.notice_releases").fetchall()[0][0]
    con.close()
    assert mark == [(datetime(2025, 1, 16),)]  # not past the failed window
    assert held == 0
    server.faults.clear()
    result = harvest(cf(), server.base_url, UNTIL, "run-2", warehouse=env["warehouse"])  # from the watermark
    assert result.releases_new == unique_keys(real_releases)


def test_not_found_is_not_retried(server, env):
    source = cf(path="/no/such/api")
    with pytest.raises(HarvestError, match="HTTP 404, not retryable"):
        run(server, env, source=source)
    assert len(server.requests) == 1


def test_edited_release_in_a_later_window_updates_release_and_record(server, env, real_releases):
    run(server, env, since=SINCE)
    original = next(r for r in real_releases if r["ocid"].endswith("299e8fcb-19ae-4baf-9bf6-0676f602a94a"))
    edited = json.loads(json.dumps(original))
    edited["date"] = "2025-04-10T09:00:00Z"  # re-published: publishedFrom matches the latest edit
    edited["tender"]["title"] = "QIP131 (amended)"
    server.store.put(edited)
    result = harvest(cf(), server.base_url, datetime(2025, 4, 16), "run-2", warehouse=env["warehouse"])
    assert (result.releases_new, result.releases_changed) == (0, 1)
    con = duckdb.connect(str(env["warehouse"]), read_only=True)
    rows = con.execute(
        "select title, release_date from raw.notice_releases where release_key = ?",
        [f"{edited['ocid']}/{edited['id']}"],
    ).fetchall()
    record = con.execute(
        "select title, release_count from raw.notice_records where ocid = ?", [edited["ocid"]]
    ).fetchall()
    total = con.execute("select count(*) from raw.notice_releases").fetchall()[0][0]
    con.close()
    assert rows == [("QIP131 (amended)", datetime(2025, 4, 10, 9))]
    assert record == [("QIP131 (amended)", 2)]
    assert total == unique_keys(real_releases)


def test_rate_limit_spaces_requests(server, env):
    source = cf(min_interval_s=0.05)
    started = time.monotonic()
    harvest(source, server.base_url, datetime(2025, 1, 31), "run-1", since=SINCE, warehouse=env["warehouse"])
    elapsed = time.monotonic() - started
    assert len(server.requests) >= 3
    assert elapsed >= 0.05 * (len(server.requests) - 1)


# ----------------------------------------------------------------------------- SIGKILL mid-window

KILL_SCRIPT = """
import sys
from datetime import datetime
from dataclasses import replace
from procure.extract.ocds_harvest import harvest, load_sources
source = replace(load_sources()["contracts_finder"], page_limit=20, min_interval_s=0, timeout_s=30)
harvest(source, sys.argv[1], datetime(2025, 4, 1), "killed", since=datetime(2025, 1, 1))
"""


def test_harvest_killed_mid_window_then_rerun_equals_uninterrupted(server, env, tmp_path):
    reference = tmp_path / "reference.duckdb"
    harvest(cf(), server.base_url, UNTIL, "ref", since=SINCE, warehouse=reference, landing=tmp_path / "ref_landing")
    expected = snapshot(reference)
    server.requests.clear()

    # the 4th request (inside the 23 January window, after its first pages) stalls; kill the process then
    server.inject("timeout", stall_s=5.0, after=3)
    child_env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, server.base_url], env=child_env)
    try:
        deadline = time.monotonic() + 30
        while len(server.requests) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(server.requests) >= 4, "the harvest never reached the stalled page"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    con = duckdb.connect(str(env["warehouse"]), read_only=True)
    mark = con.execute("select harvested_to from raw.notice_watermarks").fetchall()
    con.close()
    assert mark == [(datetime(2025, 1, 16),)]  # the first (empty) window completed, the second did not

    harvest(cf(), server.base_url, UNTIL, "rerun", warehouse=env["warehouse"])
    assert snapshot(env["warehouse"]) == expected


# ----------------------------------------------------------------------------- pieces


def test_default_endpoints_are_the_public_apis_and_off_by_default():
    sources = load_sources()
    assert sources["contracts_finder"].base_url == "https://www.contractsfinder.service.gov.uk"
    assert sources["find_a_tender"].base_url == "https://www.find-tender.service.gov.uk"
    assert not any(s.enabled for s in sources.values())
    assert sources["contracts_finder"].window.days == 15 and sources["find_a_tender"].window.total_seconds() == 6 * 3600


def test_task_base_urls_come_from_connections_only(monkeypatch):
    from procure.extract.ocds_harvest import base_urls_from_airflow

    monkeypatch.delenv("AIRFLOW_CONN_CONTRACTS_FINDER", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_FIND_A_TENDER", raising=False)
    assert base_urls_from_airflow() == {}  # disabled and no connection: the internet is never called
    monkeypatch.setenv("AIRFLOW_CONN_CONTRACTS_FINDER", "http://127.0.0.1:8765")
    assert base_urls_from_airflow() == {"contracts_finder": "http://127.0.0.1:8765"}


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"conn_type": "http", "host": "127.0.0.1", "port": 8765, "schema": ""}, "http://127.0.0.1:8765"),
        (
            {"conn_type": "https", "host": "www.contractsfinder.service.gov.uk", "port": None, "schema": ""},
            "https://www.contractsfinder.service.gov.uk",
        ),
        ({"conn_type": "http", "host": "example.org", "port": None, "schema": "https"}, "https://example.org"),
        ({"conn_type": "http", "host": "https://example.org/", "port": None, "schema": ""}, "https://example.org"),
    ],
)
def test_base_url_from_connection(conn, expected):
    from types import SimpleNamespace

    assert base_url_from_connection(SimpleNamespace(conn_id="x", extra_dejson={}, **conn)) == expected


def test_decode_tolerant_nulls_invalid_numbers():
    doc, notes = decode_tolerant(b'{"a": 1e9999, "b": -1E400, "c": 12.50, "d": NaN, "e": 3}')
    assert doc["a"] is None and doc["b"] is None and doc["d"] is None
    assert str(doc["c"]) == "12.50" and doc["e"] == 3
    assert doc == loads_tolerant(b'{"a": null, "b": null, "c": 12.50, "d": null, "e": 3}')  # the loader's parse
    assert len(notes) == 3 and "1e9999" in notes[0]


def test_unknown_config_key_is_named(tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text("sources:\n  cf:\n    conn_id: x\n    window_hour: 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sources.yml: sources.cf: unknown keys \['window_hour'\]"):
        load_sources(bad)


def test_the_guard_would_catch_a_call_to_the_public_endpoint():
    """The autouse guard is live: had any test reached the default endpoint, it would have failed."""
    source = load_sources()["contracts_finder"]
    with pytest.raises(AssertionError, match=r"tried to resolve www\.contractsfinder\.service\.gov\.uk"):
        Client(source, sleep=Sleeps()).fetch(f"{source.base_url}{source.path}?limit=1")


def test_harvested_and_landed_copies_of_a_release_are_the_same_content(env, sample_dir):
    """The API path and the folder path agree: loading the files after a harvest stores nothing."""
    from procure.warehouse import connect

    folder = sample_dir / "norwich" / "notices"
    store = ReleaseStore.from_dir(folder)
    releases = len(store.releases)
    with OcdsServer(store) as srv:
        result = harvest(cf(page_limit=100), srv.base_url, datetime(2025, 4, 5), "run-1", warehouse=env["warehouse"])
    assert releases > 0
    assert result.releases_new == releases
    con = connect(env["warehouse"])
    try:
        assert load_notice_dir(con, folder, "run-2") == {"new": 0, "changed": 0, "unchanged": releases, "stale": 0}
    finally:
        con.close()


def test_watermark_never_jumps_a_gap(server, env):
    """A harvest that starts after the watermark (``since`` later) must not move it past the unharvested gap."""
    first = harvest(cf(), server.base_url, datetime(2025, 1, 16), "run-1", since=SINCE, warehouse=env["warehouse"])
    assert first.watermark == "2025-01-16T00:00:00Z"
    later = harvest(
        cf(), server.base_url, UNTIL, "run-2", since=datetime(2025, 2, 15), warehouse=env["warehouse"]
    )  # 2025-01-16 .. 2025-02-15 (the 23 January releases) never harvested
    assert later.releases_new == 100  # the 11 March releases
    assert later.watermark == "2025-01-16T00:00:00Z"
    resumed = harvest(cf(), server.base_url, UNTIL, "run-3", warehouse=env["warehouse"])  # from the watermark
    assert resumed.releases_new == 100 and resumed.watermark == "2025-04-01T00:00:00Z"


# ----------------------------------------------------------------------------- hostile servers (issue 16 items 3-6)
# Window 1 (2025-01-01..16) is empty and completes; the fault hits window 2 (the 23 January releases).


def _watermark(warehouse: Path):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return (
            con.execute("select harvested_to from raw.notice_watermarks").fetchall(),
            con.execute("select count(*) from raw.notice_releases").fetchall()[0][0],
        )
    finally:
        con.close()


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "no-content-length"])
def test_a_response_over_the_size_cap_fails_the_window_without_retry(server, env, declare):
    import tracemalloc

    server.inject("huge", size=30 * 1024 * 1024, declare=declare, after=1)
    tracemalloc.start()
    try:
        with pytest.raises(HarvestError, match=r"window 2025-01-16.*over the 1 MB limit \(max_response_mb"):
            run(server, env, source=cf(max_response_mb=1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes held for a 30 MB response capped at 1 MB"
    assert len(server.requests) == 2  # refused, not retried
    assert _watermark(env["warehouse"]) == ([(datetime(2025, 1, 16),)], 0)


def test_a_server_dripping_a_byte_every_2_s_hits_the_request_deadline(server, env):
    # per-read timeout 5 s never fires (a byte comes every 2 s); the 1 s deadline for the whole request does
    server.inject("drip", count=5, drip_s=2.0, after=1)
    started = time.monotonic()
    with pytest.raises(HarvestError, match=r"gave up after 2 attempts.*within the 1 s request deadline"):
        run(server, env, source=cf(request_deadline_s=1.0, timeout_s=5, max_retries=1))
    assert time.monotonic() - started < 4.5  # two requests of ~1 s each, not a drip of the whole body
    assert _watermark(env["warehouse"]) == ([(datetime(2025, 1, 16),)], 0)


def test_json_that_is_not_a_release_package_fails_the_window_and_shows_the_body(server, env, real_releases):
    server.inject("not_ocds", count=10, after=1)
    with pytest.raises(HarvestError) as failed:
        run(server, env)
    message = str(failed.value)
    assert "window 2025-01-16T00:00:00Z..2025-01-31T00:00:00Z failed" in message
    assert "not an OCDS release package (no 'releases' list)" in message
    assert 'body starts b\'{"message": "Service temporarily unavailable' in message
    assert _watermark(env["warehouse"]) == ([(datetime(2025, 1, 16),)], 0)  # not advanced past it
    server.faults.clear()
    assert run(server, env, since=None).releases_new == unique_keys(real_releases)  # resumes there


def test_until_in_the_future_is_capped_at_now(server, env):
    result = run(server, env, now=datetime(2025, 2, 10, 12, 30, 15, 999))
    assert result.watermark == "2025-02-10T12:30:15Z"
    assert any("until 2025-04-01T00:00:00Z is in the future" in w for w in result.warnings)
    assert max(r[0] for r in _watermark(env["warehouse"])[0]) == datetime(2025, 2, 10, 12, 30, 15)
    real_clock = run(server, env, since=None)  # the real clock: today is later than UNTIL, nothing capped
    assert real_clock.watermark == "2025-04-01T00:00:00Z"


def _other_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "where",
    [
        "http://evil.example{path}",  # another host
        "ftp://127.0.0.1{path}",  # another scheme
        "https://127.0.0.1:{port}{path}",  # same host and port, another scheme
        "http://127.0.0.1:{other}{path}",  # same host, another port
        "//evil.example{path}",  # scheme-relative
    ],
)
def test_redirects_are_followed_only_to_the_configured_origin(server, env, where):
    port = server.base_url.rsplit(":", 1)[1]
    location = where.format(path=CF_PATH + "?x=1", port=port, other=_other_port())
    server.inject("redirect", location=location, after=1)
    with pytest.raises(HarvestError, match=r"not the configured API \(http://127\.0\.0\.1:\d+\)"):
        run(server, env)
    assert len(server.requests) == 2  # never retried, never fetched elsewhere
    assert _watermark(env["warehouse"]) == ([(datetime(2025, 1, 16),)], 0)


def test_a_redirect_within_the_configured_api_is_followed(server, env, real_releases):
    server.inject("redirect", location="/Published/Notices/OCDS/Search?publishedFrom=2025-01-16T00%3A00%3A00Z"
                  "&publishedTo=2025-01-31T00%3A00%3A00Z&limit=20", after=1)  # fmt: skip
    assert run(server, env).releases_new == unique_keys(real_releases)


@pytest.mark.parametrize("where", ["http://evil.example{path}", "ftp://127.0.0.1{path}", "file:///etc/passwd"])
def test_links_next_off_the_configured_api_is_not_followed(server, env, where):
    server.inject("foreign_next", location=where.format(path=CF_PATH + "?cursor=MjA="), after=1)
    with pytest.raises(HarvestError, match=r"links\.next .* is not on the configured API .*not followed"):
        run(server, env)
    assert len(server.requests) == 2
    assert _watermark(env["warehouse"]) == ([(datetime(2025, 1, 16),)], 0)
