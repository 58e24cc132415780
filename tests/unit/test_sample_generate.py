"""The sample generator: deterministic, realistic in shape, and self-consistent."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from procure_sample.generate import CONTRACT_HEADER, generate_sample
from procure_sample.reference import PROCLASS

AMOUNT_COLUMNS = ("Net Amount (£)", "Amount")
DATE_COLUMNS = ("Payment Date", "Date Paid")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict, Path, dict]:
    first = tmp_path_factory.mktemp("sample_a")
    second = tmp_path_factory.mktemp("sample_b")
    return first, generate_sample(first), second, generate_sample(second)


@pytest.fixture(scope="module")
def out(runs) -> Path:
    return runs[0]


@pytest.fixture(scope="module")
def summary(runs) -> dict:
    return runs[1]


def read_spend(path: Path) -> tuple[list[str], list[dict[str, str]], list[list[str]]]:
    """(header, data rows as dicts, rows before the header) of one spend file."""
    text = path.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    at = next(i for i, row in enumerate(rows) if row and row[0] == "Body Name")
    header = rows[at]
    return (
        header,
        [dict(zip(header, row, strict=True)) for row in rows[at + 1 :]],
        rows[:at],
    )


def amount(row: dict[str, str]) -> Decimal:
    column = next(c for c in AMOUNT_COLUMNS if c in row)
    return Decimal(row[column].replace(",", ""))


def read_register(out: Path) -> list[dict[str, str]]:
    raw = (out / "norwich/contracts/contract_register.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def money(text: str) -> Decimal:
    return Decimal(text.replace("£", "").replace(",", ""))


def test_same_inputs_give_byte_identical_files(runs):
    first, summary_a, second, summary_b = runs
    assert summary_a == summary_b
    files_a = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert files_a == files_b
    assert [Path(f) for f in sorted(summary_a["files"])] == files_a
    for rel in files_a:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_another_seed_gives_other_data(tmp_path, summary):
    other = generate_sample(tmp_path, seed=7)
    assert other["spend_total_amount"] != summary["spend_total_amount"]


def test_sizes_are_in_the_promised_ranges(summary):
    assert len(summary["spend_files"]) == 12
    assert 20_000 <= summary["spend_rows"] <= 30_000
    assert all(1_500 <= f["rows"] <= 2_600 for f in summary["spend_files"])
    assert Decimal(70_000_000) <= Decimal(summary["spend_total_amount"]) <= 90_000_000
    assert 1_800 <= summary["suppliers"] <= 2_200
    assert 0.45 <= summary["sme_suppliers"] / summary["suppliers"] <= 0.65
    assert 0.03 <= summary["vcse_suppliers"] / summary["suppliers"] <= 0.08
    assert 250 <= summary["contracts"] <= 350
    assert 60 <= summary["council_notices"] <= 100
    assert 30 <= summary["market_notices"] <= 50


def test_spend_files_are_cp1252_crlf_with_header_drift(out, summary):
    names = [Path(f["path"]).name for f in summary["spend_files"]]
    assert names[0] == "norwich_spend_2024-04.csv"
    assert names[-1] == "norwich_spend_2025-03.csv"
    for entry in summary["spend_files"]:
        raw = (out / entry["path"]).read_bytes()
        assert raw.count(b"\n") == raw.count(b"\r\n")
        header, _, preamble = read_spend(out / entry["path"])
        month = entry["path"][-11:-4]
        if month >= "2024-10":
            assert "Amount" in header and "Date Paid" in header
            assert "Net Amount (£)" not in header
        else:
            assert "Net Amount (£)" in header and "Payment Date" in header
            assert raw.startswith(b"Body Name,") and b"Net Amount (\xa3)" in raw[:300]
        if month == "2025-01":
            assert preamble == [
                ["Norwich City Council - Spend over £500 - January 2025"],
                [],
            ]
        else:
            assert preamble == []


def test_spend_totals_reconcile_with_the_summary(out, summary):
    year = Decimal(0)
    for entry in summary["spend_files"]:
        _, rows, _ = read_spend(out / entry["path"])
        assert len(rows) == entry["rows"]
        total = sum((amount(r) for r in rows), start=Decimal(0))
        assert total == Decimal(entry["total_amount"])
        year += total
    assert year == Decimal(summary["spend_total_amount"])


def test_spend_lines_look_like_a_real_council_file(out, summary):
    rows = []
    for entry in summary["spend_files"]:
        _, month_rows, _ = read_spend(out / entry["path"])
        first = date.fromisoformat(entry["path"][-11:-4] + "-01")
        for row in month_rows:
            paid = datetime.strptime(row.get("Payment Date") or row["Date Paid"], "%d/%m/%Y")
            assert (paid.year, paid.month) == (first.year, first.month)
        rows += month_rows
    n = len(rows)
    card = [r for r in rows if r["Transaction Number"].startswith("PCARD-")]
    redacted = [r for r in rows if "redacted" in r["Supplier Name"].lower()]
    credits = [r for r in rows if amount(r) < 0]
    assert 0.03 <= len(card) / n <= 0.07
    assert 0.02 <= len(redacted) / n <= 0.04
    assert all(r["Supplier ID"] == r["Company Number"] == "" for r in redacted)
    assert len({r["Supplier Name"] for r in redacted}) >= 3
    assert 0.01 <= len(credits) / n <= 0.02
    # Spend over £500: only credits and card lines go below it.
    assert all(amount(r) >= 500 for r in rows if r not in card and amount(r) >= 0)
    raw = b"".join((out / e["path"]).read_bytes() for e in summary["spend_files"])
    assert re.search(rb',"-?\d{1,3}(,\d{3})+\.\d{2}",', raw)
    classified = [r for r in rows if r["ProClass Code"]]
    assert 0.72 <= len(classified) / n <= 0.88
    for r in classified:
        assert r["ProClass Code"] in PROCLASS
        assert r["ProClass Category"].split(" > ")[0] == PROCLASS[r["ProClass Code"]][0]
    assert {r["Capital/Revenue"] for r in rows} == {"Capital", "Revenue"}
    assert 14 <= len({r["Service Area"] for r in rows}) <= 17
    company_numbers = {r["Company Number"] for r in rows if r["Company Number"]}
    assert all(len(c) == 8 for c in company_numbers)
    charity_numbers = {r["Charity Number"] for r in rows if r["Charity Number"]}
    assert charity_numbers and all(c.isdigit() and len(c) in (6, 7) for c in charity_numbers)


def test_spend_has_duplicates_name_variants_and_a_heavy_tail(out, summary):
    rows = []
    for entry in summary["spend_files"]:
        rows += [tuple(r.items()) for r in read_spend(out / entry["path"])[1]]
    duplicates = len(rows) - len(set(rows))
    assert 0.0005 * len(rows) <= duplicates <= 0.005 * len(rows)
    names: dict[str, set[str]] = defaultdict(set)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    lines: dict[str, int] = defaultdict(int)
    for row in map(dict, rows):
        if row["Supplier ID"]:
            names[row["Supplier ID"]].add(row["Supplier Name"])
            spend[row["Supplier ID"]] += amount(row)
            lines[row["Supplier ID"]] += 1
    assert len(names) == summary["suppliers"]
    assert 20 <= sum(len(v) > 1 for v in names.values()) <= 60
    ranked = sorted(spend.values(), reverse=True)
    assert sum(ranked[:300]) / sum(ranked) > Decimal("0.7")
    assert sum(count <= 2 for count in lines.values()) > 0.6 * len(lines)


def test_contract_register_columns_and_values(out, summary):
    raw = (out / "norwich/contracts/contract_register.csv").read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")
    rows = read_register(out)
    assert list(rows[0]) == CONTRACT_HEADER
    assert len(rows) == summary["contracts"]
    assert len({r["Contract Reference"] for r in rows}) == len(rows)
    values = [money(r["Total Contract Value"]) for r in rows]
    assert min(values) >= 5_000 and max(values) <= 20_000_000
    assert any(r["Total Contract Value"].startswith("£") for r in rows)
    assert any(r["Total Contract Value"].isdigit() for r in rows)
    assert {r["SME"] for r in rows} <= {"Yes", "No", ""}
    assert {r["Procurement Route"] for r in rows} == {
        "Open tender",
        "Framework call-off",
        "Three quotes",
        "Direct award (waiver)",
        "Direct purchase",
    }
    as_of = date(2025, 3, 31)
    buckets = defaultdict(int)
    for r in rows:
        start = datetime.strptime(r["Contract Start Date"], "%d/%m/%Y").date()
        end = datetime.strptime(r["Contract End Date"], "%d/%m/%Y").date()
        assert date(2017, 1, 1) <= start < end
        months = (end - as_of).days / 30.44
        buckets["expired" if months < 0 else min(int(months // 6), 3)] += 1  # 0: 0-6, 1: 6-12, 2: 12-18, 3: >18
    assert all(buckets[b] >= 15 for b in ("expired", 0, 1, 2, 3)), buckets


def test_overspent_contracts_are_overspent_by_the_sample_spend(out, summary):
    overspent = summary["contract_register"]["overspent"]
    assert len(overspent) >= 3
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for entry in summary["spend_files"]:
        for row in read_spend(out / entry["path"])[1]:
            spend[row["Supplier ID"]] += amount(row)
    register = {r["Contract Reference"]: r for r in read_register(out)}
    for item in overspent:
        value = money(register[item["reference"]]["Total Contract Value"])
        assert value == Decimal(item["total_contract_value"])
        assert spend[item["supplier_id"]] > value


def test_notices_are_contracts_finder_shaped_ocds(out, summary):
    releases = []
    for entry in summary["notice_files"]:
        package = json.loads((out / entry["path"]).read_text(encoding="utf-8"))
        for key in ("uri", "publishedDate", "publisher", "license", "releases"):
            assert key in package
        assert len(package["releases"]) == entry["releases"]
        releases += package["releases"]
    assert len(releases) == summary["notices"]
    for release in releases:
        assert release["ocid"].startswith("ocds-b5fd17-")
        assert release["tag"][0] in ("tender", "award")
        for key in ("id", "date", "initiationType", "parties", "buyer", "tender"):
            assert key in release
        tender = release["tender"]
        assert tender["classification"]["scheme"] == "CPV"
        assert tender["value"]["currency"] == "GBP"
        for key in ("id", "title", "description", "status", "procurementMethod"):
            assert key in tender
        assert set(tender["suitability"]) == {"sme", "vcse"}
        assert "endDate" in tender["tenderPeriod"]
        buyer = next(p for p in release["parties"] if "buyer" in p["roles"])
        assert buyer["id"] == release["buyer"]["id"]
        for party in release["parties"]:
            assert party["id"].startswith(("GB-CFS-", "GB-COH-"))
            assert {"name", "identifier", "address", "roles"} <= set(party)
            if "supplier" in party["roles"]:
                assert party["details"]["scale"] in ("sme", "large")
                assert isinstance(party["details"]["vcse"], bool)
        if release["tag"] == ["award"]:
            award = release["awards"][0]
            for key in ("id", "status", "date", "value", "suppliers", "contractPeriod"):
                assert key in award
    own = [r for r in releases if r["buyer"]["name"] == "Norwich City Council"]
    assert {r["buyer"]["id"] for r in own} == {"GB-CFS-12345"}
    assert {r["buyer"]["name"] for r in releases} == {
        "Norwich City Council",
        "Norfolk County Council",
        "Broadland District Council",
    }
    parties = [p for r in releases for p in r["parties"]]
    assert any("&amp;" in p["name"] for p in parties)
    assert any(p["address"].get("postalCode", "") == "" for p in parties)
    assert {"United Kingdom", "England", "UK", "GB"} <= {p["address"].get("countryName") for p in parties}
    assert any(r["tender"]["value"]["amount"] in (0, 1) for r in releases)


def test_register_links_to_award_notices(out, summary):
    notice_ids = set()
    for entry in summary["notice_files"]:
        package = json.loads((out / entry["path"]).read_text(encoding="utf-8"))
        for release in package["releases"]:
            if release["tag"] == ["award"]:
                url = release["tender"]["documents"][0]["url"]
                notice_ids.add(url.rsplit("/", 1)[1])
    linked = [r for r in read_register(out) if r["Contracts Finder Notice ID"] in notice_ids]
    assert len(linked) >= 15


def test_readme_says_synthetic_with_seed_and_ogl(out, summary):
    text = (out / summary["readme"]).read_text(encoding="utf-8")
    assert "synthetic" in text
    assert "seed=20240401" in text
    assert "Open Government Licence v3.0" in text
