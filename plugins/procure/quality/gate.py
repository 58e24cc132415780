"""Run the Great Expectations suites in ``expectations/`` against the warehouse.

GX's SQL datasource cannot read DuckDB (it fetches after returning the connection to
the pool; see STACK.md), so each mart is read through DuckDB into Arrow and validated
with GX's pandas datasource, one checkpoint per table. Results go to
``ops.quality_results`` / ``ops.quality_runs`` and Data Docs HTML to
``publish/data_docs/`` (a self-contained summary index; GX's pages, made offline, in ``gx/``). A failed critical expectation raises :class:`QualityGateFailed`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from procure.config import publish_dir
from procure.quality.data_docs import GX_SUBDIR, publish_site, site_dir
from procure.warehouse import connect

log = logging.getLogger(__name__)

# raw layer first (what was loaded), then the marts (what will be published)
SUITES = (
    "raw_spend_lines",
    "raw_spend_months",
    "raw_spend_files",
    "fct_spend",
    "mart_procurement_kpis",
    "mart_local_spend",
    "dim_supplier",
    "fct_contract_portfolio",
    "mart_off_contract_spend",
    "mart_supplier_concentration",
)


# DuckDB's memory for the suites' queries (default: 80% of RAM); pandas frames come on top
DUCKDB_MEMORY_LIMIT = "512MB"


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


# expectation kwargs that name the columns an expectation reads
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
# table-level expectations that read no column at all, only the number of rows
_ROW_COUNT_ONLY = frozenset({"expect_table_row_count_to_equal", "expect_table_row_count_to_be_between"})
# expectations whose verdict and every reported figure depend only on which values are null
# (the unexpected values they list are the nulls themselves) ...
_NULLNESS = frozenset({"expect_column_values_to_not_be_null"})
# ... or, besides that, only on which values are equal to each other (nothing listed when none are)
_EQUALITY = frozenset({"expect_column_values_to_be_unique"})
# ... or only on which values are in a set (the unexpected values they list are those in it)
_EXCLUSION = frozenset({"expect_column_values_to_not_be_in_set"})


def _column_uses(expectations: list) -> dict[str, set[str]] | None:
    """Column -> the expectation types that read it; None for "every column, as it is".

    None when an expectation reads more than its column kwargs say (a row condition, or a
    table-level expectation such as one on the table's column list), so nothing is guessed.
    """
    uses: dict[str, set[str]] = {}
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        if kwargs.get("row_condition"):
            return None
        names: list[str] = []
        for key in _COLUMN_KWARGS:
            value = kwargs.get(key)
            if value is not None:
                names += [value] if isinstance(value, str) else list(value)
        if not names and expectation.expectation_type not in _ROW_COUNT_ONLY:
            return None
        for n in names:
            uses.setdefault(n, set()).add(expectation.expectation_type)
    return uses


@dataclass
class _FramePlan:
    """What to read for one suite: ``sql``, and the columns read as a stand-in (see _plan_frame)."""

    sql: str
    stand_ins: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (kind, DuckDB type)
    few_values: set[str] = field(default_factory=set)  # text columns read as a handful of values: categorical


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _plan_frame(con, sql: str, expectations: list, stand_ins_allowed: bool = True) -> _FramePlan:
    """Read only the columns the suite's expectations use, in the relation's own order (a
    suite that only counts rows reads the first column), so a 40-column mart is not read
    whole to check six of them.

    A text or boolean column only checked for nulls (and, when DuckDB finds no two non-null
    values equal, for uniqueness) is read as its null flags and given to GX as a stand-in of
    the same type with the same nulls (see _stand_in). GX's verdicts, counts, percentages,
    row indices and listed unexpected values (the nulls) are the same as on the real values,
    at a fraction of the memory and hashing time. A column with duplicate values is read as
    it is, so GX lists the duplicated values themselves. Likewise a text column only checked
    against sets of excluded values keeps those values and reads one constant for the others.
    Only for tables: a suite's QUERY already is a small derived relation, not worth running twice.
    """
    uses = _column_uses(expectations)
    if uses is None:
        return _FramePlan(sql)
    relation = con.sql(sql)  # binds the query, runs nothing
    available, types = relation.columns, dict(zip(relation.columns, map(str, relation.types), strict=True))
    if any(c not in available for c in uses):  # let GX report the missing column the way it always has
        return _FramePlan(sql)
    keep = [c for c in available if c in uses] or available[:1]
    stand_ins: dict[str, tuple[str, str]] = {}
    for c in keep if stand_ins_allowed else ():
        used_by = uses.get(c, set())
        if types[c] not in ("VARCHAR", "BOOLEAN") or not used_by:
            continue
        if used_by <= _NULLNESS:
            stand_ins[c] = ("present", types[c])
        elif used_by <= _NULLNESS | _EQUALITY and types[c] == "VARCHAR":
            distinct = con.sql(f"select count({_q(c)}) = count(distinct {_q(c)}) from ({sql}) as suite_relation")
            if distinct.fetchall()[0][0]:
                stand_ins[c] = ("distinct", types[c])
    exprs = {c: f"{_q(c)} is null as {_q(c)}" for c in stand_ins}
    few_values: set[str] = set()
    for c in keep if stand_ins_allowed else ():
        listed = _excluded_values(expectations, c) if types[c] == "VARCHAR" and uses.get(c) else None
        if listed and uses[c] <= _NULLNESS | _EXCLUSION:
            # a value outside every set is only ever counted as expected: one such value stands for all
            other = next("-" * k for k in itertools.count() if "-" * k not in listed)
            in_list = ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(listed))
            exprs[c] = (
                f"case when {_q(c)} in ({in_list}) then {_q(c)} when {_q(c)} is not null then '{other}' end as {_q(c)}"
            )
            few_values.add(c)
    select = ", ".join(exprs.get(c, _q(c)) for c in keep)
    return _FramePlan(f"select {select} from ({sql}) as suite_relation", stand_ins, few_values)


def _excluded_values(expectations: list, column: str) -> set[str] | None:
    """The values the column's not-in-set expectations exclude (None unless all are text)."""
    listed: set = set()
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        if kwargs.get("column") == column and expectation.expectation_type in _EXCLUSION:
            listed |= set(kwargs.get("value_set") or ())
    return listed if listed and all(isinstance(v, str) for v in listed) else None


# pandas' datetime64[ns] range: GX compares such a column vectorised, any other unit value by value
_NS_RANGE = (date(1677, 9, 22), date(2262, 4, 11))


def _datetime_type(col: pa.ChunkedArray) -> pa.DataType:
    """Nanosecond timestamps when every date fits (GX then checks ranges in one vectorised
    pass); microseconds otherwise, so a year-9999 typo is reported, not an overflow."""
    lo, hi = pc.min_max(col).values()
    fits = lo.as_py() is None or (_NS_RANGE[0] <= lo.as_py() and hi.as_py() <= _NS_RANGE[1])
    return pa.timestamp("ns" if fits else "us")


def _stand_in(is_null: pa.ChunkedArray, kind: str, duck_type: str) -> pa.Array:
    """A column read as its null flags, rebuilt with the same nulls: "present" holds '' or true,
    as a one-value categorical (one byte a row; pandas' nulls in it are what they would be in the
    real values, NaN); "distinct" the row number as text (as integers when nothing is null)."""
    mask = is_null.combine_chunks()
    if kind == "distinct":
        numbers = pa.array(np.arange(len(mask), dtype=np.int64))
        if not pc.any(mask).as_py():
            return numbers
        return pc.if_else(mask, pa.scalar(None, pa.string()), pc.cast(numbers, pa.string()))
    indices = pc.if_else(mask, pa.scalar(None, pa.int8()), pa.scalar(0, pa.int8()))
    value = pa.array([True]) if duck_type == "BOOLEAN" else pa.array([""])
    return pa.DictionaryArray.from_arrays(indices, value)


def _table_as_pandas(con, plan: _FramePlan):
    """Arrow -> pandas with decimals as floats and dates as datetimes, which GX compares.

    Strings stay Arrow-backed (pandas' ``str``); Arrow buffers are released column by column
    as they are converted, so the peak is about one copy of the frame."""
    tbl = con.sql(plan.sql).arrow()
    if isinstance(tbl, pa.RecordBatchReader):
        tbl = tbl.read_all()
    cols = []
    for f in tbl.schema:
        col = tbl.column(f.name)
        if f.name in plan.stand_ins:
            col = _stand_in(col, *plan.stand_ins[f.name])
        elif f.name in plan.few_values:
            col = col.dictionary_encode()  # a categorical: a byte or two a row instead of a string
        elif pa.types.is_decimal(f.type):
            col = col.cast(pa.float64())
        elif pa.types.is_date(f.type):
            col = col.cast(_datetime_type(col))
        cols.append(col)
    names = tbl.schema.names
    del tbl
    table = pa.table(cols, names=names)
    del cols
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()
    return frame


def _drop_cached_blocks(con) -> None:
    """Make DuckDB give back the blocks it keeps cached after a query (lowering the limit evicts them)."""
    with contextlib.suppress(duckdb.Error):  # something still pinned: nothing to gain
        con.execute("set memory_limit = '16MB'")
    con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")


def _load_suite(name: str):
    """The suite module ``expectations.<name>`` (a top-level package of the procure distribution)."""
    return importlib.import_module(f"expectations.{name}")


#: GX modules whose pandas aggregate metrics call ``convert_pandas_series_decimal_to_float_dtype``
_DECIMAL_CHECKING_METRICS = ("column_sum", "column_mean", "column_standard_deviation")


def _fast_pandas_paths() -> None:
    """Two costs GX 1.x's pandas engine pays per batch that the gate's frames never need (national
    size: ~7 s of the gate). Same verdicts and figures; ``test_gate_gx_fast_paths`` checks both.

    - It fingerprints every batch under 1 GB by hashing the whole frame (``batch_markers``); the gate
      keeps its own run ids, so the threshold is lowered to nothing.
    - Its sum/mean/stdev metrics look for ``Decimal`` objects value by value in Python (3.8 s on
      9.9 M floats) before converting them; a column whose dtype is not ``object`` cannot hold any,
      so such a column skips the scan (object columns still take GX's own path).
    """
    import great_expectations.execution_engine.pandas_execution_engine as engine
    from great_expectations import util

    engine.HASH_THRESHOLD = 0
    original = util.convert_pandas_series_decimal_to_float_dtype

    def convert(data, inplace: bool = False):
        if data.dtype != object:
            return None if inplace else data
        return original(data, inplace=inplace)

    convert._procure_fast = True
    for name in _DECIMAL_CHECKING_METRICS:
        module = importlib.import_module(f"great_expectations.expectations.metrics.column_aggregate_metrics.{name}")
        bound = module.convert_pandas_series_decimal_to_float_dtype
        if getattr(bound, "_procure_fast", False):  # an earlier gate in this process
            continue
        if bound is not original:
            raise RuntimeError(f"GX {name}: its decimal conversion is not the one procure.quality.gate expects")
        module.convert_pandas_series_decimal_to_float_dtype = convert


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
                "base_directory": str(site_dir(publish_dir()) / GX_SUBDIR),  # the index is ours (data_docs.py)
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _validate(context, name: str, expectations: list, batch, batch_parameters: dict | None) -> list[CheckResult]:
    """One suite, one checkpoint (which also updates Data Docs); the results as CheckResults."""
    import great_expectations as gx

    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
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
            if (cfg.meta or {}).get("observed") == "unexpected_values" and not r.success:
                observed = r.result.get("partial_unexpected_list", observed)
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
        "insert into ops.quality_results (run_id, checked_at, suite, expectation, column_name, severity, success, "
        f"observed) values ({', '.join([ph] * 8)})",
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


def _finish(result: GateResult, raise_on_failure: bool, as_of: date) -> GateResult:
    log.info(result.summary())
    publish_site(result, as_of, publish_dir())  # Data Docs that open offline
    if raise_on_failure and not result.passed:
        raise QualityGateFailed(
            result.summary() + "\nFix the data (see publish/data_docs/index.html), rebuild, and re-run the gate."
        )
    return result


def run_gate(run_id: str, as_of: date, warehouse: Path | None = None, raise_on_failure: bool = True) -> GateResult:
    """Validate every suite on the DuckDB warehouse; record results; raise on a critical failure.

    Each table or query is read through DuckDB into Arrow and validated with GX's pandas
    datasource (GX's SQL datasource cannot read DuckDB): only the columns the suite's
    expectations read, one suite's frame in memory at a time.
    """
    context = _gx_context()
    _fast_pandas_paths()
    datasource = context.data_sources.add_pandas("warehouse")
    result = GateResult(run_id)
    con = connect(warehouse, read_only=False)
    # the suites' queries spill to disk beyond this rather than hold the whole warehouse in RAM
    # (the setting belongs to the database instance, which this process may share: put it back)
    memory_limit = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    try:
        ctx = _context_figures(con, as_of)
        for name in SUITES:
            module = _load_suite(name)
            expectations = module.build(ctx)
            plan = _plan_frame(
                con, _suite_sql(module), expectations, stand_ins_allowed=not getattr(module, "QUERY", None)
            )
            frame = _table_as_pandas(con, plan)
            _drop_cached_blocks(con)  # GX needs the memory now, DuckDB's cache of what it just read does not
            batch = datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_all")
            result.checks += _validate(context, name, expectations, batch, {"dataframe": frame})
            # GX keeps every batch it loaded in the datasource's engine: drop this one now
            del frame, batch
            datasource.get_execution_engine().batch_manager.reset_batch_cache()
            pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
        con.execute("begin transaction")
        _record(con, result, as_of)
        con.execute("commit")
    finally:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.close()
    return _finish(result, raise_on_failure, as_of)


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
            result.checks += _validate(context, name, module.build(ctx), batch, None)
        with pg, pg.cursor() as cur:
            cur.execute(OPS_DDL_POSTGRES)
        with pg:
            _record(pg, result, as_of, placeholder="%s")
    finally:
        pg.close()
    return _finish(result, raise_on_failure, as_of)


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
