"""The monthly board pack: one self-contained HTML page per council and month, and its PDF.

Two steps: ``collect`` reads every figure from the marts (and the ops/raw tables for the
data-quality panel) into plain data; ``render_html`` lays it out. Nothing comes from the
wall clock, charts are deterministic SVG, so re-publishing a month gives byte-identical
HTML. Every number cell carries its exact value in ``data-value`` so a test can check what
is shown against the warehouse.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import yaml

from procure.config import Council, project_path, publish_dir
from procure.publish import charts
from procure.publish.atomic import atomic_dir, require_gate, sha256_file
from procure.publish.safety import check_privacy
from procure.warehouse import connect

log = logging.getLogger(__name__)

TREND_GROUPS = 6  # service areas drawn separately in the trend; the rest are "Other"
EXCLUDED_SUPPLIERS = ("redacted", "unknown")
RISKS_SHOWN = 15  # contract-risk rows on the pack (largest exposure first); the count covers all

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8.5pt; color: #444; }
        @bottom-left { content: string(council) " · procurement board pack"; font-size: 8.5pt; color: #444; } }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #1b1b1b;
       max-width: 60rem; margin: 0 auto; padding: 1rem; line-height: 1.35; }
@media print { body { max-width: none; padding: 0; } }
header { border-bottom: 4px solid #0b3c5d; margin-bottom: 8pt; padding-bottom: 6pt; }
h1 { string-set: council content(); font-size: 19pt; margin: 0; color: #0b3c5d; }
.subtitle { font-size: 12pt; margin: 2pt 0; font-weight: bold; }
h2 { font-size: 13pt; color: #0b3c5d; border-bottom: 1.5pt solid #0b3c5d; padding-bottom: 2pt; margin: 14pt 0 6pt; }
h3 { font-size: 10.5pt; margin: 10pt 0 3pt; }
section { break-inside: auto; }
section.break { break-before: page; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; }
caption { text-align: left; font-size: 8.5pt; color: #444; caption-side: bottom; padding-top: 2pt; }
th, td { border-bottom: 0.75pt solid #c8c8c8; padding: 2.5pt 4pt; text-align: left; font-size: 8.5pt; vertical-align: top; }
thead th { background: #e8eef3; border-bottom: 1pt solid #0b3c5d; }
tr { break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { white-space: normal; } .nowrap { white-space: nowrap; }
.rag { display: inline-block; min-width: 4.2em; text-align: center; font-weight: bold; border-radius: 3pt;
       padding: 0 3pt; }
.rag-green { background: #d5ecdd; color: #0d5a2b; } .rag-amber { background: #fbe5c8; color: #7a4300; }
.rag-red { background: #f6d1d1; color: #8a1111; } .rag-none { background: #eee; color: #333; }
.kpis { display: flex; gap: 6pt; margin: 4pt 0 8pt; }
.kpi { flex: 1; border: 1pt solid #0b3c5d; border-radius: 3pt; padding: 5pt 7pt; font-size: 8.5pt; color: #333; }
.kpi b { display: block; font-size: 15pt; color: #0b3c5d; margin: 1pt 0; }
.commentary { background: #f3f6f9; border-left: 4pt solid #0b3c5d; padding: 4pt 8pt; margin: 6pt 0; }
.commentary li { margin: 2pt 0; }
.toc ol { columns: 2; margin: 0; } .toc a { color: inherit; text-decoration: none; }
.toc a::after { content: leader('.') " " target-counter(attr(href), page); }
.note { color: #444; font-size: 8.5pt; }
svg.chart { width: 100%; height: auto; max-height: 95mm; display: block; margin: 4pt 0; }
"""
# For the PDF only: the charts go in as SVG images (see ``pdf_html``), sized as the inline SVG is.
PDF_CSS = (
    "img.chart { width: 100%; height: auto; max-height: 95mm; display: block; margin: 4pt 0; object-fit: contain; }"
)


# ----------------------------------------------------------------------------- formatting
def gbp(v: Any) -> str:
    if v is None:
        return "–"
    d = Decimal(v)
    return f"−£{-d:,.0f}" if d < 0 else f"£{d:,.0f}"


def pct(v: Any) -> str:
    return "–" if v is None else f"{Decimal(v) * 100:.1f}%"


def points(v: Any) -> str:
    return "–" if v is None else f"{Decimal(v) * 100:+.1f} pts"


