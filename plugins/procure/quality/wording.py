"""A failed gate check in words a board member reads: "86.6 % of suppliers have no SME status", not
``expect_column_values_to_not_be_null | 86.56565656565657``.

Worded from what ops.quality_results records (suite, column, expectation type, observed value): one
sentence pattern per expectation type, the rows named by the suite's table and the column by its
meaning. A table or column not named here is still worded, from its own name.
"""

from __future__ import annotations

import json
from typing import Any

#: what one row of each suite's table is, in the plural
ROWS = {
    "dim_supplier": "suppliers",
    "fct_spend": "payment lines",
    "fct_contract_portfolio": "contracts",
    "raw_spend_lines": "payment lines as loaded",
    "raw_spend_files": "spend files",
    "raw_spend_months": "council months",
    "mart_procurement_kpis": "council months",
    "mart_local_spend": "service-area months",
}
#: what a column holds, as the end of "have no ..." / "have ... outside the expected range"
COLUMNS = {
    "is_sme": "SME status",
    "is_local": "local status",
    "is_vcse": "VCSE status",
    "supplier_id": "matched supplier",
    "category_l1": "category",
    "transaction_number": "transaction reference",
    "in_period_share": "share of payments dated in the file's own period",
    "line_count_ratio": "line count against the months around them",
    "overlap_jump": "overlap with another file",
}


def _rows(suite: str) -> str:
    return ROWS.get(suite, f"rows of {suite.replace('_', ' ')}")


def _column(column: str | None) -> str:
    if not column:
        return "value"
    return COLUMNS.get(column, column.removeprefix("is_").replace("_", " "))


def _percent(observed: Any) -> str | None:
    try:
        value = float(observed)
    except (TypeError, ValueError):
        return None
    return f"{value:.1f} %"


def describe_check(suite: str, column: str | None, expectation: str, observed: str | None) -> str:
    """One sentence for one failed check, from its ops.quality_results row."""
    try:
        value = json.loads(observed) if observed else None
    except ValueError:
        value = observed
    rows, what, share = _rows(suite), _column(column), _percent(value)
    if isinstance(value, str) and value.startswith("error:"):
        return f"The check on {what} of {rows} could not run ({value.removeprefix('error:').strip()})."
    if isinstance(value, list):
        listed = "; ".join(str(v) for v in value[:5]) + ("; …" if len(value) > 5 else "")
        return f"{what[:1].upper() + what[1:]} found in {rows}: {listed}."
    if share is None:
        return f"{rows[:1].upper() + rows[1:]}: {what} failed its check ({expectation.removeprefix('expect_')})."
    if expectation in ("expect_column_values_to_not_be_null", "expect_column_values_to_not_be_in_set"):
        return f"{share} of {rows} have no {what}."
    if expectation == "expect_column_values_to_be_between":
        return f"{share} of {rows} have a {what} outside the expected range."
    if expectation == "expect_column_values_to_be_null":
        return f"{share} of {rows} have an {what}."
    return f"{share} of {rows} fail the check on {what}."
