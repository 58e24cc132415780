"""Annual strategy-review extracts for one council and fiscal year: what the council publishes.

Under publish/strategy_review/<council>/<YYYY-YY>/: every extract as CSV and Parquet, one
XLSX workbook (a sheet per extract plus a data dictionary), README.txt (definitions and the
Open Government Licence attribution) and manifest.json (each file's path, rows, sha256 and
money totals; git commit, dbt invocation id, gate run id, data interval).

Written only from a gate-passed warehouse, into a temporary folder swapped in whole; no
wall-clock value is written anywhere, so re-running the same year gives byte-identical
files. Text cells are neutralised against formula injection and every payee-name column
passes the privacy check (``safety``) before anything is swapped in.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from procure.config import PROJECT_ROOT, Council, dbt_target_dir, publish_dir
from procure.publish.atomic import atomic_dir, require_gate, sha256_file
from procure.publish.safety import check_privacy
from procure.publish.writers import write_csv, write_parquet, write_xlsx
from procure.warehouse import connect

log = logging.getLogger(__name__)

NAME_COLUMNS = ("supplier_name", "canonical_name", "top_supplier_name", "payee_name")


@dataclass(frozen=True)
class Extract:
    name: str
    title: str
    sql: str  # parameters: council_id, fiscal year label (YYYY-YY)
    description: str
    model: str | None = None  # the one mart it passes through: its dbt column descriptions are used


EXTRACTS: list[Extract] = [
    Extract(
        "spend_by_supplier",
        "Spend by supplier",
        "select f.supplier_id, d.canonical_name as supplier_name, "
        "  max(d.company_number) as company_number, max(d.charity_number) as charity_number, "
        "  max(d.postcode_district) as postcode_district, "
        "  bool_or(d.is_local) as is_local, bool_or(d.is_sme) as is_sme, bool_or(d.is_vcse) as is_vcse, "
        "  sum(f.amount_gbp) as total_spend_gbp, "
        "  coalesce(sum(f.amount_gbp) filter (where not f.is_credit), 0) as gross_spend_gbp, "
        "  coalesce(sum(f.amount_gbp) filter (where f.is_credit), 0) as credit_gbp, count(*) as line_count "
        "from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "where f.council_id = ? and f.fiscal_year = ? group by 1, 2 order by total_spend_gbp desc, supplier_id",
        "One row per supplier paid in the year; redacted payees are one row, never named.",
    ),
    Extract(
        "spend_by_category",
        "Spend by category",
        "select coalesce(category_l1, 'Unclassified') as category_l1, coalesce(category_l2, '') as category_l2, "
        "  sum(total_spend_gbp) as total_spend_gbp, sum(on_contract_spend_gbp) as on_contract_spend_gbp, "
        "  sum(line_count) as line_count from marts.mart_spend_by_category "
        "where council_id = ? and fiscal_year = ? group by 1, 2 order by total_spend_gbp desc, 1, 2",
        "Spend by ProClass category (levels 1 and 2).",
    ),
    Extract(
        "spend_by_service_area",
        "Spend by service area",
        "select service_area, sum(total_spend_gbp) as total_spend_gbp, sum(local_spend_gbp) as local_spend_gbp, "
        "  sum(unknown_local_spend_gbp) as unknown_local_spend_gbp, sum(sme_spend_gbp) as sme_spend_gbp, "
        "  sum(unknown_sme_spend_gbp) as unknown_sme_spend_gbp, sum(vcse_spend_gbp) as vcse_spend_gbp, "
        "  sum(unknown_vcse_spend_gbp) as unknown_vcse_spend_gbp from marts.mart_local_spend "
        "where council_id = ? and fiscal_year = ? group by 1 order by total_spend_gbp desc, 1",
        "Spend by the council's service area, with local, SME and VCSE spend.",
        "mart_local_spend",
    ),
    Extract(
        "local_sme_vcse_summary",
        "Local, SME and VCSE spend by month",
        "select l.month, sum(l.total_spend_gbp) as total_spend_gbp, sum(l.local_spend_gbp) as local_spend_gbp, "
        "  sum(l.unknown_local_spend_gbp) as unknown_local_spend_gbp, sum(l.sme_spend_gbp) as sme_spend_gbp, "
        "  sum(l.unknown_sme_spend_gbp) as unknown_sme_spend_gbp, sum(l.vcse_spend_gbp) as vcse_spend_gbp, "
        "  sum(l.unknown_vcse_spend_gbp) as unknown_vcse_spend_gbp, "
        "  any_value(k.local_share) as local_share, any_value(k.sme_share) as sme_share, "
        "  any_value(k.vcse_share) as vcse_share "
        "from marts.mart_local_spend l join marts.mart_procurement_kpis k using (council_id, month) "
        "where l.council_id = ? and l.fiscal_year = ? group by 1 order by 1",
        "Monthly local, SME and VCSE spend and shares (shares of gross spend where the status is known).",
    ),
    Extract(
        "procurement_kpis",
        "Monthly procurement KPIs",
        "select * exclude (council_id) from marts.mart_procurement_kpis where council_id = ? and fiscal_year = ? "
        "order by month",
        "The board pack's monthly measures: spend, lines, suppliers, credits, the on-contract, local, SME, "
        "VCSE and categorised shares with their targets and RAG status, contracts expiring and new awards.",
        "mart_procurement_kpis",
    ),
    Extract(
        "kpis_with_targets",
        "Procurement KPIs with targets and status",
        "select * exclude (council_id) from marts.mart_procurement_kpis where council_id = ? and fiscal_year = ? "
        "order by month",
        "The board pack's KPIs by month with each target and its status (green, amber, red; none when coverage is "
        "below the floor): targets are this installation's configured values (dbt seed kpi_targets).",
        "mart_procurement_kpis",
    ),
    Extract(
        "supplier_by_category",
        "Spend by supplier and category",
        "with s as (select f.supplier_id, any_value(d.canonical_name) as supplier_name, "
        "    coalesce(f.category_l1, 'Unclassified') as category_l1, sum(f.amount_gbp) as total_spend_gbp, "
        "    count(*) as line_count "
        "  from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "  where f.council_id = ? and f.fiscal_year = ? group by f.supplier_id, 3) "
        "select *, cast(total_spend_gbp / nullif(sum(total_spend_gbp) over (partition by category_l1), 0) "
        "  as decimal(9, 6)) as category_spend_share from s "
        "order by category_l1, total_spend_gbp desc, supplier_id",
        "One row per supplier and ProClass level-1 category it was paid in during the year.",
    ),
    Extract(
        "contract_portfolio",
        "Contract portfolio",
        "select contract_ref, title, supplier_name, service_area, procurement_category, procurement_route, "
        "  contract_value_gbp, start_date, end_date, extension_options, spend_to_date_gbp, value_consumed_share, "
        "  expiry_band, is_published_on_cf_fts, is_spend_beyond_value, is_expired_but_paid, spend_after_end_gbp, "
        "  as_at_date from marts.fct_contract_portfolio where council_id = ? and ? is not null order by contract_ref",
        "Every contract: the register's rows and the Contracts Finder / Find a Tender awards no register row cites, "
        "with spend against each and risk flags, as at the register date.",
        "fct_contract_portfolio",
    ),
    Extract(
        "contracts_expiring_lapsed",
        "Contracts expiring or lapsed, by risk",
        "select * exclude (council_id) from marts.mart_contract_expiry e where council_id = ? and month = ("
        "  select max(k.month) from marts.mart_procurement_kpis k where k.council_id = e.council_id and k.fiscal_year = ?) "
        "order by spend_at_risk_gbp desc, contract_value_gbp desc nulls last, contract_ref",
        "As at the year's last loaded month: every contract ending in the next 12 months or lapsed in the last 12, "
        "largest spend at risk first (the full list behind the board pack's top rows), with its rank by value.",
        "mart_contract_expiry",
    ),
    Extract(
        "off_contract_spend",
        "Off-contract spend",
        "select * exclude (council_id) from marts.mart_off_contract_spend where council_id = ? and fiscal_year = ? "
        "order by off_contract_spend_gbp desc, supplier_id, category_l1, category_l2",
        "Spend with no live contract, per supplier and category, split into after contract end, before contract "
        "start and no contract.",
        "mart_off_contract_spend",
    ),
    Extract(
        "duplicate_payment_candidates",
        "Possible duplicate payments",
        "select * exclude (council_id) from marts.mart_duplicate_payment_candidates "
        "where council_id = ? and fiscal_year = ? order by amount_at_stake_gbp desc, second_spend_line_id",
        "Pairs of payments that may be one invoice paid twice, for recovery review, with both files and lines.",
        "mart_duplicate_payment_candidates",
    ),
    Extract(
        "supplier_rationalisation",
        "Supplier base: tail spend and one-off suppliers",
        "select * exclude (council_id, fiscal_year) from marts.mart_supplier_rationalisation r "
        "where council_id = ? and month = ("
        "  select max(m.month) from marts.mart_supplier_rationalisation m "
        "  where m.council_id = r.council_id and m.fiscal_year = ?) "
        "order by category_l1 = 'All categories' desc, supplier_count desc, category_l1",
        "For the whole year: suppliers per category, tail suppliers (paid under the threshold a year) with their "
        "spend and shares, and suppliers paid once; the first row is all categories together.",
        "mart_supplier_rationalisation",
    ),
    Extract(
        "transparency_compliance",
        "Contracts without a published notice",
        "select * exclude (council_id) from marts.mart_transparency_compliance where council_id = ? "
        "and ? is not null order by finding, contract_value_gbp desc nulls last, contract_ref",
        "Register contracts at or above the notice threshold with no Contracts Finder / Find a Tender notice, and "
        "published awards missing from the register; all such contracts on record, whatever their dates.",
        "mart_transparency_compliance",
    ),
    Extract(
        "supplier_concentration",
        "Supplier concentration by category",
        "with s as (select coalesce(f.category_l1, 'Unclassified') as category_l1, f.supplier_id, "
        "    any_value(d.canonical_name) as supplier_name, sum(f.amount_gbp) as spend_gbp "
        "  from marts.fct_spend f join marts.dim_supplier d using (supplier_id) "
        "  where f.council_id = ? and f.fiscal_year = ? and not d.is_placeholder "
        "    and not f.is_credit group by 1, 2), "
        "r as (select *, row_number() over (partition by category_l1 order by spend_gbp desc, supplier_id) as rk, "
        "    sum(spend_gbp) over (partition by category_l1) as cat_gbp from s) "
        "select category_l1, sum(spend_gbp) as total_spend_gbp, count(*) as supplier_count, "
        "  max(case when rk = 1 then supplier_name end) as top_supplier_name, "
        "  max(case when rk = 1 then spend_gbp end) as top_supplier_spend_gbp, "
        "  cast(max(case when rk = 1 then spend_gbp end) / nullif(sum(spend_gbp), 0) as decimal(9, 6)) "
        "    as top_supplier_share, "
        "  cast(sum(case when rk <= 5 then spend_gbp else 0 end) / nullif(sum(spend_gbp), 0) as decimal(9, 6)) "
        "    as top5_share, "
        "  cast(sum((spend_gbp / nullif(cat_gbp, 0)) * (spend_gbp / nullif(cat_gbp, 0))) as decimal(9, 6)) as hhi "
        "from r group by 1 order by total_spend_gbp desc, 1",
        "Per category: how much of the spend goes to its largest suppliers, and the Herfindahl-Hirschman index; "
        "the columns below say exactly which measure and scale.",
    ),
    Extract(
        "carbon_estimate",
        "Estimated supply-chain emissions by category",
        "select category_l1, method, sum(spend_gbp) as spend_gbp, "
        "  sum(spend_in_factor_prices_gbp) as spend_in_factor_prices_gbp, "
        "  cast(sum(tco2e) * 1000 / nullif(sum(spend_in_factor_prices_gbp) filter (where tco2e is not null), 0) "
        "    as decimal(12, 6)) as factor_kgco2e_per_gbp, "
        "  sum(tco2e) as tco2e, min(factor_year) as factor_year, min(price_year) as price_year, "
        "  bool_and(is_deflated) as is_deflated "
        "from marts.mart_spend_carbon_estimate where council_id = ? and fiscal_year = ? "
        "group by 1, 2 order by tco2e desc nulls last, spend_gbp desc, 1, 2",
        "Spend-based estimate of supply-chain emissions (tCO2e) per category and method; 'not_measured' spend "
        "has no factor. Uncertain by half or more for any one category.",
        "mart_spend_carbon_estimate",
    ),
    Extract(
        "savings",
        "Savings",
        "select * exclude (council_id) from marts.mart_savings where council_id = ? and fiscal_year = ? "
        "order by savings_type, savings_gbp desc, savings_id",
        "Every saving counted in the year, one per row, with the method that measured it.",
        "mart_savings",
    ),
    Extract(
        "social_value",
        "Social value committed and delivered",
        "select * exclude (council_id) from marts.mart_social_value where council_id = ? and ? is not null "
        "order by contract_key",
        "Per contract: social value weight in the award criteria and National TOMs proxy value committed and "
        "delivered; contracts with nothing recorded are not measured and not listed.",
        "mart_social_value",
    ),
    Extract(
        "spend_forecast",
        "Spend forecast, next 12 months",
        "select * exclude (council_id) from marts.mart_spend_forecast where council_id = ? and ? is not null "
        "order by category_l1 = 'All' desc, category_l1, service_area, month",
        "The next 12 months after the last loaded month, per category and service area and in total ('All'), "
        "with 80 % and 95 % prediction intervals and each series' backtest error.",
        "mart_spend_forecast",
    ),
    Extract(
        "contract_renewals",
        "Contract renewal pipeline",
        "select * exclude (council_id) from marts.mart_contract_renewals where council_id = ? and ? is not null "
        "order by end_date, contract_ref, contract_id",
        "Contracts ending within 24 months of the last payment loaded, by fiscal quarter, with annual run-rate.",
        "mart_contract_renewals",
    ),
]

# Descriptions of columns the extracts compute (the marts' own columns come from dbt's manifest).
DICTIONARY: dict[str, str] = {
    "supplier_id": "Resolved supplier key (one supplier, not its spellings); placeholder keys (dim_supplier.is_placeholder) group payees "
    "that cannot be named.",
    "supplier_name": "Supplier's canonical name; redacted payees are never named.",
    "total_spend_gbp": "Net spend in pounds (payments minus credits), exact to the penny.",
    "gross_spend_gbp": "Payments excluding credits, in pounds.",
    "credit_gbp": "Credits (refunds, negative lines), in pounds; negative.",
    "line_count": "Number of payment lines.",
    "on_contract_spend_gbp": "Spend covered by a live contract on the register.",
    "category_l1": "ProClass level-1 category ('Unclassified' when no rule matched).",
    "category_l2": "ProClass level-2 category.",
    "supplier_count": "Number of distinct identified suppliers with gross payments.",
    "top_supplier_name": "The supplier with the largest gross spend in the category.",
    "top_supplier_spend_gbp": "Gross spend with that supplier.",
    "top_supplier_share": "Largest supplier's share of the category's gross spend (0-1).",
    "top5_share": "Five largest suppliers' share of the category's gross spend (0-1).",
    "hhi": "Herfindahl-Hirschman index of supplier shares (0-1; 1 = one supplier).",
    "is_local": "Supplier is based in the council's local area (postcode districts in the configuration); "
    "empty = unknown.",
    "is_sme": "Supplier is a small or medium-sized enterprise; empty = unknown.",
    "is_vcse": "Supplier is a voluntary, community or social enterprise; empty = unknown.",
    "category_spend_share": "The supplier's share of the category's net spend in the year (0-1).",
}


def type_in_words(arrow_type, column: str) -> str:
    """A column's type as a reader of the workbook needs it, not as Arrow names it."""
    import pyarrow as pa

    if pa.types.is_decimal(arrow_type) and arrow_type.scale == 0:
        return "whole number"
    if pa.types.is_decimal(arrow_type) or pa.types.is_floating(arrow_type):
        if column.endswith("_gbp"):
            return "amount in pounds and pence"
        if column.endswith("_share"):
            return "share from 0 to 1 (a percentage in the workbook)"
        return "number"
    if pa.types.is_integer(arrow_type):
        return "whole number"
    if pa.types.is_boolean(arrow_type):
        return "true / false (empty = unknown)"
    if pa.types.is_date(arrow_type):
        return "date (YYYY-MM-DD)"
    if pa.types.is_timestamp(arrow_type):
        return "date and time"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    return str(arrow_type)


