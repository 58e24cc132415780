"""`procure`: the pipeline's steps from the command line (the DAGs call the same code)."""

from __future__ import annotations

import contextlib
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


class _Procure(click.Group):
    """Any command: an invalid configuration (naming the file and key) or a warehouse another process keeps
    locked is a one-line error, not a traceback."""

    def invoke(self, ctx: click.Context):
        from procure.config import ConfigError
        from procure.warehouse import WarehouseBusy

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from exc
        except WarehouseBusy as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Procure)
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
    from procure_sample.generate import generate_sample

    summary = generate_sample(out)
    _echo({k: v for k, v in summary.items() if k != "spend_files"})


@main.group()
def ingest() -> None:
    """Land and load: `spend`, `contracts` (one council), `contracts-finder`, `find-a-tender` or `all`."""


def _run_day(as_of: str | None) -> date:
    try:
        return date.fromisoformat(as_of) if as_of else date.today()
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {as_of!r}", param_hint="--as-of") from exc


def _count_inputs(kind: str, councils) -> int:
    """How many files the councils' drop folders and URLs hold now (the progress bar's total)."""
    if kind == "spend":
        from procure.extract.spend_loader import spend_files as listed
    else:
        from procure.extract.contracts_loader import register_files as listed
    total = 0
    for council in councils:
        with contextlib.suppress(FileNotFoundError):  # reported by the load itself
            total += len(listed(council))
        total += len(council.spend_urls if kind == "spend" else council.contracts_urls)
    return total


def _ingest_files(
    kind: str,
    council_id: str,
    files: tuple[Path, ...],
    run_id: str,
    as_of: str | None,
    as_json: bool,
    replaces: tuple[str, ...] = (),
):
    from datetime import datetime

    from procure.config import ConfigError, get_council
    from procure.progress import load_progress, wanted

    try:
        council = get_council(council_id)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    day = _run_day(as_of)
    paths = list(files) or None
    if replaces and len(files) != 1:
        raise click.UsageError("--replaces needs exactly one FILE: the re-issue of the named file(s)")
    if paths is None and kind == "spend":
        from procure.extract.spend_loader import spend_files

        try:
            spend_files(council)
        except FileNotFoundError as exc:
            raise click.UsageError(str(exc)) from exc
    total = len(paths) if paths else _count_inputs(kind, [council])
    with load_progress(f"{kind} {council.id}", total, wanted(as_json)) as bar:
        if kind == "spend":
            from procure import tasks

            run = tasks.ingest_spend(
                run_id,
                day,
                councils=[council.id],
                files={council.id: paths} if paths else None,
                on_file=bar.on_file,
                on_batch=bar.on_batch,
                replaces=replaces,
            )
            results = run.results.get(council.id, [])
        else:
            from procure.extract.contracts_loader import ingest_register_files

            loaded_at = datetime.combine(day, datetime.min.time())
            results = ingest_register_files(council, paths, run_id, loaded_at, on_file=bar.on_file)
    if as_json:
        click.echo(json.dumps({"files": [r.as_json() for r in results]}, indent=2))
    else:
        for r in results:
            line = f"{r.status:<10} {r.path}"
            if r.status == "loaded":
                line += (
                    f": {r.rows_read:,} rows read = {r.rows_loaded:,} loaded + {r.rows_quarantined:,} quarantined"
                    f" + {r.rows_skipped:,} skipped; £{r.amount_total:,.2f}"
                )
                if r.superseded:
                    line += f"; replaces {', '.join(r.superseded)}"
            elif r.reason:
                line += f": {r.reason}"
            click.echo(line)
        if not results:
            click.echo(f"no {kind} files for {council.id}", err=True)
    rejected = [r for r in results if r.status == "rejected"]
    if rejected:
        click.echo(f"{len(rejected)} of {len(results)} file(s) rejected", err=True)
        sys.exit(1)


_FILES = click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
_COUNCIL = click.option("--council", "council_id", required=True, help="Council id from councils.yml.")
_RUN_ID = click.option("--run-id", default="manual", show_default=True)
_AS_OF = click.option("--as-of", default=None, help="Date the load is recorded for (YYYY-MM-DD); default today.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print each file's account as JSON.")


