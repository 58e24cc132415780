"""Each council-month against the council's other months: a month whose money or line
count is far from the usual (pence exported as pounds, a half-exported file) is caught.

The ratio is to the median of the council's OTHER months, so one bad month cannot hide
by moving its own baseline. Portable SQL: the same query runs on DuckDB and PostgreSQL. A council with a single month has nothing to compare with
(ratio null, which passes).
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "raw.spend_lines"
QUERY = """
with months as (
    select council_id, date_trunc('month', payment_date) as month,
           count(*) as line_count, sum(amount_gbp) as amount_total
    from raw.spend_lines
    group by 1, 2
),
baseline as (
    select m.council_id, m.month,
           percentile_cont(0.5) within group (order by o.amount_total) as median_amount,
           percentile_cont(0.5) within group (order by o.line_count) as median_lines
    from months m
    left join months o on o.council_id = m.council_id and o.month <> m.month
    group by 1, 2
)
select m.council_id, m.month, m.line_count, m.amount_total,
       cast(m.amount_total as double precision) / nullif(b.median_amount, 0) as amount_ratio,
       cast(m.line_count as double precision) / nullif(b.median_lines, 0) as line_count_ratio
from months m join baseline b using (council_id, month)
"""


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeBetween, column="amount_ratio", min_value=0.2, max_value=5.0),
        warning(gxe.ExpectColumnValuesToBeBetween, column="line_count_ratio", min_value=0.33, max_value=3.0),
        critical(gxe.ExpectCompoundColumnsToBeUnique, column_list=["council_id", "month"]),
    ]
