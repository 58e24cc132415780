"""Contract-register loader against the real Norfolk register, the sample register and edge cases.

Expected counts are computed here with the csv module, not with the loader.
"""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.config import Council
from procure.extract.contracts_loader import (
    ALIASES_PATH,
    ingest_register_files,
    normalise_company_number,
    read_register_file,
)
from procure.warehouse import connect

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
    read = read_register_file(path)
    rows, rejects, sha = read.rows, read.rejects, read.sha256
    return path, rows, rejects, sha, _data_records(path, "cp1252")


def _council(path: Path | None, council_id: str = "norfolk", contracts_dir: Path | None = None) -> Council:
    return Council(
        id=council_id,
        name="Test Council",
        spend_dir=Path("/nonexistent"),
        contracts_file=path,
        contracts_dir=contracts_dir,
    )


@pytest.fixture(autouse=True)
def landing(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "landing"
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(root))
    return root


LOADED_AT = datetime(2025, 4, 7, 5, 0)


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


def test_sample_register_reads_every_contract_without_rejects(sample_dir):
    path = sample_dir / "norwich" / "contracts" / "contract_register.csv"
    records = _data_records(path, "utf-8-sig")
    read = read_register_file(path)
    rows, rejects, sha = read.rows, read.rejects, read.sha256

    assert len(records) > 0
    assert len(rows) == len(records)
    assert rejects == []
    assert {r["contract_ref"] for r in rows} == {r["Contract Reference"] for r in records.values()}
    assert len({r["contract_ref"] for r in rows}) == len(rows)
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

    read = read_register_file(path)
    rows, rejects, _ = read.rows, read.rejects, read.sha256

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

    read = read_register_file(path)
    rows, rejects, _ = read.rows, read.rejects, read.sha256

    assert rows == []
    reasons = {r["source_line"]: r["reject_reason"] for r in rejects}
    assert reasons[2].startswith("register.csv line 2: field 'Total Contract Value'")
    assert reasons[3].startswith("register.csv line 3: field 'Contract Start Date'")


def test_header_without_reference_column_names_the_aliases_file(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("Agreement,Supplier Name,Total Contract Value\nX,Acme,100\n", encoding="utf-8")

    with pytest.raises(ValueError, match="contract reference") as err:
        read_register_file(path)

    assert str(ALIASES_PATH) in str(err.value)
    assert str(err.value).startswith(f"{path.name}: ")


# --------------------------------------------------------------------------- company numbers, new fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gb/02165763", "02165763"),
        ("2165763", "02165763"),
        ("02165763", "02165763"),
        (" GB-COH-2165763 ", "02165763"),
        ("2165763.0", "02165763"),
        ("sc 123456", "SC123456"),
        ("IP22981R", "IP22981R"),
        ("", None),
        (None, None),
    ],
)
def test_company_numbers_are_normalised_to_companies_house_form(raw, expected):
    assert normalise_company_number(raw) == expected


def test_review_date_vat_and_route_are_read(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        "Contract Reference,Supplier Name,Review Date,Irrecoverable VAT,Estimated Annual Value,"
        "Extension Options,Procurement Route\n"
        'R-1,Acme Ltd,31/03/2026,"1,200.50","£10,000",2 x 12 months,Open tender\n',
        encoding="utf-8",
    )

    read = read_register_file(path)
    [row], rejects, _ = read.rows, read.rejects, read.sha256

    assert rejects == []
    assert row["review_date"] == date(2026, 3, 31)
    assert row["irrecoverable_vat_gbp"] == Decimal("1200.50")
    assert row["annual_value_gbp"] == Decimal("10000.00")
    assert (row["extension_options"], row["procurement_route"]) == ("2 x 12 months", "Open tender")


