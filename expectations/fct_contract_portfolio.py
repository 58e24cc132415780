"""fct_contract_portfolio: keys unique, every contract has a supplier."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning
from procure.config import dbt_var

TABLE = "marts.fct_contract_portfolio"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeUnique, column="contract_id"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="supplier_id"),
        # a contract whose supplier could not be resolved (dbt var unknown_supplier_id)
        warning(gxe.ExpectColumnValuesToNotBeInSet, column="supplier_id", value_set=[dbt_var("unknown_supplier_id")]),
        critical(
            gxe.ExpectColumnValuesToBeInSet,
            column="expiry_band",
            value_set=["expired", "0-6 months", "6-12 months", "12-18 months", ">18 months", "no end date"],
        ),
    ]
