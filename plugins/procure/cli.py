"""`procure`: the pipeline's steps from the command line (the DAGs call the same code)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path

import click

from procure.config import PROJECT_ROOT, publish_dir, warehouse_path


def _echo(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _month(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from exc


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """Procurement data warehouse for UK councils."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@main.command("sample-data")
@click.option("--out", type=click.Path(path_type=Path), default=PROJECT_ROOT / "data" / "sample", show_default=True)
def sample_data(out: Path) -> None:
    """Generate the bundled Norwich-shaped sample data (deterministic)."""
    from procure.sample.generate import generate_sample

    summary = generate_sample(out)
    _echo({k: v for k, v in summary.items() if k != "spend_files"})


@main.command()
@click.option("--run-id", default="manual")
@click.option("--as-of", default=None, help="Date the run works for (YYYY-MM-DD); default today.")
def ingest(run_id: str, as_of: str | None) -> None:
    """Load spend files, contract registers and landed notices for every council."""
    from procure import tasks

    day = date.fromisoformat(as_of) if as_of else date.today()
    _echo(
        {
            "spend": tasks.ingest_spend(run_id, day),
            "contracts": tasks.ingest_contracts(run_id),
            "notices": tasks.ingest_notices(run_id),
        }
    )


@main.command()
@click.option("--target", type=click.Choice(["duckdb", "postgres"]), default="duckdb", show_default=True)
def build(target: str) -> None:
    """dbt build of the warehouse (models, data tests, unit tests)."""
    from procure import tasks

    _echo(tasks.build_warehouse(target))


@main.command("mirror-postgres")
def mirror_postgres() -> None:
    """Copy the raw layer to PostgreSQL (PROCURE_PG_* variables) for `procure build --target postgres`."""
    from procure.transform.postgres_mirror import mirror_raw_to_postgres

    _echo(mirror_raw_to_postgres())


@main.command()
@click.option("--run-id", default="manual")
@click.option("--as-of", default=None, help="No payment may be dated after this (YYYY-MM-DD); default today.")
def check(run_id: str, as_of: str | None) -> None:
    """Run the quality gate; exit 1 when a critical expectation fails."""
    from procure.quality.gate import run_gate

    result = run_gate(run_id, date.fromisoformat(as_of) if as_of else date.today(), raise_on_failure=False)
    click.echo(result.summary())
    sys.exit(0 if result.passed else 1)


@main.command()
@click.option("--month", default=None, help="Board pack month YYYY-MM; default the latest month loaded.")
@click.option("--fiscal-year", type=int, default=None, help="Strategy review fiscal year start (e.g. 2024).")
def publish(month: str | None, fiscal_year: int | None) -> None:
    """Publish board packs and strategy-review extracts (only from a gate-passed warehouse)."""
    from procure import tasks

    _echo(
        {
            "board_pack": tasks.publish_board_packs(_month(month)),
            "strategy_review": tasks.publish_strategy_reviews(fiscal_year),
        }
    )


@main.command()
def fingerprint() -> None:
    """Row count and content hash of every mart: compare two runs to prove idempotency."""
    from procure.warehouse import connect

    con = connect(read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            n, digest = con.execute(
                f"select count(*), md5(coalesce(string_agg(cast(r as varchar), '|' order by cast(r as varchar)), '')) "
                f"from marts.{t} r"
            ).fetchall()[0]
            out[t] = {"rows": n, "md5": digest}
    finally:
        con.close()
    _echo(out)


@main.command()
def outputs() -> None:
    """Print where the warehouse and the published outputs are."""
    root = publish_dir()
    click.echo(f"warehouse:        {warehouse_path()}")
    for pattern, label in (
        ("board_pack/*/*/board_pack.html", "board pack HTML"),
        ("board_pack/*/*/board_pack.pdf", "board pack PDF"),
        ("strategy_review/*/*/manifest.json", "strategy review"),
        ("data_docs/index.html", "data docs"),
    ):
        for p in sorted(root.glob(pattern)):
            click.echo(f"{label + ':':<18}{p}")


if __name__ == "__main__":
    main()
