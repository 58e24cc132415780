"""mart_off_contract_spend: one row per council, year, supplier and category; its three parts add up to it.

Validated through a derived relation (portable SQL) that adds ``parts_gap_gbp``: the off-contract spend less
its split into after contract end, before contract start and no contract, which must be 0 to the penny.
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical

TABLE = "marts.mart_off_contract_spend"
QUERY = f"""
select
    o.*,
    o.off_contract_spend_gbp - o.after_contract_end_gbp - o.before_contract_start_gbp - o.no_contract_gbp
        as parts_gap_gbp
from {TABLE} o
"""


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(
            gxe.ExpectCompoundColumnsToBeUnique,
            column_list=["council_id", "fiscal_year", "supplier_id", "category_l1", "category_l2"],
        ),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="supplier_id"),
        critical(gxe.ExpectColumnValuesToBeBetween, column="parts_gap_gbp", min_value=-0.005, max_value=0.005),
        critical(gxe.ExpectColumnValuesToBeBetween, column="line_count", min_value=1),
        critical(gxe.ExpectColumnValuesToBeBetween, column="months_paid", min_value=1, max_value=12),
        critical(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            column_A="last_payment_date",
            column_B="first_payment_date",
            or_equal=True,
        ),
    ]
