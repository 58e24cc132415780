"""fct_spend: keys unique, amounts present, no future dates, reconciles to raw."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "marts.fct_spend"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeUnique, column="spend_line_id"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="spend_line_id"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="amount_gbp"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="payment_date"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="supplier_id"),
        critical(
            gxe.ExpectColumnValuesToBeBetween,
            column="payment_date",
            max_value=ctx["max_payment_date"],
            min_value=ctx["min_payment_date"],
        ),
        # every accepted raw line appears once, and the money reconciles to the penny
        critical(gxe.ExpectTableRowCountToEqual, value=ctx["raw_spend_rows"]),
        critical(
            gxe.ExpectColumnSumToBeBetween,
            column="amount_gbp",
            min_value=ctx["raw_spend_total"] - 0.005,
            max_value=ctx["raw_spend_total"] + 0.005,
        ),
        warning(
            gxe.ExpectColumnValuesToNotBeInSet,
            column="category_l1",
            value_set=["Unclassified"],
            mostly=0.8,
        ),
        warning(gxe.ExpectColumnValuesToNotBeNull, column="is_local", mostly=0.5),
    ]
