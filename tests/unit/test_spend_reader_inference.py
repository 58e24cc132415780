"""Column roles from header AND values, bare-config loads of every shared real file, and loud rejections.

Each real file is read with no overrides at all (a new user's bare config: council id and
name) and must give exactly the independently derived lines and £ total:
``tests/fixtures/real_spend_expected.csv`` (csv module, header by eye) for ``spend/`` and
``ANSWERS.json`` (csv/openpyxl + Decimal, see its PROVENANCE.md) for ``spend_more/``.
The synthetic cases below are the shapes the issue found going wrong on unseen publishers.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.extract.parse import parse_date, parse_period
from procure.extract.sniff import Limits
from procure.extract.spend_reader import SpendFile, SpendFileError, read_spend_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/real_spend_expected.csv"
SPEND = shared_data("spend", ".").resolve()
SPEND_MORE = shared_data("spend_more", ".").resolve()


def _rows(sf: SpendFile) -> list[dict]:
    return [r for b in sf.iter_batches() for r in (b if isinstance(b, list) else b.to_pylist())]


def _expected() -> dict[Path, tuple[int, Decimal]]:
    out: dict[Path, tuple[int, Decimal]] = {}
    with FIXTURE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[SPEND / row["file"]] = (int(row["data_rows"]), Decimal(row["amount_total_gbp"]))
    answers = json.loads((SPEND_MORE / "ANSWERS.json").read_text(encoding="utf-8"))["files"]
    for name, a in answers.items():
        out[SPEND_MORE / name] = (a["rows"], Decimal(a["total"]))
    return out


EXPECTED = _expected() if FIXTURE.is_file() and (SPEND_MORE / "ANSWERS.json").is_file() else {}


def test_every_shared_file_has_an_expectation():
    on_disk = {p for folder in (SPEND, SPEND_MORE) for p in folder.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) == 40


@pytest.mark.parametrize("path", sorted(EXPECTED), ids=lambda p: p.name)
def test_real_file_loads_exactly_with_no_configuration(path):
    """Lines and £ total to the penny, nothing quarantined, with no overrides at all."""
    lines, total = EXPECTED[path]
    sf = read_spend_file(path)
    rows = _rows(sf)
    loaded = [r for r in rows if r["reject_reason"] is None]
    assert (len(loaded), len(rows) - len(loaded)) == (lines, 0)
    assert sum((r["amount_gbp"] for r in loaded), Decimal("0.00")) == total
    evidence = sf.column_evidence()
    assert {"amount_gbp"} <= set(evidence["column_map"]) and 0.5 <= evidence["confidence"] <= 1.0
    assert all(r["payment_date"] is not None and r["date_precision"] in ("day", "month", "quarter") for r in loaded)


def test_windsor_us_dates_are_read_month_first_because_the_content_proves_it():
    sf = read_spend_file(SPEND_MORE / "windsor-maidenhead_2009-q4_supplier-payments.csv")
    rows = _rows(sf)
    assert sf.column_map["payment_date"] == "Updated" and sf.date_format == "monthfirst"
    assert "month-first" in sf.column_evidence()["evidence"]["payment_date"]
    by_raw = {r["payment_date_raw"]: r["payment_date"] for r in rows}
    assert by_raw["10/7/2009"] == date(2009, 10, 7) and by_raw["11/26/2009"] == date(2009, 11, 26)
    # the next quarter, same publisher, went back to day-first: read day-first
    later = read_spend_file(SPEND_MORE / "windsor-maidenhead_2010-q1_supplier-payments.csv")
    assert later.date_format is None
    assert {r["payment_date"].month for r in _rows(later)} <= {1, 2, 3}


def test_workbook_reads_every_monthly_sheet_with_its_own_header():
    sf = read_spend_file(SPEND_MORE / "lancashire-pcc_2023-24_spend-over-500.xlsx")
    evidence = sf.column_evidence()
    assert len(evidence["sheets"]) == 12
    assert {s["column_map"]["amount_gbp"] for s in evidence["sheets"].values()} == {"TOTAL"}
    rows = _rows(sf)
    per_sheet = {}
    for r in rows:
        per_sheet[r["reject_reason"] is None] = per_sheet.get(r["reject_reason"] is None, 0) + 1
    assert per_sheet == {True: 9289}
    assert sf.stats["skipped_blank"] == 90  # the blank rows at the end of May and Nov
    # Excel serials typed as numbers in the date column are dates like their neighbours
    assert min(r["payment_date"] for r in rows) >= date(2023, 4, 1)
    assert max(r["payment_date"] for r in rows) <= date(2024, 3, 31)


# --------------------------------------------------------------------------- synthetic: roles


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_bare_net_beside_gross_and_vat_is_the_amount_and_the_header_is_found_by_shape(tmp_path):
    path = _write(
        tmp_path,
        "p.csv",
        "Payee,Date,Gross,VAT,Net\nACME LTD,01/04/2024,120.00,20.00,100.00\nBETA LTD,02/04/2024,60.00,10.00,50.00\n",
    )
    sf = read_spend_file(path)
    assert (sf.header_line, sf.column_map["amount_gbp"]) == (1, "Net")
    assert [r["amount_gbp"] for r in _rows(sf)] == [Decimal("100.00"), Decimal("50.00")]


def test_two_row_header_amount_over_gross_vat_net_takes_net(tmp_path):
    text = (
        "Supplier,Payment Date,Amount,,\n"
        ",,Gross,VAT,Net\n"
        "ACME LTD,01/04/2024,1076.00,76.00,1000.00\n"
        "BETA LTD,02/04/2024,120.00,20.00,100.00\n"
    )
    sf = read_spend_file(_write(tmp_path, "two.csv", text))
    assert sf.header_line == 2 and sf.column_map["amount_gbp"] == "Amount Net"
    assert sf.column_evidence()["evidence"]["header"] == "two-row header"
    assert sum(r["amount_gbp"] for r in _rows(sf)) == Decimal("1100.00")  # never the gross 1196.00


def test_unknown_header_names_are_found_by_content(tmp_path):
    text = (
        "Spend report\n"
        "Beneficiary Organisation,Clearing Date,Invoice Date,Invoiced Value,Cost Code\n"
        'ACME LTD,Friday, April 29, 2022,12/04/2022,"1,250.00",A100\n'
    ).replace("Friday, April 29, 2022", '"Friday, April 29, 2022"')
    text += 'BETA SERVICES,"Monday, May 2, 2022",20/04/2022,(250.00),A200\n'
    sf = read_spend_file(_write(tmp_path, "u.csv", text))
    assert sf.header_line == 2
    assert sf.column_map["payment_date"] == "Clearing Date"  # clearing beats invoice
    assert sf.column_map["amount_gbp"] == "Invoiced Value"
    assert sf.column_map["supplier_name"] == "Beneficiary Organisation"
    rows = _rows(sf)
    assert [r["payment_date"] for r in rows] == [date(2022, 4, 29), date(2022, 5, 2)]
    assert [r["amount_gbp"] for r in rows] == [Decimal("1250.00"), Decimal("-250.00")]


@pytest.mark.parametrize(
    ("columns", "want"),
    [
        (["GL Date", "Invoice Date"], "GL Date"),
        (["Invoice GL Date", "Invoice Date"], "Invoice GL Date"),
        (["Effective Date", "Payment Date"], "Payment Date"),
        (["Posting Date", "Clearing Date"], "Clearing Date"),
    ],
)
def test_date_preference(tmp_path, columns, want):
    text = f"Supplier,{columns[0]},{columns[1]},Amount\nACME LTD,01/04/2024,03/04/2024,10.00\n"
    assert read_spend_file(_write(tmp_path, "d.csv", text)).column_map["payment_date"] == want


def test_two_unnamed_amount_columns_are_ambiguous_and_the_message_names_both(tmp_path):
    text = "Supplier,Date,Col A,Col B\nACME LTD,01/04/2024,10.50,12.60\nBETA LTD,02/04/2024,3.50,4.20\n"
    with pytest.raises(SpendFileError) as exc:
        read_spend_file(_write(tmp_path, "amb.csv", text))
    message = str(exc.value)
    assert message.startswith("amb.csv: rejected: ambiguous amount")
    assert "'Col A'" in message and "'Col B'" in message and "column_map: {amount_gbp:" in message


def test_period_column_loads_at_month_precision_from_a_gzip(tmp_path):
    text = "Supplier Name,Period,Amount\nACME LTD,201009,10.00\nBETA LTD,201009,5.25\n"
    path = tmp_path / "spend.csv"
    path.write_bytes(gzip.compress(text.encode()))
    sf = read_spend_file(path)
    rows = _rows(sf)
    assert sf.date_kind == "period" and sf.compression == "gzip"
    assert {(r["payment_date"], r["date_precision"]) for r in rows} == {(date(2010, 9, 1), "month")}


def test_no_date_no_period_is_rejected_naming_header_roles_and_fix(tmp_path):
    with pytest.raises(SpendFileError) as exc:
        read_spend_file(_write(tmp_path, "payments.csv", "Supplier Name,Amount\nACME LTD,10.00\n"))
    message = str(exc.value)
    for part in (
        "payments.csv: rejected: no payment-date column",
        "Header seen (line 1): ['Supplier Name', 'Amount']",
        "amount_gbp = 'Amount'",
        "Roles missing: ['payment_date']",
        "spend_file_overrides",
        "period: 'YYYY-MM'",
    ):
        assert part in message


def test_title_row_gives_the_month_of_a_file_without_dates(tmp_path):
    text = "Payments to suppliers - June 2023,,\nSupplier Name,Reference,Amount\nACME LTD,R1,10.00\nBETA LTD,R2,2.00\n"
    sf = read_spend_file(_write(tmp_path, "x.csv", text))
    assert sf.period == (date(2023, 6, 1), date(2023, 6, 30)) and sf.period_source.startswith("title row 1")
    assert {r["date_precision"] for r in _rows(sf)} == {"month"}


# --------------------------------------------------------------------------- synthetic: lines


HEAD = "Supplier Name,Payment Date,Net Amount,Irrecoverable VAT,Company Number\n"


def test_unreadable_optional_field_is_a_warning_not_a_quarantine(tmp_path):
    text = HEAD + "ACME LTD,01/04/2024,10.00,Nil,Not yet available\nBETA LTD,02/04/2024,5.00,1.00,01234567\n"
    sf = read_spend_file(_write(tmp_path, "w.csv", text))
    first, second = _rows(sf)
    assert first["reject_reason"] is None and first["irrecoverable_vat_gbp"] is None
    assert "'Irrecoverable VAT': 'Nil' is not an amount" in first["field_warnings"]
    assert json.loads(first["raw_record"])["Irrecoverable VAT"] == "Nil"  # kept as published
    assert first["company_number"] == "Not yet available"
    assert second["field_warnings"] is None and second["irrecoverable_vat_gbp"] == Decimal("1.00")


def test_bad_lines_quarantined_totals_skipped_real_total_payee_loaded(tmp_path):
    text = HEAD + (
        "ACME LTD,01/04/2024,10.00,,\n"
        "EXTRA LTD,01/04/2024,7.00,,,shifted cell\n"  # more fields than the header: quarantined
        "HUGE LTD,01/04/2024,1e30,,\n"  # beyond DECIMAL(18,2): quarantined, no crash
        "Total Gas & Power,02/04/2024,99.00,,\n"  # a real payee
        "Sub-total,,116.00,,\n"  # a subtotal line: skipped
        "Grand Total,,215.00,,\n"
    )
    sf = read_spend_file(_write(tmp_path, "t.csv", text))
    for engine in ("python", "duckdb"):
        sf.engine = engine
        rows = _rows(sf)
        loaded = [r["supplier_name"] for r in rows if r["reject_reason"] is None]
        assert loaded == ["ACME LTD", "Total Gas & Power"]
        reasons = [r["reject_reason"] for r in rows if r["reject_reason"]]
        assert reasons[0] == "t.csv line 3, 6 fields, header has 5"
        assert "out of range for an amount" in reasons[1]
        assert sf.stats["skipped_total"] == 2


def test_one_stray_byte_does_not_make_a_utf8_file_cp1252(tmp_path):
    body = "".join(f"CAFÉ {i} LTD,01/04/2024,£{i}.00,,\n" for i in range(1, 30))
    data = HEAD.encode() + body.encode("utf-8") + b"NEVILLE\xb4S KITCHEN,02/04/2024,\xc2\xa35.00,,\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    sf = read_spend_file(path)
    rows = _rows(sf)
    assert sf.encoding == "utf-8" and sf.scan.mixed
    assert rows[0]["supplier_name"] == "CAFÉ 1 LTD"  # not 'CAFÃ‰'
    assert rows[-1]["supplier_name"] == "NEVILLE´S KITCHEN" and rows[-1]["amount_gbp"] == Decimal("5.00")
    assert "not UTF-8" in rows[-1]["field_warnings"] and rows[0]["field_warnings"] is None


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Friday, April 29, 2022", date(2022, 4, 29)),
        ("April 29, 2022", date(2022, 4, 29)),
        ("07 Jun 2018", date(2018, 6, 7)),
        ("Friday 29 April 2022", date(2022, 4, 29)),
        ("29th of April 2022", date(2022, 4, 29)),
    ],
)
def test_more_date_forms(raw, want):
    assert parse_date(raw) == (want, None)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("201009", (date(2010, 9, 1), date(2010, 9, 30))),
        ("November 2011", (date(2011, 11, 1), date(2011, 11, 30))),
        ("Q2 2010", (date(2010, 4, 1), date(2010, 6, 30))),
        ("July 2010-September 2010", (date(2010, 7, 1), date(2010, 9, 30))),
        ("04/03/2025", None),
        ("12345", None),
    ],
)
def test_parse_period(raw, want):
    assert parse_period(raw) == want


# --------------------------------------------------------------------------- limits (issue 16 item 1)

SMALL = Limits(max_decompressed_bytes=2_000_000, max_ratio=20, ratio_floor_bytes=100_000, max_line_chars=5_000)


@pytest.mark.parametrize(
    "payload", [b"\0" * 5_000_000, b"\n" * 5_000_000, HEAD.encode() * 200_000], ids=["zeros", "newlines", "repeats"]
)
def test_gzip_bomb_is_rejected_naming_the_file_and_the_limit(tmp_path, payload):
    path = tmp_path / "bomb.csv"
    path.write_bytes(gzip.compress(payload, 9))
    assert path.stat().st_size * SMALL.max_ratio < len(payload)
    with pytest.raises(SpendFileError) as exc:
        sf = read_spend_file(path, limits=SMALL)
        _rows(sf)
    message = str(exc.value)
    assert message.startswith("bomb.csv: rejected: the gzip data expands past")
    assert "PROCURE_SPEND_MAX_DECOMPRESSION_RATIO" in message


def test_long_line_and_too_many_fields_are_rejected(tmp_path):
    long_line = tmp_path / "long.csv"
    long_line.write_bytes(HEAD.encode() + b"A" * 20_000 + b"\n")
    with pytest.raises(SpendFileError, match=r"long\.csv line 2: rejected: the line is longer than 5,000"):
        read_spend_file(long_line, limits=SMALL)
    wide = tmp_path / "wide.csv"
    wide.write_bytes(HEAD.encode() + b"," * 3000 + b"\n")
    with pytest.raises(
        SpendFileError, match=r"wide\.csv line 2: rejected: the record has 3,001 fields.*limit of 1,000"
    ):
        read_spend_file(wide, limits=Limits())


def test_workbook_bomb_is_rejected_before_it_is_opened(tmp_path):
    import zipfile

    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b" " * 5_000_000)
    with pytest.raises(SpendFileError, match=r"book\.xlsx: rejected: the workbook expands to 5,000,011 bytes"):
        read_spend_file(path, limits=SMALL)


def test_limits_come_from_the_environment(monkeypatch):
    from procure.extract.sniff import default_limits

    monkeypatch.setenv("PROCURE_SPEND_MAX_LINE_CHARS", "123")
    monkeypatch.setenv("PROCURE_SPEND_MAX_DECOMPRESSION_RATIO", "7")
    limits = default_limits()
    assert (limits.max_line_chars, limits.max_ratio) == (123, 7)
    monkeypatch.setenv("PROCURE_SPEND_MAX_FIELDS", "lots")
    with pytest.raises(SpendFileError, match="PROCURE_SPEND_MAX_FIELDS='lots' must be a whole number"):
        default_limits()


def test_csv_module_reads_the_answers_the_same_way():
    """The craven answer by an independent count (csv module; its TOTAL row excluded)."""
    text = (SPEND_MORE / "craven_2017-03_payments-over-500.csv").read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    body = [r for r in rows[1:] if r and r[0].strip()]
    total = sum(Decimal(r[-1].replace(",", "")) for r in body)
    assert (len(body), total) == EXPECTED[SPEND_MORE / "craven_2017-03_payments-over-500.csv"]


# --------------------------------------------------------------------------- the loader: fail loudly


def _load(tmp_path, monkeypatch, path: Path, overrides: dict | None = None):
    from datetime import datetime

    from procure.config import Council
    from procure.extract.spend_loader import ingest_spend_files

    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    council = Council(id="testshire", name="Testshire", spend_dir=tmp_path, spend_overrides=overrides or {})
    db = tmp_path / "w.duckdb"
    [result] = ingest_spend_files(council, [path], "run-1", datetime(2025, 4, 1), db)
    return result, db


def _count(db: Path, sql: str) -> int:
    from procure.warehouse import connect

    con = connect(db, read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_file_with_too_many_bad_lines_is_rejected_and_its_lines_kept_in_quarantine(tmp_path, monkeypatch):
    good = "".join(f"ACME {i} LTD,0{i}/04/2024,10.00\n" for i in range(1, 8))
    bad = "".join(f"BETA {i} LTD,31/02/2024,5.00\n" for i in range(3))  # 3 of 10 (30 %) impossible dates
    path = _write(tmp_path, "april.csv", "Supplier Name,Payment Date,Net Amount\n" + good + bad)

    result, db = _load(tmp_path, monkeypatch, path)

    assert result.status == "rejected"
    assert result.reason.startswith("april.csv: rejected: 3 of 10 payment lines (30%) could not be read")
    assert "more than the 20% allowed" in result.reason and "'Payment Date'" in result.reason
    assert _count(db, "select count(*) from raw.spend_lines") == 0  # nothing loaded from it ...
    assert _count(db, "select count(*) from raw.spend_quarantine") == 10  # ... and nothing lost
    assert _count(db, "select count(*) from raw.spend_manifest where status = 'rejected'") == 1
    assert result.as_json()["column_map"]["payment_date"] == "Payment Date"

    # with a looser limit for this council, the same bytes are retried and load
    again, _ = _load(tmp_path, monkeypatch, path, {"max_quarantine_share": 0.5})
    assert (again.status, again.rows_loaded, again.rows_quarantined) == ("loaded", 7, 3)
    assert _count(db, "select count(*) from raw.spend_quarantine") == 3  # replaced, not doubled


def test_loaded_with_no_rows_is_impossible(tmp_path, monkeypatch):
    path = _write(tmp_path, "may.csv", "Supplier Name,Payment Date,Net Amount\nACME LTD,31/02/2024,10.00\n")
    # the column named by hand, every line quarantined, a limit that allows any share: still rejected
    overrides = {"max_quarantine_share": 1.0, "column_map": {"payment_date": "Payment Date"}}
    result, db = _load(tmp_path, monkeypatch, path, overrides)
    assert result.status == "rejected" and result.rows_loaded == 0
    assert _count(db, "select count(*) from raw.spend_quarantine") == 1
    assert _count(db, "select count(*) from raw.spend_files") == 0


def test_warnings_precision_and_evidence_reach_the_warehouse(tmp_path, monkeypatch):
    text = (
        "Payments for June 2023\nSupplier Name,Net Amount,Irrecoverable VAT\nACME LTD,10.00,Nil\nBETA LTD,5.00,1.00\n"
    )
    result, db = _load(tmp_path, monkeypatch, _write(tmp_path, "june.csv", text))
    assert (result.status, result.rows_loaded, result.rows_with_warnings) == ("loaded", 2, 1)
    from procure.warehouse import connect

    con = connect(db, read_only=True)
    try:
        lines = con.execute(
            "select payment_date::varchar, date_precision, field_warnings is not null from raw.spend_lines "
            "order by source_line"
        ).fetchall()
        evidence, confidence = con.execute("select column_evidence, map_confidence from raw.spend_files").fetchone()
    finally:
        con.close()
    assert lines == [("2023-06-01", "month", True), ("2023-06-01", "month", False)]
    assert "title row 1" in json.loads(evidence)["evidence"]["payment_date"] and 0 < confidence <= 1


def test_board_pack_quality_counts_period_dated_lines_and_lines_with_warnings(tmp_path, monkeypatch):
    from datetime import date as day

    from procure.config import Council
    from procure.publish.board_pack.figures import _collect_quality
    from procure.warehouse import connect

    june = (
        "Payments for June 2023\nSupplier Name,Net Amount,Irrecoverable VAT\nACME LTD,10.00,Nil\nBETA LTD,5.00,1.00\n"
    )
    july = "Supplier Name,Payment Date,Net Amount,Irrecoverable VAT\nGAMMA LTD,03/07/2023,7.00,Nil\n"
    ambiguous = "Supplier,Date,Col A,Col B\nACME LTD,01/07/2023,10.50,12.60\n"  # rejected: both lines kept
    bad_date = (
        "Supplier Name,Payment Date,Net Amount\n" + "ACME LTD,05/07/2023,1.00\n" * 9 + "BETA LTD,31/02/2023,2.00\n"
    )
    paths = [_write(tmp_path, n, t) for n, t in (("june.csv", june), ("july.csv", july), ("amb.csv", ambiguous))]
    paths.append(_write(tmp_path, "aug.csv", bad_date))  # loads with one line quarantined
    for path in paths:
        _load(tmp_path, monkeypatch, path)
    con = connect(tmp_path / "w.duckdb")
    try:  # the two dbt relations the section also reads, empty: no dbt run in a unit test
        con.execute("create schema if not exists marts; create schema if not exists staging")
        con.execute("create table marts.fct_contract_portfolio (council_id varchar, as_at_date date)")
        con.execute("create table staging.stg_contracts_finder__releases (buyer_name varchar, released_at timestamp)")
        quality = _collect_quality(con, Council(id="testshire", name="Testshire", spend_dir=tmp_path), day(2023, 7, 1))
    finally:
        con.close()
    assert (quality["accepted"], quality["period_dated"], quality["with_warnings"]) == (12, 2, 2)
    # the quarantine table lists the loaded files' lines only: it adds up to the rows quarantined
    assert [r["rows"] for r in quality["quarantine"]] == [quality["rejected"]] == [1]
    assert "31/02/2023" in quality["quarantine"][0]["reason"]


def test_month_first_order_proved_by_a_date_far_below_the_header(tmp_path):
    """A month of US dates in date order: only lines past the 150th have a day above 12. The
    values are profiled over the records read, not only the first ones, so the order is proved."""
    days = [1 + d * 12 // 150 for d in range(150)] + [13 + d * 16 // 100 for d in range(100)]
    body = "".join(f"SUPPLIER {i} LTD,04/{day:02d}/2024,{i}.50\n" for i, day in enumerate(days))
    sf = read_spend_file(_write(tmp_path, "us.csv", "Supplier Name,Payment Date,Net Amount\n" + body))
    rows = _rows(sf)
    assert sf.date_format == "monthfirst"
    assert [r["payment_date"] for r in rows] == [date(2024, 4, day) for day in days]
    assert {r["reject_reason"] for r in rows} == {None}
