"""Contract-register loader against the real Norfolk register, the sample register and edge cases.

Expected counts are computed here with the csv module, not with the loader.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.config import Council
from procure.extract.contracts_loader import ALIASES_PATH, load_register, read_register
from procure.warehouse import connect, transaction

NORFOLK = "norfolk-cc_contract-register_2015-03_first3700lines.csv"
NORFOLK_REF = "Contract Reference number / ID"
NORFOLK_COMPANY = "Supplier registered company number"

HEADER = "Contract Reference,Title,Supplier Name,Supplier Company Number,Contract Start Date,Total Contract Value\n"


def _data_records(path: Path, encoding: str) -> dict[int, dict[str, str]]:
    """Non-blank data records by the physical line they end on, read independently of the loader."""
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        records = {}
        for cells in reader:
            if any(c.strip() for c in cells):
                records[reader.line_num] = dict(zip(header, cells, strict=False))
    return records


@pytest.fixture(scope="module")
def norfolk():
    path = shared_data("contracts_register", NORFOLK)
    rows, rejects, sha = read_register(path)
    return path, rows, rejects, sha, _data_records(path, "cp1252")


def _council(path: Path | None, council_id: str = "norfolk") -> Council:
    return Council(id=council_id, name="Test Council", spend_dir=Path("/nonexistent"), contracts_file=path)


def _counts(con, council_id: str) -> tuple[int, int]:
    return (
        con.execute("select count(*) from raw.contracts where council_id = ?", [council_id]).fetchone()[0],
        con.execute("select count(*) from raw.contracts_quarantine where council_id = ?", [council_id]).fetchone()[0],
    )


# --------------------------------------------------------------------------- real Norfolk register


def test_norfolk_every_data_line_is_a_row_or_a_reject_exactly_once(norfolk):
    _, rows, rejects, _, records = norfolk
    row_lines = [r["source_line"] for r in rows]
    reject_lines = [r["source_line"] for r in rejects]

    assert len(records) == 3699  # 3700 physical lines, one header, no multi-line cells
    assert len(rows) + len(rejects) == len(records)
    assert len(set(row_lines)) == len(row_lines)
    assert len(set(reject_lines)) == len(reject_lines)
    assert set(row_lines).isdisjoint(reject_lines)
    assert set(row_lines) | set(reject_lines) == set(records)
    assert len(rows) > 3000  # most of the register is usable


def test_norfolk_rows_match_their_source_record(norfolk):
    _, rows, _, _, records = norfolk
    for row in rows:
        source = records[row["source_line"]]
        assert row["contract_ref"] == source[NORFOLK_REF].strip()
        assert row["supplier_name"] == (source["Supplier name"].strip() or None)


def test_norfolk_company_numbers_are_normalised(norfolk):
    _, rows, _, _, records = norfolk
    by_ref = {r["contract_ref"]: r for r in rows}
    assert records[2][NORFOLK_REF] == "BAN12005"
    assert records[2][NORFOLK_COMPANY] == "gb/02165763"
    assert by_ref["BAN12005"]["supplier_company_number"] == "02165763"

    prefixed = 0
    for row in rows:
        raw = records[row["source_line"]][NORFOLK_COMPANY].strip()
        if raw.lower().startswith("gb/"):
            prefixed += 1
            digits = raw[3:]
            expected = digits.zfill(8) if digits.isdigit() else digits.upper()
            assert row["supplier_company_number"] == expected, row["contract_ref"]
    assert prefixed > 0
    assert all("/" not in (r["supplier_company_number"] or "") for r in rows)


def test_norfolk_rejects_name_file_line_and_field(norfolk):
    path, rows, rejects, _, records = norfolk
    assert rejects
    kept_line = {r["contract_ref"]: r["source_line"] for r in rows}
    missing = {line for line, rec in records.items() if not rec[NORFOLK_REF].strip()}
    for reject in rejects:
        line = reject["source_line"]
        reason = reject["reject_reason"]
        assert reason.startswith(f"{path.name} line {line}: field "), reason
        ref = records[line][NORFOLK_REF].strip()
        if line in missing:
            assert "'contract_ref': missing contract reference" in reason
        else:
            # a duplicate: names the line that kept the reference
            assert f"{ref!r} already used on line {kept_line[ref]}" in reason
            assert kept_line[ref] != line
    assert missing == {r["source_line"] for r in rejects if "missing contract reference" in r["reject_reason"]}


def test_norfolk_values_and_dates_parse(norfolk):
    _, rows, _, _, _ = norfolk
    by_ref = {r["contract_ref"]: r for r in rows}
    assert by_ref["BAN12005"]["total_value_gbp"] == Decimal("1567.00")  # "1567 " with trailing space
    assert all(r["total_value_gbp"] is None or isinstance(r["total_value_gbp"], Decimal) for r in rows)
    assert any(r["start_date"] is not None for r in rows)
    assert all(r["end_date"] is None or r["start_date"] is None or r["end_date"].year > 1990 for r in rows)


# --------------------------------------------------------------------------- sample register


def test_sample_register_reads_300_contracts_without_rejects(sample_dir):
    path = sample_dir / "norwich" / "contracts" / "contract_register.csv"
    rows, rejects, sha = read_register(path)

    assert len(rows) == 300
    assert rejects == []
    assert len({r["contract_ref"] for r in rows}) == 300
    assert re.fullmatch(r"[0-9a-f]{64}", sha)
    assert all(isinstance(r["total_value_gbp"], Decimal) for r in rows)


def test_pound_values_with_thousands_separators_parse_to_decimal(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        HEADER
        + 'C-1,Roads,Tarmac Ltd,gb/2165763,01/04/2020,"£1,250,000.00"\n'
        + "C-2,Parks,Green Ltd,SC123456,2021-05-31,£980.5\n"
        + "C-3,Bins,Refuse Ltd,,,\n",
        encoding="utf-8",
    )

    rows, rejects, _ = read_register(path)

    assert rejects == []
    by_ref = {r["contract_ref"]: r for r in rows}
    assert by_ref["C-1"]["total_value_gbp"] == Decimal("1250000.00")
    assert isinstance(by_ref["C-1"]["total_value_gbp"], Decimal)
    assert by_ref["C-2"]["total_value_gbp"] == Decimal("980.50")
    assert by_ref["C-3"]["total_value_gbp"] is None
    assert by_ref["C-1"]["supplier_company_number"] == "02165763"
    assert by_ref["C-2"]["supplier_company_number"] == "SC123456"
    assert str(by_ref["C-1"]["start_date"]) == "2020-04-01"
    assert str(by_ref["C-2"]["start_date"]) == "2021-05-31"


def test_unreadable_value_or_date_is_rejected_naming_the_field(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        HEADER + "C-1,Roads,Tarmac Ltd,,01/04/2020,lots\nC-2,Parks,Green Ltd,,not a date,100\n",
        encoding="utf-8",
    )

    rows, rejects, _ = read_register(path)

    assert rows == []
    reasons = {r["source_line"]: r["reject_reason"] for r in rejects}
    assert reasons[2].startswith("register.csv line 2: field 'Total Contract Value'")
    assert reasons[3].startswith("register.csv line 3: field 'Contract Start Date'")


def test_header_without_reference_column_names_the_aliases_file(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("Agreement,Supplier Name,Total Contract Value\nX,Acme,100\n", encoding="utf-8")

    with pytest.raises(ValueError, match="contract_ref") as err:
        read_register(path)

    assert str(ALIASES_PATH) in str(err.value)
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------- load_register into DuckDB


def test_load_register_is_idempotent(tmp_path, sample_dir):
    council = _council(sample_dir / "norwich" / "contracts" / "contract_register.csv", "norwich")
    db = tmp_path / "w.duckdb"

    with transaction(db) as con:
        first = load_register(con, council, "run-1")
    con = connect(db)
    try:
        counts_after_first = _counts(con, "norwich")
        second = load_register(con, council, "run-2")
        counts_after_second = _counts(con, "norwich")
        run_ids = con.execute("select distinct run_id from raw.contracts").fetchall()
    finally:
        con.close()

    assert first == {"status": "loaded", "rows": 300, "rejected": 0}
    assert counts_after_first == (300, 0)
    assert second["status"] == "unchanged"
    assert counts_after_second == counts_after_first
    assert run_ids == [("run-1",)]


def test_load_real_norfolk_register(tmp_path, norfolk):
    path, rows, rejects, sha, _ = norfolk
    db = tmp_path / "w.duckdb"

    with transaction(db) as con:
        result = load_register(con, _council(path), "run-1")
    con = connect(db, read_only=True)
    try:
        counts = _counts(con, "norfolk")
        shas = con.execute("select distinct file_sha256 from raw.contracts").fetchall()
    finally:
        con.close()

    assert result == {"status": "loaded", "rows": len(rows), "rejected": len(rejects)}
    assert counts == (len(rows), len(rejects))
    assert shas == [(sha,)]


def test_duplicate_reference_is_quarantined_naming_both_lines(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        HEADER + "A-1,First,Acme Ltd,,,100\nB-2,Second,Beta Ltd,,,200\nA-1,Again,Other Ltd,,,300\n",
        encoding="utf-8",
    )
    db = tmp_path / "w.duckdb"

    with transaction(db) as con:
        result = load_register(con, _council(path), "run-1")
    con = connect(db, read_only=True)
    try:
        contracts = con.execute(
            "select contract_ref, source_line, title from raw.contracts order by source_line"
        ).fetchall()
        quarantine = con.execute(
            "select source_file, source_line, reject_reason, raw_record from raw.contracts_quarantine"
        ).fetchall()
    finally:
        con.close()

    assert result == {"status": "loaded", "rows": 2, "rejected": 1}
    assert contracts == [("A-1", 2, "First"), ("B-2", 3, "Second")]
    [(source_file, line, reason, raw)] = quarantine
    assert (source_file, line) == ("register.csv", 4)
    assert "line 4" in reason
    assert "already used on line 2" in reason
    assert "Again" in raw


def test_changed_register_replaces_the_old_one(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "A-1,First,Acme Ltd,,,100\nB-2,Second,Beta Ltd,,,200\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    council = _council(path)
    with transaction(db) as con:
        load_register(con, council, "run-1")

    path.write_text(HEADER + "C-3,Third,Gamma Ltd,,,300\n", encoding="utf-8")
    with transaction(db) as con:
        result = load_register(con, council, "run-2")
        refs = con.execute("select contract_ref, run_id from raw.contracts").fetchall()

    assert result["status"] == "loaded"
    assert refs == [("C-3", "run-2")]


def test_register_with_no_usable_rows_leaves_the_loaded_one_in_place(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "A-1,First,Acme Ltd,,,100\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    council = _council(path)
    with transaction(db) as con:
        load_register(con, council, "run-1")

    path.write_text(HEADER + ",No reference,Acme Ltd,,,100\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no usable contracts"), transaction(db) as con:
        load_register(con, council, "run-2")

    con = connect(db, read_only=True)
    try:
        assert con.execute("select contract_ref, run_id from raw.contracts").fetchall() == [("A-1", "run-1")]
        assert _counts(con, "norfolk") == (1, 0)
    finally:
        con.close()


def test_unconfigured_register_is_skipped(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    try:
        assert load_register(con, _council(None), "run-1") == {"status": "not configured"}
    finally:
        con.close()
