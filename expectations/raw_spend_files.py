"""Per loaded file: its payments fall inside its own period, it names its payees, and it is
not another file's payments loaded again under a different name (duplicate-file detection).

``overlap_share`` is the largest share of a file's payment fingerprints (date, supplier,
amount, transaction number: ``LINE_FINGERPRINT_SQL``'s fields, compared as columns) that
another file of the same council also contains. Genuine duplicate lines inside one file are
not counted: only other files. Portable SQL (DuckDB and PostgreSQL); ordered, so the failing
files GX lists are the same on every run.

Cost at national size (9.9 M lines, 3,600 files) is one grouping pass over the raw layer to
find fingerprints in two or more files (normally none); each file's distinct fingerprints are
counted only for the files that share some, and a file's in-period share comes from its month
counts, not a second join over its lines (21 s -> ~6 s of a 35 s gate; bench/README.md).
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

from expectations._common import critical, warning
from procure.extract.spend_reissue import LINE_FINGERPRINT_FIELDS

_FIELDS = ", ".join(LINE_FINGERPRINT_FIELDS)


def _same(a: str, b: str) -> str:
    return " and ".join(f"{a}.{n} = {b}.{n}" for n in ("council_id", *LINE_FINGERPRINT_FIELDS))


TABLE = "raw.spend_lines"
QUERY = f"""
with file_months as (
    select council_id, source_file, date_trunc('month', payment_date) as month, count(*) as n,
           row_number() over (partition by council_id, source_file order by count(*) desc,
                              date_trunc('month', payment_date)) as rank_in_file
    from raw.spend_lines
    group by 1, 2, 3
),
file_lines as (
    select council_id, source_file, count(*) as line_count,
           avg(case when supplier_name is null then 0.0 else 1.0 end) as named_share
    from raw.spend_lines
    group by 1, 2
),
files as (
    select l.council_id, l.source_file, l.line_count, m.month as main_month, l.named_share,
           cast(m.n as double precision) / l.line_count as in_period_share
    from file_lines l
    join file_months m on m.council_id = l.council_id and m.source_file = l.source_file and m.rank_in_file = 1
),
fingerprints as (
    select council_id, source_file, {", ".join(f"{sql} as {name}" for name, sql in LINE_FINGERPRINT_FIELDS.items())}
    from raw.spend_lines
    where amount_gbp is not null and payment_date is not null
),
-- a fingerprint in two or more files of a council: one pass over the raw layer, usually no rows
shared_fingerprints as (
    select council_id, {_FIELDS}
    from fingerprints
    group by council_id, {_FIELDS}
    having min(source_file) < max(source_file)
),
repeated as (
    select distinct f.*
    from fingerprints f
    join shared_fingerprints s on {_same("s", "f")}
),
shared as (
    select a.council_id, a.source_file, b.source_file as other_file, count(*) as shared_fingerprints
    from repeated a
    join repeated b on {_same("a", "b")} and a.source_file <> b.source_file
    group by 1, 2, 3
),
-- each file's distinct fingerprints, counted only for the files that share some
overlapping_files as (select distinct council_id, source_file from shared),
fingerprint_counts as (
    select d.council_id, d.source_file, count(*) as fingerprints
    from (
        select distinct f.*
        from fingerprints f join overlapping_files o using (council_id, source_file)
    ) d
    group by 1, 2
),
overlap as (
    select s.council_id, s.source_file,
           max(cast(s.shared_fingerprints as double precision) / c.fingerprints) as overlap_share
    from shared s join fingerprint_counts c using (council_id, source_file)
    group by 1, 2
)
select f.council_id, f.source_file, f.line_count, f.main_month, f.in_period_share, f.named_share,
       coalesce(o.overlap_share, 0.0) as overlap_share
from files f
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
