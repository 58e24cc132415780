"""Annual strategy-review extracts: CSVs for one council and fiscal year, with a manifest.

The manifest lists each file with its rows, money total and sha256, so a reader can
check an extract against the warehouse. Written only from a gate-passed warehouse, all
files at once (a failure leaves the previous extract untouched).
"""

from __future__ import annotations

import csv
import json
import logging
from datetime import date
from pathlib import Path

from procure.config import Council, publish_dir
from procure.publish.atomic import atomic_dir, require_gate, sha256_file
from procure.warehouse import connect

log = logging.getLogger(__name__)

# file name -> (query with ? = council_id, fiscal_year; money column totalled in the manifest)
EXTRACTS: dict[str, tuple[str, str | None]] = {
    "spend_by_category.csv": (
        "select category_l1, category_l2, sum(total_spend_gbp) as total_spend_gbp, "
        "sum(line_count) as line_count from marts.mart_spend_by_category "
        "where council_id = ? and fiscal_year = ? group by 1, 2 order by 3 desc, 1, 2",
        "total_spend_gbp",
    ),
    "spend_by_service_area.csv": (
        "select service_area, sum(total_spend_gbp) as total_spend_gbp, sum(local_spend_gbp) as local_spend_gbp, "
        "sum(unknown_local_spend_gbp) as unknown_local_spend_gbp, sum(sme_spend_gbp) as sme_spend_gbp, "
        "sum(vcse_spend_gbp) as vcse_spend_gbp from marts.mart_local_spend "
        "where council_id = ? and fiscal_year = ? group by 1 order by 2 desc, 1",
        "total_spend_gbp",
    ),
    "top_suppliers.csv": (
        "select d.supplier_id, d.canonical_name, d.company_number, d.is_local, d.is_sme, d.is_vcse, "
        "sum(f.amount_gbp) as total_spend_gbp, count(*) as line_count from marts.fct_spend f "
        "join marts.dim_supplier d using (supplier_id) where f.council_id = ? and f.fiscal_year = ? "
        "and f.supplier_id not in ('redacted', 'unknown') "
        "group by 1, 2, 3, 4, 5, 6 order by 7 desc, 1 limit 100",
        "total_spend_gbp",
    ),
    "kpi_monthly.csv": (
        "select * from marts.mart_kpi_monthly where council_id = ? and fiscal_year = ? order by month",
        "total_spend_gbp",
    ),
    "contract_portfolio.csv": (
        "select * from marts.fct_contract_portfolio where council_id = ? and ? is not null order by contract_ref",
        "contract_value_gbp",
    ),
}


def fiscal_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def publish_strategy_review(council: Council, fy_start_year: int, warehouse: Path | None = None) -> Path:
    """Write publish/strategy_review/<council>/<YYYY-YY>/*.csv and manifest.json; return the manifest."""
    fy = fiscal_year_label(fy_start_year)
    con = connect(warehouse, read_only=True)
    target = publish_dir() / "strategy_review" / council.id / fy
    try:
        require_gate(con)
        with atomic_dir(target) as tmp:
            files = []
            for name, (sql, money) in EXTRACTS.items():
                cur = con.execute(sql, [council.id, fy])
                headers = [d[0] for d in cur.description]
                rows = cur.fetchall()
                path = tmp / name
                with path.open("w", newline="", encoding="utf-8") as f:
                    w = csv.writer(f)
                    w.writerow(headers)
                    w.writerows(rows)
                total = None
                if money:
                    i = headers.index(money)
                    total = str(sum((r[i] for r in rows if r[i] is not None), start=0))
                files.append(
                    {
                        "file": name,
                        "rows": len(rows),
                        "money_column": money,
                        "total": total,
                        "sha256": sha256_file(path),
                    }
                )
            if not any(f["rows"] for f in files if f["file"] == "kpi_monthly.csv"):
                raise LookupError(f"council {council.id!r}: no spend in fiscal year {fy}; nothing to extract")
            manifest = {
                "council_id": council.id,
                "council_name": council.name,
                "fiscal_year": fy,
                "period_start": date(fy_start_year, council.fiscal_year_start_month, 1).isoformat(),
                "licence": "Open Government Licence v3.0",
                "files": files,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    finally:
        con.close()
    log.info("strategy review %s", target / "manifest.json")
    return target / "manifest.json"
