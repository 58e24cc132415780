"""The pack's summary sentences, generated from the collected figures (no hand-written numbers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from procure.publish.board_pack.formatting import gbp, pct

#: KPIs about the data rather than the spending: reported in the data-quality section, not the summary
DATA_QUALITY_KPIS = ("quarantine_share", "classified_share")

#: an uncompeted contract at least this large is named on page 1 (the usual formal-tender threshold)
MATERIAL_DIRECT_AWARD_GBP = 100_000


def _pts(v: Decimal) -> str:
    return f"{abs(v) * 100:.1f}"


def _signed(v: Decimal) -> str:
    return f"+{gbp(v)}" if v > 0 else gbp(v)


def _moved(change: Decimal) -> str:
    return f"rose {gbp(change)}" if change > 0 else f"fell {gbp(-change)}" if change < 0 else "was unchanged"


def _drivers(c: dict[str, Any]) -> str:
    """'the largest movements were Housing +£400,000, Waste −£120,000; by supplier, X +£300,000, ...'"""
    areas = ", ".join(f"{r['name']} {_signed(r['change'])}" for r in c["areas"])
    suppliers = ", ".join(f"{r['name']} {_signed(r['change'])}" for r in c["suppliers"])
    parts = [f"by service area {areas}" if areas else "", f"by supplier {suppliers}" if suppliers else ""]
    return "largest movements " + "; ".join(p for p in parts if p) if areas or suppliers else "no area moved"


def commentary(data: dict[str, Any]) -> list[str]:
    """Plain-English sentences generated from the figures (no hand-written numbers)."""
    out = []
    s = data["spend"]
    month = data["month"]
    v = data.get("variance") or {}
    if s["prev"]:
        change = (s["month"] - s["prev"]) / s["prev"]
        direction = "rose" if change > 0 else "fell" if change < 0 else "was unchanged"
        tail = f" {abs(change) * 100:.1f}% to {gbp(s['month'])}" if change else f" at {gbp(s['month'])}"
        out.append(
            f"Spend in {month:%B %Y} {direction}{tail} (from {gbp(s['prev'])} in the previous month)"
            + (f"; {_drivers(v['month'])}." if v.get("month") else ".")
        )
    else:
        out.append(f"Spend in {month:%B %Y} was {gbp(s['month'])}.")
    if v.get("last_year"):
        ly = v["last_year"]
        out.append(f"Against {ly['label']} ({gbp(ly['before'])}), spend {_moved(ly['change'])}; {_drivers(ly)}.")
    else:
        out.append(f"{month.replace(year=month.year - 1):%B %Y} is not loaded, so there is no same-month comparison.")
    months = (month.year - data["fy_start"].year) * 12 + month.month - data["fy_start"].month + 1
    ytd = (
        f"Spend this financial year to date is {gbp(s['ytd'])} over {months} months ({gbp(s['ytd'] / months)} a month)"
    )
    if v.get("ytd"):
        y = v["ytd"]
        out.append(f"{ytd}; against {y['label']} it {_moved(y['change'])}; {_drivers(y)}.")
    else:
        out.append(f"{ytd}.")
    for k in data["kpis"]:
        if k["key"] in DATA_QUALITY_KPIS:
            continue
        if k["value"] is None:
            out.append(f"{k['label']}: no data for {month:%B %Y}.")
            continue
        position = (
            "meeting"
            if k["rag"] == "green"
            else ("above" if k["direction"] == "lower" else "below")
            if k["target"] is not None
            else ""
        )
        target = f", {position} the {pct(k['target'])} target" if k["target"] is not None else ""
        if k.get("coverage") is not None:
            target = (
                f" of the spend whose status is known ({pct(k['coverage'])} of spend; "
                f"{pct(k['share_of_all_spend'])} of all spend)"
                + (
                    f": too little is known for a status against the {pct(k['target'])} target"
                    if k.get("below_coverage_floor") and k["target"] is not None
                    else target
                )
            )
        if k["change_month"] is None:
            out.append(f"{k['label']} was {pct(k['value'])}{target}.")
        elif k["change_month"] == 0:
            out.append(f"{k['label']} was unchanged at {pct(k['value'])}{target}.")
        else:
            verb = "rose" if k["change_month"] > 0 else "fell"
            out.append(f"{k['label']} {verb} {_pts(k['change_month'])} points to {pct(k['value'])}{target}.")
    pk = data.get("kpi_month") or {}
    n6 = pk.get("contracts_expiring_6m") or 0
    if n6:
        out.append(
            f"{n6} contract{'s' if n6 != 1 else ''} worth {gbp(pk['value_expiring_6m_gbp'])} "
            f"expire{'s' if n6 == 1 else ''} within six months and need a decision on re-procurement or extension."
        )
    for c in data["pipeline"].get("lapsed", []):
        if c.get("is_top10_by_value"):
            out.append(
                f"{c['title'] or c['contract_ref']} ({c['supplier_name']}), one of the ten largest contracts by value "
                f"({gbp(c['contract_value_gbp'])}), ended on {c['end_date']:%d %B %Y}"
                + (
                    f"; {gbp(c['spend_at_risk_gbp'])} has been paid to the supplier since with no live contract."
                    if c["spend_at_risk_gbp"]
                    else "."
                )
            )
    d = data.get("direct_awards") or {}
    if d.get("contracts") and (d["contracts"][0]["contract_value_gbp"] or 0) >= MATERIAL_DIRECT_AWARD_GBP:
        top = d["contracts"][0]
        out.append(
            f"{len(d['contracts'])} live contracts worth {gbp(d['value'])} ({pct(d['value_share'])} of contract value) "
            f"were awarded without competition; the largest is {top['title'] or top['contract_ref']} "
            f"({top['supplier_name']}, {gbp(top['contract_value_gbp'])}, {top['procurement_route']})."
        )
    dup = data.get("duplicates") or {}
    if dup.get("pairs"):
        out.append(
            f"{dup['pairs']:,} pairs of payments this financial year may be duplicates, {gbp(dup['at_stake'])} at "
            "stake: for recovery review."
        )
    t = data.get("transparency") or {}
    if t.get("no_notice"):
        out.append(
            f"{len(t['no_notice'])} register contracts of {gbp(t['threshold'])} or more live this year, worth "
            f"{gbp(t['no_notice_value'])}, have no Contracts Finder / Find a Tender notice"
            + (
                f"; {len(t['not_on_register'])} published awards are missing from the register."
                if t.get("not_on_register")
                else "."
            )
        )
    base = (data.get("supplier_base") or {}).get("all")
    if base and base["tail_supplier_count"]:
        out.append(
            f"{base['tail_supplier_count']:,} of {base['supplier_count']:,} suppliers ({pct(base['tail_supplier_share'])}) "
            f"were paid under {gbp(base['tail_threshold_gbp'])} a year, {pct(base['tail_spend_share'])} of spend; "
            f"{base['one_off_supplier_count']:,} were paid once."
        )
    if data["risks"]:
        over = sum(1 for r in data["risks"] if r["flag"].startswith("Overspent"))
        late = sum(1 for r in data["risks"] if "after end" in r["flag"].lower())
        out.append(f"{over} contracts are overspent against their value and {late} were paid after their end date.")
    if data["suppliers"] and data["top10_share"] is not None:
        out.append(f"The ten largest suppliers received {pct(data['top10_share'])} of spend this financial year.")
    return out
