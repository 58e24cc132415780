"""Run the Great Expectations suites in ``expectations/`` against the warehouse.

GX's SQL datasource cannot read DuckDB (it fetches after returning the connection to
the pool; see STACK.md), so each mart is read through DuckDB into Arrow and validated
with GX's pandas datasource, one checkpoint per table. Results go to
``ops.quality_results`` / ``ops.quality_runs`` and Data Docs HTML to
``publish/data_docs/``. A failed critical expectation raises :class:`QualityGateFailed`.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from procure.config import PROJECT_ROOT, publish_dir
from procure.warehouse import connect

log = logging.getLogger(__name__)

# raw layer first (what was loaded), then the marts (what will be published)
SUITES = (
    "raw_spend_lines",
    "raw_spend_months",
    "raw_spend_files",
    "fct_spend",
    "mart_kpi_monthly",
    "mart_local_spend",
    "dim_supplier",
    "fct_contract_portfolio",
)


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: nothing may be published from this warehouse."""


@dataclass
class CheckResult:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str


@dataclass
class GateResult:
    run_id: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == "critical" and not c.success]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == "warning" and not c.success]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def summary(self) -> str:
        lines = [
            f"quality gate {'PASSED' if self.passed else 'FAILED'}: {len(self.checks)} checks, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings"
        ]
        for c in self.critical_failures + self.warnings:
            where = f"{c.suite}.{c.column}" if c.column else c.suite
            lines.append(f"  [{c.severity}] {where}: {c.expectation} failed (observed {c.observed})")
        return "\n".join(lines)


def _context_figures(con, as_of: date) -> dict[str, Any]:
    rows, total, first = con.execute(
        "select count(*), coalesce(sum(amount_gbp), 0), min(payment_date) from raw.spend_lines"
    ).fetchall()[0]
    months = con.execute(
        "select count(*) from (select distinct council_id, date_trunc('month', payment_date) from raw.spend_lines) m"
    ).fetchall()[0][0]
    loaded_for = con.execute("select max(loaded_at) from raw.spend_files").fetchall()[0][0]
    loaded_for = loaded_for.replace(tzinfo=None) if loaded_for else datetime.combine(as_of, datetime.min.time())
    return {
        "raw_spend_rows": int(rows),
        "raw_spend_total": float(total),
        "council_months": int(months),
        "min_payment_date": datetime(2000, 1, 1),
        # "future" = after the later of the run's date and the date the data was loaded for,
        # so a backfill of a past month does not call later, already-loaded months future
        "max_payment_date": max(datetime.combine(as_of, datetime.min.time()), loaded_for),
        "first_payment_date": first,
    }


def _suite_sql(module) -> str:
    """A suite validates a table (``TABLE``) or a derived relation (``QUERY``, portable SQL)."""
    query = getattr(module, "QUERY", None)
    return query if query else f"select * from {module.TABLE}"


def _table_as_pandas(con, sql: str):
    """Arrow -> pandas with decimals as floats and dates as datetimes, which GX compares."""
    tbl = con.sql(sql).arrow()
    if isinstance(tbl, pa.RecordBatchReader):
        tbl = tbl.read_all()
    cols = []
    for f in tbl.schema:
        col = tbl.column(f.name)
        if pa.types.is_decimal(f.type):
            col = col.cast(pa.float64())
        elif pa.types.is_date(f.type):
            col = col.cast(pa.timestamp("us"))
        cols.append(col)
    return pa.table(cols, names=tbl.schema.names).to_pandas()


def _load_suite(name: str):
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"expectations.{name}")


def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.add_data_docs_site(
        site_name="procure",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(publish_dir() / "data_docs"),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _validate(
    context, name: str, module, batch, ctx: dict[str, Any], batch_parameters: dict | None
) -> list[CheckResult]:
    """One suite, one checkpoint (which also updates Data Docs); the results as CheckResults."""
    import great_expectations as gx

    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in module.build(ctx):
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{name}_checkpoint",
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["procure"])],
        )
    )
    run = checkpoint.run(batch_parameters=batch_parameters)
    checks = []
    for vr in run.run_results.values():
        for r in vr.results:
            cfg = r.expectation_config
            observed = r.result.get("observed_value", r.result.get("unexpected_percent"))
            if r.exception_info and r.exception_info.get("raised_exception"):
                observed = f"error: {r.exception_info.get('exception_message')}"
            checks.append(
                CheckResult(
                    suite=name,
                    expectation=cfg.type,
                    column=cfg.kwargs.get("column"),
                    severity=(cfg.meta or {}).get("severity", "critical"),
                    success=bool(r.success),
                    observed=json.dumps(observed, default=str)[:500],
                )
            )
    return checks


