"""`procure ingest spend|contracts|all`: the JSON account per file, exit status, human output.

Runs the installed `procure` entry point in a subprocess against real files, a real
DuckDB file and a landing zone of the test's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.warehouse import connect

PROCURE = Path(sys.executable).parent / "procure"
HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
UNDATED = "payments-undated.csv"  # no date column and no period anywhere: rejected
NORFOLK = "norfolk-cc_contract-register_2015-03_first3700lines.csv"
JSON_KEYS = [
    "path",
    "status",
    "reason",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_skipped",
    "amount_total",
]
SPEND_JSON_KEYS = [*JSON_KEYS, "rows_with_warnings", "column_map", "confidence", "column_evidence"]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    drop = tmp_path / "drop"
    (drop / "spend").mkdir(parents=True)
    shutil.copyfile(shared_data("spend", HYNDBURN), drop / "spend" / HYNDBURN)
    config = tmp_path / "councils.yml"
    config.write_text(
        "councils:\n"
        "  - id: hyndburn\n"
        "    name: Hyndburn Borough Council\n"
        f"    spend_dir: {drop / 'spend'}\n"
        f"    contracts_file: {shared_data('contracts_register', NORFOLK)}\n",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "PROCURE_CONFIG": str(config),
        "PROCURE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "PROCURE_LANDING_DIR": str(tmp_path / "landing"),
    }


def _procure(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROCURE), *args], capture_output=True, text=True, env=env, timeout=300)


def test_spend_json_accounts_for_each_file_and_rejection_exits_nonzero(env):
    no_header = Path(env["PROCURE_CONFIG"]).parent / UNDATED
    no_header.write_bytes(b"Payee,Net Amount\r\nACME LTD,10.00\r\n")
    hyndburn = Path(env["PROCURE_CONFIG"]).parent / "drop" / "spend" / HYNDBURN

    proc = _procure(
        env,
        "ingest",
        "spend",
        "--council",
        "hyndburn",
        "--json",
        "--as-of",
        "2025-04-05",
        str(hyndburn),
        str(no_header),
    )

    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["files"]
    loaded, rejected = out["files"]
    assert [list(f) for f in out["files"]] == [SPEND_JSON_KEYS, SPEND_JSON_KEYS]
    assert loaded == {
        "path": str(hyndburn),
        "status": "loaded",
        "reason": None,
        "rows_read": 180,
        "rows_loaded": 180,
        "rows_quarantined": 0,
        "rows_skipped": 0,
        "amount_total": loaded["amount_total"],
        "rows_with_warnings": 0,
        "column_map": loaded["column_map"],
        "confidence": loaded["confidence"],
        "column_evidence": loaded["column_evidence"],
    }
    assert loaded["column_map"]["amount_gbp"] == "Net Amount(£)" and 0.9 <= loaded["confidence"] <= 1
    assert "net" in loaded["column_evidence"]["evidence"]["amount_gbp"]
    con = connect(Path(env["PROCURE_WAREHOUSE"]), read_only=True)
    try:
        total = con.execute("select sum(amount_gbp) from raw.spend_lines").fetchone()[0]
    finally:
        con.close()
    assert Decimal(loaded["amount_total"]) == total and isinstance(loaded["amount_total"], str)
    assert (rejected["path"], rejected["status"]) == (str(no_header), "rejected")
    assert rejected["reason"].startswith(UNDATED) and "no payment-date column" in rejected["reason"]
    assert rejected["amount_total"] is None
    assert "1 of 2 file(s) rejected" in proc.stderr

    again = _procure(env, "ingest", "spend", "--council", "hyndburn", "--json", str(hyndburn))
    assert again.returncode == 0, again.stderr
    assert [f["status"] for f in json.loads(again.stdout)["files"]] == ["unchanged"]


def test_spend_without_files_reads_the_drop_folder_and_prints_a_human_account(env):
    proc = _procure(env, "ingest", "spend", "--council", "hyndburn", "--as-of", "2025-04-05")

    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    assert line.startswith("loaded")
    assert HYNDBURN in line
    assert "180 rows read = 180 loaded + 0 quarantined + 0 skipped; £538,272.19" in line


def test_contracts_json(env):
    proc = _procure(env, "ingest", "contracts", "--council", "hyndburn", "--json", "--as-of", "2025-04-05")

    assert proc.returncode == 0, proc.stderr
    [f] = json.loads(proc.stdout)["files"]
    assert list(f) == JSON_KEYS
    assert f["status"] == "loaded"
    assert f["rows_read"] == 3699 == f["rows_loaded"] + f["rows_quarantined"] + f["rows_skipped"]


def test_unknown_council_is_a_usage_error(env):
    proc = _procure(env, "ingest", "spend", "--council", "nowhere")
    assert proc.returncode == 2
    assert "no council with id 'nowhere'" in proc.stderr


def test_ingest_all_loads_every_council(env):
    proc = _procure(env, "ingest", "all", "--as-of", "2025-04-05")

    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["spend"]["hyndburn"]["loaded"], out["contracts"]["hyndburn"]["loaded"]) == (1, 1)


def _run_with_terminal_stderr(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `procure` with stderr on a pseudo-terminal (as in an interactive shell); exit code, stdout, stderr."""
    import os
    import threading

    master, slave = os.openpty()
    proc = subprocess.Popen([str(PROCURE), *args], stdout=subprocess.PIPE, stderr=slave, env=env, text=True)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # keep reading, or a full terminal buffer would block the child
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout = proc.communicate(timeout=300)[0]
    reader.join(timeout=30)
    os.close(master)
    return proc.returncode, stdout, b"".join(chunks).decode("utf-8", "replace")


def test_spend_progress_bar_on_a_terminal_quiet_with_json_or_a_pipe(env):
    hyndburn = Path(env["PROCURE_CONFIG"]).parent / "drop" / "spend" / HYNDBURN
    code, stdout, stderr = _run_with_terminal_stderr(env, "ingest", "spend", "--council", "hyndburn", str(hyndburn))
    assert code == 0, stderr
    assert "1/1" in stderr and "files" in stderr and "180 rows" in stderr and "rows/s" in stderr, stderr
    assert stdout.startswith("loaded")  # the account stays on stdout, the bar on stderr

    code, stdout, stderr = _run_with_terminal_stderr(env, "ingest", "spend", "--council", "hyndburn", "--json")
    assert code == 0 and json.loads(stdout)["files"][0]["status"] == "unchanged"
    assert "rows/s" not in stderr  # --json: no bar, even on a terminal

    piped = _procure(env, "ingest", "spend", "--council", "hyndburn")
    assert piped.returncode == 0 and "rows/s" not in piped.stderr  # not a terminal (a log file, Airflow): no bar
