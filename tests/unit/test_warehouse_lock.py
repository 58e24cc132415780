"""Two loads at once: the second waits for the DuckDB lock, bounded, then says who holds it (issue 16 item 10).

A second, real process holds the warehouse file open for writing, as a running ingest would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import write_config

from procure.cli import main
from procure.warehouse import LOCK_TIMEOUT_ENV, WarehouseBusy, connect, lock_timeout_s

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    return path


def test_second_writer_waits_then_fails_naming_the_holder(warehouse, monkeypatch):
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "1")
    holder = _hold(warehouse, 30)
    try:
        started = time.monotonic()
        for read_only in (False, True):
            with pytest.raises(WarehouseBusy) as busy:
                connect(warehouse, read_only=read_only)
            assert str(busy.value).startswith(f"warehouse is busy: another load is running (pid {holder.pid})")
            assert LOCK_TIMEOUT_ENV in str(busy.value)
        elapsed = time.monotonic() - started
        assert 2.0 <= elapsed < 6.0  # waited about the timeout, twice; not at once, not for ever
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_gets_the_file_when_the_first_finishes(warehouse, monkeypatch):
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "20")
    holder = _hold(warehouse, 1.5)
    try:
        started = time.monotonic()
        con = connect(warehouse)
        waited = time.monotonic() - started
        con.execute("create table raw.after_the_wait as select 1 as x")
        con.close()
        assert 0.5 < waited < 10
    finally:
        holder.kill()
        holder.wait()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select x from raw.after_the_wait").fetchall() == [(1,)]


def test_cli_ingest_reports_the_busy_warehouse_without_a_traceback(warehouse, tmp_path, sample_dir, monkeypatch):
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.5")
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PROCURE_CONFIG", str(write_config(tmp_path / "councils.yml", sample_dir)))
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    holder = _hold(warehouse, 30)
    try:
        result = CliRunner().invoke(main, ["ingest", "spend", "--council", "norwich"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"Error: warehouse is busy: another load is running (pid {holder.pid})" in result.output
    assert not isinstance(result.exception, WarehouseBusy | duckdb.Error)


@pytest.mark.parametrize(("value", "expected"), [("", 300.0), ("0", 0.0), ("2.5", 2.5)])
def test_lock_timeout_setting(monkeypatch, value, expected):
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    assert lock_timeout_s() == expected


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_lock_timeout_setting_rejects_nonsense(monkeypatch, value):
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=LOCK_TIMEOUT_ENV):
        lock_timeout_s()