@ingest.command("spend")
@_COUNCIL
@_FILES
@_RUN_ID
@_AS_OF
@_JSON
@click.option(
    "--replaces",
    "replaces",
    multiple=True,
    metavar="NAME",
    help="The one FILE is a re-issue of the loaded file NAME (repeatable): it replaces NAME's rows. "
    "Without it, files for the same months add up.",
)
def ingest_spend(
    council_id: str, files: tuple[Path, ...], run_id: str, as_of: str | None, as_json: bool, replaces: tuple[str, ...]
) -> None:
    """Load supplier-payment FILES (default: the council's drop folder and spend_urls).

    Files for the same months add up; a file replaces another only when it is its re-issue
    (--replaces, the council's spend_reissue_same_name, or a detected new version).
    Exit status 1 if any file was rejected.
    """
    _ingest_files("spend", council_id, files, run_id, as_of, as_json, replaces)


@ingest.command("contracts")
@_COUNCIL
@_FILES
@_RUN_ID
@_AS_OF
@_JSON
def ingest_contracts(council_id: str, files: tuple[Path, ...], run_id: str, as_of: str | None, as_json: bool) -> None:
    """Load contract register FILES, CSV or XLSX (default: contracts_file, drop folder, contracts_urls)."""
    _ingest_files("contracts", council_id, files, run_id, as_of, as_json)


def _when(value: str | None, option: str):
    """A date (``2025-01-01``) or UTC timestamp (``2025-01-01T06:00:00Z``) as naive UTC."""
    if value is None:
        return None
    from procure.extract.ocds_harvest import _utc

    try:
        return _utc(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"expected YYYY-MM-DD or an ISO 8601 timestamp, got {value!r}", param_hint=option
        ) from exc


def _harvest_notices(source_name: str, since: str | None, until: str, base_url: str | None, run_id: str, as_json: bool):
    from procure.extract.ocds_harvest import HarvestError, base_urls_from_airflow, harvest, load_sources

    source = load_sources()[source_name]
    if base_url is None:
        # as the DAG task does: the Airflow connection, else the public endpoint when enabled.
        # Importing Airflow points its log handlers at stdout: keep stdout for the account alone.
        with contextlib.redirect_stdout(sys.stderr):
            base_url = base_urls_from_airflow().get(source_name)
        if base_url is None:
            raise click.UsageError(
                f"{source_name}: no --base-url, no Airflow connection {source.conn_id!r} "
                f"(e.g. AIRFLOW_CONN_{source.conn_id.upper()}) and not enabled in config/notice_sources.yml"
            )
    failure = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = harvest(source, base_url, _when(until, "--until"), run_id, since=_when(since, "--since"))
    except HarvestError as exc:
        failure = exc
        result = exc.result
    account = result.as_dict() if result is not None else {"source": source_name, "errors": []}
    if failure is not None and str(failure) not in account["errors"]:
        account["errors"] = [*account["errors"], str(failure)]
    account["base_url"] = base_url
    if as_json:
        _echo(account)
    else:
        click.echo(
            f"{source_name}: {account.get('windows', 0)} window(s), {account.get('pages', 0)} page(s), "
            f"{account.get('releases_fetched', 0)} release(s) fetched = {account.get('releases_new', 0)} new + "
            f"{account.get('releases_changed', 0)} changed + {account.get('releases_duplicate', 0)} duplicate + "
            f"{account.get('releases_stale', 0)} stale + {account.get('releases_rejected', 0)} rejected; "
            f"watermark {account.get('watermark')}"
        )
    if failure is not None:
        click.echo(f"harvest stopped: {failure}", err=True)
        sys.exit(1)


_SINCE = click.option("--since", default=None, help="Start (YYYY-MM-DD or ISO timestamp, UTC); default the watermark.")
_UNTIL = click.option("--until", required=True, help="End, exclusive (YYYY-MM-DD or ISO timestamp, UTC).")
_BASE_URL = click.option(
    "--base-url", default=None, help="API root, e.g. http://127.0.0.1:8765; default the Airflow connection."
)
_HARVEST_JSON = click.option("--json", "as_json", is_flag=True, help="Print the harvest's account as JSON.")


@ingest.command("contracts-finder")
@_SINCE
@_UNTIL
@_BASE_URL
@_RUN_ID
@_HARVEST_JSON
def ingest_contracts_finder(since: str | None, until: str, base_url: str | None, run_id: str, as_json: bool) -> None:
    """Harvest Contracts Finder OCDS notices in date windows (exit 1 when a window fails)."""
    _harvest_notices("contracts_finder", since, until, base_url, run_id, as_json)


