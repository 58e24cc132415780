"""Generates one fiscal year of synthetic, realistic-looking data for one council.

The demo needs spend, a contract register and Contracts Finder notices that look
like what a Norwich-sized district council publishes, mess included (header drift,
title rows, redactions, card lines, name variants, duplicates, HTML entities), so
that every ingester and every board-pack figure has something real to chew on.

Deterministic by construction: one `random.Random(seed)` drives everything, money
is `Decimal` built from integer draws (no float maths that could differ between
platforms), nothing reads the clock or the environment, and every collection is
written in a sorted order. The same arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from math import isqrt
from pathlib import Path

from procure_sample import names
from procure_sample.reference import (
    CATEGORIES,
    CATEGORY_BY_KEY,
    ELSEWHERE_DISTRICTS,
    NORFOLK_DISTRICTS,
    NORWICH_DISTRICTS,
    PROCLASS,
    SERVICE_AREAS,
    Category,
    proclass_label,
)

PENNY = Decimal("0.01")

SPEND_HEADER = [
    "Body Name",
    "Service Area",
    "Expense Type",
    "Payment Date",
    "Transaction Number",
    "Net Amount (£)",
    "Irrecoverable VAT",
    "Supplier Name",
    "Supplier ID",
    "Company Number",
    "Charity Number",
    "ProClass Code",
    "ProClass Category",
    "Capital/Revenue",
]
# From the seventh month the finance system's export renames two columns.
SPEND_RENAMES = {"Net Amount (£)": "Amount", "Payment Date": "Date Paid"}
HEADER_DRIFT_MONTH_INDEX = 6  # October of the fiscal year
TITLE_ROW_MONTH_INDEX = 9  # January: a title row and a blank row before the header

CONTRACT_HEADER = [
    "Contract Reference",
    "Title",
    "Description",
    "Service Area",
    "Procurement Category",
    "Supplier Name",
    "Supplier Company Number",
    "Supplier Charity Number",
    "Supplier Postcode",
    "SME",
    "VCSE",
    "Contract Start Date",
    "Contract End Date",
    "Extension Options",
    "Total Contract Value",
    "Estimated Annual Value",
    "Procurement Route",
    "Contracts Finder Notice ID",
]

DISPLAY_NAMES = {"norwich": "Norwich City Council"}
BUYER_ADDRESS = ("City Hall, St Peters Street", "Norwich", "NR2 1NH")
BUYER_CFS_ID = "GB-CFS-12345"
MARKET_BUYERS = (
    (
        "GB-CFS-10277",
        "Norfolk County Council",
        "County Hall, Martineau Lane",
        "NR1 2DH",
    ),
    ("GB-CFS-14588", "Broadland District Council", "Horizon, Broadland Way", "NR7 0DU"),
)
OCID_PREFIX = "ocds-b5fd17-"
CF_NOTICE_URL = "https://www.contractsfinder.service.gov.uk/Notice/"

N_CORE = 330  # recurring suppliers: most payments and most money
N_TAIL = 1670  # paid once, twice, rarely three times
CORE_BUDGET = Decimal(66_000_000)
CORE_LINES = 19_000
# Rank 1.. of the core list: the big contracts a district council always has.
ANCHOR_CATEGORIES = (
    "repairs",
    "waste",
    "construction",
    "temp_accommodation",
    "grounds",
    "heating",
    "software",
    "electricity",
    "leisure",
    "agency",
    "recycling",
    "repairs",
)


@dataclass
class Supplier:
    """One payee as the finance system knows it (one Supplier ID)."""

    supplier_id: str
    name: str
    kind: str  # company | vcse | public | sole
    category: Category
    is_sme: bool
    is_vcse: bool
    postcode: str
    town: str
    street: str
    company_number: str = ""
    charity_number: str = ""
    variants: list[str] = field(default_factory=list)
    budget: Decimal = Decimal(0)
    n_lines: int = 0
    rank: int = 0  # 1.. for core suppliers, 0 for the tail


@dataclass
class Contract:
    """One contract-register row, kept with the facts that shaped it."""

    reference: str
    supplier: Supplier
    category: Category
    title: str
    service_area: str
    start: date
    end: date
    total_value: Decimal
    annual_value: Decimal
    route: str
    notice_id: str = ""
    overspent: bool = False


# --------------------------------------------------------------------------- helpers


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A uniform amount in pounds between low and high, to the penny."""
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _scale(amount: Decimal, rng: random.Random, low: int, high: int) -> Decimal:
    """`amount` times a random percentage between low and high, to the penny."""
    return (amount * rng.randint(low, high) / 100).quantize(PENNY)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _month_starts(fiscal_year_start: int) -> list[date]:
    return [
        date(fiscal_year_start + (m // 12), m % 12 + 1, 1)
        for m in range(3, 15)  # April .. March
    ]


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _weekdays(first: date) -> list[date]:
    days = []
    d = first
    while d.month == first.month:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def _postcode(rng: random.Random, district: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{district} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _location(rng: random.Random, local_share: int = 35) -> tuple[str, str]:
    """(postcode, town): ~35% Norwich and Norfolk, the rest elsewhere in England."""
    roll = rng.randrange(100)
    if roll < local_share * 7 // 10:
        return _postcode(rng, rng.choice(NORWICH_DISTRICTS)), "Norwich"
    if roll < local_share:
        district = rng.choice(sorted(NORFOLK_DISTRICTS))
        return _postcode(rng, district), NORFOLK_DISTRICTS[district]
    districts = sorted(ELSEWHERE_DISTRICTS)
    weights = [ELSEWHERE_DISTRICTS[d][1] for d in districts]
    district = rng.choices(districts, weights)[0]
    return _postcode(rng, district), ELSEWHERE_DISTRICTS[district][0]


def _street(rng: random.Random) -> str:
    if rng.randrange(3) == 0:
        return f"Unit {rng.randint(1, 40)}, {rng.choice(names.STREET_NAMES)} {rng.choice(names.ESTATES)}"
    return f"{rng.randint(1, 250)} {rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_KINDS)}"


def _company_number(rng: random.Random) -> str:
    roll = rng.randrange(100)
    if roll < 4:
        return f"SC{rng.randint(100000, 799999)}"
    if roll < 6:
        return f"OC{rng.randint(300000, 449999)}"
    return f"{rng.randint(100000, 15999999):08d}"


def _charity_number(rng: random.Random) -> str:
    if rng.randrange(3) == 0:
        return str(rng.randint(200000, 299999))
    return str(rng.randint(1000000, 1209999))


# ----------------------------------------------------------------- supplier names


def _company_name(rng: random.Random, category: Category, is_sme: bool) -> str:
    trade = rng.choice(category.trades)
    if trade in ("LLP", "Solicitors", "Chambers"):
        first, second = rng.sample(names.SURNAMES, 2)
        return rng.choice([f"{first} {second} LLP", f"{first} & Co Solicitors", f"{first} Chambers"])
    if not is_sme:
        prefix = rng.choice(names.PLACES_NATIONAL + names.ACRONYMS)
        return f"{prefix} {trade} {rng.choice(names.LARGE_SUFFIXES)}"
    suffix = rng.choice(names.SME_SUFFIXES)
    surname = rng.choice(names.SURNAMES)
    pattern = rng.randrange(7)
    if pattern == 0:
        return f"{surname} & Sons {suffix}"
    if pattern == 1:
        return f"{surname} {trade} {suffix}"
    if pattern == 2:
        return f"{rng.choice(names.PLACES_LOCAL)} {trade} {suffix}"
    if pattern == 3:
        return f"{surname} & {rng.choice(names.SURNAMES)} {suffix}"
    if pattern == 4:
        return f"{rng.choice(names.ACRONYMS)} {trade} {suffix}"
    if pattern == 5:
        return f"{rng.choice(names.FORENAMES)} {surname} & Sons {suffix}"
    return f"{rng.choice(names.PLACES_LOCAL + names.PLACES_NATIONAL)} {trade} {suffix}"


def _sole_trader_name(rng: random.Random, category: Category) -> str:
    initial = rng.choice(names.FORENAMES)[0]
    return f"{initial} {rng.choice(names.SURNAMES)} {rng.choice(category.trades)}"


def _vcse_name(rng: random.Random, category: Category) -> str:
    patterns = names.VCSE_PATTERNS_BY_CATEGORY.get(category.key, names.VCSE_PATTERNS)
    return rng.choice(patterns).format(place=rng.choice(names.VCSE_PLACES))


def _respell(rng: random.Random, name: str) -> str:
    """One re-keying of a name: case, '&'/'and', Ltd/Limited, an initial, a suffix."""
    upper = name.isupper()
    text = name.title() if upper else name
    for old, new in ((" & ", " and "), (" and ", " & ")):
        if old in text and rng.randrange(2):
            text = text.replace(old, new)
            break
    for old, new in ((" Ltd", " Limited"), (" Limited", " Ltd"), (" Ltd", " Ltd.")):
        if text.endswith(old) and rng.randrange(2):
            text = text[: -len(old)] + new
            break
    words = text.split()
    if words[0] in names.FORENAMES and len(words) > 2 and rng.randrange(2):
        text = " ".join([words[0][0], *words[1:]])
    if rng.randrange(10) == 0:
        text += " (NEW)"
    return text if rng.randrange(2) else text.upper()


def _variants(rng: random.Random, name: str) -> list[str]:
    """One or two other spellings of a name, as a finance system drifts over time."""
    wanted = rng.randint(1, 2)
    found: list[str] = []
    for _ in range(20):
        candidate = _respell(rng, name)
        if candidate != name and candidate not in found:
            found.append(candidate)
        if len(found) == wanted:
            break
    return found


# ------------------------------------------------------------------------ suppliers


def _build_suppliers(rng: random.Random) -> tuple[list[Supplier], list[Supplier]]:
    """The recurring (core) suppliers, ranked by size, and the long tail."""
    used_names: set[str] = set()
    ids = rng.sample(range(100000, 999999), N_CORE + N_TAIL)
    keys = [c.key for c in CATEGORIES]
    weights = [c.weight for c in CATEGORIES]

    def unique(make) -> str:
        for _ in range(50):
            candidate = make()
            if candidate.upper() not in used_names:
                used_names.add(candidate.upper())
                return candidate
        raise RuntimeError("supplier name lists too small for the sample size")

    def make_supplier(index: int, rank: int, category: Category) -> Supplier:
        core = rank > 0
        kind_roll = rng.randrange(100)
        if category.key in names.VCSE_PATTERNS_BY_CATEGORY and kind_roll < (
            60 if category.key in ("homeless", "housing_assoc", "leisure") else 15
        ):
            kind = "vcse"
        elif not core and kind_roll < 12:
            kind = "sole"
        else:
            kind = "company"
        sme_share = 60 if not core else 35 if rank > 12 else 0
        is_sme = kind in ("vcse", "sole") or rng.randrange(100) < sme_share
        if kind == "vcse":
            name = unique(lambda: _vcse_name(rng, category))
        elif kind == "sole":
            name = unique(lambda: _sole_trader_name(rng, category))
        else:
            name = unique(lambda: _company_name(rng, category, is_sme))
        if rng.randrange(100) < 55:
            name = name.upper()
        postcode, town = _location(rng, 45 if is_sme else 20)
        supplier = Supplier(
            supplier_id=str(ids[index]),
            name=name,
            kind=kind,
            category=category,
            is_sme=is_sme,
            is_vcse=kind == "vcse",
            postcode=postcode,
            town=town,
            street=_street(rng),
            rank=rank,
        )
        if kind == "company" and rng.randrange(100) < 60:
            supplier.company_number = _company_number(rng)
        if kind == "vcse":
            supplier.charity_number = _charity_number(rng)
            if rng.randrange(100) < 30:
                supplier.company_number = _company_number(rng)
        if core and rng.randrange(100) < 10:
            supplier.variants = _variants(rng, name)
        return supplier

    core: list[Supplier] = []
    public_ranks = set(rng.sample(range(20, N_CORE), len(names.PUBLIC_BODIES)))
    public_bodies = iter(names.PUBLIC_BODIES)
    for i in range(N_CORE):
        rank = i + 1
        if rank in public_ranks:
            body, postcode = next(public_bodies)
            core.append(
                Supplier(
                    supplier_id=str(ids[i]),
                    name=body.upper(),
                    kind="public",
                    category=CATEGORY_BY_KEY["consult"],
                    is_sme=False,
                    is_vcse=False,
                    postcode=postcode,
                    town=NORFOLK_DISTRICTS.get(postcode.split()[0], "Norwich"),
                    street="County Hall" if "County" in body else "Council Offices",
                    rank=rank,
                )
            )
            continue
        if i < len(ANCHOR_CATEGORIES):
            category = CATEGORY_BY_KEY[ANCHOR_CATEGORIES[i]]
        else:
            category = CATEGORY_BY_KEY[rng.choices(keys, weights)[0]]
        core.append(make_supplier(i, rank, category))

    # Zipf (1/rank) budgets, computed in Decimal so every platform agrees.
    harmonic = sum(Decimal(1) / r for r in range(1, N_CORE + 1))
    for s in core:
        s.budget = (CORE_BUDGET / (harmonic * s.rank)).quantize(Decimal(1))
    roots = [isqrt(int(s.budget)) for s in core]
    total_root = sum(roots)
    for s, root in zip(core, roots, strict=True):
        n = root * CORE_LINES * rng.randint(60, 140) // (total_root * 100)
        s.n_lines = max(3, min(n, 900))

    tail = [make_supplier(N_CORE + j, 0, CATEGORY_BY_KEY[rng.choices(keys, weights)[0]]) for j in range(N_TAIL)]
    for s in tail:
        s.n_lines = rng.choices([1, 2, 3], [60, 35, 5])[0]
    return core, tail


# ---------------------------------------------------------------------------- spend


@dataclass
class SpendLine:
    """One payment before it is numbered and written."""

    month: int
    paid: date
    service_area: str
    expense_type: str
    amount: Decimal
    supplier_name: str
    supplier_id: str = ""
    company_number: str = ""
    charity_number: str = ""
    proclass: str = ""
    capital: bool = False
    pcard: bool = False
    thousands: bool = False
    transaction: str = ""

    def sort_key(self) -> tuple:
        return (self.paid, self.pcard, self.supplier_name, self.service_area,
                self.amount, self.expense_type)  # fmt: skip


def _category_code_for_area(rng: random.Random, area: str) -> str:
    codes = sorted({c.proclass for c in CATEGORIES if area in c.service_areas})
    return rng.choice(codes) if codes else ""


def _supplier_lines(rng: random.Random, supplier: Supplier, weekdays: list[list[date]]) -> list[SpendLine]:
    lines = []
    category = supplier.category
    if supplier.rank:
        per_line = supplier.budget / supplier.n_lines
    for _ in range(supplier.n_lines):
        month = rng.randrange(12)
        if supplier.rank:
            amount = _scale(per_line, rng, 60, 140)
            if amount < 500:
                amount = _money(rng, 500, 1200)
            if rng.randrange(1000) < 15:
                amount = -_money(rng, 40, max(60, min(5000, int(per_line))))
        else:
            band = rng.choices(
                [(500, 1000), (1000, 2500), (2500, 5000), (5000, 10000),
                 (10000, 25000), (25000, 60000)],
                [30, 30, 18, 12, 7, 3],
            )[0]  # fmt: skip
            amount = _money(rng, *band)
        areas = category.service_areas
        area = areas[0] if rng.randrange(100) < 75 else rng.choice(areas)
        if supplier.kind == "public":
            area = rng.choice(SERVICE_AREAS)
            code = ""
            expense = "Partnership Contributions"
        else:
            code = category.proclass
            if rng.randrange(100) < 8:
                code = _category_code_for_area(rng, area)
            if rng.randrange(100) < 14:
                code = ""
            expense = category.expense_type
            if rng.randrange(100) < 10:
                expense = "Contractor Payments"
        name = supplier.name
        if supplier.variants and rng.randrange(100) < 35:
            name = rng.choice(supplier.variants)
        lines.append(
            SpendLine(
                month=month,
                paid=rng.choice(weekdays[month]),
                service_area=area,
                expense_type=expense,
                amount=amount,
                supplier_name=name,
                supplier_id=supplier.supplier_id,
                company_number=supplier.company_number,
                charity_number=supplier.charity_number,
                proclass=code,
                capital=category.capital and rng.randrange(100) < 85,
            )
        )
    return lines


#: (service area, expense type, weight) of the payments to individuals whose names are withheld
REDACTED_AREAS = (
    ("Housing & Community Safety", "Rent Deposits", 40),
    ("Housing & Community Safety", "Homelessness Prevention", 20),
    ("Revenues & Benefits", "Discretionary Housing Payments", 20),
    ("Housing Repairs (HRA)", "Tenant Compensation", 10),
    ("Human Resources", "Professional Fees", 5),
    ("Parks & Open Spaces", "Contractor Payments", 5),
)


def _redacted_lines(rng: random.Random, weekdays: list[list[date]]) -> list[SpendLine]:
    areas = REDACTED_AREAS
    lines = []
    for _ in range(720):
        month = rng.randrange(12)
        area, expense, _ = rng.choices(areas, [a[2] for a in areas])[0]
        lines.append(
            SpendLine(
                month=month,
                paid=rng.choice(weekdays[month]),
                service_area=area,
                expense_type=expense,
                amount=_money(rng, 500, 4000),
                supplier_name=rng.choice(names.REDACTED_SPELLINGS),
            )
        )
    return lines


def _card_lines(rng: random.Random, weekdays: list[list[date]]) -> list[SpendLine]:
    lines = []
    for _ in range(1200):
        month = rng.randrange(12)
        band = rng.choices([(3, 50), (50, 200), (200, 500), (500, 2500)], [30, 40, 20, 10])[0]
        amount = _money(rng, *band)
        if rng.randrange(100) < 3:
            amount = -amount
        lines.append(
            SpendLine(
                month=month,
                paid=rng.choice(weekdays[month]),
                service_area=rng.choice(SERVICE_AREAS),
                expense_type=rng.choice(["Purchase Card", "Equipment", "Travel", "Subscriptions"]),
                amount=amount,
                supplier_name=rng.choice(names.CARD_MERCHANTS),
                pcard=True,
            )
        )
    return lines


def _format_amount(line: SpendLine) -> str:
    if line.thousands:
        return f"{line.amount:,.2f}"
    return f"{line.amount:.2f}"


def _spend_row(body: str, line: SpendLine) -> list[str]:
    return [
        body,
        line.service_area,
        line.expense_type,
        line.paid.strftime("%d/%m/%Y"),
        line.transaction,
        _format_amount(line),
        "" if line.pcard else "0.00",
        line.supplier_name,
        line.supplier_id,
        line.company_number,
        line.charity_number,
        line.proclass,
        proclass_label(line.proclass) if line.proclass else "",
        "Capital" if line.capital else "Revenue",
    ]


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _write_spend(
    rng: random.Random,
    out: Path,
    council_id: str,
    body: str,
    months: list[date],
    lines: list[SpendLine],
) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    transaction = 4_100_000
    for index, first in enumerate(months):
        month_lines = sorted((line for line in lines if line.month == index), key=SpendLine.sort_key)
        card_seq = 0
        for line in month_lines:
            if line.pcard:
                card_seq += 1
                line.transaction = f"PCARD-{first:%y%m}-{card_seq:04d}"
            else:
                transaction += rng.randint(1, 3)
                line.transaction = str(transaction)
            line.thousands = abs(line.amount) >= 1000 and rng.randrange(100) < 8
        # A few genuine exact duplicates: the same payment keyed twice.
        rows = []
        for line in month_lines:
            rows.append(_spend_row(body, line))
            if not line.pcard and line.supplier_id and rng.randrange(1000) < 2:
                rows.append(_spend_row(body, line))
        total = sum((Decimal(r[5].replace(",", "")) for r in rows), start=Decimal("0.00"))
        header = list(SPEND_HEADER)
        if index >= HEADER_DRIFT_MONTH_INDEX:
            header = [SPEND_RENAMES.get(h, h) for h in header]
        preamble: list[list[str]] = []
        if index == TITLE_ROW_MONTH_INDEX:
            preamble = [[f"{body} - Spend over £500 - {first:%B %Y}"], []]
        path = out / f"{council_id}_spend_{first:%Y-%m}.csv"
        path.write_bytes(_csv_bytes([*preamble, header, *rows], "cp1252"))
        files.append({"path": path, "rows": len(rows), "total_amount": total})
    return files


# ------------------------------------------------------------------------ contracts


def _format_value(rng: random.Random, value: Decimal) -> str:
    if rng.randrange(2):
        return f"£{value:,.2f}"
    return f"{value.quantize(Decimal(1))}"


def _build_contracts(
    rng: random.Random,
    core: list[Supplier],
    spend_by_supplier: dict[str, Decimal],
    fiscal_year_start: int,
) -> list[Contract]:
    fy_start = date(fiscal_year_start, 4, 1)
    as_of = date(fiscal_year_start + 1, 3, 31)
    eligible = [s for s in core if s.kind != "public"][:255]
    second = set(rng.sample([s.supplier_id for s in eligible[:120]], 45))
    single = [s for s in eligible if s.supplier_id not in second]
    overspent_ids = {
        s.supplier_id for s in rng.sample([s for s in single[10:150] if spend_by_supplier.get(s.supplier_id, 0)], 6)
    }
    seq_by_year: dict[int, int] = {}
    contracts: list[Contract] = []

    for supplier in eligible:
        spend = max(spend_by_supplier.get(supplier.supplier_id, Decimal(0)), Decimal(0))
        shares = [(100, 0)] if supplier.supplier_id not in second else [(70, 0), (30, 1)]
        for share, title_index in shares:
            category = supplier.category
            titles = category.titles
            title = titles[title_index % len(titles)]
            if title_index and len(titles) == 1:
                title = f"{title} - lot 2"
            annual = _scale(spend * share / 100, rng, 80, 130).quantize(Decimal(100))
            years = rng.choices([1, 2, 3, 4, 5, 7, 10], [10, 20, 30, 15, 15, 6, 4])[0]
            if supplier.rank > 60 and rng.randrange(100) < 20:
                # A small one-off job with a supplier mostly paid off-contract.
                annual = _scale(spend, rng, 5, 25).quantize(Decimal(100))
                years = 1
            annual = max(annual, Decimal(5000))
            new_this_year = rng.randrange(100) < 16
            if new_this_year:
                start = fy_start + timedelta(days=rng.randrange(0, 455))
                start = start.replace(day=1)
                end = _add_years(start, years) - timedelta(days=1)
            else:
                bucket = rng.choices(
                    [(-700, -1), (1, 182), (183, 365), (366, 547), (548, 2200)],
                    [20, 15, 15, 15, 35],
                )[0]
                end = as_of + timedelta(days=rng.randint(*bucket))
                start = _add_years(end + timedelta(days=1), -years)
                while start < date(2017, 1, 1) and years > 1:
                    years -= 1
                    start = _add_years(end + timedelta(days=1), -years)
                if start < date(2017, 1, 1):
                    start = date(2017, 1 + rng.randrange(12), 1)
                if start >= fy_start:
                    start = fy_start - timedelta(days=rng.randint(30, 400))
            duration_days = (end - start).days + 1
            total = (annual * duration_days / 365).quantize(Decimal(100))
            overspent = supplier.supplier_id in overspent_ids and start < fy_start
            if overspent:
                total = _scale(spend, rng, 40, 80).quantize(Decimal(100))
            if total > 20_000_000:
                total = Decimal(rng.randint(150, 200) * 100_000)
            total = max(total, Decimal(5000))
            if total < 25_000:
                route = rng.choices(["Direct purchase", "Three quotes"], [70, 30])[0]
            elif total < 100_000:
                route = rng.choices(
                    ["Three quotes", "Direct award (waiver)", "Framework call-off"],
                    [70, 20, 10],
                )[0]
            else:
                route = rng.choices(
                    ["Open tender", "Framework call-off", "Direct award (waiver)"],
                    [55, 40, 5],
                )[0]
            contract = Contract(
                reference="",
                supplier=supplier,
                category=category,
                title=title,
                service_area=category.service_areas[0],
                start=start,
                end=end,
                total_value=total,
                annual_value=annual,
                route=route,
                overspent=overspent,
            )
            if total >= 25_000 and route != "Three quotes" and rng.randrange(100) < 85:
                contract.notice_id = _guid(rng)
            contracts.append(contract)
    contracts.sort(key=lambda c: (c.start, c.supplier.supplier_id, c.title))
    for c in contracts:
        seq_by_year[c.start.year] = seq_by_year.get(c.start.year, 0) + 1
        c.reference = f"NCC-{c.start.year}-{seq_by_year[c.start.year]:03d}"
    return contracts


def _contract_rows(rng: random.Random, contracts: list[Contract]) -> list[list[str]]:
    rows = []
    for c in contracts:
        s = c.supplier
        name = s.name
        if s.variants and rng.randrange(100) < 30:
            name = rng.choice(s.variants)
        elif rng.randrange(100) < 20:
            name = name.title() if name.isupper() else name.upper()
        extension = rng.choice(["1 + 1 years", "Up to 2 x 12 months", "None", "", "Up to 24 months"])

        def flag(value: bool) -> str:
            return "" if rng.randrange(100) < 8 else ("Yes" if value else "No")

        rows.append(
            [
                c.reference,
                c.title,
                f"{c.title} for {c.service_area.lower()}",
                c.service_area,
                PROCLASS[c.category.proclass][0],
                name,
                s.company_number if rng.randrange(100) < 90 else "",
                s.charity_number,
                s.postcode,
                flag(s.is_sme),
                flag(s.is_vcse),
                c.start.strftime("%d/%m/%Y"),
                c.end.strftime("%d/%m/%Y"),
                extension,
                _format_value(rng, c.total_value),
                "" if rng.randrange(100) < 10 else _format_value(rng, c.annual_value),
                c.route,
                c.notice_id,
            ]
        )
    return rows


# -------------------------------------------------------------------------- notices


def _timestamp(rng: random.Random, day: date) -> str:
    return f"{day:%Y-%m-%d}T{rng.randint(8, 18):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"


def _country(rng: random.Random) -> str:
    return rng.choices(["United Kingdom", "England", "UK", "GB"], [40, 30, 15, 15])[0]


def _html(rng: random.Random, text: str) -> str:
    """Contracts Finder sometimes serves names with their ampersands escaped."""
    return text.replace("&", "&amp;") if rng.randrange(100) < 40 else text


def _supplier_party(rng: random.Random, supplier: Supplier) -> dict:
    name = _html(rng, supplier.name)
    if supplier.company_number:
        party_id = f"GB-COH-{supplier.company_number}"
        identifier = {
            "legalName": name,
            "scheme": "GB-COH",
            "id": supplier.company_number,
        }
    else:
        party_id = f"GB-CFS-{200000 + int(supplier.supplier_id) % 700000}"
        identifier = {"legalName": name}
    if rng.randrange(100) < 12:  # postcode typed into the street line
        address: dict = {"streetAddress": f"{supplier.street}, {supplier.town}, {supplier.postcode}"}
        if rng.randrange(2):
            address["postalCode"] = ""
    else:
        address = {
            "streetAddress": supplier.street,
            "locality": supplier.town,
            "postalCode": supplier.postcode,
            "countryName": _country(rng),
        }
    return {
        "id": party_id,
        "name": name,
        "identifier": identifier,
        "address": address,
        "details": {
            "scale": "sme" if supplier.is_sme else "large",
            "vcse": supplier.is_vcse,
        },
        "roles": ["supplier"],
    }


def _buyer_party(buyer: tuple[str, str, str, str]) -> dict:
    party_id, name, street, postcode = buyer
    domain = name.split()[0].lower()
    return {
        "id": party_id,
        "name": name,
        "identifier": {"legalName": name},
        "address": {
            "streetAddress": street,
            "locality": "Norwich",
            "postalCode": postcode,
            "countryName": "England",
        },
        "contactPoint": {"email": f"procurement@{domain}.gov.uk"},
        "roles": ["buyer"],
    }


METHODS = {
    "Open tender": ("open", "Open procedure (below threshold)"),
    "Open tender (above threshold)": ("open", "Open procedure (above threshold)"),
    "Framework call-off": ("selective", "Call-off from a framework agreement"),
    "Direct award (waiver)": ("direct", "Single tender action (below threshold)"),
    "Three quotes": ("limited", "Competitive quotation (below threshold)"),
    "Direct purchase": ("direct", "Direct award"),
}


def _main_category(category: Category) -> str:
    if category.capital:
        return "works"
    if category.key in (
        "plumbing",
        "plants",
        "hardware",
        "stationery",
        "fuel",
        "electricity",
        "gas",
        "water",
    ):
        return "goods"
    return "services"


def _tender_block(
    rng: random.Random,
    tender_id: str,
    title: str,
    category: Category,
    value: Decimal,
    route: str,
    published: date,
    start: date,
    end: date,
    status: str,
) -> dict:
    if route == "Open tender" and value >= 214_904:
        route = "Open tender (above threshold)"
    method, details = METHODS[route]
    # an rng of its own, so these draws leave every other generated value as it was
    local = random.Random(f"tender|{tender_id}")
    if method in ("open", "selective"):
        # a competed procurement's published estimate differs from what it is awarded for
        value = (value * Decimal(str(round(local.uniform(0.92, 1.2), 3)))).quantize(Decimal(1000))
    amount: int | float = int(value) if value == value.to_integral() else float(value)
    if rng.randrange(100) < 6:
        amount = rng.choice([0, 1])  # placeholder values, as published
    return {
        "id": tender_id,
        "title": title,
        "description": f"Norwich City Council is seeking {title.lower()}.",
        "datePublished": f"{published:%Y-%m-%d}T09:00:00Z",
        "status": status,
        "classification": {
            "scheme": "CPV",
            "id": category.cpv[0],
            "description": category.cpv[1],
        },
        "items": [
            {
                "id": "1",
                "deliveryAddresses": [{"region": "East of England", "countryName": "United Kingdom"}],
            }
        ],
        "value": {"amount": amount, "currency": "GBP"},
        "procurementMethod": method,
        "procurementMethodDetails": details,
        "tenderPeriod": {"endDate": f"{published + timedelta(days=rng.randint(14, 42)):%Y-%m-%d}T12:00:00Z"}
        if status == "active"
        else {"endDate": f"{published - timedelta(days=rng.randint(30, 75)):%Y-%m-%d}T12:00:00Z"},
        "contractPeriod": {
            "startDate": f"{start:%Y-%m-%d}T00:00:00Z",
            "endDate": f"{end:%Y-%m-%d}T23:59:59Z",
        },
        "suitability": {
            "sme": value < 1_000_000,
            "vcse": category.key in ("homeless", "housing_assoc", "leisure", "events"),
        },
        "mainProcurementCategory": _main_category(category),
        **_award_criteria(local, method, value),
    }


def _award_criteria(local: random.Random, method: str, value: Decimal) -> dict:
    """Award criteria as notices publish them: a weighted breakdown per lot (Find a Tender's award
    criteria breakdown) for larger competed procurements, free text for smaller ones."""
    if method not in ("open", "selective"):
        return {}
    social = local.choice([5, 10, 10, 15, 20])
    quality = local.choice([30, 40])
    if value < 100_000:
        return {"awardCriteriaDetails": f"Price {100 - quality - social}%, Quality {quality}%, Social value {social}%"}
    criteria = [
        {"type": "price", "name": "Price", "numbers": [{"number": 100 - quality - social}]},
        {"type": "quality", "name": "Quality", "numbers": [{"number": quality}]},
        {"type": "quality", "name": "Social value", "description": "National TOMs", "numbers": [{"number": social}]},
    ]
    return {"lots": [{"id": "1", "awardCriteria": {"criteria": criteria}}]}


def _release(
    rng: random.Random,
    ocid_guid: str,
    notice_id: str,
    tag: str,
    published: date,
    buyer: tuple[str, str, str, str],
    tender: dict,
    supplier: Supplier | None = None,
    award_value: Decimal | None = None,
    award_period: tuple[date, date] | None = None,
) -> dict:
    ocid = OCID_PREFIX + ocid_guid
    when = _timestamp(rng, published)
    tender["documents"] = [
        {
            "id": "1",
            "documentType": "tenderNotice" if tag == "tender" else "awardNotice",
            "description": "Opportunity notice on Contracts Finder"
            if tag == "tender"
            else "Awarded contract notice on Contracts Finder",
            "url": CF_NOTICE_URL + notice_id,
            "datePublished": when,
            "format": "text/html",
            "language": "en",
        }
    ]
    release: dict = {
        "ocid": ocid,
        "id": f"{notice_id}-{rng.randint(700000, 899999)}",
        "language": "en",
        "date": when,
        "tag": [tag],
        "initiationType": "tender",
        "tender": tender,
        "parties": [_buyer_party(buyer)],
        "buyer": {"id": buyer[0], "name": buyer[1]},
    }
    if supplier is not None and award_value is not None and award_period is not None:
        party = _supplier_party(rng, supplier)
        release["parties"].append(party)
        release["awards"] = [
            {
                "id": f"{ocid}-1",
                "status": "active",
                "date": f"{published - timedelta(days=rng.randint(1, 20)):%Y-%m-%d}T00:00:00Z",
                "datePublished": when,
                "value": {
                    "amount": int(award_value) if award_value == award_value.to_integral() else float(award_value),
                    "currency": "GBP",
                },
                "suppliers": [{"id": party["id"], "name": party["name"]}],
                "contractPeriod": {
                    "startDate": f"{award_period[0]:%Y-%m-%d}T00:00:00Z",
                    "endDate": f"{award_period[1]:%Y-%m-%d}T23:59:59Z",
                },
            }
        ]
    return release


def _build_notices(
    rng: random.Random,
    contracts: list[Contract],
    core: list[Supplier],
    tail: list[Supplier],
    fiscal_year_start: int,
    buyer: tuple[str, str, str, str],
) -> list[dict]:
    fy_start = date(fiscal_year_start, 4, 1)
    fy_end = date(fiscal_year_start + 1, 3, 31)
    releases: list[dict] = []

    def clamp(d: date) -> date:
        return min(max(d, fy_start), fy_end)

    # Awards (and their tenders) for contracts let this year that were advertised.
    for c in contracts:
        if not c.notice_id or c.start < fy_start + timedelta(days=20):
            continue
        award_day = clamp(c.start - timedelta(days=rng.randint(5, 40)))
        ocid_guid = _guid(rng)
        tender_id = c.reference
        if c.route == "Open tender":
            tender_day = award_day - timedelta(days=rng.randint(60, 120))
            if tender_day >= fy_start:
                releases.append(
                    _release(
                        rng,
                        ocid_guid,
                        _guid(rng),
                        "tender",
                        tender_day,
                        buyer,
                        _tender_block(
                            rng,
                            tender_id,
                            c.title,
                            c.category,
                            c.total_value,
                            c.route,
                            tender_day,
                            c.start,
                            c.end,
                            "active",
                        ),
                    )
                )
        releases.append(
            _release(
                rng,
                ocid_guid,
                c.notice_id,
                "award",
                award_day,
                buyer,
                _tender_block(
                    rng,
                    tender_id,
                    c.title,
                    c.category,
                    c.total_value,
                    c.route,
                    award_day,
                    c.start,
                    c.end,
                    "complete",
                ),
                c.supplier,
                c.total_value,
                (c.start, c.end),
            )
        )

    # The pipeline: tenders out this year, not yet awarded (or awarded off-register).
    pipeline_categories = [c for c in CATEGORIES if c.weight >= 4]
    for i in range(34):
        category = rng.choice(pipeline_categories)
        title = rng.choice(category.titles)
        published = fy_start + timedelta(days=rng.randrange(0, 360))
        value = Decimal(rng.randint(3, 400) * 5000)
        start = _add_years(published, 1).replace(day=1) - timedelta(days=180)
        end = _add_years(start, rng.randint(2, 5)) - timedelta(days=1)
        route = rng.choice(["Open tender", "Framework call-off"])
        ocid_guid = _guid(rng)
        tender_id = f"NCC-T-{fiscal_year_start}-{i + 1:03d}"
        releases.append(
            _release(
                rng,
                ocid_guid,
                _guid(rng),
                "tender",
                published,
                buyer,
                _tender_block(
                    rng,
                    tender_id,
                    title,
                    category,
                    value,
                    route,
                    published,
                    start,
                    end,
                    "active",
                ),
            )
        )
        award_day = published + timedelta(days=rng.randint(50, 110))
        if i % 3 == 0 and award_day <= fy_end:
            supplier = rng.choice(tail + core[200:])
            releases.append(
                _release(
                    rng,
                    ocid_guid,
                    _guid(rng),
                    "award",
                    award_day,
                    buyer,
                    _tender_block(
                        rng,
                        tender_id,
                        title,
                        category,
                        value,
                        route,
                        award_day,
                        start,
                        end,
                        "complete",
                    ),
                    supplier,
                    value,
                    (start, end),
                )
            )

    # Market data: the neighbours' notices in the same months.
    for i in range(40):
        market_buyer = MARKET_BUYERS[i % 2]
        category = rng.choice(list(CATEGORIES))
        title = rng.choice(category.titles)
        published = fy_start + timedelta(days=rng.randrange(0, 365))
        value = Decimal(rng.randint(6, 2000) * 2500)
        start = published + timedelta(days=rng.randint(30, 120))
        end = _add_years(start, rng.randint(1, 5)) - timedelta(days=1)
        route = rng.choice(["Open tender", "Framework call-off", "Direct award (waiver)"])
        tender_id = f"{market_buyer[1].split()[0][:3].upper()}{rng.randint(10000, 99999)}"
        block = _tender_block(
            rng,
            tender_id,
            title,
            category,
            value,
            route,
            published,
            start,
            end,
            "active" if i % 2 else "complete",
        )
        block["description"] = block["description"].replace("Norwich City Council", market_buyer[1])
        if i % 2:
            releases.append(
                _release(
                    rng,
                    _guid(rng),
                    _guid(rng),
                    "tender",
                    published,
                    market_buyer,
                    block,
                )
            )
        else:
            supplier = rng.choice(core[:150] if rng.randrange(2) else tail)
            releases.append(
                _release(
                    rng,
                    _guid(rng),
                    _guid(rng),
                    "award",
                    published,
                    market_buyer,
                    block,
                    supplier,
                    value,
                    (start, end),
                )
            )
    return releases


def _write_notices(out: Path, releases: list[dict], months: list[date]) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for first in months:
        last = _month_end(first)
        in_month = sorted(
            (r for r in releases if r["date"][:7] == f"{first:%Y-%m}"),
            key=lambda r: (r["date"], r["id"]),
        )
        package = {
            "uri": "https://www.contractsfinder.service.gov.uk/Published/Notices/OCDS/"
            f"Search?publishedFrom={first:%Y-%m-%d}&publishedTo={last:%Y-%m-%d}",
            "version": "1.1",
            "publishedDate": in_month[-1]["date"] if in_month else f"{last}T23:59:59Z",
            "publisher": {
                "name": "Crown Commercial Service",
                "uri": "https://www.contractsfinder.service.gov.uk",
            },
            "license": "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            "publicationPolicy": "https://www.gov.uk/government/publications/open-contracting",
            "releases": in_month,
        }
        path = out / f"releases_{first:%Y-%m}.json"
        text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
        path.write_bytes(text.encode("utf-8"))
        files.append({"path": path, "releases": len(in_month)})
    return files


# --------------------------------------------------------------------------- README


def _readme(council_id: str, body: str, seed: int, fiscal_year_start: int) -> str:
    return f"""# Sample data: {body} (synthetic)

Everything in this folder is **synthetic**. It was generated by
`procure_sample.generate.generate_sample(council_id="{council_id}",
fiscal_year_start={fiscal_year_start}, seed={seed})`; the same arguments give
byte-identical files. No supplier, payment, contract or notice here is real, and any
resemblance of a generated supplier name to a real organisation is coincidental
(card-merchant names excepted: they mimic how national retailers appear in real
procurement-card files).

- `spend/` - monthly "spend over £500" files for April {fiscal_year_start} to March
  {fiscal_year_start + 1}: cp1252, CRLF, with the drift real finance exports show
  (renamed amount and date columns from October, a title row in January, redacted
  payees, card lines, name variants, exact duplicate rows).
- `contracts/contract_register.csv` - the contract register (UTF-8 with BOM, CRLF).
- `notices/releases_YYYY-MM.json` - Contracts Finder-shaped OCDS 1.1 release
  packages for this council and two Norfolk neighbours.

ProClass codes and level names are copied from ProClass 17.1. Contains public sector
information licensed under the Open Government Licence v3.0.
"""


# ---------------------------------------------------------------------------- entry


def generate_sample(
    out_dir: Path,
    council_id: str = "norwich",
    fiscal_year_start: int = 2024,
    seed: int = 20240401,
) -> dict:
    """Write a fiscal year of sample data under `out_dir/<council_id>/`.

    Returns a summary: every file written (paths relative to `out_dir`), spend rows
    and totals per file and for the year, and the counts of suppliers, contracts and
    notices. The totals are the sums of the amounts as written, so a reader that
    parses the files correctly must reproduce them exactly.
    """
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    root = out_dir / council_id
    body = DISPLAY_NAMES.get(council_id, f"{council_id.replace('_', ' ').title()} Council")
    months = _month_starts(fiscal_year_start)
    weekdays = [_weekdays(m) for m in months]

    core, tail = _build_suppliers(rng)
    lines: list[SpendLine] = []
    for supplier in core + tail:
        lines.extend(_supplier_lines(rng, supplier, weekdays))
    lines.extend(_redacted_lines(rng, weekdays))
    lines.extend(_card_lines(rng, weekdays))
    spend_files = _write_spend(rng, root / "spend", council_id, body, months, lines)

    spend_by_supplier: dict[str, Decimal] = {}
    for line in lines:
        if line.supplier_id:
            spend_by_supplier[line.supplier_id] = spend_by_supplier.get(line.supplier_id, Decimal(0)) + line.amount
    contracts = _build_contracts(rng, core, spend_by_supplier, fiscal_year_start)
    register = root / "contracts" / "contract_register.csv"
    register.parent.mkdir(parents=True, exist_ok=True)
    register.write_bytes(b"\xef\xbb\xbf" + _csv_bytes([CONTRACT_HEADER, *_contract_rows(rng, contracts)], "utf-8"))

    buyer = (BUYER_CFS_ID, body, BUYER_ADDRESS[0], BUYER_ADDRESS[2])
    releases = _build_notices(rng, contracts, core, tail, fiscal_year_start, buyer)
    notice_files = _write_notices(root / "notices", releases, months)

    readme = root / "README.md"
    readme.write_bytes(_readme(council_id, body, seed, fiscal_year_start).encode())

    def rel(path: Path) -> str:
        return path.relative_to(out_dir).as_posix()

    year_total = sum((f["total_amount"] for f in spend_files), start=Decimal("0.00"))
    own_notices = sum(1 for r in releases if r["buyer"]["id"] == BUYER_CFS_ID)
    return {
        "council_id": council_id,
        "seed": seed,
        "fiscal_year": f"{fiscal_year_start}/{(fiscal_year_start + 1) % 100:02d}",
        "spend_files": [
            {
                "path": rel(f["path"]),
                "rows": f["rows"],
                "total_amount": str(f["total_amount"]),
            }
            for f in spend_files
        ],
        "spend_rows": sum(f["rows"] for f in spend_files),
        "spend_total_amount": str(year_total),
        "suppliers": len(core) + len(tail),
        "sme_suppliers": sum(s.is_sme for s in core + tail),
        "vcse_suppliers": sum(s.is_vcse for s in core + tail),
        "contract_register": {
            "path": rel(register),
            "rows": len(contracts),
            "total_contract_value": str(sum(c.total_value for c in contracts)),
            "overspent": [
                {
                    "reference": c.reference,
                    "supplier_id": c.supplier.supplier_id,
                    "total_contract_value": str(c.total_value),
                    "year_spend": str(spend_by_supplier[c.supplier.supplier_id]),
                }
                for c in contracts
                if c.overspent
            ],
        },
        "contracts": len(contracts),
        "notice_files": [{"path": rel(f["path"]), "releases": f["releases"]} for f in notice_files],
        "notices": len(releases),
        "council_notices": own_notices,
        "market_notices": len(releases) - own_notices,
        "readme": rel(readme),
        "files": [rel(f["path"]) for f in spend_files]
        + [rel(register)]
        + [rel(f["path"]) for f in notice_files]
        + [rel(readme)],
    }
