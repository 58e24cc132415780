"""Fast, streaming generator of N councils x M months of payment files for the benchmark.

``procure_sample.generate`` writes one Norwich-sized year in memory with Decimal maths: right for
the demo, too slow for 300 councils. This module keeps its shapes and its mess and streams rows to
disk one council-month at a time (memory stays at one month of one council, whatever the size):

- the same 14 columns (``SPEND_HEADER``), cp1252 with CRLF, "£" in the amount header;
- the header drifts from the seventh month of each fiscal year (``SPEND_RENAMES``) and the tenth
  month has a title row and a blank row before the header (``TITLE_ROW_MONTH_INDEX``);
- the supplier population of ``_build_suppliers`` (Zipf budgets, name variants, company and
  charity numbers, ProClass codes), redacted payees in their real spellings, purchase-card lines
  (``CARD_MERCHANTS``), credits (negative amounts), thousands separators and exact duplicates.

Deterministic: each council has its own ``random.Random`` seeded from ``(seed, council_id)``, so the
same arguments give byte-identical files whether councils are written by one process or several.
Money is integer pennies; nothing reads the clock.

    .venv/bin/python bench/generate.py /tmp/bench/data --councils 20 --months 12
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from procure_sample import names
from procure_sample.generate import (
    HEADER_DRIFT_MONTH_INDEX,
    REDACTED_AREAS,
    SPEND_HEADER,
    SPEND_RENAMES,
    TITLE_ROW_MONTH_INDEX,
    _build_suppliers,
)
from procure_sample.reference import SERVICE_AREAS, proclass_label

# Lines a year of one council: ~10 M for 300 councils, as the issue sizes a national index.
LINES_PER_YEAR = 33_000
# The sample's line mix (core + tail suppliers, redacted payees, card lines) as relative weights.
REDACTED_LINES = 720
CARD_LINES = 1200
CARD_EXPENSES = ("Purchase Card", "Equipment", "Travel", "Subscriptions")
TAIL_BANDS = ((500, 1000), (1000, 2500), (2500, 5000), (5000, 10000), (10000, 25000), (25000, 60000))
TAIL_BAND_WEIGHTS = (30, 30, 18, 12, 7, 3)
CARD_BANDS = ((3, 50), (50, 200), (200, 500), (500, 2500))
CARD_BAND_WEIGHTS = (30, 40, 20, 10)


@dataclass(frozen=True)
class Payee:
    """What every line to one payee shares; ``kind`` is core, tail, redacted or card."""

    kind: str
    names: tuple[str, ...]  # first = canonical; others = variants (35% of lines)
    supplier_id: str = ""
    company_number: str = ""
    charity_number: str = ""
    proclass: str = ""
    proclass_label: str = ""
    expense_type: str = ""
    service_areas: tuple[str, ...] = ()
    capital: bool = False
    per_line_pence: int = 0


def month_starts(first: date, count: int) -> list[date]:
    return [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(count)]


def _weekdays(first: date) -> list[str]:
    out, day = [], first
    while day.month == first.month:
        if day.weekday() < 5:
            out.append(day.strftime("%d/%m/%Y"))
        day += timedelta(days=1)
    return out


def _payees(rng: random.Random) -> tuple[list[Payee], list[int]]:
    """The council's payees and their cumulative line weights (the sample generator's population)."""
    core, tail = _build_suppliers(rng)
    payees: list[Payee] = []
    weights: list[int] = []
    for s in core + tail:
        code = "" if s.kind == "public" else s.category.proclass
        payees.append(
            Payee(
                kind="core" if s.rank else "tail",
                names=(s.name, *s.variants),
                supplier_id=s.supplier_id,
                company_number=s.company_number,
                charity_number=s.charity_number,
                proclass=code,
                proclass_label=proclass_label(code) if code else "",
                expense_type="Partnership Contributions" if s.kind == "public" else s.category.expense_type,
                service_areas=SERVICE_AREAS if s.kind == "public" else s.category.service_areas,
                capital=s.category.capital,
                per_line_pence=int(s.budget * 100) // s.n_lines if s.rank else 0,
            )
        )
        weights.append(s.n_lines)
    payees.append(Payee(kind="redacted", names=names.REDACTED_SPELLINGS))
    weights.append(REDACTED_LINES)
    payees.append(Payee(kind="card", names=names.CARD_MERCHANTS, service_areas=SERVICE_AREAS))
    weights.append(CARD_LINES)
    cumulative, total = [], 0
    for w in weights:
        total += w
        cumulative.append(total)
    return payees, cumulative


def _amount(pence: int, thousands: bool) -> str:
    sign = "-" if pence < 0 else ""
    pounds, pp = divmod(abs(pence), 100)
    return f"{sign}{pounds:,}.{pp:02d}" if thousands else f"{sign}{pounds}.{pp:02d}"


def _line(rng: random.Random, p: Payee, body: str, day: str) -> tuple[list[str], int, bool]:
    """One row (transaction number filled in later), its amount in pence, and whether it is a card line."""
    r = rng.random
    if p.kind == "core":
        pence = p.per_line_pence * rng.randint(60, 140) // 100
        if pence < 50_000:
            pence = rng.randint(50_000, 120_000)
        if r() < 0.015:
            pence = -rng.randint(4_000, max(6_000, min(500_000, p.per_line_pence)))
    elif p.kind == "tail":
        low, high = rng.choices(TAIL_BANDS, TAIL_BAND_WEIGHTS)[0]
        pence = rng.randint(low * 100, high * 100)
    elif p.kind == "redacted":
        area, expense, _ = rng.choices(REDACTED_AREAS, [a[2] for a in REDACTED_AREAS])[0]
        pence = rng.randint(50_000, 400_000)
        row = [body, area, expense, day, "", _amount(pence, False), "0.00", rng.choice(p.names)]
        return [*row, "", "", "", "", "", "Revenue"], pence, False
    else:  # card
        low, high = rng.choices(CARD_BANDS, CARD_BAND_WEIGHTS)[0]
        pence = rng.randint(low * 100, high * 100)
        if r() < 0.03:
            pence = -pence
        row = [body, rng.choice(SERVICE_AREAS), rng.choice(CARD_EXPENSES), day, "", _amount(pence, False), ""]
        return [*row, rng.choice(p.names), "", "", "", "", "", "Revenue"], pence, True
    areas = p.service_areas
    area = areas[0] if r() < 0.75 else rng.choice(areas)
    code, label = (p.proclass, p.proclass_label) if r() >= 0.14 else ("", "")
    expense = "Contractor Payments" if r() < 0.10 and p.proclass else p.expense_type
    name = rng.choice(p.names[1:]) if len(p.names) > 1 and r() < 0.35 else p.names[0]
    thousands = abs(pence) >= 100_000 and r() < 0.08
    row = [body, area, expense, day, "", _amount(pence, thousands), "0.00", name, p.supplier_id]
    capital = "Capital" if p.capital and r() < 0.85 else "Revenue"
    return [*row, p.company_number, p.charity_number, code, label, capital], pence, False


def generate_council(
    out_dir: Path,
    council_id: str,
    body: str,
    months: list[date],
    lines_per_year: int = LINES_PER_YEAR,
    seed: int = 20240401,
    fiscal_year_start_month: int = 4,
) -> dict:
    """Write ``out_dir/<council_id>/spend/<council_id>_spend_<YYYY-MM>.csv`` for each month; a summary.

    The summary's ``rows`` and ``total_pence`` are what a correct reader must load from each file.
    """
    rng = random.Random(f"{seed}:{council_id}")  # noqa: S311 - seeded benchmark data, not cryptography
    spend = Path(out_dir) / council_id / "spend"
    spend.mkdir(parents=True, exist_ok=True)
    payees, cumulative = _payees(rng)
    per_month = lines_per_year / 12
    transaction = 4_100_000 + rng.randrange(1_000_000)
    files = []
    for first in months:
        index = (first.month - fiscal_year_start_month) % 12
        days = _weekdays(first)
        n = max(1, round(per_month * rng.uniform(0.9, 1.1)))
        drawn = []
        for p in rng.choices(payees, cum_weights=cumulative, k=n):
            day_index = rng.randrange(len(days))
            row, pence, card = _line(rng, p, body, days[day_index])
            drawn.append((day_index, card, row, pence))
        drawn.sort(key=lambda d: (d[0], d[1], d[2][7]))
        rows, total, card_seq = [], 0, 0
        for _, card, row, pence in drawn:
            if card:
                card_seq += 1
                row[4] = f"PCARD-{first:%y%m}-{card_seq:04d}"
            else:
                transaction += rng.randint(1, 3)
                row[4] = str(transaction)
            rows.append(row)
            total += pence
            if row[8] and rng.random() < 0.002:  # the same payment keyed twice
                rows.append(row)
                total += pence
        header = SPEND_HEADER if index < HEADER_DRIFT_MONTH_INDEX else [SPEND_RENAMES.get(h, h) for h in SPEND_HEADER]
        path = spend / f"{council_id}_spend_{first:%Y-%m}.csv"
        with path.open("w", encoding="cp1252", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            if index == TITLE_ROW_MONTH_INDEX:
                writer.writerows([[f"{body} - Spend over £500 - {first:%B %Y}"], []])
            writer.writerow(header)
            writer.writerows(rows)
        files.append({"path": str(path), "month": f"{first:%Y-%m}", "rows": len(rows), "total_pence": total})
    return {
        "council_id": council_id,
        "name": body,
        "spend_dir": str(spend),
        "rows": sum(f["rows"] for f in files),
        "total_pence": sum(f["total_pence"] for f in files),
        "bytes": sum(Path(f["path"]).stat().st_size for f in files),
        "files": files,
    }


def council_ids(n: int) -> list[tuple[str, str]]:
    """``(id, display name)`` of the benchmark's councils: c000, c001, ..."""
    return [(f"c{i:03d}", f"Bench {i:03d} District Council") for i in range(n)]