README = """{heading}
{underline}

Data interval: {start} to {end} (payments dated in this financial year).
Produced from the council's procurement warehouse after it passed the quality gate
(gate run {gate_run_id}). manifest.json lists every file with its rows, SHA-256 and
money totals, so each file can be checked.

Each extract is a CSV file (UTF-8) and a Parquet file of the same name, and a sheet of
strategy_review_{fy}.xlsx; the workbook's data_dictionary sheet repeats the column list below.

Definitions used throughout
- Spend: payments to suppliers from the council's "spend over £500" files, exact pounds and
  pence. Net spend includes credits (refunds, negative lines); gross spend leaves them out.
- Local / SME / VCSE: where a supplier's status is not known it is empty (unknown), never
  counted as "no".
- Redacted payees (for example individuals) are one placeholder supplier line, never named;
  so are payments with no payee stated.
- Text a spreadsheet would read as a formula (starting with =, +, -, @, tab or carriage
  return) is prefixed with an apostrophe in the CSV and XLSX files.

Files and their columns (each description is the warehouse's own documentation of that column)
{files}

Licence
Contains public sector information licensed under the Open Government Licence v3.0:
https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/
"""


def fiscal_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def dbt_invocation(con, models: list[str]) -> tuple[str | None, dict[str, str], str | None]:
    """(latest invocation id, model -> invocation id, reason when missing) of the dbt builds that made
    ``models`` in this warehouse, from ops.dbt_model_builds (written by dbt's on-run-end hook,
    macros/record_model_builds.sql) - not from target/run_results.json, which any later dbt command on
    this machine, for any warehouse, overwrites."""
    found = con.execute(
        "select 1 from information_schema.tables where table_schema = 'ops' and table_name = 'dbt_model_builds'"
    ).fetchall()
    if not found:
        return None, {}, "ops.dbt_model_builds not found: this warehouse was built before builds were recorded"
    rows = con.execute(
        f"select model, invocation_id, built_at from ops.dbt_model_builds where model in "
        f"({', '.join('?' * len(models))}) order by built_at, model",
        models,
    ).fetchall()
    by_model = {m: i for m, i, _at in rows}
    missing = sorted(set(models) - set(by_model))
    note = f"no recorded build of {', '.join(missing)}" if missing else None
    return (rows[-1][1] if rows else None), dict(sorted(by_model.items())), note


