"""What moved spend: a change in net spend split by service area and by supplier, largest movers first.

``figures.collect`` compares the reporting month with the month before and the same month a year earlier,
and the financial year to date with the same months of the year before, each only when every month on both
sides is loaded (a gap is never read as £0). Every row is a mart's figure (mart_local_spend by service area; fct_spend by supplier), so the parts add up
to the change in the total the pack shows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

DRIVERS = 3  # movers named in the summary, each way of splitting


def _by(con, sql: str, params: list[Any]) -> dict[str, Decimal]:
    return dict(con.execute(sql, params).fetchall())


def _split(con, council_id: str, start: date, end: date) -> dict[str, dict[str, Decimal]]:
    """Net spend by service area and by supplier for payment months start..end (inclusive)."""
    areas = _by(
        con,
        "select service_area, sum(total_spend_gbp) from marts.mart_local_spend "
        "where council_id = ? and month between ? and ? group by 1",
        [council_id, start, end],
    )
    suppliers = _by(
        con,
        "select d.canonical_name, sum(f.amount_gbp) from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "where f.council_id = ? and f.payment_month between ? and ? group by d.supplier_id, d.canonical_name",
        [council_id, start, end],
    )
    return {"area": areas, "supplier": suppliers}


def _movers(now: dict[str, Decimal], before: dict[str, Decimal], n: int = DRIVERS) -> list[dict[str, Any]]:
    rows = [
        {"name": k, "before": before.get(k, Decimal(0)), "now": now.get(k, Decimal(0))} for k in set(now) | set(before)
    ]
    for r in rows:
        r["change"] = r["now"] - r["before"]
    rows.sort(key=lambda r: (-abs(r["change"]), r["name"] or ""))
    return [r for r in rows[:n] if r["change"]]


def compare(con, council_id: str, now: tuple[date, date], before: tuple[date, date], label: str) -> dict[str, Any]:
    """Net spend in the payment months ``now`` against ``before`` (first, last; inclusive), in total and its
    largest movers by service area and by supplier."""
    a, b = _split(con, council_id, *now), _split(con, council_id, *before)
    total_now, total_before = sum(a["area"].values(), Decimal(0)), sum(b["area"].values(), Decimal(0))
    return {
        "label": label,
        "now": total_now,
        "before": total_before,
        "change": total_now - total_before,
        "areas": _movers(a["area"], b["area"]),
        "suppliers": _movers(a["supplier"], b["supplier"]),
    }
