"""The spend reader against all 30 real council files and small synthetic edge cases.

Real files live in ``$PROCURE_SHARED_DATA/spend`` (default ``../shared/data/real``
beside the repository); see PROVENANCE.md there for each file's quirks. Expected sums are
computed here independently with the csv module and Decimal, not with the reader.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import zipfile
from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from procure.extract.parse import parse_amount, parse_date
from procure.extract.spend_reader import (
    CANONICAL_FIELDS,
    ROW_FIELDS,
    STAT_KEYS,
    SpendFile,
    SpendFileError,
    load_aliases,
    read_spend_file,
)

SHARED = Path(
    os.environ.get(
        "PROCURE_SHARED_DATA",
        Path(__file__).resolve().parents[2] / "../shared/data/real",
    )
).resolve()
SPEND = SHARED / "spend"
needs_real = pytest.mark.skipif(
    not SPEND.is_dir(),
    reason=f"real council spend files not found at {SPEND} (set PROCURE_SHARED_DATA)",
)

# Hyndburn 2025-03 has no header row at the top (a header only appears as the LAST line):
# read with no overrides, like every other file (the last line names its columns).
HYNDBURN_2025_03 = "hyndburn_2025-03_spend-over-250_no-header.csv"

# file -> (records, accepted, rejected, blank rows skipped, header line). Records are the
# yielded rows: Devon 2025-12's total line and Hyndburn 2025-03's trailing header are
# skipped by kind (see SKIPPED), not counted here.
EXPECTED = {
    "darlington_2010-q2_payments-over-500_quarter-as-date.csv": (4104, 4104, 0, 0, 1),
    "darlington_2011-11_payments-over-500_sql-preamble.csv": (1233, 1233, 0, 2, 21),
    "devon_2012-10_spend-over-500_first400KB.csv": (2468, 2468, 0, 0, 1),
    "devon_2025-03_spend-over-500_first500KB.csv": (2825, 2825, 0, 0, 1),
    "devon_2025-04_spend-over-500_new-erp.csv": (237, 237, 0, 0, 1),
    "devon_2025-12_spend-over-500_padded-amounts.csv": (2164, 2164, 0, 0, 1),
    "hyndburn_2017-01_spend-over-250.csv": (180, 180, 0, 0, 1),
    "hyndburn_2019-06_spend-over-250_cr-line-endings.csv": (252, 252, 0, 0, 1),
    "hyndburn_2021-03_pcard_spend-over-250.csv": (389, 389, 0, 1055, 1),
    "hyndburn_2021-10_spend-over-250_plus-in-header.csv": (224, 224, 0, 465, 1),
    "hyndburn_2022-09_spend-over-250_pcard-only-stub.csv": (14, 14, 0, 1, 1),
    "hyndburn_2023-04_spend-over-250_no-header-trailing-commas.csv": (
        502,
        502,
        0,
        93,
        2,
    ),
    "hyndburn_2023-06_spend-over-250_bom-blank-first-row.csv": (547, 547, 0, 0, 2),
    "hyndburn_2024-01_spend-over-250.csv": (532, 532, 0, 0, 1),
    "hyndburn_2024-03_spend-over-250_new-erp-layout.csv": (658, 658, 0, 0, 1),
    "hyndburn_2024-10_spend-over-250_interleaved-empty-columns.csv": (
        587,
        587,
        0,
        1,
        1,
    ),
    HYNDBURN_2025_03: (888, 888, 0, 0, None),
    "hyndburn_2025-08_spend-over-250.csv": (551, 551, 0, 0, 1),
    "hyndburn_2026-01_spend-over-250.csv": (446, 446, 0, 0, 1),
    "leeds_2010-12_spending_first300KB.csv": (1324, 1324, 0, 0, 1),
    "leeds_2011-04_spending_trailing-commas_first600KB.csv": (2512, 2512, 0, 0, 1),
    "leeds_2013-04_spending_camelcase-header_first600KB.csv": (2711, 2711, 0, 0, 1),
    "newcastle_2010-08_invoices-over-500_title-rows.csv": (4302, 4302, 0, 0, 3),
    "newcastle_2017-01_invoices-over-250_title-rows_first600KB.csv": (
        3709,
        3709,
        0,
        0,
        3,
    ),
    "northtyneside_2015-11_spend_first600KB.csv": (3082, 3082, 0, 0, 1),
    "oxford_2014-q2_expenditure-over-500_time-not-date.csv": (3836, 3836, 0, 0, 1),
    "oxford_2015-q1_expenditure-over-500.csv": (3864, 3864, 0, 0, 1),
    "oxford_2016-q2_expenditure-over-500_snake-case-header.csv": (3335, 3335, 0, 0, 1),
    "oxford_2018-q1_expenditure-over-500.csv": (1220, 1220, 0, 0, 1),
    "trafford_2026-27_supplier-spend_first4000lines.csv": (3999, 3999, 0, 0, 1),
}
NO_DATE_COLUMN = {  # every line takes the period of a title row or the file name
    "darlington_2011-11_payments-over-500_sql-preamble.csv",
    "oxford_2014-q2_expenditure-over-500_time-not-date.csv",
}
SKIPPED = {  # file -> (repeated header rows, total lines)
    HYNDBURN_2025_03: (1, 0),
    "devon_2025-12_spend-over-500_padded-amounts.csv": (0, 1),
}
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/real_spend_expected.csv"


def _as_dicts(batch) -> list[dict]:
    return batch if isinstance(batch, list) else batch.to_pylist()


@cache
def _read(name: str, engine: str = "auto") -> tuple[SpendFile, tuple[dict, ...]]:
    sf = read_spend_file(SPEND / name)
    sf.engine = engine
    rows = tuple(r for batch in sf.iter_batches() for r in _as_dicts(batch))
    return sf, rows


def _physical_lines(path: Path, encoding: str) -> list[str]:
    """The file split on CRLF, LF and bare CR, as PROVENANCE.md counts lines."""
    return re.split(r"\r\n|\r|\n", path.read_bytes().decode(encoding))


# --------------------------------------------------------------------------- real files


@needs_real
def test_all_thirty_real_files_are_covered():
    assert sorted(p.name for p in SPEND.glob("*.csv")) == sorted(EXPECTED)


@needs_real
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_reads_and_accounts_for_every_record(name):
    sf, rows = _read(name)
    records, accepted, rejected, blank, header_line = EXPECTED[name]
    repeated, totals = SKIPPED.get(name, (0, 0))
    st = sf.stats
    assert set(st) == {*STAT_KEYS, "records", "blank_lines_skipped"}
    assert (st["accepted"], st["rejected"], st["skipped_blank"]) == (accepted, rejected, blank)
    assert (st["skipped_repeated_header"], st["skipped_total"]) == (repeated, totals)
    assert st["records"] == st["accepted"] + st["rejected"] == len(rows) == records
    assert st["blank_lines_skipped"] == st["skipped_blank"]
    # every record is accounted for; preamble records are the records before the header
    assert st["rows_read"] == sum(st[k] for k in STAT_KEYS if k != "rows_read")
    assert (st["skipped_preamble"] > 0) == bool(header_line and header_line > 1)
    assert st["skipped_preamble"] <= (header_line or 1) - 1
    assert sf.header_line == header_line
    assert sf.preamble_lines == (header_line - 1 if header_line else 0)
    assert len(sf.sha256) == 64 and sf.compression == "none"

    assert "amount_gbp" in sf.column_map
    if name in NO_DATE_COLUMN:
        assert "payment_date" not in sf.column_map
    else:
        assert "payment_date" in sf.column_map
    assert set(sf.column_map.values()) <= set(sf.original_columns)
    assert len(set(sf.original_columns)) == len(sf.original_columns)

    lines = [r["source_line"] for r in rows]
    assert lines == sorted(set(lines)) and lines[0] > (header_line or 0)
    assert [r["record_index"] for r in rows] == list(range(len(rows)))
    for r in rows:
        assert tuple(r) == ROW_FIELDS == (*CANONICAL_FIELDS, "reject_field")
        assert isinstance(json.loads(r["raw_record"]), dict)
        assert (r["reject_field"] is None) or r["reject_field"] in sf.original_columns
        if r["reject_reason"] is None:
            assert r["reject_field"] is None
            assert isinstance(r["amount_gbp"], Decimal) and r["amount_gbp"].as_tuple().exponent == -2
            assert isinstance(r["payment_date"], date)
            assert r["is_credit"] == (r["amount_gbp"] < 0)
        else:
            assert r["reject_reason"].startswith(f"{name} line {r['source_line']}, ")


@needs_real
def test_headerless_file_takes_its_column_names_from_its_last_line_and_skips_it():
    sf, rows = _read(HYNDBURN_2025_03)
    assert sf.header_line is None and sf.original_columns[0] == "Department Area"
    assert sf.column_map["amount_gbp"] == "Amount Paid" and sf.column_map["payment_date"] == "Payment Date"
    assert "column names from line 983" in sf.column_evidence()["evidence"]["header"]
    assert not [r for r in rows if r["reject_reason"]]
    assert sf.stats["skipped_repeated_header"] == 1 and 983 not in {r["source_line"] for r in rows}
    assert rows[-1]["source_line"] < 983
    first = rows[0]
    assert (first["supplier_name"], first["payment_date"], first["amount_gbp"]) == (
        "Rhea Projects",
        date(2025, 3, 4),
        Decimal("2730.00"),
    )


def _independent_sum(path: Path, encoding: str, header_line: int, amount_col: str) -> tuple[Decimal, int]:
    text = path.read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = list(reader)[header_line - 1 :]
    idx = rows[0].index(amount_col)
    total, n = Decimal(0), 0
    for row in rows[1:]:
        if any(c.strip() for c in row):
            total += Decimal(row[idx].replace(",", "").replace("£", "").strip())
            n += 1
    return total, n


@needs_real
@pytest.mark.parametrize(
    ("name", "encoding", "amount_col"),
    [
        ("hyndburn_2017-01_spend-over-250.csv", "cp1252", "Net Amount(£)"),
        (
            "hyndburn_2023-06_spend-over-250_bom-blank-first-row.csv",
            "utf-8-sig",
            "Net Amount (£)",
        ),
        ("hyndburn_2024-03_spend-over-250_new-erp-layout.csv", "cp1252", "Amount Paid"),
        (
            "leeds_2013-04_spending_camelcase-header_first600KB.csv",
            "ascii",
            "NetAmount",
        ),
    ],
)
def test_accepted_amounts_reconcile_exactly(name, encoding, amount_col):
    sf, rows = _read(name)
    expected, n = _independent_sum(SPEND / name, encoding, sf.header_line, amount_col)
    assert n == len(rows)
    assert sum(r["amount_gbp"] for r in rows if r["reject_reason"] is None) == expected
    assert sf.encoding == encoding or (encoding == "ascii" and sf.encoding == "utf-8")


@needs_real
def test_devon_padded_amounts_sum_to_the_published_total_line():
    name = "devon_2025-12_spend-over-500_padded-amounts.csv"
    sf, rows = _read(name)
    assert not [r for r in rows if r["reject_reason"]]
    assert sf.stats["skipped_total"] == 1
    last_line = _physical_lines(SPEND / name, "utf-8-sig")[-2]  # the file ends with a line break
    assert (
        "38360526.29" in last_line.replace(",", "")
        and rows[-1]["source_line"] < len(_physical_lines(SPEND / name, "utf-8-sig")) - 1
    )
    assert sum(r["amount_gbp"] for r in rows if r["reject_reason"] is None) == Decimal("38360526.29")
    assert sf.column_map["amount_gbp"] == " Amount "
    assert rows[0]["amount_gbp"] == Decimal("519.95") and rows[0]["amount_raw"] == "519.95"


@needs_real
def test_devon_float_artefacts_quantise_to_pence():
    _, rows = _read("devon_2025-03_spend-over-500_first500KB.csv")
    by_raw = {r["amount_raw"]: r for r in rows}
    assert by_raw["977.5999999999999"]["amount_gbp"] == Decimal("977.60")
    assert by_raw["-857.0000000000001"]["amount_gbp"] == Decimal("-857.00")
    assert by_raw["-857.0000000000001"]["is_credit"]
    assert by_raw["977.5999999999999"]["payment_date"] == date(2025, 3, 3)  # "2025-03-03 00:00:00"


@needs_real
def test_hyndburn_2017_exact_duplicate_rows_are_both_kept():
    name = "hyndburn_2017-01_spend-over-250.csv"
    _, rows = _read(name)
    lines = _physical_lines(SPEND / name, "cp1252")[1:]
    expected_dups = {line: n for line, n in Counter(ln for ln in lines if ln).items() if n > 1}
    assert len(expected_dups) == 2
    got = Counter(r["raw_record"] for r in rows)
    assert sorted(n for n in got.values() if n > 1) == sorted(expected_dups.values())


@needs_real
def test_redaction_whole_phrases_not_redactive_publishing():
    _, oxford = _read("oxford_2014-q2_expenditure-over-500_time-not-date.csv")
    spellings = Counter(r["supplier_name"] for r in oxford if r["is_redacted"])
    assert spellings == {
        "Redacted personal information": 72,
        "Redacted personal data": 7,
        "Redacted": 2,
    }

    _, hyndburn = _read(HYNDBURN_2025_03)
    redactive = [r for r in hyndburn if r["supplier_name"] == "Redactive Publishing Ltd"]
    assert redactive and not any(r["is_redacted"] for r in redactive)
    _, oxford16 = _read("oxford_2016-q2_expenditure-over-500_snake-case-header.csv")
    redactive = [r for r in oxford16 if (r["supplier_name"] or "").startswith("REDACTIVE PUBLISHING")]
    assert redactive and not any(r["is_redacted"] for r in redactive)

    _, devon = _read("devon_2012-10_spend-over-500_first400KB.csv")  # redacted invoice numbers
    assert sum(r["is_redacted"] for r in devon) == 2210


@needs_real
def test_oxford_midnight_time_is_not_a_date_so_the_file_name_gives_the_quarter():
    """'Paid Date' holds only '00:00:00' (the date was lost on export): it is not read as a date
    (never midnight today); the lines take the quarter the file name gives, at quarter precision."""
    name = "oxford_2014-q2_expenditure-over-500_time-not-date.csv"
    sf, rows = _read(name)
    assert "payment_date" not in sf.column_map and sf.period == (date(2014, 4, 1), date(2014, 6, 30))
    assert "file name" in sf.column_evidence()["evidence"]["payment_date"]
    assert {(r["payment_date"], r["date_precision"]) for r in rows} == {(date(2014, 4, 1), "quarter")}
    assert json.loads(rows[0]["raw_record"])["Paid Date"] == "00:00:00"  # kept as published
    assert rows[0]["amount_gbp"] == Decimal("1500.00")


@needs_real
def test_darlington_quarter_column_loads_at_quarter_precision():
    sf, rows = _read("darlington_2010-q2_payments-over-500_quarter-as-date.csv")
    assert sf.date_kind == "period" and sf.column_map["payment_date"] == "Date"
    assert {(r["payment_date"], r["date_precision"]) for r in rows} == {(date(2010, 7, 1), "quarter")}
    assert rows[0]["payment_date_raw"] == "July 2010-September 2010" and rows[0]["amount_gbp"] == Decimal("1142.00")


@needs_real
def test_darlington_sql_preamble_and_the_month_from_its_title_row():
    sf, rows = _read("darlington_2011-11_payments-over-500_sql-preamble.csv")
    assert (sf.header_line, sf.preamble_lines, sf.encoding) == (21, 20, "cp1252")
    assert sf.original_columns[:4] == ["col_1", "col_2", "Directotate", "Service"]
    assert sf.column_map["amount_gbp"] == "Invoice Line Value (net of VAT)"
    assert sf.period == (date(2011, 11, 1), date(2011, 11, 30)) and sf.period_source.startswith("title row 17")
    assert rows[0]["source_line"] == 22 and rows[0]["amount_gbp"] == Decimal("1000.00")
    assert {(r["payment_date"], r["date_precision"]) for r in rows} == {(date(2011, 11, 1), "month")}


@needs_real
def test_cr_only_file_yields_one_record_per_cr_line():
    name = "hyndburn_2019-06_spend-over-250_cr-line-endings.csv"
    _, rows = _read(name)
    assert len(rows) == 252
    assert rows[-1]["source_line"] == 253
    assert rows[0]["description"] == "AGENCY STAFF  WK 5.5.19"


@needs_real
def test_embedded_newlines_keep_source_line_at_record_start():
    name = "hyndburn_2024-03_spend-over-250_new-erp-layout.csv"
    _, rows = _read(name)
    physical = _physical_lines(SPEND / name, "cp1252")
    multi = [(i, r) for i, r in enumerate(rows) if any("\n" in v for v in json.loads(r["raw_record"]).values())]
    assert len(multi) >= 20
    for i, r in multi:
        cells = list(json.loads(r["raw_record"]).values())
        assert physical[r["source_line"] - 1].startswith(cells[0])
        breaks = sum(v.count("\n") for v in cells)
        if i + 1 < len(rows):
            assert rows[i + 1]["source_line"] == r["source_line"] + breaks + 1


@needs_real
def test_hyndburn_pcard_and_pound_prefixed_amounts():
    _, rows = _read("hyndburn_2024-03_spend-over-250_new-erp-layout.csv")
    assert rows[0]["transaction_number"] == "P-CARD- MAR 24" and rows[0]["is_pcard"]
    assert rows[0]["amount_gbp"] == Decimal("322.50") and rows[0]["amount_raw"] == "£322.50"
    assert rows[-1]["amount_gbp"] == Decimal("3128.02")  # "£3,128.02" in cp1252
    _, pcard = _read("hyndburn_2021-03_pcard_spend-over-250.csv")
    assert sum(r["is_pcard"] for r in pcard) == 14
    assert pcard[0]["payment_date"] == date(2021, 2, 17)  # 17/02/21


@needs_real
def test_trafford_maps_payment_date_not_effective_date_and_reads_na_as_null():
    sf, rows = _read("trafford_2026-27_supplier-spend_first4000lines.csv")
    assert sf.column_map["payment_date"] == "PaymentDate"
    assert sf.column_map["irrecoverable_vat_gbp"] == "IrrecoverableVATAmount"
    assert rows[0]["payment_date"] == date(2026, 5, 29) and rows[1]["proclass_code"] is None
    assert rows[0]["irrecoverable_vat_gbp"] == Decimal("0.00")
    assert sum(r["is_credit"] for r in rows) == 282


# --------------------------------------------------------------------------- synthetic

HEADER = "Supplier Name,Payment Date,Net Amount (£),Transaction Number\r\n"
ROWS = 'ACME LTD,01/04/2024,"£1,234.00",\r\nREDACTED,02/04/2024,"(250.50)",P-CARD APR\r\n'


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rows(sf: SpendFile, batch_rows: int = 50_000) -> list[dict]:
    return [r for batch in sf.iter_batches(batch_rows) for r in _as_dicts(batch)]


def test_gzip_with_misleading_txt_extension(tmp_path):
    content = (HEADER + "ACME LTD,01/04/2024,1234.00,T1\r\n").encode("cp1252")
    path = _write(tmp_path, "spend.txt", gzip.compress(content))
    sf = read_spend_file(path)
    assert (sf.compression, sf.encoding) == ("gzip", "cp1252")
    (row,) = _rows(sf)
    assert row["amount_gbp"] == Decimal("1234.00") and row["supplier_name"] == "ACME LTD"
    import hashlib

    assert sf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # of the bytes on disk


def test_zip_reads_the_first_csv_member(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.md", "not data")
        zf.writestr("spend.csv", (HEADER + "ACME LTD,2024-04-01,99,T1\r\n").encode("utf-8"))
    sf = read_spend_file(_write(tmp_path, "download.txt", buf.getvalue()))
    (row,) = _rows(sf)
    assert sf.compression == "zip" and row["payment_date"] == date(2024, 4, 1)
    assert row["amount_gbp"] == Decimal("99.00")


def test_cp437_pound_sign(tmp_path):
    text = "Supplier Name,Payment Date,Net Amount (£)\r\nCAFÉ LTD,3 Apr 2023,£492.00\r\n"
    sf = read_spend_file(_write(tmp_path, "dos.csv", text.encode("cp437")))
    (row,) = _rows(sf)
    assert sf.encoding == "cp437" and sf.column_map["amount_gbp"] == "Net Amount (£)"
    assert row["amount_gbp"] == Decimal("492.00") and row["supplier_name"] == "CAFÉ LTD"


def test_double_encoded_utf8_pound_is_repaired(tmp_path):
    text = "Supplier Name,Payment Date,Net Amount (£),Description\nACME,05-Oct-21,£540,Fee £5 café\n"
    mojibake = text.encode("utf-8").decode("cp1252").encode("utf-8")
    assert b"\xc3\x82\xc2\xa3" in mojibake
    sf = read_spend_file(_write(tmp_path, "mojibake.csv", mojibake))
    (row,) = _rows(sf)
    assert sf.double_encoded and sf.column_map["amount_gbp"] == "Net Amount (£)"
    assert row["amount_gbp"] == Decimal("540.00") and row["description"] == "Fee £5 café"
    assert json.loads(row["raw_record"])["Net Amount (£)"] == "Â£540"  # raw kept as decoded


def test_bare_cr_line_endings_and_blank_rows(tmp_path):
    text = "Title row\r,,,\r" + HEADER.replace("\r\n", "\r") + ROWS.replace("\r\n", "\r") + ",,,\r"
    sf = read_spend_file(_write(tmp_path, "mac.csv", text.encode("cp1252")))
    rows = _rows(sf)
    assert (sf.header_line, sf.preamble_lines) == (3, 2)
    assert [r["source_line"] for r in rows] == [4, 5]
    assert sf.stats == {
        "rows_read": 5,
        "accepted": 2,
        "rejected": 0,
        "skipped_blank": 1,
        "skipped_preamble": 2,
        "skipped_repeated_header": 0,
        "skipped_total": 0,
        "records": 2,
        "blank_lines_skipped": 1,
    }
    assert rows[0]["amount_gbp"] == Decimal("1234.00") and not rows[0]["is_redacted"]
    assert rows[1]["amount_gbp"] == Decimal("-250.50") and rows[1]["is_credit"]
    assert rows[1]["is_redacted"] and rows[1]["is_pcard"]


def test_headerless_file_is_read_from_its_values_or_a_columns_override(tmp_path):
    path = _write(
        tmp_path,
        "noheader.csv",
        b'ACME LTD,,04/03/2025,"2,730.00"\nBETA SERVICES LTD,,05/03/2025,12.00\nGAMMA PLC,,06/03/2025,7.5\n',
    )
    sf = read_spend_file(path)  # no names: the roles come from the values alone
    assert sf.header_line is None
    assert (sf.column_map["supplier_name"], sf.column_map["payment_date"], sf.column_map["amount_gbp"]) == (
        "col_1",
        "col_3",
        "col_4",
    )
    assert [r["amount_gbp"] for r in _rows(sf)] == [Decimal("2730.00"), Decimal("12.00"), Decimal("7.50")]
    sf = read_spend_file(
        path,
        overrides={"columns": ["supplier_name", None, "payment_date", "amount_gbp"]},
    )
    rows = _rows(sf)
    assert sf.header_line is None and sf.column_map["amount_gbp"] == "col_4"
    assert [r["amount_gbp"] for r in rows] == [Decimal("2730.00"), Decimal("12.00"), Decimal("7.50")]
    assert json.loads(rows[0]["raw_record"]) == {
        "col_1": "ACME LTD",
        "col_3": "04/03/2025",
        "col_4": "2,730.00",
    }


def test_header_line_column_map_delimiter_and_date_format_overrides(tmp_path):
    text = "Our export\nWho|When|Paid|Ref\nACME|2024.04.01|10.5|X1\nBETA|oops|x|X2\n"
    path = _write(tmp_path, "piped.csv", text.encode())
    with pytest.raises(SpendFileError) as exc:  # 'When' names no date and half its values are not dates
        read_spend_file(path)
    assert str(exc.value).startswith("piped.csv: rejected: no payment-date column")
    assert "Header seen (line 2): ['Who', 'When', 'Paid', 'Ref']" in str(exc.value)
    assert "amount_gbp = 'Paid'" in str(exc.value) and "column_map: {payment_date:" in str(exc.value)
    sf = read_spend_file(
        path,
        overrides={
            "header_line": 2,
            "date_format": "%Y.%m.%d",
            "column_map": {
                "supplier_name": "Who",
                "payment_date": "When",
                "amount_gbp": "Paid",
            },
        },
    )
    good, bad = _rows(sf)
    assert sf.delimiter == "|" and good["payment_date"] == date(2024, 4, 1) and good["reject_reason"] is None
    assert bad["reject_reason"] == (
        "piped.csv line 4, field 'When': 'oops' does not match date_format '%Y.%m.%d'; "
        "field 'Paid': 'x' is not an amount"
    )


def test_unknown_override_and_column_are_clear_errors(tmp_path):
    path = _write(tmp_path, "s.csv", (HEADER + "A,01/01/2024,1,T\r\n").encode())
    with pytest.raises(SpendFileError, match=r"unknown override\(s\) \['encodnig'\]"):
        read_spend_file(path, overrides={"encodnig": "cp1252"})
    with pytest.raises(SpendFileError, match="'Nope' is not a column of this file"):
        read_spend_file(path, overrides={"column_map": {"amount_gbp": "Nope"}})


def test_batches_stream_in_requested_sizes(tmp_path):
    body = "".join(f"S{i},01/04/2024,{i}.00,T{i}\r\n" for i in range(250))
    sf = read_spend_file(_write(tmp_path, "many.csv", (HEADER + body).encode()))
    for engine in ("python", "auto", "duckdb"):
        sf.engine = engine
        sizes = [len(b) if isinstance(b, list) else b.num_rows for b in sf.iter_batches(batch_rows=100)]
        assert sizes == [100, 100, 50] and sf.stats["accepted"] == 250
        assert sf.engine_used == ("duckdb" if engine == "duckdb" else "python")  # auto: small file


def test_extended_alias_table_is_used(tmp_path):
    path = _write(
        tmp_path,
        "odd.csv",
        b"Moniker,Payment Date,Amount\nACME,01/04/2024,5\n",
    )
    assert "supplier_name" not in read_spend_file(path).column_map  # no payee word, no company-like values
    base = (Path(__file__).resolve().parents[2] / "config/spend_column_aliases.yml").read_text()
    custom = tmp_path / "aliases.yml"
    custom.write_text(base.replace("supplier_name:\n", "supplier_name:\n  - moniker\n", 1))
    sf = read_spend_file(path, aliases_path=custom)
    assert sf.column_map["supplier_name"] == "Moniker"
    custom.write_text("amout_gbp: [amount]\n")
    with pytest.raises(SpendFileError, match=r"unknown key\(s\) \['amout_gbp'\]"):
        read_spend_file(path, aliases_path=custom)


@pytest.mark.parametrize(
    ("cell", "redacted"),
    [
        ("REDACTED", True),
        ("Redacted personal information", True),
        ("REDACTED UNDER DP ACT", True),
        ("Personal data", True),
        ("withheld", True),
        ("Name withheld", True),
        ("*****", True),
        ("  Redacted Personal Data  ", True),
        ("REDACTIVE PUBLISHING LTD", False),
        ("REDACTIVE PUBLISHING LIMITED   ", False),
        ("Personal Data Protection Services Ltd", False),
        ("ACME LTD", False),
    ],
)
def test_redaction_patterns(cell, redacted):
    assert (load_aliases().redaction.search(cell) is not None) is redacted


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("£1,234.00", "1234.00"),
        ("(3728)", "-3728.00"),
        (" 507.50 ", "507.50"),
        ("0142.", "142.00"),
        ("1,708.75", "1708.75"),
        ("-1,384.00", "-1384.00"),
        ("977.5999999999999", "977.60"),
        ("1424", "1424.00"),
        ("Â£43.20", "43.20"),
        ("12.345", "12.35"),
    ],
)
def test_parse_amount(raw, expected):
    assert parse_amount(raw) == (Decimal(expected), None)


@pytest.mark.parametrize("raw", ["Amount Paid", "1,23,4", "NaN", "", "12..5"])
def test_parse_amount_rejects(raw):
    value, problem = parse_amount(raw)
    assert value is None and problem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04/01/2017", date(2017, 1, 4)),
        ("17/02/21", date(2021, 2, 17)),
        ("05-Oct-21", date(2021, 10, 5)),
        ("3 Apr 2023", date(2023, 4, 3)),
        ("06-Apr-2011", date(2011, 4, 6)),
        ("2026-05-29", date(2026, 5, 29)),
        ("2025-03-03 00:00:00", date(2025, 3, 3)),
        ("45000", date(2023, 3, 15)),  # Excel serial
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("00:00:00", "is a time with no date"),
        ("July 2010-September 2010", "is a period"),
        ("31/02/2024", "not a real calendar date"),
        ("12/MCL/3156", "not a recognised date"),
        ("", "blank"),
    ],
)
def test_parse_date_problems(raw, problem):
    value, message = parse_date(raw)
    assert value is None and problem in message


# --------------------------------------------------------------------------- hand-written fixture


def _fixture() -> dict[str, dict[str, str]]:
    with FIXTURE.open(encoding="utf-8", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


@needs_real
def test_fixture_covers_every_real_file():
    assert sorted(_fixture()) == sorted(p.name for p in SPEND.glob("*.csv"))


@needs_real
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_matches_hand_written_counts_and_totals(name):
    """tests/fixtures/real_spend_expected.csv was derived by reading each file (see its column)."""
    want = _fixture()[name]
    sf, rows = _read(name)
    loaded = [r for r in rows if r["reject_reason"] is None]
    assert len(rows) == int(want["data_rows"])
    assert (len(loaded), sf.stats["rejected"]) == (int(want["loaded"]), int(want["quarantined"]))
    assert sum((r["amount_gbp"] for r in loaded), Decimal("0.00")) == Decimal(want["amount_total_gbp"])
    assert str(sf.header_line or "") == want["header_line"]


# --------------------------------------------------------------------------- both engines


@needs_real
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_duckdb_fast_path_gives_the_python_rows(name):
    """Where a file qualifies for the DuckDB path, rows, rejects and stats equal the Python path's."""
    sf_py, py = _read(name, "python")
    sf_auto, auto = _read(name, "duckdb")
    assert sf_py.engine_used == "python"
    assert auto == py
    assert sf_auto.stats == sf_py.stats


