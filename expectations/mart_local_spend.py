"""mart_local_spend: grain unique, shares within [0, 1], amounts add up."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical

TABLE = "marts.mart_local_spend"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectCompoundColumnsToBeUnique, column_list=["council_id", "month", "service_area"]),
        *[
            critical(gxe.ExpectColumnValuesToBeBetween, column=c, min_value=0, max_value=1)
            for c in ("local_share", "sme_share", "vcse_share")
        ],
        critical(gxe.ExpectColumnValuesToNotBeNull, column="total_spend_gbp"),
        # every payment is in exactly one council x month x service-area cell
        critical(
            gxe.ExpectColumnSumToBeBetween,
            column="total_spend_gbp",
            min_value=ctx["raw_spend_total"] - 0.005,
            max_value=ctx["raw_spend_total"] + 0.005,
        ),
    ]
