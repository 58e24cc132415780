"""The same dbt project on DuckDB and on a real PostgreSQL server gives the same marts.

Needs a server: `.ci/run` starts one and exports PROCURE_PG_*; locally,
`eval "$(bash .ci/start_postgres.sh)"`. Under CI the test fails rather than skips
when the server is missing, so portability is always proven there.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

pytestmark = pytest.mark.postgres

MARTS = (
    "fct_spend",
    "dim_supplier",
    "fct_contract_portfolio",
    "mart_spend_by_category",
    "mart_local_spend",
    "mart_kpi_monthly",
)


@pytest.fixture
def pg():
    if not os.environ.get("PROCURE_PG_HOST"):
        if os.environ.get("CI"):
            pytest.fail("CI must provide PostgreSQL (PROCURE_PG_* unset): see .ci/run")
        pytest.skip('no PostgreSQL: run `eval "$(bash .ci/start_postgres.sh)"` first')
    import psycopg2

    from procure.transform.postgres_mirror import pg_dsn

    con = psycopg2.connect(pg_dsn())
    con.autocommit = True
    with con.cursor() as cur:
        for schema in ("raw", "staging", "intermediate", "marts", "reference"):
            cur.execute(f"drop schema if exists {schema} cascade")
    yield con
    con.close()


def _rows(cur, table: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(columns)
    cur.execute(f"select {cols} from marts.{table} order by {cols}")
    return cur.fetchall()


def test_marts_identical_on_duckdb_and_postgres(isolated_env, pg):
    from procure import tasks
    from procure.transform.postgres_mirror import mirror_raw_to_postgres
    from procure.warehouse import connect

    tasks.ingest_spend("pg-test", date(2025, 4, 5))
    tasks.ingest_contracts("pg-test")
    tasks.ingest_notices("pg-test")
    tasks.build_warehouse("duckdb")
    counts = mirror_raw_to_postgres()
    assert counts["spend_lines"] > 20_000
    tasks.build_warehouse("postgres")

    duck = connect(read_only=True)
    try:
        with pg.cursor() as cur:
            for table in MARTS:
                columns = [r[0] for r in duck.execute(f"describe marts.{table}").fetchall()]
                cols = ", ".join(columns)
                on_duckdb = duck.execute(f"select {cols} from marts.{table} order by {cols}").fetchall()
                on_postgres = _rows(cur, table, columns)
                assert len(on_duckdb) == len(on_postgres), table
                assert on_duckdb, f"{table} is empty: the comparison would prove nothing"
                mismatches = [(d, p) for d, p in zip(on_duckdb, on_postgres, strict=True) if d != p]
                assert not mismatches, f"{table}: {len(mismatches)} rows differ, first: {mismatches[0]}"
    finally:
        duck.close()
