"""A rejected spend file keeps every line in raw.spend_quarantine, and its manifest row accounts for them.

Whichever stage refuses the file: sniffing (ambiguous or missing roles, a stale override), reading
(a broken CSV structure), or the quarantined share after reading. Expected counts come from the
csv module / openpyxl here, not from the reader.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

from conftest import shared_data

from procure.config import Council
from procure.extract.spend_loader import ingest_spend_files
from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
WORKBOOK = "lancashire-fire_2025-26-q1_spend.xlsx"


def _load(tmp_path: Path, monkeypatch, path: Path, overrides: dict | None = None):
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    council = Council(id="testshire", name="Testshire", spend_dir=tmp_path, spend_overrides=overrides or {})
    db = tmp_path / "w.duckdb"
    [result] = ingest_spend_files(council, [path], "run-1", datetime(2025, 4, 1), db)
    return result, db


def _fetch(db: Path, sql: str, params=()) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _manifest(db: Path) -> dict:
    con = connect(db, read_only=True)
    try:
        cur = con.execute("select * from raw.spend_manifest")
        [row] = cur.fetchall()
        return dict(zip([d[0] for d in cur.description], row, strict=True))
    finally:
        con.close()


def _quarantine(db: Path) -> list[tuple[int, str, str]]:
    return _fetch(db, "select source_line, reject_reason, raw_record from raw.spend_quarantine order by record_index")


def _assert_accounted(result, db: Path) -> None:
    """The result and the manifest say the same, and every record read is quarantined or blank."""
    m = _manifest(db)
    assert (m["status"], m["reason"]) == ("rejected", result.reason)
    assert (m["rows_loaded"], m["amount_total_gbp"]) == (0, None)
    assert m["rows_quarantined"] == result.rows_quarantined == len(_quarantine(db)) > 0
    assert m["rows_read"] == result.rows_read == m["rows_quarantined"] + m["skipped_blank"]
    assert _fetch(db, "select count(*) from raw.spend_lines") == [(0,)]
    assert _fetch(db, "select count(*) from raw.spend_files") == [(0,)]


def test_file_rejected_at_sniffing_keeps_every_record_with_the_reason(tmp_path, monkeypatch):
    text = (
        "Payments April 2024\n"
        "Supplier,Date,Col A,Col B\n"
        "ACME LTD,01/04/2024,10.50,12.60\n"
        "\n"
        'BETA LTD,02/04/2024,"1,003.50",4.20\n'
    )
    path = tmp_path / "amb.csv"
    path.write_text(text, encoding="utf-8")

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected" and result.reason.startswith("amb.csv: rejected: ambiguous amount")
    assert "'Col A'" in result.reason and "'Col B'" in result.reason  # the competing columns are named
    _assert_accounted(result, db)
    rows = _quarantine(db)
    assert [line for line, _, _ in rows] == [1, 2, 3, 5]  # title, header and both payment lines
    assert {reason for _, reason, _ in rows} == {result.reason}
    assert json.loads(rows[3][2]) == {"col_1": "BETA LTD", "col_2": "02/04/2024", "col_3": "1,003.50", "col_4": "4.20"}
    assert _manifest(db)["skipped_blank"] == 1


def test_retried_rejection_replaces_its_quarantine_and_a_fixed_file_loads(tmp_path, monkeypatch):
    path = tmp_path / "amb.csv"
    path.write_text("Supplier,Date,Col A,Col B\nACME LTD,01/04/2024,10.50,12.60\n", encoding="utf-8")
    _load(tmp_path, monkeypatch, path)
    _load(tmp_path, monkeypatch, path, {"date_format": "dayfirst"})  # new overrides: retried, still ambiguous
    assert len(_quarantine(tmp_path / "w.duckdb")) == 2  # replaced, not doubled

    result, db = _load(tmp_path, monkeypatch, path, {"column_map": {"amount_gbp": "Col A"}})
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    assert _quarantine(db) == []


def test_real_file_refused_by_a_stale_override_keeps_all_its_records(tmp_path, monkeypatch):
    path = tmp_path / HYNDBURN
    shutil.copyfile(shared_data("spend", HYNDBURN), path)
    with path.open(encoding="cp1252", newline="") as f:
        records = list(csv.reader(f))
    filled = [cells for cells in records if any(c.strip() for c in cells)]

    result, db = _load(tmp_path, monkeypatch, path, {"column_map": {"payment_date": "Clearing Date"}})

    assert result.status == "rejected" and "'Clearing Date' is not a column of this file" in result.reason
    _assert_accounted(result, db)
    kept = [json.loads(raw) for _, _, raw in _quarantine(db)]
    assert [[r[f"col_{i}"] for i in range(1, len(r) + 1)] for r in kept] == filled  # cell for cell, header first
    assert _manifest(db)["skipped_blank"] == len(records) - len(filled)


def test_real_workbook_refused_keeps_every_sheet_row(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    path = tmp_path / WORKBOOK
    shutil.copyfile(shared_data("spend_more", WORKBOOK), path)
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        expected = {
            name: sum(
                1 for row in wb[name].iter_rows(values_only=True) if any(str(v).strip() for v in row if v is not None)
            )
            for name in wb.sheetnames
        }
    finally:
        wb.close()

    result, db = _load(tmp_path, monkeypatch, path, {"column_map": {"amount_gbp": "No Such Column"}})

    assert result.status == "rejected"
    _assert_accounted(result, db)
    sheets: dict[str, int] = {}
    for _, _, raw in _quarantine(db):
        sheet = json.loads(raw)["sheet"]
        sheets[sheet] = sheets.get(sheet, 0) + 1
    assert sheets == {k: v for k, v in expected.items() if v}


def test_broken_csv_structure_is_kept_line_by_line(tmp_path, monkeypatch):
    """An unclosed quote swallows the rest of the file into one field, past the csv module's
    field limit: the file is rejected and its physical lines are kept instead."""
    lines = ["Supplier Name,Payment Date,Net Amount\n", 'ACME LTD,01/04/2024,"10.00\n']
    lines += [f"PAYEE {i:05d} {'x' * 60},02/04/2024,5.00\n" for i in range(2500)]
    path = tmp_path / "broken.csv"
    path.write_text("".join(lines), encoding="utf-8")

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected" and "broken.csv" in result.reason
    _assert_accounted(result, db)
    kept = _quarantine(db)
    assert [json.loads(raw)["line"] for _, _, raw in kept] == [line.rstrip("\n") for line in lines]
    assert [line for line, _, _ in kept] == list(range(1, len(lines) + 1))


def test_too_many_bad_lines_moves_the_good_ones_to_quarantine_too(tmp_path, monkeypatch):
    good = "".join(f"ACME {i} LTD,0{i}/04/2024,10.00\n" for i in range(1, 8))
    bad = "".join(f"BETA {i} LTD,31/02/2024,5.00\n" for i in range(3))  # 3 of 10 (30 %) impossible dates
    path = tmp_path / "april.csv"
    path.write_text("Supplier Name,Payment Date,Net Amount\n" + good + bad, encoding="utf-8")

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected" and (result.rows_loaded, result.rows_quarantined) == (0, 10)
    _assert_accounted(result, db)
    reasons = [reason for _, reason, _ in _quarantine(db)]
    assert reasons[:7] == [result.reason] * 7  # the lines that read carry the file's reason
    assert all("is not a valid date" in r or "31/02/2024" in r for r in reasons[7:]), reasons[7:]
    raws = [json.loads(raw) for _, _, raw in _quarantine(db)]
    assert [r["Supplier Name"] for r in raws] == [f"ACME {i} LTD" for i in range(1, 8)] + [
        f"BETA {i} LTD" for i in range(3)
    ]


def test_truncated_gzip_keeps_the_lines_before_the_cut_and_says_so(tmp_path, monkeypatch):

    body = "Supplier Name,Payment Date,Net Amount\n" + "".join(f"PAYEE {i},01/04/2024,{i}.00\n" for i in range(20000))
    data = gzip.compress(body.encode())
    path = tmp_path / "cut.csv"
    path.write_bytes(data[: len(data) // 2])

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected" and "reading its lines for quarantine stopped after" in result.reason
    _assert_accounted(result, db)
    kept = [json.loads(raw) for _, _, raw in _quarantine(db)]
    assert kept[0] == {"col_1": "Supplier Name", "col_2": "Payment Date", "col_3": "Net Amount"}
    rows = list(csv.reader(io.StringIO(body)))
    assert [[r[f"col_{i}"] for i in range(1, len(r) + 1)] for r in kept[1:-1]] == rows[1 : len(kept) - 1]


def test_a_decompression_bomb_is_not_expanded_again_for_quarantine(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURE_SPEND_MAX_DECOMPRESSION_RATIO", "2")
    monkeypatch.setenv("PROCURE_SPEND_RATIO_FLOOR_BYTES", "1000")
    body = "Supplier Name,Payment Date,Net Amount\n" + "ACME LTD,01/04/2024,10.00\n" * 20000
    path = tmp_path / "bomb.csv"
    path.write_bytes(gzip.compress(body.encode()))

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected" and "expands past" in result.reason
    assert "the file is not expanded again; the landing copy keeps it" in result.reason
    assert (result.rows_read, result.rows_quarantined) == (0, 0)
    assert _quarantine(db) == [] and _manifest(db)["rows_quarantined"] == 0
