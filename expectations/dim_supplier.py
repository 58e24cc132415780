"""dim_supplier: one row per supplier, every supplier named."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "marts.dim_supplier"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeUnique, column="supplier_id"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="canonical_name"),
        warning(gxe.ExpectColumnValuesToNotBeNull, column="is_sme", mostly=0.3),
    ]
