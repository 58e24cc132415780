"""mart_supplier_concentration: one row per council, year and category; shares and the index in range."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical

TABLE = "marts.mart_supplier_concentration"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(
            gxe.ExpectCompoundColumnsToBeUnique, column_list=["council_id", "fiscal_year", "category_l1", "category_l2"]
        ),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="top_supplier_id"),
        critical(gxe.ExpectColumnValuesToBeBetween, column="supplier_count", min_value=1),
        critical(gxe.ExpectColumnValuesToBeBetween, column="top_supplier_share", min_value=0, max_value=1),
        critical(gxe.ExpectColumnValuesToBeBetween, column="top3_supplier_share", min_value=0, max_value=1),
        critical(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            column_A="top3_supplier_share",
            column_B="top_supplier_share",
            or_equal=True,
        ),
        # hhi: the sum of squared percentage shares, 0 to 10,000
        critical(gxe.ExpectColumnValuesToBeBetween, column="hhi", min_value=0, max_value=10000),
        critical(
            gxe.ExpectColumnValuesToBeInSet,
            column="concentration_band",
            value_set=["high", "moderate", "unconcentrated"],
        ),
        critical(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB, column_A="supplier_count", column_B="tail_supplier_count"
        ),
    ]
