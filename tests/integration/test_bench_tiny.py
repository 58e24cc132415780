"""The benchmark harness at its tiny size, so it never rots (no timing is asserted).

`make bench SIZE=tiny` runs every measurement; here the incremental and PostgreSQL parts are
left out (`--skip`) to keep `make test` short: each costs several dbt builds whatever the size.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench_generate():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generator_is_seeded_messy_and_accounts_for_every_row(tmp_path):
    gen = _bench_generate()
    months = gen.month_starts(date(2024, 4, 1), 12)
    first = gen.generate_council(tmp_path / "a", "c000", "Bench 000 District Council", months, 6_000, seed=7)
    again = gen.generate_council(tmp_path / "b", "c000", "Bench 000 District Council", months, 6_000, seed=7)
    other = gen.generate_council(tmp_path / "c", "c000", "Bench 000 District Council", months, 6_000, seed=8)
    read = [Path(f["path"]).read_bytes() for f in first["files"]]
    assert read == [Path(f["path"]).read_bytes() for f in again["files"]]
    assert read != [Path(f["path"]).read_bytes() for f in other["files"]]

    april, october, january = read[0], read[6], read[9]
    assert b"Net Amount (\xa3)" in april and b"\r\n" in april  # cp1252 pound sign, CRLF
    assert b"Date Paid" in october and b"Net Amount" not in october  # the header drifts
    assert january.startswith(b"Bench 000 District Council - Spend over \xa3500 - January 2025\r\n\r\n")

    rows, total, credits, redacted, cards = 0, 0, 0, 0, 0
    for f, raw in zip(first["files"], read, strict=True):
        lines = list(csv.reader(raw.decode("cp1252").splitlines()))
        header_at = next(i for i, line in enumerate(lines) if line and line[0] == "Body Name")
        body = lines[header_at + 1 :]
        assert len(body) == f["rows"]
        pence = [round(float(r[5].replace(",", "")) * 100) for r in body]
        assert sum(pence) == f["total_pence"]
        rows += len(body)
        total += sum(pence)
        credits += sum(p < 0 for p in pence)
        redacted += sum("redacted" in r[7].lower() for r in body)
        cards += sum(r[4].startswith("PCARD-") for r in body)
    assert rows == first["rows"] and total == first["total_pence"]
    assert 5_000 < rows < 7_000
    assert credits and redacted and cards


# the Airflow ingest measurement starts the stack tests/e2e/test_scheduler_chain.py already runs
SKIP = ("--skip", "incremental", "--skip", "postgres", "--skip", "airflow")


def test_bench_tiny_writes_results_with_the_issue_keys(tmp_path):
    out = tmp_path / "results.json"
    args = ["--size", "tiny", "--work", str(tmp_path / "work"), "--out", str(out), "--workers", "1"]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_bench.py"), *args, *SKIP],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "raw floor (read_csv)" in proc.stdout

    r = json.loads(out.read_text())
    assert r["complete"] is True  # the partial saves along the way were replaced by the whole run
    for key in ("rows", "stages", "raw_floor_s", "pipeline_over_raw_floor", "peak_rss_gb", "incremental_ratio"):
        assert key in r, key
    assert "postgres_over_duckdb" in r
    generated = json.loads((tmp_path / "work" / "data" / "generated.json").read_text())
    assert r["rows"] == generated["rows"] > 0
    assert r["rows_loaded"] + r["rows_quarantined"] == r["rows"]  # every generated row accounted for

    assert set(r["stages"]) == {"ingest", "build", "gate", "publish"}
    for name, stage in r["stages"].items():
        assert stage["seconds"] > 0, name
        assert 0 < stage["peak_rss_gb"] <= r["peak_rss_gb"], name
        assert stage["rows_per_s"] == round(r["rows"] / stage["seconds"], 1), name
    assert r["stages"]["ingest"]["result"]["files"] == r["files"] == 2 * 2
    assert r["stages"]["publish"]["result"] == {"board_packs": 2, "strategy_reviews": 2}
    # the floor reads every line of the same files: rows plus a header each (and January's title rows)
    assert r["raw_floor"]["result"]["rows"] == r["rows"] + r["files"]
    assert r["pipeline_over_raw_floor"] == round(r["pipeline_s"] / r["raw_floor_s"], 3) > 0
    assert 0 < r["peak_rss_gb"] < 4
    assert r["peak_rss_gb"] == max(c["peak_rss_gb"] for c in r["children"])
    assert [c["tag"] for c in r["children"]] == ["01_ingest", "02_build", "03_gate", "04_publish", "05_floor"]

    assert r["incremental_ratio"] is None and r["incremental"]["skipped"]
    assert r["postgres_over_duckdb"] is None and r["postgres"]["skipped"]
    assert r["airflow_ingest_over_inprocess"] is None and r["airflow_ingest"]["skipped"]
    assert {"commit", "date", "load_average_at_start"} <= set(r["machine"]) | set(r)
