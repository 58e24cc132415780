"""The raw layer copied from DuckDB into a real PostgreSQL server arrives value for value:
awkward text (quotes, commas, newlines, backslashes, a literal \\N, £), empty string vs NULL,
exact decimals, dates and timestamps, booleans with NULLs, and more rows than one COPY batch.

Needs a server: see tests/integration/test_postgres_portability.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

pytestmark = pytest.mark.postgres

AWKWARD = [
    'He said "hi", then left',
    "line one\nline two\r\nline three",
    "C:\\path\\to\\file \\N \\. \\\\",
    "\\N",
    "\\.",
    "£1,234.56 — café ünïcode",
    "",
    " ",
    None,
    "trailing comma,",
    '"',
    "'single' quotes; semi",
]


@pytest.fixture
def pg(pg_clean):
    return pg_clean("raw")


def _spend_row(i: int) -> list:
    text = AWKWARD[i % len(AWKWARD)]
    return [
        "norwich",
        "norwich_spend_2024-11.csv",
        "sha",
        i + 2,
        i,
        text,  # body_name
        AWKWARD[(i + 3) % len(AWKWARD)],  # service_area
        None,
        text,  # description
        AWKWARD[(i + 5) % len(AWKWARD)],  # supplier_name
        "",  # supplier_ref: empty, not NULL
        None,
        None,
        None,
        f"T{i}" if i % 4 else None,
        None,
        None,
        None,
        date(2024, 11, 1 + i % 30) if i % 9 else None,
        "01/11/2024",
        Decimal(f"{(-1) ** i * (i * 37 % 100000)}.{i % 100:02d}") if i % 13 else None,
        "1,234.50",
        Decimal("0.01") if i % 2 else Decimal("-99999999.99"),
        i % 2 == 0,
        i % 3 == 0,
        False,
        f"raw,{text!r},{i}",
        "run-1",
    ]


def test_mirror_round_trips_awkward_values_exactly(isolated_env, pg):
    from procure.transform import postgres_mirror
    from procure.transform.postgres_mirror import mirror_raw_to_postgres
    from procure.transform.supplier_match import write_matches
    from procure.warehouse import connect

    n = postgres_mirror.BATCH_ROWS * 2 + 17  # several COPY batches, the last one partial
    rows = [_spend_row(i) for i in range(n)]
    lines = pa.table({f"c{j}": pa.array([r[j] for r in rows]) for j in range(len(rows[0]))})
    duck = connect()
    try:
        duck.register("awkward_lines", lines)
        # date_precision and field_warnings (migration 0004) come last: left null here
        duck.execute("insert into raw.spend_lines select *, null, null from awkward_lines")
        duck.execute(
            "insert into raw.notice_releases (release_key, ocid, release_id, release_date, title, tender_value_gbp, "
            "suitable_for_sme, content_sha256, source_file, release_json) values "
            "('a/1', 'a', '1', timestamp '2024-03-04 05:06:07.123456', 'Tab\there \"q\"', 1234567890123456.78, "
            "null, 'x', 'f.json', '{\"a\": \"b,c\\nd\"}'), "
            "('a/2', 'a', '2', null, '', null, true, 'y', 'f.json', '{}')"
        )
        expected_lines = duck.execute("select * from raw.spend_lines order by record_index").fetchall()
        expected_notices = duck.execute("select * from raw.notice_releases order by release_key").fetchall()
    finally:
        duck.close()
    write_matches()  # raw.supplier_name_matches, as the pipeline writes it before dbt

    counts = mirror_raw_to_postgres()
    assert counts["spend_lines"] == n
    assert counts["notice_releases"] == 2

    with pg.cursor() as cur:
        cur.execute("select * from raw.spend_lines order by record_index")
        got_lines = cur.fetchall()
        cur.execute("select * from raw.notice_releases order by release_key")
        got_notices = cur.fetchall()
    assert len(got_lines) == n
    mismatches = [(e, g) for e, g in zip(expected_lines, got_lines, strict=True) if e != g]
    assert not mismatches, f"{len(mismatches)} spend lines differ, first: {mismatches[0]}"
    assert got_notices == expected_notices
    # the awkward cases really were there to be lost
    texts = {r[8] for r in got_lines}
    assert None in texts and "" in texts and "\\N" in texts and "\\." in texts
    assert got_notices[0][3] == datetime(2024, 3, 4, 5, 6, 7, 123456)
    assert got_notices[0][12] == Decimal("1234567890123456.78")

    # idempotent: mirroring again replaces, never appends
    assert mirror_raw_to_postgres()["spend_lines"] == n
    with pg.cursor() as cur:
        cur.execute("select count(*) from raw.spend_lines")
        assert cur.fetchall() == [(n,)]
