"""Per loaded file: its payments fall inside its own period, it names its payees, and it is
not another file's payments loaded again under a different name (duplicate-file detection).

``overlap_share`` is the largest share of a file's payment fingerprints (date, supplier,
amount, transaction number) that another file of the same council also contains.
Genuine duplicate lines inside one file are not counted: only other files. Portable SQL
(DuckDB and PostgreSQL); ordered, so the failing files GX lists are the same on every run.
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning
from procure.extract.spend_reissue import LINE_FINGERPRINT_SQL

TABLE = "raw.spend_lines"
QUERY = f"""
with lines as (
    select council_id, source_file, payment_date, supplier_name,
           {LINE_FINGERPRINT_SQL} as fingerprint
    from raw.spend_lines
),
file_months as (
    select council_id, source_file, date_trunc('month', payment_date) as month, count(*) as n,
           row_number() over (partition by council_id, source_file order by count(*) desc,
                              date_trunc('month', payment_date)) as rank_in_file
    from lines
    group by 1, 2, 3
),
files as (
    select l.council_id, l.source_file, count(*) as line_count, min(m.month) as main_month,
           count(distinct l.fingerprint) as fingerprints,
           avg(case when l.supplier_name is null then 0.0 else 1.0 end) as named_share
    from lines l
    join file_months m on m.council_id = l.council_id and m.source_file = l.source_file and m.rank_in_file = 1
    group by 1, 2
),
in_period as (
    select l.council_id, l.source_file,
           avg(case when date_trunc('month', l.payment_date) = f.main_month then 1.0 else 0.0 end) as in_period_share
    from lines l join files f using (council_id, source_file)
    group by 1, 2
),
file_fingerprints as (
    select distinct council_id, source_file, fingerprint from lines
),
-- only a fingerprint found in two or more files of a council can be shared: pairing just those
-- keeps the self-join as small as the overlap instead of as large as the raw layer
repeated as (
    select f.council_id, f.source_file, f.fingerprint
    from file_fingerprints f
    join (select council_id, fingerprint from file_fingerprints group by 1, 2 having count(*) > 1) r
      on r.council_id = f.council_id and r.fingerprint = f.fingerprint
),
shared as (
    select a.council_id, a.source_file, b.source_file as other_file, count(distinct a.fingerprint) as shared_fingerprints
    from repeated a
    join repeated b
      on a.council_id = b.council_id and a.fingerprint = b.fingerprint and a.source_file <> b.source_file
    group by 1, 2, 3
),
overlap as (
    select s.council_id, s.source_file, max(cast(s.shared_fingerprints as double precision) / f.fingerprints) as overlap_share
    from shared s join files f using (council_id, source_file)
    group by 1, 2
)
select f.council_id, f.source_file, f.line_count, f.main_month, p.in_period_share, f.named_share,
       coalesce(o.overlap_share, 0.0) as overlap_share
from files f
join in_period p using (council_id, source_file)
left join overlap o using (council_id, source_file)
order by f.council_id, f.source_file
"""


def build(ctx: dict[str, Any]) -> list:
    return [
        critical(gxe.ExpectColumnValuesToBeBetween, column="overlap_share", min_value=0.0, max_value=0.5),
        warning(gxe.ExpectColumnValuesToBeBetween, column="in_period_share", min_value=0.8, max_value=1.0),
        critical(gxe.ExpectColumnValuesToBeUnique, column="source_file"),
        # a file that names the payee on fewer than 95% of its lines was exported wrongly
        critical(gxe.ExpectColumnValuesToBeBetween, column="named_share", min_value=0.95, max_value=1.0),
    ]