def _record(con, result: GateResult, as_of: date, placeholder: str = "?") -> None:
    """Keep the results in ops.quality_results / ops.quality_runs (DB-API: DuckDB or psycopg2)."""
    ph = placeholder
    checked_at = datetime.combine(as_of, datetime.min.time())
    cur = con.cursor() if placeholder == "%s" else con
    cur.execute(f"delete from ops.quality_results where run_id = {ph}", [result.run_id])
    cur.execute(f"delete from ops.quality_runs where run_id = {ph}", [result.run_id])
    cur.executemany(
        f"insert into ops.quality_results values ({', '.join([ph] * 8)})",
        [
            [result.run_id, checked_at, c.suite, c.expectation, c.column, c.severity, c.success, c.observed]
            for c in result.checks
        ],
    )
    cur.execute(
        "insert into ops.quality_runs (run_id, checked_at, passed, critical_failures, warnings, summary) "
        f"values ({', '.join([ph] * 6)})",
        [
            result.run_id,
            checked_at,
            result.passed,
            len(result.critical_failures),
            len(result.warnings),
            result.summary(),
        ],
    )


def _finish(result: GateResult, raise_on_failure: bool) -> GateResult:
    log.info(result.summary())
    if raise_on_failure and not result.passed:
        raise QualityGateFailed(
            result.summary() + "\nFix the data (see publish/data_docs/index.html), rebuild, and re-run the gate."
        )
    return result


def run_gate(run_id: str, as_of: date, warehouse: Path | None = None, raise_on_failure: bool = True) -> GateResult:
    """Validate every suite on the DuckDB warehouse; record results; raise on a critical failure.

    Each table or query is read through DuckDB into Arrow and validated with GX's pandas
    datasource (GX's SQL datasource cannot read DuckDB).
    """
    context = _gx_context()
    datasource = context.data_sources.add_pandas("warehouse")
    result = GateResult(run_id)
    con = connect(warehouse, read_only=False)
    try:
        ctx = _context_figures(con, as_of)
        for name in SUITES:
            module = _load_suite(name)
            frame = _table_as_pandas(con, _suite_sql(module))
            batch = datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_all")
            result.checks += _validate(context, name, module, batch, ctx, {"dataframe": frame})
        con.execute("begin transaction")
        _record(con, result, as_of)
        con.execute("commit")
    finally:
        con.close()
    return _finish(result, raise_on_failure)


OPS_DDL_POSTGRES = """
create schema if not exists ops;
create table if not exists ops.quality_results (
    run_id text not null, checked_at timestamp not null, suite text not null, expectation text not null,
    column_name text, severity text not null, success boolean not null, observed text
);
create table if not exists ops.quality_runs (
    run_id text not null, checked_at timestamp not null, passed boolean not null,
    critical_failures integer not null, warnings integer not null, summary text,
    recorded_at timestamp default current_timestamp
);
"""


def run_gate_postgres(run_id: str, as_of: date, dsn: str | None = None, raise_on_failure: bool = True) -> GateResult:
    """The same suites on a PostgreSQL warehouse through GX's SQL datasource (which works there)."""
    import psycopg2

    from procure.transform.postgres_mirror import pg_dsn

    dsn = dsn or pg_dsn()
    params = dict(part.split("=", 1) for part in dsn.split())
    password = f":{params['password']}" if params.get("password") else ""
    url = (
        f"postgresql+psycopg2://{params.get('user', 'postgres')}{password}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', '5432')}/{params['dbname']}"
    )
    context = _gx_context()
    datasource = context.data_sources.add_postgres("warehouse_pg", connection_string=url)
    result = GateResult(run_id)
    pg = psycopg2.connect(dsn)
    try:
        with pg.cursor() as cur:
            ctx = _context_figures(_PgAdapter(cur), as_of)
        for name in SUITES:
            module = _load_suite(name)
            if getattr(module, "QUERY", None):
                asset = datasource.add_query_asset(
                    name, query=f"SELECT * FROM ({module.QUERY.strip()}) AS q"
                )  # GX wants SELECT first
            else:
                schema, table = module.TABLE.split(".")
                asset = datasource.add_table_asset(name, table_name=table, schema_name=schema)
            batch = asset.add_batch_definition_whole_table(f"{name}_all")
            result.checks += _validate(context, name, module, batch, ctx, None)
        with pg, pg.cursor() as cur:
            cur.execute(OPS_DDL_POSTGRES)
        with pg:
            _record(pg, result, as_of, placeholder="%s")
    finally:
        pg.close()
    return _finish(result, raise_on_failure)


class _PgAdapter:
    """Just enough of DuckDB's ``execute(...).fetchall()`` over a psycopg2 cursor."""

    def __init__(self, cur):
        self.cur = cur

    def execute(self, sql: str, params=None):
        self.cur.execute(sql, params)
        return self.cur


def latest_gate_passed(con) -> bool:
    """Whether the most recent gate run on this warehouse passed (publishers check it)."""
    rows = con.execute("select passed from ops.quality_runs order by recorded_at desc limit 1").fetchall()
    return bool(rows and rows[0][0])