def dbt_column_descriptions() -> dict[str, dict[str, str]]:
    """model name -> column name -> description, from the dbt manifest's mart models.

    Read once per process and manifest version (path, size, mtime): every council's review reuses it.
    """
    path = dbt_target_dir() / "manifest.json"
    try:
        st = path.stat()
    except OSError:
        return {}
    return {model: dict(cols) for model, cols in _read_column_descriptions(str(path), st.st_size, st.st_mtime_ns)}


@functools.lru_cache(maxsize=4)
def _read_column_descriptions(path: str, _size: int, _mtime_ns: int) -> tuple[tuple[str, tuple], ...]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for node in doc.get("nodes", {}).values():
        if node.get("resource_type") != "model" or "marts" not in node.get("fqn", []):
            continue
        out[node["name"]] = tuple(
            (col, " ".join(spec["description"].split()))
            for col, spec in node.get("columns", {}).items()
            if spec.get("description")
        )
    return tuple(out.items())


def git_commit() -> tuple[str | None, str | None]:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"git rev-parse HEAD failed in {PROJECT_ROOT}: {exc}"
    return out.stdout.strip(), None


def _money_totals(headers: list[str], rows: list[tuple]) -> dict[str, str]:
    out = {}
    for i, h in enumerate(headers):
        if h.endswith("_gbp"):
            out[h] = str(sum((r[i] for r in rows if r[i] is not None), start=Decimal("0.00")))
    return out