@needs_real
def test_most_real_files_take_the_fast_path():
    used = {name: _read(name, "duckdb")[0].engine_used for name in EXPECTED}
    fast = sorted(n for n, e in used.items() if e == "duckdb")
    assert len(fast) >= 15, used
    # files with bare CR, embedded line breaks or empty lines stay on the Python path
    assert used["hyndburn_2019-06_spend-over-250_cr-line-endings.csv"] == "python"
    assert used["hyndburn_2024-03_spend-over-250_new-erp-layout.csv"] == "python"


def test_fast_path_rows_needing_python_keep_their_order_and_reasons(tmp_path):
    body = (
        "ACME LTD,01/04/2024,12.50,T1\n"
        "BETA LTD,2024-04-02T10:00:00,(3728),T2\n"  # ISO with time, parenthesised credit
        "GAMMA LTD,3 Apr 2023,\u00a0507.50,T3\n"  # NBSP: rebuilt in Python, same value
        "DELTA LTD,31/02/2024,5.00,T4\n"  # not a calendar date: rejected
        "EPS LTD,05-Oct-21,1.0e3,P-CARD X\n"  # exponent: Python parser; p-card
        ",,,\n"
        "\t,,,\n"  # tab-only: blank, via Python
        ",,99.00,\n"  # total line
        "Supplier Name,Payment Date,Net Amount (£),Transaction Number\n"  # repeated header
        'ZETA "Q" LTD,45000,"1,000.00",T9\n'  # Excel serial date, quotes in raw JSON
    )
    path = _write(tmp_path, "mixed.csv", (HEADER.replace("\r\n", "\n") + body).encode())
    sf = read_spend_file(path)
    sf.engine = "python"
    py = _rows(sf)
    py_stats = dict(sf.stats)
    sf.engine = "duckdb"
    fast = _rows(sf, batch_rows=3)
    assert sf.engine_used == "duckdb"
    assert fast == py and sf.stats == py_stats
    assert [r["source_line"] for r in fast] == [2, 3, 4, 5, 6, 11]
    assert [r["record_index"] for r in fast] == list(range(6))
    assert [r["amount_gbp"] for r in fast] == [
        Decimal(x) for x in ("12.50", "-3728.00", "507.50", "5.00", "1000.00", "1000.00")
    ]
    assert fast[3]["reject_field"] == "Payment Date" and "not a real calendar date" in fast[3]["reject_reason"]
    assert fast[4]["is_pcard"] and json.loads(fast[5]["raw_record"])["Supplier Name"] == 'ZETA "Q" LTD'
    assert (sf.stats["skipped_blank"], sf.stats["skipped_total"], sf.stats["skipped_repeated_header"]) == (2, 1, 1)


