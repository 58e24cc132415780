"""The same dbt project on DuckDB and on a real PostgreSQL server gives the same marts.

Needs a server: `.ci/run` starts one and exports PROCURE_PG_*; locally,
`eval "$(bash .ci/start_postgres.sh)"`. Under CI the test fails rather than skips
when the server is missing, so portability is always proven there.
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import MARTS

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_clean):
    return pg_clean("raw", "staging", "intermediate", "marts", "reference")


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
    tasks.build_warehouse("postgres", unit_tests=True)  # dbt's unit tests run on PostgreSQL too

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


def test_gx_sql_datasource_gate_on_postgres(isolated_env, pg):
    """On PostgreSQL the gate uses GX's SQL datasource: same suites, same verdicts as on DuckDB."""
    from procure import tasks
    from procure.quality.gate import run_gate, run_gate_postgres
    from procure.transform.postgres_mirror import mirror_raw_to_postgres

    as_of = date(2025, 4, 5)
    tasks.ingest_spend("pg-gate", as_of)
    tasks.ingest_contracts("pg-gate")
    tasks.ingest_notices("pg-gate")
    tasks.build_warehouse("duckdb")
    mirror_raw_to_postgres()
    tasks.build_warehouse("postgres")

    on_duckdb = run_gate("pg-gate", as_of, raise_on_failure=False)
    on_postgres = run_gate_postgres("pg-gate", as_of, raise_on_failure=False)
    assert on_postgres.passed and on_duckdb.passed, on_postgres.summary()
    verdicts = lambda r: sorted((c.suite, c.expectation, c.column, c.success) for c in r.checks)  # noqa: E731
    assert verdicts(on_postgres) == verdicts(on_duckdb)
    assert len(on_postgres.checks) > 30

    with pg.cursor() as cur:
        cur.execute("select passed from ops.quality_runs where run_id = 'pg-gate'")
        assert cur.fetchall() == [(True,)]
        # pence exported as pounds in one month: the SQL-datasource gate catches it too
        cur.execute(
            "update raw.spend_lines set amount_gbp = amount_gbp * 100 "
            "where payment_date >= date '2024-11-01' and payment_date < date '2024-12-01'"
        )
    bad = run_gate_postgres("pg-gate-bad", as_of, raise_on_failure=False)
    assert not bad.passed
    assert any(c.suite == "raw_spend_months" and c.column == "amount_ratio" for c in bad.critical_failures)

    # the command line runs the same gate: `procure check --target postgres`
    from click.testing import CliRunner

    from procure.cli import main

    cli = CliRunner().invoke(main, ["check", "--target", "postgres", "--run-id", "pg-cli", "--as-of", "2025-04-05"])
    assert cli.exit_code == 1, cli.output
    assert "raw_spend_months" in cli.output
    with pg.cursor() as cur:
        cur.execute("select passed from ops.quality_runs where run_id = 'pg-cli'")
        assert cur.fetchall() == [(False,)]
