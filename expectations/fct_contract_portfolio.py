"""fct_contract_portfolio: keys unique, every contract has a supplier."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "marts.fct_contract_portfolio"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeUnique, column="contract_id"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="supplier_id"),
        warning(gxe.ExpectColumnValuesToNotBeInSet, column="supplier_id", value_set=["unknown"]),
        critical(
            gxe.ExpectColumnValuesToBeInSet,
            column="expiry_band",
            value_set=["expired", "0-6 months", "6-12 months", "12-18 months", ">18 months", "no end date"],
        ),
    ]