@pytest.mark.parametrize(
    ("char", "encoding"),
    [
        ("\t", "utf-8"),
        ("\x0b", "utf-8"),
        ("\x1f", "utf-8"),
        ("\u0085", "utf-8"),
        ("\u00a0", "utf-8"),
        ("\u00a0", "cp1252"),
        ("\u1680", "utf-8"),
        ("\u2003", "utf-8"),
        ("\u205f", "utf-8"),
        ("\u3000", "utf-8"),
        ("", "utf-8"),
        ("", "cp1252"),
    ],
)
def test_fast_path_skips_the_spacing_check_only_for_files_without_odd_spacing(tmp_path, char, encoding):
    """The sniffer's byte check lets the DuckDB path drop its per-row whitespace regex; a
    supplier name ending in a tab, NBSP or other Unicode space must still come out stripped
    (and a control character escaped in raw_record) exactly as the Python path does."""
    body = f"ACME LTD{char},01/04/2024,12.50,T1\nBETA \u20acLTD,02/04/2024,3.00,T2\n" if encoding == "utf-8" else ""
    body = body or f"ACME LTD{char},01/04/2024,12.50,T1\nBETA LTD,02/04/2024,3.00,T2\n"
    path = _write(tmp_path, "spacing.csv", (HEADER.replace("\r\n", "\n") + body).encode(encoding))
    sf = read_spend_file(path)
    assert sf.scan.plain_spacing is (char == "")
    sf.engine = "python"
    py = _rows(sf)
    sf.engine = "duckdb"
    fast = _rows(sf)
    assert sf.engine_used == "duckdb"
    assert fast == py
    assert [r["supplier_name"] for r in fast] == ["ACME LTD", "BETA \u20acLTD" if encoding == "utf-8" else "BETA LTD"]