@ingest.command("find-a-tender")
@_SINCE
@_UNTIL
@_BASE_URL
@_RUN_ID
@_HARVEST_JSON
def ingest_find_a_tender(since: str | None, until: str, base_url: str | None, run_id: str, as_json: bool) -> None:
    """Harvest Find a Tender OCDS notices in 6-hour windows (exit 1 when a window fails)."""
    _harvest_notices("find_a_tender", since, until, base_url, run_id, as_json)


@ingest.command("all")
@_RUN_ID
@click.option("--as-of", default=None, help="Date the run works for (YYYY-MM-DD); default today.")
def ingest_all(run_id: str, as_of: str | None) -> None:
    """Spend files, contract registers and landed notices for every council (exit 1 if a file was rejected)."""
    from procure import tasks
    from procure.config import load_councils
    from procure.progress import load_progress, wanted

    day = _run_day(as_of)
    with load_progress("spend", _count_inputs("spend", load_councils()), wanted()) as bar:
        spend = tasks.ingest_spend(run_id, day, on_file=bar.on_file, on_batch=bar.on_batch)
    out = {
        "spend": spend.summary(),
        "contracts": tasks.ingest_contracts(run_id, logical_date=day),
        "notices": tasks.ingest_notices(run_id),
    }
    _echo(out)
    rejected = sum(c.get("rejected", 0) for kind in ("spend", "contracts") for c in out[kind].values())
    if rejected:
        click.echo(f"{rejected} file(s) rejected: see raw.spend_manifest / raw.contract_manifest", err=True)
        sys.exit(1)


def _target_option(help_text: str):
    """``--target``: default the configured warehouse (PROCURE_DBT_TARGET, procure.config.warehouse_target),
    read when the command runs, so a bad value is reported as the error it is."""
    from procure.config import WAREHOUSE_TARGET_ENV, WAREHOUSE_TARGETS

    return click.option(
        "--target",
        type=click.Choice(WAREHOUSE_TARGETS),
        default=None,
        help=f"{help_text} Default: {WAREHOUSE_TARGET_ENV}, else duckdb.",
    )


def _target(value: str | None) -> str:
    from procure.config import ConfigError, warehouse_target

    try:
        return value or warehouse_target()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@_target_option("Warehouse to build the marts in (postgres: the raw layer is mirrored there first).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models (fct_spend) from scratch.")
@click.option(
    "--unit-tests",
    is_flag=True,
    help="Also run dbt's unit tests (the models' SQL on hand-built inputs): for development and CI, "
    "left out of production builds.",
)
@click.option(
    "--manifest-only", is_flag=True, help="Only write the dbt manifest the build_warehouse DAG is rendered from."
)
def build(target: str | None, full_refresh: bool, unit_tests: bool, manifest_only: bool) -> None:
    """dbt build of the warehouse (models and data tests; --unit-tests adds dbt's unit tests)."""
    from procure import tasks
    from procure.transform import dbt_build

    if manifest_only:
        _echo({"manifest": str(dbt_build.write_manifest())})
    else:
        _echo(tasks.build_warehouse(_target(target), full_refresh=full_refresh, unit_tests=unit_tests))


@main.command()
@click.argument("sql")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (header + rows) instead of a table.")
@_target_option("Warehouse to query.")
def query(sql: str, as_csv: bool, target: str | None) -> None:
    """Run one read-only SQL query against the warehouse, e.g. "select * from marts.mart_procurement_kpis"."""
    from procure.query import QueryError, format_csv, format_table, run_query

    try:
        columns, rows = run_query(sql, _target(target))
    except QueryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_csv(columns, rows) if as_csv else format_table(columns, rows), nl=not as_csv)


@main.command("mirror-postgres")
def mirror_postgres() -> None:
    """Copy the raw layer to PostgreSQL (PROCURE_PG_* variables) on its own (`procure build` on postgres does it first)."""
    from procure.transform.postgres_mirror import mirror_raw_to_postgres

    _echo(mirror_raw_to_postgres())


