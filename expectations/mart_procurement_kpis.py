"""mart_procurement_kpis: one row per council and month, shares within [0, 1], targets within [0, 1] and
every status green, amber or red (empty: no target, or coverage below the floor)."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical

TABLE = "marts.mart_procurement_kpis"
SHARES = (
    "on_contract_share",
    "local_share",
    "sme_share",
    "vcse_share",
    "classified_share",
    "local_coverage",
    "sme_coverage",
    "vcse_coverage",
    "local_share_of_all_spend",
    "sme_share_of_all_spend",
    "vcse_share_of_all_spend",
    "quarantine_share",
)

#: the KPIs with a target and a status (<kpi>_target, <kpi>_rag; the seed kpi_targets)
TARGETED = ("local_share", "sme_share", "vcse_share", "on_contract_share", "quarantine_share", "classified_share")


def build(ctx: dict[str, Any]) -> list:
    checks = [
        critical(gxe.ExpectCompoundColumnsToBeUnique, column_list=["council_id", "month"]),
        # a KPI row for every month that has payments
        critical(gxe.ExpectTableRowCountToEqual, value=ctx["council_months"]),
        critical(
            gxe.ExpectColumnSumToBeBetween,
            column="total_spend_gbp",
            min_value=ctx["raw_spend_total"] - 0.005,
            max_value=ctx["raw_spend_total"] + 0.005,
        ),
    ]
    checks += [critical(gxe.ExpectColumnValuesToBeBetween, column=c, min_value=0, max_value=1) for c in SHARES]
    for kpi in TARGETED:
        checks += [
            critical(gxe.ExpectColumnValuesToBeBetween, column=f"{kpi}_target", min_value=0, max_value=1),
            critical(gxe.ExpectColumnValuesToBeInSet, column=f"{kpi}_rag", value_set=["green", "amber", "red"]),
        ]
    return checks