@pytest.mark.parametrize(
    "body",
    [b"", b",,,\r\n\r\n", b",,99.00,\r\n"],
    ids=["header-only", "only-blank-rows", "only-a-total-line"],
)
def test_file_without_payment_lines_is_rejected(tmp_path, body):
    path = _write(tmp_path, "empty_month.csv", HEADER.encode("cp1252") + body)
    sf = read_spend_file(path)
    for engine in ("python", "duckdb"):
        sf.engine = engine
        with pytest.raises(SpendFileError, match=r"empty_month\.csv: no payment lines: 0 data rows after the header"):
            _rows(sf)


def _bench_generate():
    """bench/generate.py (the benchmark's generator; bench/work itself is not in git)."""
    import importlib.util
    import sys

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_generate", root / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generated_bench_files_take_the_fast_path_with_the_python_rows(tmp_path):
    """A year of one generated council (cp1252, CRLF, header drift, a title row and a blank
    line above the header in one month): every file is read by DuckDB, straight from the
    file (no transcoded copy), and gives exactly the Python path's rows and stats."""
    from procure.extract import spend_fast

    gen = _bench_generate()
    months = gen.month_starts(date(2024, 4, 1), 12)
    written = gen.generate_council(tmp_path, "c000", "Bench 000 District Council", months, 6_000, seed=11)
    paths = [Path(f["path"]) for f in written["files"]]
    assert len(paths) == 12
    preambles, encodings = 0, set()
    for path in paths:
        sf = read_spend_file(path)
        encodings.add(sf.encoding)
        preambles += (sf.header_line or 0) > 1
        plan = spend_fast.fast_plan(sf)
        direct = "latin-1" if sf.encoding == "cp1252" else "utf-8"  # ASCII-only months sniff as UTF-8
        assert plan is not None and (plan.encoding, plan.temporary, plan.source) == (direct, False, path)
        sf.engine = "python"
        py = _rows(sf)
        py_stats = dict(sf.stats)
        sf.engine = "duckdb"
        fast = _rows(sf, batch_rows=97)
        assert sf.engine_used == "duckdb", path.name
        assert fast == py, path.name
        assert sf.stats == py_stats, path.name
    assert preambles == 1  # the title-row month, with its blank line, is among them
    assert "cp1252" in encodings