def query_extract(con, extract: Extract, council_id: str, fy: str):
    """(headers, rows, arrow table) of one extract; uses marts.mart_supplier_concentration when present."""
    sql = extract.sql
    if extract.name == "supplier_concentration" and _mart_concentration_usable(con):
        sql = (
            "select c.* exclude (council_id, fiscal_year), d.canonical_name as top_supplier_name "
            "from marts.mart_supplier_concentration c left join marts.dim_supplier d on d.supplier_id = c.top_supplier_id "
            "where c.council_id = ? and c.fiscal_year = ? order by c.total_spend_gbp desc, c.category_l1, c.category_l2"
        )
    table = con.sql(sql, params=[council_id, fy]).to_arrow_table()
    headers = list(table.column_names)
    rows = [tuple(r[h] for h in headers) for r in table.to_pylist()]
    return headers, rows, table


def _mart_concentration_usable(con) -> bool:
    cols = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'mart_supplier_concentration'"
        ).fetchall()
    }
    return {"council_id", "fiscal_year"} <= cols


def publish_strategy_review(council: Council, fy_start_year: int, warehouse: Path | None = None) -> Path:
    """Write publish/strategy_review/<council>/<YYYY-YY>/ (see module docstring); return the manifest path."""
    fy = fiscal_year_label(fy_start_year)
    start = date(fy_start_year, council.fiscal_year_start_month, 1)
    end = date(start.year + 1, start.month, 1) - timedelta(days=1)
    when = datetime.combine(end, datetime.min.time())
    con = connect(warehouse, read_only=True)
    target = publish_dir() / "strategy_review" / council.id / fy
    try:
        require_gate(con)
        gate_run_id = con.execute("select run_id from ops.quality_runs order by recorded_at desc limit 1").fetchall()[
            0
        ][0]
        results = [(e, *query_extract(con, e, council.id, fy)) for e in EXTRACTS]
        models = {e.name: e.model for e in EXTRACTS}
        if _mart_concentration_usable(con):
            models["supplier_concentration"] = "mart_supplier_concentration"
        read = sorted({m for m in models.values() if m} | {"fct_spend", "dim_supplier"})
        invocation, invocations, invocation_note = dbt_invocation(con, read)
    finally:
        con.close()
    by_name = {e.name: rows for e, _h, rows, _t in results}
    if not by_name["local_sme_vcse_summary"]:
        raise LookupError(f"council {council.id!r}: no spend in fiscal year {fy}; nothing to extract")
    for e, headers, rows, _t in results:
        for col in NAME_COLUMNS:
            if col in headers:
                i = headers.index(col)
                check_privacy(f"strategy review {council.id} {fy}: {e.name}", col, (r[i] for r in rows))

    dbt_docs = dbt_column_descriptions()
    # a computed column named like a mart's: the base marts' description first, then the first mart's by name
    base = ("dim_supplier", "fct_spend")
    order = sorted((m for m in dbt_docs if m not in base), reverse=True) + [m for m in base if m in dbt_docs]
    any_dbt = {c: d for model in order for c, d in dbt_docs[model].items()}

    def describe(model: str | None, column: str) -> str:
        if model and column in dbt_docs.get(model, {}):
            return dbt_docs[model][column]
        return DICTIONARY.get(column) or any_dbt.get(column, "")

    commit, commit_note = git_commit()
    with atomic_dir(target) as tmp:
        files: list[dict[str, Any]] = []
        for e, headers, rows, table in results:
            for ext in ("csv", "parquet"):
                path = tmp / f"{e.name}.{ext}"
                if ext == "csv":
                    write_csv(path, headers, rows)
                else:
                    write_parquet(path, table)
                files.append(
                    {
                        "path": path.name,
                        "extract": e.name,
                        "format": ext,
                        "rows": len(rows),
                        "sha256": sha256_file(path),
                        "amount_totals": _money_totals(headers, rows),
                    }
                )
        dictionary_rows = [
            (e.name, h, type_in_words(table.schema.field(h).type, h), describe(models[e.name], h))
            for e, headers, _rows, table in results
            for h in headers
        ]
        missing = [f"{s}.{c}" for s, c, _t, d in dictionary_rows if not d]
        if missing:
            raise ValueError(f"data dictionary: no description for {', '.join(missing)} (add it to DICTIONARY)")
        workbook = tmp / f"strategy_review_{fy}.xlsx"
        write_xlsx(
            workbook,
            [(e.name, headers, rows) for e, headers, rows, _t in results]
            + [("data_dictionary", ["sheet", "column", "kind", "description"], dictionary_rows)],
            when,
            title=f"{council.name} strategy review extracts {fy}",
        )
        files.append(
            {
                "path": workbook.name,
                "extract": "all",
                "format": "xlsx",
                "rows": sum(len(rows) for _e, _h, rows, _t in results),
                "sha256": sha256_file(workbook),
                "amount_totals": {},
            }
        )
        readme = tmp / "README.txt"
        heading = f"{council.name} — procurement strategy review extracts, financial year {fy}"
        readme.write_text(
            README.format(
                heading=heading,
                fy=fy,
                underline="=" * len(heading),
                start=start.isoformat(),
                end=end.isoformat(),
                gate_run_id=gate_run_id,
                files="\n".join(
                    f"\n{e.name} ({len(rows):,} rows): {e.description}\n"
                    + "\n".join(
                        textwrap.fill(f"- {c} ({kind}): {d}", 100, initial_indent="  ", subsequent_indent="    ")
                        for sheet, c, kind, d in dictionary_rows
                        if sheet == e.name
                    )
                    for e, _h, rows, _t in results
                ),
            ),
            encoding="utf-8",
        )
        files.append(
            {
                "path": readme.name,
                "extract": None,
                "format": "txt",
                "rows": None,
                "sha256": sha256_file(readme),
                "amount_totals": {},
            }
        )
        manifest = {
            "council_id": council.id,
            "council_name": council.name,
            "fiscal_year": fy,
            "data_interval": {"start": start.isoformat(), "end": end.isoformat()},
            "git_commit": commit,
            "git_commit_note": commit_note,
            "dbt_invocation_id": invocation,
            "dbt_invocation_note": invocation_note,
            "dbt_invocations": invocations,
            "gate_run_id": gate_run_id,
            "licence": "Open Government Licence v3.0",
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("strategy review %s", target / "manifest.json")
    return target / "manifest.json"
