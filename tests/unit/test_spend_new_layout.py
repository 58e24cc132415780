"""A council layout the project has never seen, with recognisable headers, loads with no code change.

The file below matches no real file and no sample file: its own column order, header spellings
taken from the alias table's less common entries, tab-separated, ISO dates, `£` amounts with
thousands separators and a bracketed credit, a column nobody maps, and a title row. It goes through
the real CLI (`procure ingest spend --json`) into a real DuckDB file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb

ROWS = [
    ("PO-1001", "2025-06-02", "Beneficiary Kitchens Ltd", "Catering supplies", "Leisure", "£1,250.00", "x"),
    ("PO-1002", "2025-06-03", "Canal & River Trust", "Grant - waterways", "Parks", "£12,000.50", "y"),
    ("PO-1003", "2025-06-09", "Beneficiary Kitchens Ltd", "Credit note", "Leisure", "(£250.00)", ""),
    ("PO-1004", "2025-06-30", "Redacted personal data", "Care package", "Adult Social Care", "£780.10", "z"),
]


def test_unseen_layout_loads_without_code_changes(tmp_path):
    header = [
        "Trans No",
        "Date of Payment",
        "Payee Name",
        "Expenditure Category",
        "Organisational Unit",
        "Amount Paid",
        "Internal Memo",
    ]
    lines = ["Borsetshire District Council - payments over £500 - June 2025", "\t".join(header)]
    lines += ["\t".join(r) for r in ROWS]
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "payments-june.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    config = tmp_path / "councils.yml"
    config.write_text(f"councils:\n  - id: borsetshire\n    name: Borsetshire DC\n    spend_dir: {drop}\n")
    env = {
        **os.environ,
        "PROCURE_CONFIG": str(config),
        "PROCURE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "PROCURE_LANDING_DIR": str(tmp_path / "landing"),
    }
    exe = Path(sys.executable).parent / "procure"
    out = subprocess.run(
        [str(exe), "ingest", "spend", "--council", "borsetshire", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    files = json.loads(out.stdout)["files"]
    assert [(f["status"], f["rows_loaded"], f["rows_quarantined"]) for f in files] == [("loaded", 4, 0)]
    assert Decimal(files[0]["amount_total"]) == Decimal("13780.60")

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        got = con.execute(
            "select transaction_number, cast(payment_date as varchar), supplier_name, expense_type, service_area, "
            "amount_gbp, is_credit, is_redacted from raw.spend_lines order by source_line"
        ).fetchall()
    finally:
        con.close()
    assert [(g[0], g[1], g[2], g[3], g[4]) for g in got] == [r[:5] for r in ROWS]
    assert [g[5] for g in got] == [Decimal("1250.00"), Decimal("12000.50"), Decimal("-250.00"), Decimal("780.10")]
    assert [g[6] for g in got] == [False, False, True, False]
    assert [g[7] for g in got] == [False, False, False, True]
