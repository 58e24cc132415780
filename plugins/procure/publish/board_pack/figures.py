"""The board pack's figures: everything the pack shows, read from the warehouse into plain data.

``collect`` reads every figure from the marts (and the ops/raw tables for the data-quality
section) for one council and month; the templates only lay it out (``render``). Nothing comes
from the wall clock, so collecting the same warehouse twice gives the same data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from procure.config import Council
from procure.publish.board_pack.commentary import commentary
from procure.publish.board_pack.insight import collect_insight
from procure.publish.board_pack.variance import compare
from procure.publish.safety import check_privacy
from procure.quality.wording import describe_check

TREND_GROUPS = 6  # service areas drawn separately in the trend; the rest are "Other"


# ----------------------------------------------------------------------------- dates
def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def fy_start(month: date, start_month: int) -> date:
    return date(month.year if month.month >= start_month else month.year - 1, start_month, 1)


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


def _kpi_rows(con, council: Council, month: date) -> list[dict[str, Any]]:
    """KPI, target, RAG and changes, all from marts.mart_procurement_kpis (every ``<kpi>_target`` /
    ``<kpi>_rag`` column pair), labelled from the seed reference.kpi_targets: targets, tolerances and the
    RAG rule are written once, in the seed and the dbt macro rag_status, never here."""
    months = [month, add_months(month, -1), add_months(month, -12)]
    rows = _rows(
        con,
        "select * from marts.mart_procurement_kpis where council_id = ? and month in (?, ?, ?)",
        [council.id, *months],
    )
    mart = {(r["month"].date() if isinstance(r["month"], datetime) else r["month"]): r for r in rows}
    cols = [r[0] for r in con.execute("describe marts.mart_procurement_kpis").fetchall()]
    keys = [c.removesuffix("_target") for c in cols if c.endswith("_target") and c[:-7] in cols]
    specs = {
        kpi: {"label": label, "direction": "lower" if direction == "lower_is_better" else "higher"}
        for kpi, label, direction in con.execute(
            "select kpi, label, direction from reference.kpi_targets where council_id in (?, '*') "
            "order by case when council_id = '*' then 0 else 1 end",
            [council.id],
        ).fetchall()
    }  # a council's own row, read last, wins
    out = []
    for key in keys:
        spec = specs.get(key) or {"label": key.replace("_", " ").capitalize(), "direction": "higher"}
        now, prev, ly = (mart.get(m, {}).get(key) for m in months)
        row = mart.get(month, {})
        stem = key.removesuffix("_share")
        coverage, of_all = row.get(f"{stem}_coverage"), row.get(f"{stem}_share_of_all_spend")
        out.append(
            {
                "key": key,
                "label": spec["label"],
                "value": now,
                "coverage": coverage,
                "share_of_all_spend": of_all,
                "coverage_floor": row.get("share_coverage_floor") if coverage is not None else None,
                "below_coverage_floor": coverage is not None
                and row.get("share_coverage_floor") is not None
                and coverage < row["share_coverage_floor"],
                "target": row.get(f"{key}_target"),
                "target_source": "dbt seed kpi_targets",
                "rag": row.get(f"{key}_rag") or "none",
                "prev": prev,
                "change_month": None if now is None or prev is None else now - prev,
                "last_year": ly,
                "change_year": None if now is None or ly is None else now - ly,
                "direction": spec["direction"],
            }
        )
    return out


def collect(con, council: Council, month: date) -> dict[str, Any]:
    """Every figure on the pack for ``council`` and ``month`` (first of month), read from the warehouse."""
    cid = council.id
    start = fy_start(month, council.fiscal_year_start_month)
    first = add_months(month, -12)
    kpi = _rows(con, "select * from marts.mart_procurement_kpis where council_id = ? and month = ?", [cid, month])
    if not kpi:
        raise LookupError(f"council {cid!r}: no spend loaded for {month:%Y-%m}; nothing to report")
    money = _rows(
        con,
        "select month, total_spend_gbp from marts.mart_procurement_kpis where council_id = ? and month in (?, ?, ?)",
        [cid, month, add_months(month, -1), add_months(month, -12)],
    )
    money = {r["month"]: r["total_spend_gbp"] for r in money}
    ytd = _rows(
        con,
        "select sum(total_spend_gbp) as spend, sum(line_count) as lines from marts.mart_procurement_kpis "
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
    loaded_months = {r["month"] for r in area_rows}
    # the chart starts at the first month loaded: no empty first bars before the data begins
    months = [m for m in months if m >= min(loaded_months, default=month)]
    trend = {g: {m: Decimal(0) for m in months} for g in groups}
    for r in area_rows:
        g = r["service_area"] if r["service_area"] in shown else "Other"
        trend[g][r["month"]] += r["spend"]

    shares = _rows(
        con,
        "select month, local_share, local_coverage, local_share_of_all_spend, sme_share, sme_coverage, "
        "  sme_share_of_all_spend, vcse_share, vcse_coverage, vcse_share_of_all_spend from marts.mart_procurement_kpis "
        "where council_id = ? and month between ? and ? order by month",
        [cid, first, month],
    )

    fytd_total = ytd["spend"]
    suppliers = _rows(
        con,
        "select d.canonical_name as supplier, sum(f.amount_gbp) as spend, count(*) as lines, "
        "  any_value(d.is_sme) as is_sme, any_value(d.is_vcse) as is_vcse, bool_or(f.is_local) as is_local, "
        "  sum(f.amount_gbp) filter (where f.is_on_contract) / nullif(sum(f.amount_gbp), 0) as on_contract_share "
        "from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "where f.council_id = ? and f.payment_month between ? and ? and not d.is_placeholder "
        "group by d.supplier_id, d.canonical_name order by spend desc, supplier limit 10",
        [cid, start, month],
    )
    for s in suppliers:
        s["share"] = s["spend"] / fytd_total if fytd_total else None
    categories = _rows(
        con,
        "with s as (select coalesce(category_l1, 'Unclassified') as category, supplier_id, sum(amount_gbp) as spend "
        "  from marts.fct_spend where council_id = ? and payment_month between ? and ? group by 1, 2) "
        "select category, sum(spend) as spend, count(distinct supplier_id) as suppliers, "
        "  max(spend) filter (where not d.is_placeholder) / nullif(sum(spend), 0) as top_supplier_share, "
        "  arg_max(d.canonical_name, spend) filter (where not d.is_placeholder) as top_supplier "
        "from s join marts.dim_supplier d using (supplier_id) group by 1 order by spend desc, category",
        [cid, start, month],
    )
    for c in categories:
        c["share"] = c["spend"] / fytd_total if fytd_total else None

    # contracts to decide on, from the rows mart_procurement_kpis counts: largest spend at risk, then value
    expiry = _rows(
        con,
        "select expiry_band, contract_ref, title, supplier_name, end_date, contract_value_gbp, spend_at_risk_gbp, "
        "  procurement_route, value_rank, is_top10_by_value "
        "from marts.mart_contract_expiry where council_id = ? and month = ? "
        "order by spend_at_risk_gbp desc, contract_value_gbp desc nulls last, contract_ref",
        [cid, month],
    )
    pipeline = {
        band: [r for r in expiry if r["expiry_band"] == band] for band in ("0-6 months", "6-12 months", "lapsed")
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
        "select category_l1 as category, coalesce(category_l2, '') as subcategory, "
        "  sum(off_contract_spend_gbp) as spend, sum(after_contract_end_gbp) as after_end "
        "from marts.mart_spend_by_category where council_id = ? and month between ? and ? "
        "group by 1, 2 having sum(off_contract_spend_gbp) <> 0 order by spend desc, 1, 2 limit 10",
        [cid, start, month],
    )
    offcontract_totals = _rows(
        con,
        "select sum(off_contract_spend_gbp) as spend, sum(after_contract_end_gbp) as after_end "
        "from marts.mart_spend_by_category where council_id = ? and month between ? and ?",
        [cid, start, month],
    )[0]
    duplicates = _rows(
        con,
        "select d.reason, d.amount_at_stake_gbp, d.first_payment_date, d.second_payment_date, "
        "  d.second_transaction_number, s.canonical_name as supplier_name "
        "from marts.mart_duplicate_payment_candidates d join marts.dim_supplier s using (supplier_id) "
        "where d.council_id = ? and d.payment_month between ? and ? "
        "order by d.amount_at_stake_gbp desc, d.second_spend_line_id limit 10",
        [cid, start, month],
    )
    duplicate_totals = _rows(
        con,
        "select count(*) as pairs, coalesce(sum(amount_at_stake_gbp), 0) as at_stake "
        "from marts.mart_duplicate_payment_candidates where council_id = ? and payment_month between ? and ?",
        [cid, start, month],
    )[0]
    # uncompeted contracts still live at the start of the month, largest first
    direct = _rows(
        con,
        "select * from marts.mart_direct_awards where council_id = ? and (end_date is null or end_date >= ?) "
        "order by contract_value_gbp desc nulls last, contract_ref",
        [cid, month],
    )
    # the supplier base, financial year to date: the council-wide row and the categories with most suppliers
    base = _rows(
        con,
        "select * from marts.mart_supplier_rationalisation where council_id = ? and month = ? "
        "order by category_l1 = 'All categories' desc, supplier_count desc, category_l1",
        [cid, month],
    )
    supplier_base = {
        "all": base[0] if base and base[0]["category_l1"] == "All categories" else None,
        "categories": [r for r in base if r["category_l1"] != "All categories"],
    }
    # contracts the public cannot see, live at some point in the financial year to date, largest first
    unpublished = _rows(
        con,
        "select * from marts.mart_transparency_compliance where council_id = ? "
        "and (end_date is null or end_date >= ?) and (start_date is null or start_date < ?) "
        "order by contract_value_gbp desc nulls last, contract_ref",
        [cid, start, add_months(month, 1)],
    )
    transparency = {
        "no_notice": [r for r in unpublished if r["finding"] != "not on register"],
        "not_on_register": [r for r in unpublished if r["finding"] == "not on register"],
        "threshold": unpublished[0]["notice_threshold_gbp"] if unpublished else None,
    }
    for kind in ("no_notice", "not_on_register"):
        transparency[f"{kind}_value"] = sum((r["contract_value_gbp"] or 0) for r in transparency[kind])
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
    # what moved spend, only where every month on both sides is loaded
    spend_months = {
        r[0].date() if isinstance(r[0], datetime) else r[0]
        for r in con.execute(
            "select distinct month from marts.mart_procurement_kpis where council_id = ?", [cid]
        ).fetchall()
    }
    prev, last_year = add_months(month, -1), add_months(month, -12)
    ytd_months = [add_months(start, i) for i in range((month.year - start.year) * 12 + month.month - start.month + 1)]
    variance: dict[str, Any] = {"month": None, "last_year": None, "ytd": None}
    if {month, prev} <= spend_months:
        variance["month"] = compare(con, cid, (month, month), (prev, prev), f"{prev:%B %Y}")
    if {month, last_year} <= spend_months:
        variance["last_year"] = compare(con, cid, (month, month), (last_year, last_year), f"{last_year:%B %Y}")
    if {add_months(m, -12) for m in ytd_months} <= spend_months:
        variance["ytd"] = compare(
            con, cid, (start, month), (add_months(start, -12), last_year), "the same months a year earlier"
        )
    data = {
        "council": {
            "id": cid,
            "name": council.name,
            "board_name": council.board_name,
            "local_postcode_prefixes": list(council.local_postcode_prefixes),
        },
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
        "kpis": _kpi_rows(con, council, month),
        "trend": {"months": months, "loaded": loaded_months, "groups": groups, "values": trend},
        "shares": shares,
        "suppliers": suppliers,
        "top10_share": (sum(s["spend"] for s in suppliers) / fytd_total) if fytd_total and suppliers else None,
        "categories": categories,
        "pipeline": pipeline,
        "risks": risks,
        "offcontract": offcontract,
        "offcontract_total": offcontract_totals["spend"],
        "offcontract_after_end": offcontract_totals["after_end"],
        "awards": awards,
        "duplicates": {**duplicate_totals, "largest": duplicates},
        "direct_awards": {
            "contracts": direct,
            "value": sum((c["contract_value_gbp"] or 0) for c in direct),
            "value_share": sum((c["value_share"] or 0) for c in direct),
        },
        "awards_from": awards_from,
        "supplier_base": supplier_base,
        "transparency": transparency,
        "quality": quality,
        "variance": variance,
    }
    names = [s["supplier"] for s in suppliers] + [a["supplier_name"] for a in awards]
    names += [c["top_supplier"] for c in categories]
    names += [r["supplier_name"] for rows in (*pipeline.values(), risks, duplicates, direct, unpublished) for r in rows]
    check_privacy(f"board pack {cid} {month:%Y-%m}", "supplier", names)
    data.update(collect_insight(con, council, month, start))
    data["commentary"] = commentary(data)
    return data


def _collect_quality(con, council: Council, month: date) -> dict[str, Any]:
    files = _rows(
        con,
        "select source_file, records, accepted, rejected, coalesce(rows_with_warnings, 0) as with_warnings, "
        "last_payment_date from raw.spend_files where council_id = ? order by source_file",
        [council.id],
    )
    # lines whose file gives only the month or quarter (payment_date is its first day); raw.spend_lines
    # holds only the loaded files' lines (a rejected or replaced file's lines are removed with it)
    period_dated = con.execute(
        "select count(*) from raw.spend_lines where council_id = ? and coalesce(date_precision, 'day') <> 'day'",
        [council.id],
    ).fetchone()[0]
    # the loaded files' quarantined lines (they add up to "Rows quarantined"); a rejected file keeps all
    # its lines in raw.spend_quarantine too, under the file's rejection message, and is not listed here
    quarantine = _rows(
        con,
        "select q.reject_reason as reason, count(*) as rows from raw.spend_quarantine as q "
        "inner join raw.spend_files as f on q.council_id = f.council_id and q.file_sha256 = f.file_sha256 "
        "where q.council_id = ? group by 1 order by 2 desc, 1",
        [council.id],
    )
    gate = _rows(
        con,
        "select run_id, passed, critical_failures, warnings, cast(checked_at as date) as checked_on "
        "from ops.quality_runs order by recorded_at desc limit 1",
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
        for w in warnings:
            w["message"] = describe_check(w["suite"], w["column_name"] or None, w["expectation"], w["observed"])
    # files replaced by their re-issue (procure.extract.spend_reissue): both versions' lines and totals
    replacements = []
    if _has_table(con, "raw", "spend_replacements"):
        replacements = _rows(
            con,
            "select replaced_file, replaced_lines, replaced_total_gbp, replacing_file, replacing_lines, "
            "replacing_total_gbp, basis from raw.spend_replacements where council_id = ? "
            "order by replaced_at, replaced_file",
            [council.id],
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
        "period_dated": period_dated,
        "with_warnings": sum(f["with_warnings"] for f in files),
        "quarantine": quarantine,
        "replacements": replacements,
        "gate": gate[0] if gate else None,
        "warnings": warnings,
        "sources": [{"source": s, "latest": d, "late": late} for s, d, late in sources],
    }