def test_preamble_and_blank_rows_are_counted(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("Contract register,,\nPublished March 2025,,\n,,\n" + HEADER + "A-1,T,Acme,,,1\n,,,,,\n")

    read = read_register_file(path)

    assert (read.header_line, read.skipped_preamble, read.skipped_blank, len(read.rows)) == (4, 3, 1, 1)
    assert read.rows_read == len(read.rows) + len(read.rejects) + read.skipped_blank + read.skipped_preamble


# --------------------------------------------------------------------------- loading into DuckDB


def _query(db: Path, sql: str, params=()) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_load_is_idempotent_and_lands_the_file(tmp_path, sample_dir, landing):
    path = sample_dir / "norwich" / "contracts" / "contract_register.csv"
    council = _council(path, "norwich")
    db = tmp_path / "w.duckdb"

    [first] = ingest_register_files(council, None, "run-1", LOADED_AT, db)
    snapshot = {t: sorted(_query(db, f"select * from raw.{t}"), key=repr) for t in ("contracts", "contract_manifest")}
    [second] = ingest_register_files(council, None, "run-2", datetime(2025, 4, 14), db)

    contracts = len(_data_records(path, "utf-8-sig"))
    assert (first.status, first.rows_loaded, first.rows_quarantined) == ("loaded", contracts, 0)
    assert first.rows_read == contracts + first.rows_skipped
    assert second.status == "unchanged"
    assert {t: sorted(_query(db, f"select * from raw.{t}"), key=repr) for t in snapshot} == snapshot
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    [(status, landing_path, rows_loaded)] = _query(
        db, "select status, landing_path, rows_loaded from raw.contract_manifest"
    )
    assert (status, rows_loaded) == ("loaded", 300)
    assert Path(landing_path) == landing / "contracts" / "norwich" / sha / path.name
    assert Path(landing_path).read_bytes() == path.read_bytes()
    assert _query(db, "select distinct run_id, file_sha256 from raw.contracts") == [("run-1", sha)]


def test_load_real_norfolk_register_accounts_for_every_line(tmp_path, norfolk):
    path, rows, rejects, sha, records = norfolk
    db = tmp_path / "w.duckdb"

    [result] = ingest_register_files(_council(path), None, "run-1", LOADED_AT, db)

    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", len(rows), len(rejects))
    assert result.rows_read == len(records) == result.rows_loaded + result.rows_quarantined + result.rows_skipped
    assert _query(db, "select count(*) from raw.contracts") == [(len(rows),)]
    quarantine = _query(db, "select source_line, field, reject_reason from raw.contracts_quarantine")
    assert len(quarantine) == len(rejects)
    assert {f for _, f, _ in quarantine} == {"contract_ref"}
    assert _query(db, "select distinct file_sha256 from raw.contracts") == [(sha,)]
    expected_total = sum((r["total_value_gbp"] or Decimal(0) for r in rows), Decimal("0.00"))
    assert result.amount_total == expected_total == _query(db, "select sum(total_value_gbp) from raw.contracts")[0][0]


def test_xlsx_register_loads_like_the_csv(tmp_path):
    from openpyxl import Workbook

    header = [
        "Contract Reference",
        "Title",
        "Supplier Name",
        "Supplier Company Number",
        "Contract Start Date",
        "Review Date",
        "Total Contract Value",
        "Irrecoverable VAT",
    ]
    rows = [
        ["C-1", "Roads", "Tarmac Ltd", "gb/2165763", "01/04/2020", "31/03/2023", "£1,250,000.00", "0"],
        ["C-2", "Parks", "Green Ltd", "2165763", "2021-05-31", "", "980.5", "12.25"],
        ["", "No ref", "Nobody Ltd", "", "", "", "1", ""],
    ]
    csv_path = tmp_path / "csv" / "register.csv"
    csv_path.parent.mkdir()
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    wb = Workbook()
    ws = wb.active
    ws.append(["Contract register published by Testshire"])  # a title row above the header
    ws.append(header)
    ws.append(["C-1", "Roads", "Tarmac Ltd", "gb/2165763", datetime(2020, 4, 1), date(2023, 3, 31), 1250000, 0])
    ws.append(["C-2", "Parks", "Green Ltd", 2165763, datetime(2021, 5, 31), None, 980.5, 12.25])
    ws.append([None, "No ref", "Nobody Ltd", None, None, None, 1, None])
    xlsx_path = tmp_path / "xlsx" / "register.dat"  # misleading extension: the bytes say XLSX
    xlsx_path.parent.mkdir()
    wb.save(xlsx_path)
    db = tmp_path / "w.duckdb"

    [from_csv] = ingest_register_files(_council(csv_path, "csvshire"), None, "run-1", LOADED_AT, db)
    [from_xlsx] = ingest_register_files(_council(xlsx_path, "xlsxshire"), None, "run-1", LOADED_AT, db)

    assert (from_xlsx.status, from_xlsx.rows_loaded, from_xlsx.rows_quarantined) == ("loaded", 2, 1)
    assert (from_csv.rows_loaded, from_csv.rows_quarantined, from_csv.amount_total) == (2, 1, Decimal("1250980.50"))
    assert from_xlsx.amount_total == from_csv.amount_total
    assert from_xlsx.rows_skipped == 1 and from_csv.rows_skipped == 0  # the title row
    columns = (
        "contract_ref, title, supplier_name, supplier_company_number, start_date, review_date, "
        "total_value_gbp, irrecoverable_vat_gbp"
    )
    by_council = {
        c: _query(db, f"select {columns} from raw.contracts where council_id = ? order by 1", [c])
        for c in ("csvshire", "xlsxshire")
    }
    assert by_council["xlsxshire"] == by_council["csvshire"]
    assert [r[3] for r in by_council["csvshire"]] == ["02165763", "02165763"]
    assert by_council["csvshire"][1][7] == Decimal("12.25")
    [(file_format, header_line)] = _query(
        db, "select file_format, header_line from raw.contract_manifest where council_id = 'xlsxshire'"
    )
    assert (file_format, header_line) == ("xlsx", 2)
    [(line, field, reason)] = _query(
        db, "select source_line, field, reject_reason from raw.contracts_quarantine where council_id = 'xlsxshire'"
    )
    assert (line, field) == (5, "contract_ref")
    assert reason.startswith("register.dat line 5: field 'contract_ref': missing contract reference")


def test_new_version_replaces_the_register_and_the_manifest_keeps_both(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "register_2025-01.csv").write_text(HEADER + "A-1,First,Acme Ltd,,,100\nB-2,Second,Beta Ltd,,,200\n")
    db = tmp_path / "w.duckdb"
    council = _council(None, contracts_dir=drop)
    ingest_register_files(council, None, "run-1", LOADED_AT, db)

    (drop / "register_2025-02.csv").write_text(HEADER + "C-3,Third,Gamma Ltd,,,300\n")
    results = ingest_register_files(council, None, "run-2", datetime(2025, 4, 14), db)

    assert [r.status for r in results] == ["unchanged", "loaded"]
    assert results[1].superseded == ["register_2025-01.csv"]
    assert _query(db, "select contract_ref, run_id from raw.contracts") == [("C-3", "run-2")]
    manifest = dict(_query(db, "select source_file, status from raw.contract_manifest"))
    assert manifest == {"register_2025-01.csv": "superseded", "register_2025-02.csv": "loaded"}


def test_register_with_no_usable_rows_is_rejected_and_the_loaded_one_stays(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "A-1,First,Acme Ltd,,,100\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    council = _council(path)
    ingest_register_files(council, None, "run-1", LOADED_AT, db)

    path.write_text(HEADER + ",No reference,Acme Ltd,,,100\n", encoding="utf-8")
    [result] = ingest_register_files(council, None, "run-2", LOADED_AT, db)

    assert result.status == "rejected"
    assert result.reason.startswith("register.csv: no usable contracts")
    assert "missing contract reference" in result.reason
    assert _query(db, "select contract_ref, run_id from raw.contracts") == [("A-1", "run-1")]
    assert sorted(_query(db, "select status from raw.contract_manifest")) == [("loaded",), ("rejected",)]


def test_unreadable_register_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes(b"%PDF-1.4 not a register")
    [result] = ingest_register_files(_council(path), None, "run-1", LOADED_AT, tmp_path / "w.duckdb")
    assert result.status == "rejected"
    assert result.reason.startswith("register.csv: ")
    assert "PDF" in result.reason


def test_duplicate_reference_is_quarantined_naming_both_lines(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        HEADER + "A-1,First,Acme Ltd,,,100\nB-2,Second,Beta Ltd,,,200\nA-1,Again,Other Ltd,,,300\n",
        encoding="utf-8",
    )
    db = tmp_path / "w.duckdb"

    [result] = ingest_register_files(_council(path), None, "run-1", LOADED_AT, db)

    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    contracts = _query(db, "select contract_ref, source_line, title from raw.contracts order by source_line")
    assert contracts == [("A-1", 2, "First"), ("B-2", 3, "Second")]
    [(source_file, line, field, reason, raw)] = _query(
        db, "select source_file, source_line, field, reject_reason, raw_record from raw.contracts_quarantine"
    )
    assert (source_file, line, field) == ("register.csv", 4, "contract_ref")
    assert "already used on line 2" in reason
    assert "Again" in raw


def test_unconfigured_register_gives_no_files(tmp_path):
    assert ingest_register_files(_council(None), None, "run-1", LOADED_AT, tmp_path / "w.duckdb") == []


def test_dag_steps_list_new_register_files_once(tmp_path, monkeypatch, sample_dir):
    from procure import tasks

    register = sample_dir / "norwich" / "contracts" / "contract_register.csv"
    config = tmp_path / "councils.yml"
    config.write_text(f"councils:\n  - id: norwich\n    name: Norwich\n    contracts_file: {register}\n")
    monkeypatch.setenv("PROCURE_CONFIG", str(config))
    db = tmp_path / "w.duckdb"

    [batch] = tasks.plan_contracts(db)
    assert batch["label"] == "norwich (1 file)"
    [item] = batch["files"]["norwich"]
    assert item["name"] == "contract_register.csv"
    assert tasks.load_register_file(item, "run-1", LOADED_AT, db)["rows_loaded"] == len(
        _data_records(register, "utf-8-sig")
    )
    assert tasks.files_changed("contracts", "run-1", db) == 1
    assert tasks.plan_contracts(db) == []
    assert tasks.load_register_file(item, "run-2", LOADED_AT, db)["status"] == "unchanged"


# ----------------------------------------------------------------------------- XLSX formulas and merged cells (issue 16 item 7)


def _calculated(path: Path, cached: dict[str, tuple[str, str]]) -> None:
    """Give formula cells the cached values a spreadsheet would have saved (openpyxl writes none).

    ``cached``: cell -> (type, value), type "n" (number) or "e" (error); other formulas keep no value.
    """
    import re
    import zipfile

    with zipfile.ZipFile(path) as zf:
        members = {info: zf.read(info) for info in zf.infolist()}
    for info, data in members.items():
        if info.filename == "xl/worksheets/sheet1.xml":
            xml = data.decode("utf-8")
            for ref, (kind, value) in cached.items():
                xml, n = re.subn(
                    rf'<c r="{ref}"( [^>]*)?><f>([^<]*)</f><v ?/>',
                    rf'<c r="{ref}" t="{kind}"><f>\2</f><v>{value}</v>',
                    xml,
                )
                assert n == 1, ref
            members[info] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members.items():
            zf.writestr(info, data)


def test_xlsx_formulas_read_as_cached_values_merged_cells_filled_and_the_rest_quarantined(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Contract register — Mergeshire"])
    ws.merge_cells("A1:G1")  # a title merged across the sheet
    ws.append(["Contract Reference", "Title", "Supplier Name", "Contract Start Date", "Annual value", "Years",
               "Total Contract Value"])  # fmt: skip
    ws.append(["C-1", "Roads", "Tarmac Ltd", datetime(2024, 4, 1), 1000, 3, "=E3*F3"])
    ws.append(["C-2", "Bridges", None, datetime(2024, 5, 1), 500, 2, "=E4*F4"])
    ws.merge_cells("C3:C4")  # one supplier merged over its two contracts
    ws.append(["C-3", "Parks", "Green Ltd", datetime(2024, 6, 1), 10, 2, "=E5*F5"])  # never calculated
    ws.append(["C-4", "Lights", "Bright Ltd", datetime(2024, 7, 1), 10, 2, "=VLOOKUP(A6,Rates!A:B,2,0)"])
    ws.append(["C-5", "Signs", "Sign Ltd", datetime(2024, 8, 1), 10, 2, 20])
    path = tmp_path / "register.xlsx"
    wb.save(path)
    _calculated(path, {"G3": ("n", "3000"), "G4": ("n", "1000"), "G6": ("e", "#N/A")})
    db = tmp_path / "w.duckdb"

    [result] = ingest_register_files(_council(path, "mergeshire"), None, "run-1", LOADED_AT, db)

    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 2)
    loaded = _query(
        db,
        "select contract_ref, supplier_name, annual_value_gbp, total_value_gbp from raw.contracts "
        "where council_id = 'mergeshire' order by 1",
    )
    assert loaded == [
        ("C-1", "Tarmac Ltd", Decimal("1000.00"), Decimal("3000.00")),  # the formula's cached value
        ("C-2", "Tarmac Ltd", Decimal("500.00"), Decimal("1000.00")),  # the merged supplier, filled
        ("C-5", "Sign Ltd", Decimal("10.00"), Decimal("20.00")),
    ]
    rejects = _query(
        db,
        "select source_line, field, reject_reason from raw.contracts_quarantine "
        "where council_id = 'mergeshire' order by 1",
    )
    assert [(line, field) for line, field, _ in rejects] == [(5, "Total Contract Value"), (6, "Total Contract Value")]
    assert rejects[0][2] == (
        "register.xlsx line 5: field 'Total Contract Value': cell G5 holds the formula =E5*F5 with no cached value "
        "(the workbook was saved by a program that does not calculate: open and save it in Excel or LibreOffice)"
    )
    assert rejects[1][2] == "register.xlsx line 6: field 'Total Contract Value': cell G6 holds the Excel error #N/A"


def test_xlsx_merged_reference_names_its_top_left_cell_when_unreadable(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Contract Reference", "Title", "Supplier Name"])
    ws.append(['=A1&"-1"', "Roads", "Tarmac Ltd"])
    ws.append([None, "Bridges", "Tarmac Ltd"])
    ws.merge_cells("A2:A3")  # an uncalculated reference merged over two rows
    path = tmp_path / "register.xlsx"
    wb.save(path)

    read = read_register_file(path)

    assert read.rows == []
    assert [r["source_line"] for r in read.rejects] == [2, 3]
    assert "cell A2 holds the formula" in read.rejects[0]["reject_reason"]
    assert "cell A2 (merged into A3) holds the formula" in read.rejects[1]["reject_reason"]
    assert all(r["field"] == "Contract Reference" for r in read.rejects)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contract_ref: [reference\nsupplier_name: [supplier]\n", "is not valid YAML at line"),
        ("contract_ref: reference\nsupplier_name: [supplier]\n", "key 'contract_ref': expected a list"),
    ],
)
def test_malformed_aliases_file_names_file_and_key(tmp_path, text, expected):
    from procure.config import ConfigError

    aliases = tmp_path / "aliases.yml"
    aliases.write_text(text, encoding="utf-8")
    register = tmp_path / "register.csv"
    register.write_text("Reference,Supplier\nC-1,Acme Ltd\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_register_file(register, aliases)
    assert str(err.value).startswith(str(aliases)) and expected in str(err.value)
