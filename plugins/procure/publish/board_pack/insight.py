"""Figures for the pack's strategy sections (issue 17): estimated supply-chain emissions, savings,
social value, and the spend forecast with the contract renewal pipeline.

Each section reads its mart only; where the mart holds nothing for the council (no factors loaded, no
savings or social value recorded) the section says "not measured" instead of showing zero.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from procure.config import Council

TOP = 10


def _rows(con, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _has(con, name: str) -> bool:
    return bool(
        con.execute(
            "select 1 from information_schema.tables where table_schema = 'marts' and table_name = ?", [name]
        ).fetchall()
    )


def fiscal_year_label(start: date) -> str:
    return f"{start.year}-{(start.year + 1) % 100:02d}"


def carbon(con, cid: str, fy: str, month: date) -> dict[str, Any]:
    if not _has(con, "mart_spend_carbon_estimate"):
        return {"measured": False, "categories": [], "trend": [], "total_spend": None, "measured_spend": None}
    rows = _rows(
        con,
        "select category_l1, sum(spend_gbp) as spend, "
        "  sum(case when method <> 'not_measured' then spend_gbp else 0 end) as measured_spend, "
        "  sum(tco2e) as tco2e, string_agg(distinct method, ', ' order by method) as methods "
        "from marts.mart_spend_carbon_estimate where council_id = ? and fiscal_year = ? and month <= ? "
        "group by 1 order by tco2e desc nulls last, spend desc, 1",
        [cid, fy, month],
    )
    trend = _rows(
        con,
        "select month, sum(tco2e) as tco2e, sum(spend_gbp) as spend, "
        "  sum(case when method <> 'not_measured' then spend_gbp else 0 end) as measured_spend "
        "from marts.mart_spend_carbon_estimate where council_id = ? and fiscal_year = ? and month <= ? "
        "group by 1 order by 1",
        [cid, fy, month],
    )
    measured = [r for r in rows if r["tco2e"] is not None]
    total = sum((r["spend"] for r in rows), Decimal(0))
    measured_spend = sum((r["measured_spend"] for r in rows), Decimal(0))
    return {
        "measured": bool(measured),
        "categories": measured[:TOP],
        "trend": trend,
        "total_tco2e": sum((r["tco2e"] for r in measured), Decimal(0)),
        "total_spend": total,
        "measured_spend": measured_spend,
        "coverage": (measured_spend / total) if total else None,
    }


def savings(con, cid: str, fy: str) -> dict[str, Any]:
    if not _has(con, "mart_savings"):
        return {"measured": False, "by_type": [], "lines": []}
    by_type = _rows(
        con,
        "select savings_type, bool_and(is_cashable) as is_cashable, count(*) as lines, "
        "  sum(savings_gbp) as savings from marts.mart_savings where council_id = ? and fiscal_year = ? "
        "group by 1 order by savings desc, 1",
        [cid, fy],
    )
    lines = _rows(
        con,
        "select savings_type, contract_ref, supplier_name, baseline_gbp, actual_gbp, savings_gbp, method "
        "from marts.mart_savings where council_id = ? and fiscal_year = ? "
        "order by savings_gbp desc, savings_id limit ?",
        [cid, fy, TOP],
    )
    return {
        "measured": bool(by_type),
        "by_type": by_type,
        "lines": lines,
        "cashable": sum((r["savings"] for r in by_type if r["is_cashable"]), Decimal(0)),
        "total": sum((r["savings"] for r in by_type), Decimal(0)),
    }


def social_value(con, cid: str) -> dict[str, Any]:
    if not _has(con, "mart_social_value"):
        return {"measured": False, "contracts": [], "summary": {}}
    contracts = _rows(
        con,
        "select contract_key, title, supplier_name, social_value_weight_pct, committed_proxy_gbp, "
        "  delivered_proxy_gbp, delivered_share, status from marts.mart_social_value where council_id = ? "
        "order by delivered_proxy_gbp desc nulls last, committed_proxy_gbp desc nulls last, "
        "  social_value_weight_pct desc nulls last, contract_key",
        [cid],
    )
    live = _rows(
        con,
        "select count(*) as n from marts.fct_contract_portfolio where council_id = ? "
        "and (days_to_expiry is null or days_to_expiry >= 0)",
        [cid],
    )[0]["n"]
    weights = [r["social_value_weight_pct"] for r in contracts if r["social_value_weight_pct"] is not None]
    return {
        "measured": bool(contracts),
        "contracts": contracts[:TOP],
        "summary": {
            "contracts": len(contracts),
            "live_contracts": live,
            "with_weight": len(weights),
            "average_weight": (sum(weights, Decimal(0)) / len(weights) / 100) if weights else None,
            "committed": sum((r["committed_proxy_gbp"] or Decimal(0) for r in contracts), Decimal(0)),
            "delivered": sum((r["delivered_proxy_gbp"] or Decimal(0) for r in contracts), Decimal(0)),
            "any_delivered": any(r["delivered_proxy_gbp"] is not None for r in contracts),
        },
    }


def forecast(con, cid: str, month: date) -> dict[str, Any]:
    if not _has(con, "mart_spend_forecast"):
        return {"measured": False, "months": [], "actual": [], "renewals": []}
    points = _rows(
        con,
        "select month, forecast_gbp, lower_80_gbp, upper_80_gbp, lower_95_gbp, upper_95_gbp, method, "
        "  history_months, backtest_months, backtest_wape, backtest_coverage_95, last_actual_month "
        "from marts.mart_spend_forecast where council_id = ? and category_l1 = 'All' and service_area = 'All' "
        "order by month",
        [cid],
    )
    actual = []
    if points:
        last = points[0]["last_actual_month"]
        actual = _rows(
            con,
            "select month, total_spend_gbp as spend from marts.mart_procurement_kpis where council_id = ? "
            "and month <= ? order by month desc limit 12",
            [cid, last],
        )[::-1]
    series = _rows(
        con,
        "select method, count(distinct category_l1 || '|' || service_area) as series, "
        "  avg(backtest_wape) as wape from marts.mart_spend_forecast "
        "where council_id = ? and horizon_month = 1 group by 1 order by series desc, 1",
        [cid],
    )
    renewals = []
    if _has(con, "mart_contract_renewals"):
        renewals = _rows(
            con,
            "select expiry_fiscal_year, expiry_quarter, count(*) as contracts, "
            "  sum(annual_run_rate_gbp) as run_rate, sum(contract_value_gbp) as value "
            "from marts.mart_contract_renewals where council_id = ? group by 1, 2 order by 1, 2",
            [cid],
        )
    return {
        "measured": bool(points),
        "points": points,
        "actual": actual,
        "series": series,
        "renewals": renewals,
        "as_of": month,
    }


def collect_insight(con, council: Council, month: date, fy_start: date) -> dict[str, Any]:
    """The four strategy sections' figures for ``council`` in the fiscal year of ``month``."""
    fy = fiscal_year_label(fy_start)
    return {
        "insight": {
            "fiscal_year": fy,
            "carbon": carbon(con, council.id, fy, month),
            "savings": savings(con, council.id, fy),
            "social_value": social_value(con, council.id),
            "forecast": forecast(con, council.id, month),
        }
    }
