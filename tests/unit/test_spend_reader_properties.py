"""Property-based tests: generated spend-file variants through the reader.

Each example builds a file the way councils publish them — an encoding, a delimiter,
title and blank rows before the header, quoting, a line-ending style, amounts and dates in
the forms seen in the real files, garbage rows, maybe gzip — and checks that:

- the only exception is SpendFileError (here: none, every generated file is readable);
- every record is accounted for: rows_read == accepted + rejected + skipped_*;
- the accepted amounts are exactly the generated payments' amounts, in order;
- the DuckDB fast path (when the file qualifies) yields the same rows and stats as Python.
"""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from procure.extract.spend_reader import STAT_KEYS, SpendFileError, read_spend_file

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SUPPLIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 &-.é"
DESCRIPTION_CHARS = SUPPLIER_CHARS + ',;|"'


def _date_forms(d: date) -> list[str]:
    return [
        f"{d:%d/%m/%Y}",
        f"{d:%d/%m/%y}",
        f"{d.day:02d}-{MONTHS[d.month - 1]}-{d:%y}",
        f"{d.day} {MONTHS[d.month - 1]} {d.year}",
        d.isoformat(),
        f"{d.isoformat()} 00:00:00",
    ]


def _amount_forms(pence: int) -> list[str]:
    value = Decimal(pence) / 100
    forms = [f"{value:.2f}", f" {value:.2f} ", f"£{value:,.2f}", f"{value:,.2f}"]
    if value < 0:
        forms.append(f"({-value:.2f})")
        if pence % 100 == 0:
            forms.append(f"({-value:.0f})")  # (3728)
    if pence % 10 == 0:
        forms.append(f"{value:.1f}")  # -12.5
    return forms


@st.composite
def payments(draw):
    pence = draw(st.one_of(st.integers(-5_000_000, -1), st.integers(0, 50_000_000)))  # credits half the time
    day = date(2000, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 25)))
    return {
        "supplier": draw(st.text(SUPPLIER_CHARS, min_size=1, max_size=20).filter(str.strip)),
        "date": draw(st.sampled_from(_date_forms(day))),
        "amount": draw(st.sampled_from(_amount_forms(pence))),
        "pence": pence,
        "description": draw(st.text(DESCRIPTION_CHARS, max_size=25)),
    }


@st.composite
def spend_files(draw):
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "cp437"]))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    quote_all = draw(st.booleans())
    amount_header = draw(st.sampled_from(["Net Amount (£)", "Amount", "Amount Paid", "Total"]))
    header = ["Supplier Name", "Payment Date", amount_header, "Description"]
    preamble = draw(
        st.lists(
            st.sampled_from(["Spend over £500", "Payments to suppliers", "", "Published by the council"]), max_size=3
        )
    )
    items = draw(
        st.lists(
            st.one_of(
                payments(),
                st.sampled_from(["<blank>", "<garbage>", "<bad amount>", "<bad date>"]),
            ),
            min_size=1,
            max_size=25,
        ).filter(lambda xs: any(isinstance(x, dict) for x in xs))
    )

    def cell(text: str) -> str:
        if quote_all or any(c in text for c in (delimiter, '"', "\r", "\n")) or text != text.strip():
            return '"' + text.replace('"', '""') + '"'
        return text

    def line(cells: list[str]) -> str:
        return delimiter.join(cell(c) for c in cells)

    lines = [*preamble, line(header)]
    expected: list[int] = []
    for item in items:
        if item == "<blank>":
            lines.append(delimiter * 3 if draw(st.booleans()) else "")
        elif item == "<garbage>":
            lines.append("#### end of report ####")
        elif item == "<bad amount>":
            lines.append(line(["ACME", "01/04/2024", "twelve pounds", "x"]))
        elif item == "<bad date>":
            lines.append(line(["ACME", "31/02/2024", "12.00", "x"]))
        else:
            lines.append(line([item["supplier"], item["date"], item["amount"], item["description"]]))
            expected.append(item["pence"])
    text = newline.join(lines) + newline
    data = text.encode(encoding)
    compressed = draw(st.booleans())
    return (gzip.compress(data, mtime=0) if compressed else data), expected, compressed


def _rows(sf) -> list[dict]:
    return [r for b in sf.iter_batches(batch_rows=7) for r in (b if isinstance(b, list) else b.to_pylist())]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=spend_files())
def test_generated_files_are_read_and_accounted_for(tmp_path, case):
    data, expected, compressed = case
    path = tmp_path / ("spend.txt" if compressed else "spend.csv")
    path.write_bytes(data)
    try:
        sf = read_spend_file(path)
    except SpendFileError as exc:  # allowed, but every generated file here is readable
        raise AssertionError(f"generated file refused: {exc}") from exc
    sf.engine = "python"
    rows = _rows(sf)
    stats = dict(sf.stats)

    assert stats["rows_read"] == sum(stats[k] for k in STAT_KEYS if k != "rows_read")
    assert stats["records"] == len(rows) == stats["accepted"] + stats["rejected"]
    accepted = [r for r in rows if r["reject_reason"] is None]
    assert [r["amount_gbp"] for r in accepted] == [Decimal(p) / 100 for p in expected]
    assert all(r["is_credit"] == (r["amount_gbp"] < 0) for r in accepted)
    assert all(r["reject_field"] in (None, *sf.original_columns) for r in rows)

    sf.engine = "duckdb"  # the fast path where the file qualifies
    assert _rows(sf) == rows
    assert sf.stats == stats
    event(f"engine: {sf.engine_used}")  # --hypothesis-show-statistics: both paths are exercised


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_spend_file_error(tmp_path, data):
    path = tmp_path / "junk.csv"
    path.write_bytes(data)
    try:
        sf = read_spend_file(path)
        rows = _rows(sf)
    except SpendFileError:
        return
    st_ = sf.stats
    assert st_["rows_read"] == sum(st_[k] for k in STAT_KEYS if k != "rows_read")
    assert len(rows) == st_["accepted"] + st_["rejected"]