def count(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


FORMATS = {
    "gbp": gbp,
    "pct": pct,
    "points": points,
    "count": count,
    "text": lambda v: "" if v is None else str(v),
    "code": lambda v: "" if v is None else str(v),
}


def _cell(value: Any, kind: str) -> str:
    text = FORMATS[kind](value)
    if kind == "text":
        return f"<td>{escape(text)}</td>"
    if kind == "code":  # references and dates: never wrapped
        return f'<td class="nowrap">{escape(text)}</td>'
    raw = "" if value is None else str(value)
    return f'<td class="num" data-kind="{kind}" data-value="{escape(raw)}">{escape(text)}</td>'


def table(panel: str, columns: list[tuple[str, str]], rows: list[list[Any]], caption: str = "") -> str:
    """An HTML table; ``columns`` are (heading, kind) with kind in FORMATS."""
    head = "".join(
        f'<th scope="col" class="{"num" if k not in ("text", "code") else ""}">{escape(h)}</th>' for h, k in columns
    )
    if rows:
        body = "".join(
            "<tr>" + "".join(_cell(v, k) for v, (_, k) in zip(r, columns, strict=True)) + "</tr>" for r in rows
        )
    else:
        body = f'<tr><td colspan="{len(columns)}" class="note">None.</td></tr>'
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table data-panel="{panel}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# ----------------------------------------------------------------------------- dates
def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def fy_start(month: date, start_month: int) -> date:
    return date(month.year if month.month >= start_month else month.year - 1, start_month, 1)


# ----------------------------------------------------------------------------- targets
def load_targets(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or project_path("config/kpi_targets.yml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    out = {}
    for key, spec in (doc.get("kpis") or {}).items():
        for field in ("label", "target"):
            if field not in spec:
                raise ValueError(f"{path}: kpis.{key}: missing {field!r}")
        out[key] = {
            "label": str(spec["label"]),
            "target": Decimal(str(spec["target"])),
            "direction": spec.get("direction", "higher"),
            "amber": Decimal(str(spec.get("amber_points", 0))) / 100,
        }
    return out


def rag(value: Decimal | None, target: Decimal | None, direction: str, amber: Decimal) -> str:
    """Green when the target is met, amber when within ``amber`` of it, red beyond; none without data."""
    if value is None or target is None:
        return "none"
    gap = (value - target) if direction == "higher" else (target - value)
    if gap >= 0:
        return "green"
    return "amber" if -gap <= amber else "red"


# ----------------------------------------------------------------------------- collect
def _rows(con, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _has_table(con, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchall()
    )


def _kpi_rows(con, council: Council, month: date, targets: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """KPI, target, RAG and changes. Targets and RAG come from marts.mart_procurement_kpis (seed
    kpi_targets) for every KPI it carries (``<kpi>_target`` / ``<kpi>_rag`` columns); KPIs it does
    not carry, or a warehouse without that mart, use config/kpi_targets.yml."""
    months = [month, add_months(month, -1), add_months(month, -12)]
    base = {
        r["month"]: r
        for r in _rows(
            con,
            "select * from marts.mart_kpi_monthly where council_id = ? and month in (?, ?, ?)",
            [council.id, *months],
        )
    }
    mart: dict[date, dict[str, Any]] = {}
    mart_keys: list[str] = []
    if _has_table(con, "marts", "mart_procurement_kpis"):
        rows = _rows(
            con,
            "select * from marts.mart_procurement_kpis where council_id = ? and month in (?, ?, ?)",
            [council.id, *months],
        )
        mart = {(r["month"].date() if isinstance(r["month"], datetime) else r["month"]): r for r in rows}
        cols = [r[0] for r in con.execute("describe marts.mart_procurement_kpis").fetchall()]
        mart_keys = [c.removesuffix("_target") for c in cols if c.endswith("_target") and c[:-7] in cols]
    out = []
    for key in [*mart_keys, *(k for k in targets if k not in mart_keys)]:
        spec = targets.get(key) or {
            "label": key.replace("_", " ").capitalize(),
            "target": None,
            "direction": "higher",
            "amber": Decimal(0),
        }
        source = mart if key in mart_keys else base
        now, prev, ly = (source.get(m, {}).get(key) for m in months)
        if key in mart_keys:
            row = mart.get(month, {})
            target, status = row.get(f"{key}_target"), row.get(f"{key}_rag") or "none"
        else:
            target = spec["target"]
            status = rag(now, target, spec["direction"], spec["amber"])
        out.append(
            {
                "key": key,
                "label": spec["label"],
                "value": now,
                "target": target,
                "target_source": "mart_procurement_kpis" if key in mart_keys else "config/kpi_targets.yml",
                "rag": status,
                "prev": prev,
                "change_month": None if now is None or prev is None else now - prev,
                "last_year": ly,
                "change_year": None if now is None or ly is None else now - ly,
                "direction": spec["direction"],
            }
        )
    return out


def collect(con, council: Council, month: date, targets: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every figure on the pack for ``council`` and ``month`` (first of month), read from the warehouse."""
    cid = council.id
    targets = load_targets() if targets is None else targets
    start = fy_start(month, council.fiscal_year_start_month)
    first = add_months(month, -12)
    kpi = _rows(con, "select * from marts.mart_kpi_monthly where council_id = ? and month = ?", [cid, month])
    if not kpi:
        raise LookupError(f"council {cid!r}: no spend loaded for {month:%Y-%m}; nothing to report")
    money = _rows(
        con,
        "select month, total_spend_gbp from marts.mart_kpi_monthly where council_id = ? and month in (?, ?, ?)",
        [cid, month, add_months(month, -1), add_months(month, -12)],
    )
    money = {r["month"]: r["total_spend_gbp"] for r in money}
    ytd = _rows(
        con,
        "select sum(total_spend_gbp) as spend, sum(line_count) as lines from marts.mart_kpi_monthly "
        "where council_id = ? and month between ? and ?",
        [cid, start, month],
    )[0]

    months = [add_months(first, i) for i in range(13)]
    area_rows = _rows(
        con,
        "select month, service_area, sum(total_spend_gbp) as spend from marts.mart_local_spend "
        "where council_id = ? and month between ? and ? group by 1, 2",
        [cid, first, month],
    )
    area_totals: dict[str, Decimal] = {}
    for r in area_rows:
        area_totals[r["service_area"]] = area_totals.get(r["service_area"], Decimal(0)) + r["spend"]
    ranked = sorted(area_totals, key=lambda a: (-area_totals[a], a))
    shown = ranked[:TREND_GROUPS]
    groups = [*shown, "Other"] if len(ranked) > TREND_GROUPS else shown
    trend = {g: {m: Decimal(0) for m in months} for g in groups}
    loaded_months = {r["month"] for r in area_rows}
    for r in area_rows:
        g = r["service_area"] if r["service_area"] in shown else "Other"
        trend[g][r["month"]] += r["spend"]

    shares = _rows(
        con,
        "select month, local_share, sme_share, vcse_share from marts.mart_kpi_monthly "
        "where council_id = ? and month between ? and ? order by month",
        [cid, first, month],
    )

    fytd_total = ytd["spend"]
    suppliers = _rows(
        con,
        "select d.canonical_name as supplier, sum(f.amount_gbp) as spend, count(*) as lines "
        "from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "where f.council_id = ? and f.payment_month between ? and ? and f.supplier_id not in (?, ?) "
        "group by 1 order by spend desc, supplier limit 10",
        [cid, start, month, *EXCLUDED_SUPPLIERS],
    )
    for s in suppliers:
        s["share"] = s["spend"] / fytd_total if fytd_total else None
    categories = _rows(
        con,
        "with s as (select coalesce(category_l1, 'Unclassified') as category, supplier_id, sum(amount_gbp) as spend "
        "  from marts.fct_spend where council_id = ? and payment_month between ? and ? group by 1, 2) "
        "select category, sum(spend) as spend, count(distinct supplier_id) as suppliers, "
        "  max(spend) / nullif(sum(spend), 0) as top_supplier_share "
        "from s group by 1 order by spend desc, category",
        [cid, start, month],
    )
    for c in categories:
        c["share"] = c["spend"] / fytd_total if fytd_total else None

    pipeline = {
        band: _rows(
            con,
            "select contract_ref, title, supplier_name, end_date, contract_value_gbp, spend_to_date_gbp "
            "from marts.fct_contract_portfolio where council_id = ? and expiry_band = ? "
            "order by end_date, contract_ref",
            [cid, band],
        )
        for band in ("0-6 months", "6-12 months")
    }
    risks = _rows(
        con,
        "select contract_ref, title, supplier_name, "
        "  case when is_spend_beyond_value and is_expired_but_paid then 'Overspent; paid after end' "
        "  when is_spend_beyond_value then 'Overspent' else 'Paid after end' end as flag, "
        "  contract_value_gbp, spend_to_date_gbp, spend_after_end_gbp "
        "from marts.fct_contract_portfolio where council_id = ? and (is_spend_beyond_value or is_expired_but_paid) "
        "order by greatest(spend_to_date_gbp - coalesce(contract_value_gbp, 0), spend_after_end_gbp) desc, "
        "contract_ref",
        [cid],
    )
    offcontract = _rows(
        con,
        "select coalesce(category_l1, 'Unclassified') as category, coalesce(category_l2, '') as subcategory, "
        "  sum(amount_gbp) as spend, count(distinct supplier_id) as suppliers, count(*) as lines "
        "from marts.fct_spend where council_id = ? and payment_month between ? and ? and not is_on_contract "
        "  and not is_credit group by 1, 2 order by spend desc, 1, 2 limit 10",
        [cid, start, month],
    )
    offcontract_total = _rows(
        con,
        "select sum(amount_gbp) as spend from marts.fct_spend where council_id = ? and payment_month between ? and ? "
        "and not is_on_contract and not is_credit",
        [cid, start, month],
    )[0]["spend"]
    awards_from = add_months(month, -2)
    awards = _rows(
        con,
        "select distinct on (a.award_id, a.party_id) cast(a.awarded_at as date) as award_date, r.title, "
        "  a.supplier_name, a.value_gbp, r.procurement_method, r.notice_id "
        "from staging.stg_contracts_finder__awards a join staging.stg_contracts_finder__releases r using (release_key) "
        "where lower(r.buyer_name) = lower(?) and a.awarded_at >= ? and a.awarded_at < ? "
        "order by a.award_id, a.party_id, r.released_at desc",
        [council.name, awards_from, add_months(month, 1)],
    )
    awards.sort(key=lambda a: (a["award_date"], a["title"] or "", a["supplier_name"] or ""))

    quality = _collect_quality(con, council, month)
    data = {
        "council": {"id": cid, "name": council.name},
        "month": month,
        "fy_start": start,
        "kpi_month": kpi[0],
        "spend": {
            "month": money.get(month),
            "prev": money.get(add_months(month, -1)),
            "last_year": money.get(add_months(month, -12)),
            "ytd": ytd["spend"],
            "ytd_lines": ytd["lines"],
        },
        "kpis": _kpi_rows(con, council, month, targets),
        "trend": {"months": months, "loaded": loaded_months, "groups": groups, "values": trend},
        "shares": shares,
        "suppliers": suppliers,
        "top10_share": (sum(s["spend"] for s in suppliers) / fytd_total) if fytd_total and suppliers else None,
        "categories": categories,
        "pipeline": pipeline,
        "risks": risks,
        "offcontract": offcontract,
        "offcontract_total": offcontract_total,
        "awards": awards,
        "awards_from": awards_from,
        "quality": quality,
    }
    names = [s["supplier"] for s in suppliers] + [a["supplier_name"] for a in awards]
    names += [r["supplier_name"] for rows in (*pipeline.values(), risks) for r in rows]
    check_privacy(f"board pack {cid} {month:%Y-%m}", "supplier", names)
    data["commentary"] = commentary(data)
    return data


def _collect_quality(con, council: Council, month: date) -> dict[str, Any]:
    files = _rows(
        con,
        "select source_file, records, accepted, rejected, last_payment_date from raw.spend_files "
        "where council_id = ? order by source_file",
        [council.id],
    )
    quarantine = _rows(
        con,
        "select reject_reason as reason, count(*) as rows from raw.spend_quarantine where council_id = ? "
        "group by 1 order by 2 desc, 1",
        [council.id],
    )
    gate = _rows(
        con,
        "select run_id, passed, critical_failures, warnings from ops.quality_runs order by recorded_at desc limit 1",
        [],
    )
    warnings = []
    if gate:
        warnings = _rows(
            con,
            "select suite, coalesce(column_name, '') as column_name, expectation, observed from ops.quality_results "
            "where run_id = ? and severity = 'warning' and not success order by 1, 2, 3",
            [gate[0]["run_id"]],
        )
    month_end = add_months(month, 1)
    latest_spend = max((f["last_payment_date"] for f in files if f["last_payment_date"]), default=None)
    contracts_as_at = _rows(
        con, "select max(as_at_date) as d from marts.fct_contract_portfolio where council_id = ?", [council.id]
    )[0]["d"]
    notices_latest = _rows(
        con,
        "select cast(max(released_at) as date) as d from staging.stg_contracts_finder__releases "
        "where lower(buyer_name) = lower(?)",
        [council.name],
    )[0]["d"]
    # A source is late when it does not cover the reporting month (spend, contracts) or, for
    # notices, when nothing was published by the council in the 90 days before the month ended.
    sources = [
        ("Spend over £500 files", latest_spend, latest_spend is None or latest_spend < month),
        ("Contract register", contracts_as_at, contracts_as_at is None or contracts_as_at < month),
        (
            "Contracts Finder / Find a Tender notices",
            notices_latest,
            notices_latest is None or (month_end - notices_latest).days > 90,
        ),
    ]
    # pipeline failures recorded by the Airflow callbacks (procure.alerts -> ops.task_runs) for runs
    # whose data interval starts in the reporting month; successes are not listed, so re-publishing
    # a month does not change its pack
    failures = []
    if _has_table(con, "ops", "task_runs"):
        failures = _rows(
            con,
            "select dag_id, task_id, count(*) as failures, max(interval_start) as last_interval, "
            "max(error) as error from ops.task_runs where status = 'failed' "
            "and interval_start >= ? and interval_start < ? group by 1, 2 order by 1, 2",
            [month, month_end],
        )
    return {
        "failures": failures,
        "files": files,
        "records": sum(f["records"] for f in files),
        "accepted": sum(f["accepted"] for f in files),
        "rejected": sum(f["rejected"] for f in files),
        "quarantine": quarantine,
        "gate": gate[0] if gate else None,
        "warnings": warnings,
        "sources": [{"source": s, "latest": d, "late": late} for s, d, late in sources],
    }


# ----------------------------------------------------------------------------- commentary
def _pts(v: Decimal) -> str:
    return f"{abs(v) * 100:.1f}"


def commentary(data: dict[str, Any]) -> list[str]:
    """Plain-English sentences generated from the figures (no hand-written numbers)."""
    out = []
    s = data["spend"]
    month = data["month"]
    if s["prev"]:
        change = (s["month"] - s["prev"]) / s["prev"]
        direction = "rose" if change > 0 else "fell" if change < 0 else "was unchanged"
        tail = f" {abs(change) * 100:.1f}% to {gbp(s['month'])}" if change else f" at {gbp(s['month'])}"
        out.append(f"Spend in {month:%B %Y} {direction}{tail} (from {gbp(s['prev'])} in the previous month).")
    else:
        out.append(f"Spend in {month:%B %Y} was {gbp(s['month'])}.")
    for k in data["kpis"]:
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
        if k["change_month"] is None:
            out.append(f"{k['label']} was {pct(k['value'])}{target}.")
        elif k["change_month"] == 0:
            out.append(f"{k['label']} was unchanged at {pct(k['value'])}{target}.")
        else:
            verb = "rose" if k["change_month"] > 0 else "fell"
            out.append(f"{k['label']} {verb} {_pts(k['change_month'])} points to {pct(k['value'])}{target}.")
    p = data["pipeline"]
    n6 = len(p["0-6 months"])
    if n6:
        value = sum((c["contract_value_gbp"] or 0) for c in p["0-6 months"])
        out.append(
            f"{n6} contract{'s' if n6 != 1 else ''} worth {gbp(value)} expire{'s' if n6 == 1 else ''} "
            "within six months and need a decision on re-procurement or extension."
        )
    if data["risks"]:
        over = sum(1 for r in data["risks"] if r["flag"].startswith("Overspent"))
        late = sum(1 for r in data["risks"] if "after end" in r["flag"].lower())
        out.append(f"{over} contracts are overspent against their value and {late} were paid after their end date.")
    if data["suppliers"] and data["top10_share"] is not None:
        out.append(f"The ten largest suppliers received {pct(data['top10_share'])} of spend this financial year.")
    q = data["quality"]
    late = [x["source"] for x in q["sources"] if x["late"]]
    out.append(
        f"{q['rejected']:,} of {q['records']:,} payment rows were quarantined; "
        + (f"late sources: {', '.join(late)}." if late else "no source is late.")
    )
    return out


# ----------------------------------------------------------------------------- render
def _label(m: date) -> str:
    return f"{m:%b %y}"


def render_html(con_or_data, council: Council | None = None, month: date | None = None) -> str:
    """The pack's HTML; pass collected data, or (con, council, month) to collect it first."""
    data = con_or_data if isinstance(con_or_data, dict) else collect(con_or_data, council, month)
    month = data["month"]
    k0 = data["kpi_month"]
    s = data["spend"]
    name = data["council"]["name"]

    kpi_table = table(
        "kpis",
        [
            ("Measure", "text"),
            (f"{month:%b %Y}", "pct"),
            ("Target", "pct"),
            ("Status", "text"),
            ("Change on last month", "points"),
            ("Same month last year", "pct"),
            ("Change on last year", "points"),
        ],
        [
            [k["label"], k["value"], k["target"], k["rag"], k["change_month"], k["last_year"], k["change_year"]]
            for k in data["kpis"]
        ],
        "Shares are of gross spend where the status is known; unknown is never counted as no. "
        "Status: green = target met; amber = within tolerance; red = below tolerance.",
    )
    for k in data["kpis"]:  # the status column as a coloured badge (text stays the word)
        kpi_table = kpi_table.replace(
            f"<td>{k['rag']}</td>", f'<td><span class="rag rag-{k["rag"]}">{k["rag"].upper()}</span></td>', 1
        )
    spend_table = table(
        "spend",
        [("Spend", "text"), ("Amount", "gbp")],
        [
            [f"{month:%B %Y}", s["month"]],
            ["Previous month", s["prev"]],
            ["Same month last year", s["last_year"]],
            [f"Financial year to date (from {data['fy_start']:%d %B %Y})", s["ytd"]],
            ["Credits this month", k0["credit_gbp"]],
            ["Payments to redacted payees this month", k0["redacted_spend_gbp"]],
            ["Procurement-card spend this month", k0["pcard_spend_gbp"]],
        ],
    )
    cards = (
        '<div class="kpis">'
        f'<div class="kpi">Spend this month<b>{gbp(s["month"])}</b>{k0["line_count"]:,} payment lines</div>'
        f'<div class="kpi">Spend this financial year<b>{gbp(s["ytd"])}</b>since {data["fy_start"]:%d %B %Y}</div>'
        f'<div class="kpi">Suppliers paid<b>{k0["supplier_count"]:,}</b>identified suppliers this month</div>'
        "</div>"
    )
    headline = (
        cards
        + '<div class="commentary"><h3>Summary</h3><ul>'
        + "".join(f"<li>{escape(c)}</li>" for c in data["commentary"])
        + "</ul></div>"
        + kpi_table
        + spend_table
        + table(
            "activity",
            [("Activity this month", "text"), ("Count", "count")],
            [["Payment lines", k0["line_count"]], ["Suppliers paid", k0["supplier_count"]]],
        )
    )

    t = data["trend"]
    labels = [_label(m) for m in t["months"]]
    trend_svg = charts.stacked_bar_chart(
        "trend",
        f"Monthly spend by service area, {labels[0]} to {labels[-1]}",
        labels,
        {g: [float(t["values"][g][m]) for m in t["months"]] for g in t["groups"]},
        "Spend (£)",
    )
    trend_rows = [
        [_label(m)] + [t["values"][g][m] if m in t["loaded"] else None for g in t["groups"]] for m in t["months"]
    ]
    trend_html = trend_svg + table(
        "trend", [("Month", "code")] + [(g, "gbp") for g in t["groups"]], trend_rows, "– = no data loaded."
    )

    share_months = [r["month"] for r in data["shares"]]
    targets = {k["label"].split(" ")[0]: k["target"] for k in data["kpis"] if k["target"] is not None}
    share_series = {
        "Local": [r["local_share"] for r in data["shares"]],
        "SME": [r["sme_share"] for r in data["shares"]],
        "VCSE": [r["vcse_share"] for r in data["shares"]],
    }
    shares_html = charts.line_chart(
        "shares",
        "Local, SME and VCSE shares of spend against targets",
        [_label(m) for m in share_months],
        {n: [None if v is None else float(v) for v in vals] for n, vals in share_series.items()},
        "Share of spend (%)",
        {n: float(targets[n]) for n in share_series if n in targets},
    ) + table(
        "shares",
        [("Month", "code"), ("Local", "pct"), ("SME", "pct"), ("VCSE", "pct")],
        [[_label(r["month"]), r["local_share"], r["sme_share"], r["vcse_share"]] for r in data["shares"]],
        "Targets: " + ", ".join(f"{n} {pct(v)}" for n, v in targets.items() if n in share_series) + ".",
    )

    sup = data["suppliers"]
    suppliers_html = (
        charts.hbar_chart(
            "suppliers",
            "Top 10 suppliers, financial year to date",
            [x["supplier"] for x in sup],
            [float(x["spend"]) for x in sup],
            "Spend (£)",
        )
        + table(
            "suppliers",
            [("Supplier", "text"), ("Spend", "gbp"), ("Share of spend", "pct"), ("Payment lines", "count")],
            [[x["supplier"], x["spend"], x["share"], x["lines"]] for x in sup],
            f"Together {pct(data['top10_share'])} of spend this financial year; redacted payees are excluded.",
        )
        + "<h3>Category concentration</h3>"
        + table(
            "categories",
            [
                ("Category", "text"),
                ("Spend", "gbp"),
                ("Share of spend", "pct"),
                ("Suppliers", "count"),
                ("Largest supplier's share", "pct"),
            ],
            [
                [c["category"], c["spend"], c["share"], c["suppliers"], c["top_supplier_share"]]
                for c in data["categories"]
            ],
            "A high largest-supplier share means the category depends on one supplier.",
        )
    )

    contract_cols = [
        ("Ref", "code"),
        ("Title", "text"),
        ("Supplier", "text"),
        ("Ends", "code"),
        ("Value", "gbp"),
        ("Spent to date", "gbp"),
    ]

    def contract_rows(rows):
        return [
            [
                c["contract_ref"],
                c["title"],
                c["supplier_name"],
                f"{c['end_date']:%d %b %Y}",
                c["contract_value_gbp"],
                c["spend_to_date_gbp"],
            ]
            for c in rows
        ]

    p = data["pipeline"]
    pipeline_html = (
        f"<h3>Expiring in 0–6 months ({len(p['0-6 months'])})</h3>"
        + table("pipeline_0_6", contract_cols, contract_rows(p["0-6 months"]))
        + f"<h3>Expiring in 6–12 months ({len(p['6-12 months'])})</h3>"
        + table("pipeline_6_12", contract_cols, contract_rows(p["6-12 months"]))
        + f"<h3>Overspent or paid after expiry ({len(data['risks'])} contracts; "
        + f"the {min(len(data['risks']), RISKS_SHOWN)} largest exposures)</h3>"
        + table(
            "risks",
            [
                ("Ref", "code"),
                ("Title", "text"),
                ("Supplier", "text"),
                ("Flag", "text"),
                ("Value", "gbp"),
                ("Spent", "gbp"),
                ("Paid after end", "gbp"),
            ],
            [
                [
                    r["contract_ref"],
                    r["title"],
                    r["supplier_name"],
                    r["flag"],
                    r["contract_value_gbp"],
                    r["spend_to_date_gbp"],
                    r["spend_after_end_gbp"],
                ]
                for r in data["risks"][:RISKS_SHOWN]
            ],
            "Largest exposure first.",
        )
    )

    offcontract_html = (
        f"<p>Spend not covered by a live contract this financial year: <b>{gbp(data['offcontract_total'])}</b>. "
        "The ten largest hotspots by category:</p>"
        + table(
            "offcontract",
            [
                ("Category", "text"),
                ("Sub-category", "text"),
                ("Spend", "gbp"),
                ("Suppliers", "count"),
                ("Lines", "count"),
            ],
            [[o["category"], o["subcategory"], o["spend"], o["suppliers"], o["lines"]] for o in data["offcontract"]],
        )
    )

    awards_html = (
        f"<p>Awards published on Contracts Finder / Find a Tender by {escape(name)} from "
        f"{data['awards_from']:%d %B %Y} to the end of {month:%B %Y}.</p>"
        + table(
            "awards",
            [("Awarded", "text"), ("Title", "text"), ("Supplier", "text"), ("Value", "gbp"), ("Procedure", "text")],
            [
                [f"{a['award_date']:%d %b %Y}", a["title"], a["supplier_name"], a["value_gbp"], a["procurement_method"]]
                for a in data["awards"]
            ],
        )
    )

    q = data["quality"]
    g = q["gate"]
    quality_html = (
        (
            f"<p>Quality gate run <code>{escape(g['run_id'])}</code>: "
            f'<span class="rag rag-{"green" if g["passed"] else "red"}">{"PASSED" if g["passed"] else "FAILED"}</span>, '
            f"{g['critical_failures']} critical failures, {g['warnings']} warnings.</p>"
            if g
            else "<p>No quality-gate run recorded.</p>"
        )
        + table(
            "quality_totals",
            [("Payment rows", "text"), ("Count", "count")],
            [
                ["Files loaded", len(q["files"])],
                ["Rows read", q["records"]],
                ["Rows accepted", q["accepted"]],
                ["Rows quarantined", q["rejected"]],
            ],
        )
        + "<h3>Sources</h3>"
        + table(
            "sources",
            [("Source", "text"), ("Latest data", "text"), ("Status", "text")],
            [
                [x["source"], f"{x['latest']:%d %b %Y}" if x["latest"] else "none", "LATE" if x["late"] else "on time"]
                for x in q["sources"]
            ],
        )
        + "<h3>Gate warnings</h3>"
        + table(
            "warnings",
            [("Table", "text"), ("Column", "text"), ("Expectation", "text"), ("Observed", "text")],
            [[w["suite"], w["column_name"], w["expectation"], w["observed"]] for w in q["warnings"]],
        )
        + "<h3>Pipeline failures this month (ops.task_runs)</h3>"
        + table(
            "pipeline_failures",
            [("DAG", "text"), ("Task", "text"), ("Failed runs", "count"), ("Last error", "text")],
            [[f["dag_id"], f["task_id"], f["failures"], (f["error"] or "")[:160]] for f in q.get("failures", [])],
        )
        + "<h3>Rows quarantined by reason</h3>"
        + table(
            "quarantine", [("Reason", "text"), ("Rows", "count")], [[r["reason"], r["rows"]] for r in q["quarantine"]]
        )
        + "<h3>Files loaded</h3>"
        + table(
            "files",
            [("File", "text"), ("Rows", "count"), ("Accepted", "count"), ("Quarantined", "count")],
            [[f["source_file"], f["records"], f["accepted"], f["rejected"]] for f in q["files"]],
        )
    )

    sections = [
        ("headline", "Headline KPIs and summary", headline, False),
        ("trend", "Spend trend by service area (13 months)", trend_html, True),
        ("shares", "Local, SME and VCSE shares against targets", shares_html, True),
        ("suppliers", "Top suppliers and category concentration", suppliers_html, True),
        ("pipeline", "Contract pipeline and contract risks", pipeline_html, True),
        ("offcontract", "Off-contract spend hotspots", offcontract_html, True),
        ("awards", "New contract awards (Contracts Finder / Find a Tender)", awards_html, False),
        ("quality", "Data quality", quality_html, True),
    ]
    toc = "".join(f'<li><a href="#{sid}">{escape(h)}</a></li>' for sid, h, _, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"{" class=" + chr(34) + "break" + chr(34) if brk else ""}><h2>{escape(h)}</h2>{content}</section>'
        for sid, h, content, brk in sections
    )
    title = f"{name} — procurement board pack, {month:%B %Y}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><header><h1>{escape(name)}</h1>
<p class="subtitle">Procurement board pack — {month:%B %Y}</p>
<p class="note">For the Resources, Performance and Delivery Board. All figures from the procurement warehouse after it
passed the quality gate; financial year to date from {data["fy_start"]:%d %B %Y}. Amounts in pounds, gross of credits
unless stated.</p></header>
<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>
{body}
</body></html>
"""


# ----------------------------------------------------------------------------- publish
@dataclass
class PackPaths:
    html: Path
    pdf: Path


_INLINE_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
_SVG_TITLE = re.compile(r'<title id="[^"]*">([^<]*)</title><desc id="[^"]*">([^<]*)</desc>')


_SVG_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'
_STAR_RULE = re.compile(r"\s*\*\s*\{([^}]*)\}\s*")


def _declarations(text: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in text.split(";") if ":" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def flatten_svg(svg: str) -> str:
    """The same drawing in fewer, plainer nodes, for WeasyPrint's SVG renderer (pure Python, per node).

    ``<g>`` wrappers that carry only an id are unwrapped, and every ``style`` attribute (with
    matplotlib's one ``* {...}`` rule folded in, which a style attribute overrides) becomes
    presentation attributes - what WeasyPrint's SVG cascade would compute, done once in C here.
    Anything unexpected (another style rule, no SVG namespace) leaves the SVG as it is.
    """
    import xml.etree.ElementTree as ET

    head = svg[: svg.index(">")]
    if _SVG_XMLNS not in head or "xmlns:" in svg:
        return svg
    root = ET.fromstring(svg.replace(_SVG_XMLNS, "", 1))  # noqa: S314 - our own matplotlib output
    star: dict[str, str] = {}
    for defs in root.iter("defs"):
        for rule in defs.findall("style"):
            m = _STAR_RULE.fullmatch(rule.text or "")
            if not m:
                return svg
            star.update(_declarations(m.group(1)))
            defs.remove(rule)

    def walk(parent) -> None:
        children = []
        for el in list(parent):
            walk(el)
            if el.tag == "g" and set(el.attrib) <= {"id"}:
                children.extend(el)
                continue
            if el.tag not in ("title", "desc", "defs"):
                for k, v in {**star, **_declarations(el.attrib.pop("style", ""))}.items():
                    el.set(k, v)
            children.append(el)
        parent[:] = children

    walk(root)
    root.set("xmlns", _SVG_XMLNS.split('"')[1])
    return ET.tostring(root, encoding="unicode")


def _svg_as_image(m: re.Match) -> str:
    svg = m.group(0)
    label = _SVG_TITLE.search(svg)
    alt = f"{label.group(1)}. {label.group(2)}" if label else ""  # already HTML-escaped by charts._to_svg
    data = base64.b64encode(flatten_svg(svg).encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def pdf_html(html: str) -> str:
    """The page as WeasyPrint gets it: each inline chart becomes the same SVG as an image.

    Same drawing, text still text, but WeasyPrint no longer runs its HTML style cascade over
    every chart element (a fifth of the PDF's cost), and each chart is flattened
    (``flatten_svg``); the published HTML keeps the inline SVG as it was.
    """
    return _INLINE_SVG.sub(_svg_as_image, html)


_WEASY: dict[str, Any] = {}


def _weasyprint() -> dict[str, Any]:
    """WeasyPrint's font configuration and the PDF stylesheet: made once per process, reused by every pack."""
    if not _WEASY:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        _WEASY.update(fonts=fonts, css=[CSS(string=PDF_CSS, font_config=fonts)])
    return _WEASY


def write_pdf(html: str, path: Path, identifier: str) -> None:
    from weasyprint import HTML

    from procure.publish.pdf import fixed_font_timestamps

    w = _weasyprint()
    with fixed_font_timestamps():  # same bytes whichever font subsetter WeasyPrint uses
        HTML(string=pdf_html(html), base_url=str(path.parent)).write_pdf(
            path, stylesheets=w["css"], font_config=w["fonts"], pdf_tags=True, pdf_identifier=identifier.encode()
        )


def publish_board_pack(council: Council, month: date, warehouse: Path | None = None) -> PackPaths:
    """Render the pack for ``month`` into publish/board_pack/<council>/<YYYY-MM>/ (HTML + PDF, atomically)."""
    for noisy in ("weasyprint", "fontTools", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)  # matplotlib SVG styles WeasyPrint does not know
    month = month.replace(day=1)
    con = connect(warehouse, read_only=True)
    try:
        require_gate(con)
        html = render_html(collect(con, council, month))
    finally:
        con.close()
    target = publish_dir() / "board_pack" / council.id / f"{month:%Y-%m}"
    with atomic_dir(target) as tmp:
        (tmp / "board_pack.html").write_text(html, encoding="utf-8")
        write_pdf(html, tmp / "board_pack.pdf", f"{council.id}-{month:%Y-%m}")
    paths = PackPaths(target / "board_pack.html", target / "board_pack.pdf")
    log.info("board pack %s (%s)", paths.html, sha256_file(paths.html)[:12])
    return paths