@main.command()
@click.option("--run-id", default="manual")
@click.option("--as-of", default=None, help="No payment may be dated after this (YYYY-MM-DD); default today.")
@_target_option("postgres: the same suites on the PostgreSQL warehouse (PROCURE_PG_*) through GX's SQL datasource.")
def check(run_id: str, as_of: str | None, target: str | None) -> None:
    """Run the quality gate; exit 1 when a critical expectation fails."""
    from procure.quality.gate import run_gate, run_gate_postgres

    gate = run_gate_postgres if _target(target) == "postgres" else run_gate
    result = gate(run_id, date.fromisoformat(as_of) if as_of else date.today(), raise_on_failure=False)
    click.echo(result.summary())
    sys.exit(0 if result.passed else 1)


@main.command()
@click.option("--month", default=None, help="Board pack month YYYY-MM; default the latest month loaded.")
@click.option("--fiscal-year", type=int, default=None, help="Strategy review fiscal year start (e.g. 2024).")
def publish(month: str | None, fiscal_year: int | None) -> None:
    """Publish board packs and strategy-review extracts (only from a gate-passed warehouse).

    Every council that can be published is; each one that cannot (no data for the period, a
    personal-looking payee, ...) is reported on stderr, and the exit status is then 1.
    """
    from procure import tasks
    from procure.publish.atomic import GateNotPassed
    from procure.publish.postgres_snapshot import SnapshotFailed

    month_start = _month(month)
    _target(None)  # a bad PROCURE_DBT_TARGET is a usage error
    try:
        source = tasks.publish_source()  # on PostgreSQL one snapshot for both outputs
    except GateNotPassed as exc:
        raise click.ClickException(f"publish refused: {exc}") from exc
    except SnapshotFailed as exc:
        raise click.ClickException(f"nothing published: {exc}") from exc
    steps = {
        "board_pack": lambda: tasks.publish_board_packs(month_start, source=source),
        "strategy_review": lambda: tasks.publish_strategy_reviews(fiscal_year, source=source),
    }
    published: dict[str, dict[str, str]] = {}
    failures: list[str] = []
    for kind, step in steps.items():
        try:
            published[kind] = step()
        except GateNotPassed as exc:
            raise click.ClickException(f"publish refused: {exc}") from exc
        except Exception as exc:  # every council was attempted: report each one that failed
            done = getattr(exc, "published", {})  # as tasks returns them: the pack's HTML, the review's manifest
            published[kind] = {cid: str(getattr(out, "html", out)) for cid, out in done.items()}
            by_council = getattr(exc, "failures", None) or {"(all councils)": exc}
            label = kind.replace("_", " ")
            failures += [f"{label} for council {cid}: {type(e).__name__}: {e}" for cid, e in by_council.items()]
    _echo(published)
    if failures:
        for line in failures:
            click.echo(f"not published: {line}", err=True)
        click.echo(f"{len(failures)} output(s) not published; the others were", err=True)
        sys.exit(1)


@main.command()
@click.argument("mart")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), required=True)
@click.option("--council", "council_id", default=None, help="Only this council's rows (mart must have council_id).")
@click.option(
    "--fiscal-year", default=None, help="Only this fiscal year: 2024 or 2024-25 (mart must have fiscal_year)."
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Output file; default <mart>[_council][_fy].<format>."
)
def export(mart: str, fmt: str, council_id: str | None, fiscal_year: str | None, out: Path | None) -> None:
    """Export one mart (e.g. fct_spend) to CSV, Parquet or XLSX, formula-safe and privacy-checked
    (from the configured warehouse, PROCURE_DBT_TARGET: on postgres a snapshot of what it computed)."""
    from procure.publish.export import ExportError, export_mart
    from procure.publish.postgres_snapshot import SnapshotFailed
    from procure.publish.safety import PrivacyCheckFailed
    from procure.tasks import publish_source

    _target(None)  # a bad PROCURE_DBT_TARGET is a usage error
    try:
        result = export_mart(mart, fmt, out, council_id, fiscal_year, warehouse=publish_source())
    except (ExportError, PrivacyCheckFailed, SnapshotFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    _echo({"mart": result.mart, "rows": result.rows, "path": str(result.path)})


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


@main.command("check-secrets")
def check_secrets() -> None:
    """Exit 1 if a secret of the production stack is missing, a known placeholder or too weak (compose runs this first)."""
    from procure.secrets_check import problems

    found = problems()
    for line in found:
        click.echo(f"refusing to start: {line}", err=True)
    if found:
        click.echo("edit .env (see .env.example and the README), then `docker compose up -d` again", err=True)
        sys.exit(1)
    click.echo("secrets: set, not placeholders")


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