@pytest.mark.parametrize(
    ("text", "encoding", "direct"),
    [
        ("CAFÉ ÜBER LTD,01/04/2024,£12.50,T1\r\n", "cp1252", "latin-1"),  # no byte 0x80-0x9F: read as latin-1
        ("“QUOTED” LTD – €,01/04/2024,£12.50,T1\r\n", "cp1252", None),  # cp1252-only bytes: transcoded
        ("CAFÉ LTD,01/04/2024,£12.50,T1\r\n", "utf-8", "utf-8"),
        ("CAFÉ LTD,01/04/2024,£12.50,T1\r\n", "utf-8-sig", "utf-8"),  # the BOM is on the skipped header line
    ],
    ids=["cp1252-as-latin1", "cp1252-transcoded", "utf-8", "utf-8-bom"],
)
def test_fast_path_reads_single_byte_files_directly_only_where_latin1_decodes_the_same(
    tmp_path, text, encoding, direct
):
    from procure.extract import spend_fast

    path = _write(tmp_path, "enc.csv", (HEADER + text + "BETA LTD,02/04/2024,3.00,T2\r\n").encode(encoding))
    sf = read_spend_file(path)
    plan = spend_fast.fast_plan(sf)
    assert plan is not None
    assert (plan.encoding if not plan.temporary else None) == direct
    if plan.temporary:
        plan.source.unlink()
    sf.engine = "python"
    py = _rows(sf)
    sf.engine = "duckdb"
    assert _rows(sf) == py and sf.engine_used == "duckdb"
    assert py[0]["supplier_name"] == text.split(",")[0]