def _generate_one(args: tuple) -> dict:
    return generate_council(*args)


def generate(
    out_dir: Path,
    n_councils: int,
    n_months: int,
    first_month: date = date(2024, 4, 1),
    lines_per_year: int = LINES_PER_YEAR,
    seed: int = 20240401,
    workers: int = 1,
) -> dict:
    """Write every council's months (in ``workers`` processes); ``out_dir/generated.json`` records what.

    A second call with the same arguments finds ``generated.json`` unchanged and writes nothing.
    """
    out_dir = Path(out_dir)
    params = {
        "councils": n_councils,
        "months": n_months,
        "first_month": first_month.isoformat(),
        "lines_per_year": lines_per_year,
        "seed": seed,
        "generator": 1,
    }
    record = out_dir / "generated.json"
    if record.exists():
        done = json.loads(record.read_text())
        if done.get("params") == params and all(Path(f["path"]).exists() for c in done["councils"] for f in c["files"]):
            return done
    months = month_starts(first_month, n_months)
    jobs = [(out_dir, cid, body, months, lines_per_year, seed) for cid, body in council_ids(n_councils)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            councils = list(pool.map(_generate_one, jobs))
    else:
        councils = [_generate_one(j) for j in jobs]
    summary = {
        "params": params,
        "rows": sum(c["rows"] for c in councils),
        "bytes": sum(c["bytes"] for c in councils),
        "files": sum(len(c["files"]) for c in councils),
        "councils": councils,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--councils", type=int, default=20)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--first-month", type=date.fromisoformat, default=date(2024, 4, 1))
    parser.add_argument("--lines-per-year", type=int, default=LINES_PER_YEAR)
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    a = parser.parse_args(argv)
    s = generate(a.out_dir, a.councils, a.months, a.first_month, a.lines_per_year, a.seed, a.workers)
    print(json.dumps({k: s[k] for k in ("rows", "bytes", "files")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
