"""raw.spend_lines: every loaded payment line has an amount and a date; few lack a supplier
or a transaction number (beyond tolerance, the file was exported wrongly)."""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "raw.spend_lines"


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToNotBeNull, column="amount_gbp"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="payment_date"),
        critical(gxe.ExpectColumnValuesToNotBeNull, column="council_id"),
        # a real file names the payee on nearly every line (redactions say "Redacted")
        critical(gxe.ExpectColumnValuesToNotBeNull, column="supplier_name", mostly=0.95),
        warning(gxe.ExpectColumnValuesToNotBeNull, column="transaction_number", mostly=0.9),
        critical(
            gxe.ExpectColumnValuesToBeBetween,
            column="payment_date",
            min_value=ctx["min_payment_date"],
            max_value=ctx["max_payment_date"],
        ),
    ]