def test_empty_lines_above_the_header_keep_the_fast_path_but_not_below(tmp_path):
    title = "Spend over £500 - April 2024\r\n\r\n"
    body = "ACME LTD,01/04/2024,12.50,T1\r\nBETA LTD,02/04/2024,3.00,T2\r\n"
    above = read_spend_file(_write(tmp_path, "above.csv", (title + HEADER + body).encode("cp1252")))
    below = read_spend_file(_write(tmp_path, "below.csv", (title + HEADER + "\r\n" + body).encode("cp1252")))
    for sf, engine in ((above, "duckdb"), (below, "python")):
        assert sf.header_line == 3
        sf.engine = "python"
        py, py_stats = _rows(sf), dict(sf.stats)
        sf.engine = "duckdb"
        assert _rows(sf) == py and sf.stats == py_stats
        assert sf.engine_used == engine
        assert [r["source_line"] for r in py] == ([4, 5] if engine == "duckdb" else [5, 6])


def test_transcoded_copy_is_named_with_the_pid_and_a_killed_runs_copy_is_swept(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from procure.extract import spend_fast

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = scratch / f"{spend_fast.TRANSCODE_PREFIX}{int(dead.stdout)}-abc.csv"  # left by a killed run
    orphan.write_bytes(b"x")
    unrelated = scratch / "procure_spend_notes.csv"
    unrelated.write_bytes(b"y")

    path = _write(tmp_path, "enc.csv", (HEADER + "“QUOTED” LTD,01/04/2024,£12.50,T1\r\n").encode("cp1252"))
    plan = spend_fast.fast_plan(read_spend_file(path))

    assert plan is not None and plan.temporary
    assert plan.source.parent == scratch and plan.source.name.startswith(f"procure_spend_{os.getpid()}-")
    assert plan.source.read_text(encoding="utf-8").splitlines()[1].startswith("“QUOTED” LTD")
    assert not orphan.exists() and unrelated.exists()
    plan.source.unlink()
