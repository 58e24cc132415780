"""Each council-month against the council's other months: a month whose money or line
count is far from the usual (pence exported as pounds, a half-exported file) is caught.

The ratio is to the median of the council's OTHER months, so one bad month cannot hide
by moving its own baseline. Portable SQL: the same query runs on DuckDB and PostgreSQL. A council with a single month has nothing to compare with
(ratio null, which passes).

``overlap_jump`` names the files of a month whose total jumps (``JUMP`` times the usual)
while two or more files each hold at least ``FILE_SHARE`` of its lines: files add up
(procure.extract.spend_reissue), so an annual file beside a monthly one, or a re-issue
nobody declared, doubles the month; the gate reports which files to look at.
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning

TABLE = "raw.spend_lines"
JUMP = 1.5
FILE_SHARE = 0.10
QUERY = f"""
with months as (
    select council_id, date_trunc('month', payment_date) as month,
           count(*) as line_count, sum(amount_gbp) as amount_total
    from raw.spend_lines
    group by 1, 2
),
file_months as (
    select council_id, date_trunc('month', payment_date) as month, source_file, count(*) as line_count
    from raw.spend_lines
    group by 1, 2, 3
),
month_files as (
    select f.council_id, f.month, count(*) as file_count,
           string_agg(f.source_file, ' + ' order by f.source_file) as files
    from file_months f join months m on m.council_id = f.council_id and m.month = f.month
    where f.line_count >= {FILE_SHARE} * m.line_count
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
       cast(m.line_count as double precision) / nullif(b.median_lines, 0) as line_count_ratio,
       case when f.file_count > 1 and m.amount_total > {JUMP} * b.median_amount and b.median_amount > 0
            then m.council_id || ' ' || cast(cast(m.month as date) as varchar) || ': ' || f.files
       end as overlap_jump
from months m
join baseline b using (council_id, month)
left join month_files f using (council_id, month)
order by m.council_id, m.month
"""


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeBetween, column="amount_ratio", min_value=0.2, max_value=5.0),
        warning(gxe.ExpectColumnValuesToBeBetween, column="line_count_ratio", min_value=0.33, max_value=3.0),
        critical(gxe.ExpectCompoundColumnsToBeUnique, column_list=["council_id", "month"]),
        # observed: the flagged months with their files, e.g. "norwich 2024-11-01: a.csv + b.csv"
        warning(gxe.ExpectColumnValuesToBeNull, column="overlap_jump", observed="unexpected_values"),
    ]
