"""Property tests: the reader recovers the column roles and the totals of files it has never seen.

Generated files vary what unseen publishers vary: header spellings drawn from a vocabulary
(camelCase, snake_case, words the alias table does not list), the order of the columns,
the date form (day-first, ISO, ``07 Jun 2018``, ``Friday, April 29, 2022``, US month-first
with a day above 12 somewhere), amount forms (``(1,234.00)``, ``£-5.00``, float noise),
title rows above the header, extra columns (an invoice date, Gross and VAT beside the net
amount) and two-row headers (``Amount`` spanning ``Gross, VAT, Net``). The reader must map
the amount to the net column, the payment date to the payment date, the payee to the payee,
and load every line with its amount and date.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procure.extract.spend_reader import read_spend_file

SUPPLIER = ["Supplier Name", "Supplier", "Payee", "Beneficiary", "Vendor Name", "Creditor Name", "SupplierName",
            "supplier_name", "Name of Supplier", "Payee Name", "Merchant"]  # fmt: skip
PAYMENT_DATE = ["Payment Date", "Date Paid", "Paid Date", "Date", "Transaction Date", "Clearing Date", "GL Date",
                "PaymentDate", "payment_date", "Date of Payment", "Posting Date"]  # fmt: skip
AMOUNT = ["Amount", "Net Amount", "Amount (£)", "Net Value", "Value", "Amount Paid", "Total", "Invoiced Value",
          "NetAmount", "net_amount", "Spend", "Net", "Amount excl VAT"]  # fmt: skip
EXTRA = {
    "Expense Type": ["Consultancy", "Repairs", "Agency Staff"],
    "Service Area": ["Highways", "Adult Social Care", "Parks"],
    "Transaction Number": ["T1001", "T1002", "INV-77"],
    "Description": ["Monthly fee", "Works to roof", "Licence"],
}
NAMES = ["ACME", "Northern Roofing", "Blue Sky Care", "Harbour Foods", "Keystone Legal", "Parkside Plant"]
SUFFIX = ["Ltd", "Limited", "PLC", "LLP", "Services Ltd"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
DATE_FORMS = ["dmy", "iso", "d mon yyyy", "weekday us", "d-mon-yy", "us"]


def _date_text(d: date, form: str) -> str:
    if form == "dmy":
        return f"{d:%d/%m/%Y}"
    if form == "iso":
        return d.isoformat()
    if form == "d mon yyyy":
        return f"{d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}"
    if form == "weekday us":
        return f"{d:%A}, {MONTHS[d.month - 1]} {d.day}, {d.year}"
    if form == "d-mon-yy":
        return f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d:%y}"
    return f"{d.month}/{d.day}/{d.year}"  # US month-first, unpadded


def _amount_text(pence: int, form: str) -> str:
    value = Decimal(pence) / 100
    if form == "plain":
        return f"{value:.2f}"
    if form == "thousands":
        return f"{value:,.2f}"
    if form == "brackets":
        return f"({-value:,.2f})" if value < 0 else f"{value:,.2f}"
    if form == "pound":
        return f"£{value:.2f}"
    return repr(float(value) + 1e-9)  # float noise: rounded to pence


@st.composite
def files(draw):
    n = draw(st.integers(3, 14))
    date_form = draw(st.sampled_from(DATE_FORMS))
    start = date(2015, 1, 1) + timedelta(days=draw(st.integers(0, 3000)))
    days = [start + timedelta(days=draw(st.integers(0, 27))) for _ in range(n)]
    if date_form == "us":  # month-first must be provable: one day above 12
        days[draw(st.integers(0, n - 1))] = start.replace(day=draw(st.integers(13, 28)))
    pence = [draw(st.integers(-500_000, 50_000_000).filter(bool)) for _ in range(n)]
    amount_form = draw(st.sampled_from(["plain", "thousands", "brackets", "pound", "float"]))
    suppliers = [f"{draw(st.sampled_from(NAMES))} {draw(st.sampled_from(SUFFIX))}" for _ in range(n)]

    two_row = draw(st.booleans())
    gross_vat = two_row or draw(st.booleans())
    invoice_date = draw(st.booleans())
    extras = draw(st.lists(st.sampled_from(sorted(EXTRA)), unique=True, max_size=3))
    amount_name = "Net" if two_row else draw(st.sampled_from(AMOUNT))
    if gross_vat and not two_row and "net" not in amount_name.lower():
        amount_name = "Net Amount"  # beside Gross and VAT the amount says it is net
    roles = {
        "supplier": draw(st.sampled_from(SUPPLIER)),
        "date": draw(st.sampled_from(PAYMENT_DATE)),
        "amount": amount_name,
    }
    columns = [*roles.values(), *extras]
    if invoice_date:
        columns.append("Invoice Date")
    if gross_vat:
        columns += ["Gross", "VAT"]
    if two_row:  # Gross, VAT, Net side by side under one "Amount", somewhere among the others
        others = draw(st.permutations([c for c in columns if c not in ("Gross", "VAT", "Net")]))
        at = draw(st.integers(0, len(others)))
        order = [*others[:at], "Gross", "VAT", "Net", *others[at:]]
    else:
        order = list(draw(st.permutations(columns)))

    rows = []
    for i in range(n):
        value = {
            roles["supplier"]: suppliers[i],
            roles["date"]: _date_text(days[i], date_form),
            roles["amount"]: _amount_text(pence[i], amount_form),
            "Invoice Date": _date_text(days[i] - timedelta(days=20), date_form),
            "Gross": _amount_text(pence[i] * 6 // 5, "plain"),
            "VAT": _amount_text(pence[i] // 5, "plain"),
        }
        for e in extras:
            value[e] = EXTRA[e][i % len(EXTRA[e])]
        rows.append([value[c] for c in order])

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for _ in range(draw(st.integers(0, 2))):
        writer.writerow([draw(st.sampled_from(["Spend over £500", "Payments to suppliers", "Published monthly"]))])
    return order, roles, rows, days, pence, two_row, out


def _render(case) -> tuple[bytes, dict[str, str], list[date], list[int], list[str]]:
    order, roles, rows, days, pence, two_row, out = case
    writer = csv.writer(out, lineterminator="\r\n")
    if two_row:
        writer.writerow(["Amount" if c == "Gross" else "" if c in ("VAT", "Net") else c for c in order])
        writer.writerow([c if c in ("Gross", "VAT", "Net") else "" for c in order])
    else:
        writer.writerow(order)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8"), roles, days, pence, order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=files())
def test_roles_and_totals_are_recovered(tmp_path, case):
    data, roles, days, pence, order = _render(case)
    path = tmp_path / "payments.csv"
    path.write_bytes(data)
    sf = read_spend_file(path)
    want_amount = "Amount Net" if "Net" in order and case[5] else roles["amount"]
    assert sf.column_map["amount_gbp"] == want_amount, sf.column_evidence()
    assert sf.column_map["payment_date"] == roles["date"], sf.column_evidence()
    assert sf.column_map["supplier_name"] == roles["supplier"], sf.column_evidence()
    rows = [r for b in sf.iter_batches() for r in (b if isinstance(b, list) else b.to_pylist())]
    assert [r["reject_reason"] for r in rows] == [None] * len(pence)
    assert [r["amount_gbp"] for r in rows] == [Decimal(p) / 100 for p in pence]
    assert [r["payment_date"] for r in rows] == days
