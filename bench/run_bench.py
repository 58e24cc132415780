"""``make bench``: how the pipeline's cost grows with its work, next to DuckDB's raw read floor.

One run, at one size (``--size national|small|tiny``):

1. generates N councils x M months of messy payment files (``bench/generate.py``, seeded) and a
   councils.yml for them (``PROCURE_CONFIG``);
2. runs each stage - ingest, dbt build, quality gate, publish - through the stable entry points in
   ``procure.tasks``, each in its own child process, and records its wall time, rows/s and peak RSS
   (``os.wait4`` of that child: DuckDB and dbt inside the process count);
3. measures the floor: DuckDB's ``read_csv`` of the same files straight into a table (also a child);
4. incremental cost: one council with 10 years and one with 1 year of history; the time to add the
   same new month to each (ingest + build + gate); ``incremental_ratio`` = 10 years / 1 year;
5. dbt build of the same raw data on DuckDB and on PostgreSQL (``postgres_over_duckdb``), both full
   refreshes; skipped with the reason recorded when ``PROCURE_PG_HOST`` is unset.

Prints a table and writes ``bench/results.json`` (``--out``). Everything the run writes goes under
``bench/work/<size>/`` (``--work``), never to the repository's warehouse, publish or landing folders.

``--target postgres`` (``make bench TARGET=postgres``) measures the pipeline with the marts on PostgreSQL,
configured as a user would (``PROCURE_DBT_TARGET=postgres``, the server in ``PROCURE_PG_*``, the bench's
own database ``--pg-database``, emptied first): ingest into the DuckDB raw layer, build
(``tasks.build_warehouse``: supplier resolution, the raw mirror to PostgreSQL, dbt there; each step's time
kept), the gate on PostgreSQL through GX's SQL datasource, publish from PostgreSQL (a snapshot of the
tables the publishers read); each a child process as above. Writes ``bench/results_postgres.json``;
``bench/results.json`` stays the DuckDB record. Needs a server: ``make bench`` starts a throwaway one
when ``PROCURE_PG_HOST`` is unset and the server binaries are installed.

    .venv/bin/python bench/run_bench.py --size small
    .venv/bin/python bench/run_bench.py --size small --target postgres
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate import generate, generate_council, month_starts  # noqa: E402
from rich.console import Console  # noqa: E402

#: progress on stderr: a spinner per child while it runs (terminals only), a line when it ends
CONSOLE = Console(stderr=True)


@dataclass(frozen=True)
class Size:
    councils: int
    months: int
    lines_per_year: int
    inc_years_long: int  # the incremental test: history of the big warehouse, in years
    inc_lines_per_year: int
    pg_councils: int  # the DuckDB vs PostgreSQL comparison runs on the first pg_councils x pg_months
    pg_months: int


SIZES = {
    "national": Size(300, 12, 33_000, 10, 33_000, 20, 12),
    "small": Size(20, 12, 33_000, 10, 33_000, 20, 12),
    "tiny": Size(2, 2, 1_200, 2, 1_200, 2, 2),
}
FIRST_MONTH = date(2024, 4, 1)
SEED = 20240401
# issue 13's targets at the national size (the table says, for each, whether this run met it)
TARGETS = {
    "pipeline_over_raw_floor": 6.0,
    "peak_rss_gb": 2.0,
    "incremental_ratio": 1.2,
    "postgres_over_duckdb": 2.0,
    "airflow_ingest_over_inprocess": 1.5,
    "publish_cpu_s_per_council": 0.25,
}
#: where each ratio's measurement (and its "skipped" reason) is kept in the results
MEASURED_IN = {
    "incremental_ratio": "incremental",
    "postgres_over_duckdb": "postgres",
    "airflow_ingest_over_inprocess": "airflow_ingest",
}
STAGES = ("ingest", "build", "gate", "publish")
PG_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reference", "ops", "seeds", "snapshots")


# ----------------------------------------------------------------------------- child side


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _fiscal_year(d: date, start_month: int = 4) -> int:
    return d.year if d.month >= start_month else d.year - 1


def run_stage(stage: str, args: dict[str, Any]) -> Any:
    """One stage through the pipeline's entry points (this runs in the child process)."""
    from procure import tasks

    run_id = args.get("run_id", "bench")
    last = date.fromisoformat(args["last_month"]) if "last_month" in args else None
    if stage == "ingest":
        out = tasks.ingest_spend(run_id, _next_month(last)).summary()
        return {
            "files": sum(c["files"] for c in out.values()),
            "loaded": sum(c["loaded"] for c in out.values()),
            "rejected": sum(c["rejected"] for c in out.values()),
            "rows_loaded": sum(c["rows_loaded"] for c in out.values()),
            "rows_quarantined": sum(c["rows_quarantined"] for c in out.values()),
        }
    if stage == "build":
        return tasks.build_warehouse()  # the configured target (PROCURE_DBT_TARGET, set by isolated_env)
    if stage == "gate":
        try:
            return tasks.quality_gate(run_id, _next_month(last))
        except Exception as exc:  # a critical expectation failed: the cost was paid all the same
            if type(exc).__name__ != "QualityGateFailed":
                raise
            return {"passed": False, "failure": str(exc)[:2000]}
    if stage == "publish":  # as `procure publish`: on PostgreSQL one snapshot for both outputs
        source = tasks.publish_source()
        packs = tasks.publish_board_packs(last, source=source)
        reviews = tasks.publish_strategy_reviews(_fiscal_year(date.fromisoformat(args["first_month"])), source=source)
        return {"board_packs": len(packs), "strategy_reviews": len(reviews)}
    if stage == "floor":
        import duckdb

        columns = {f"c{i:02d}": "VARCHAR" for i in range(14)}
        con = duckdb.connect(args["database"])
        try:
            con.execute("drop table if exists floor")
            con.execute(
                "create table floor as select * from read_csv(?, header = false, columns = ?, delim = ',', "
                "quote = '\"', encoding = 'latin-1', null_padding = true, auto_detect = false)",
                [args["files"], columns],
            )
            return {"rows": con.execute("select count(*) from floor").fetchone()[0]}
        finally:
            con.close()
    if stage == "dbt":
        # the production build on the given target (procure build --full-refresh): the models, then the
        # forecasts, written to that same target, and the marts on them; no unit tests on either side
        from procure.transform.dbt_build import DbtBuildFailed, build

        try:
            lines = build(target=args["target"], full_refresh=True)
        except DbtBuildFailed as exc:  # failing or skipped nodes: the time is not comparable
            return {"nodes": None, "failed": str(exc)[:2000]}
        return {"nodes": len(lines)}
    if stage == "mirror":
        from procure.transform.postgres_mirror import mirror_raw_to_postgres

        return mirror_raw_to_postgres()
    raise ValueError(f"unknown stage {stage!r}")


def child_main(stage: str, args_json: str, result_path: str) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # the floor's file list is too long for a command line at the national size: "@path" reads a file
    args = json.loads(Path(args_json[1:]).read_text() if args_json.startswith("@") else args_json)
    started = time.perf_counter()
    result = run_stage(stage, args)
    seconds = time.perf_counter() - started
    Path(result_path).write_text(json.dumps({"seconds": seconds, "result": result}, default=str))
    return 0


# ---------------------------------------------------------------------------- parent side


class StageFailed(RuntimeError):
    pass


class Runner:
    """Runs stages in child processes with the run's isolated environment; keeps every measurement."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work = work
        self.env = env
        self.peak_rss_kb = 0
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.children: list[dict[str, Any]] = []  # every child's tag, seconds and peak RSS: who set the peak

    def run(self, stage: str, env: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
        self.count += 1
        tag = f"{self.count:02d}_{stage}"
        result_path = self.logs / f"{tag}.json"
        result_path.unlink(missing_ok=True)
        log_path = self.logs / f"{tag}.log"
        args_path = self.logs / f"{tag}.args.json"
        args_path.write_text(json.dumps(args))
        cmd = [sys.executable, str(Path(__file__).resolve()), "_stage", stage, f"@{args_path}", str(result_path)]
        started = time.perf_counter()
        with log_path.open("wb") as log, CONSOLE.status(f"{tag} running (log {log_path})"):
            proc = subprocess.Popen(cmd, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        CONSOLE.log(f"{tag}: {wall:.1f} s, peak RSS {usage.ru_maxrss / 1024**2:.2f} GB")
        self.peak_rss_kb = max(self.peak_rss_kb, usage.ru_maxrss)
        if proc.returncode != 0 or not result_path.exists():
            tail = log_path.read_text(errors="replace").splitlines()[-25:]
            raise StageFailed(f"stage {stage} failed (exit {proc.returncode}); log {log_path}:\n" + "\n".join(tail))
        out = json.loads(result_path.read_text())
        # CPU of the child and of every process it waited for (dbt threads, publish workers), user + system
        cpu = round(usage.ru_utime + usage.ru_stime, 3)
        self.children.append(
            {
                "tag": tag,
                "seconds": round(out["seconds"], 3),
                "cpu_s": cpu,
                "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 3),
            }
        )
        return {
            "seconds": round(out["seconds"], 3),
            "wall_s": round(wall, 3),
            "cpu_s": cpu,
            "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 3),
            "result": out["result"],
        }


def isolated_env(work: Path, config: Path, warehouse: Path, target: str = "duckdb") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PROCURE_DBT_TARGET=target,
        PROCURE_HOME=str(REPO),
        PROCURE_CONFIG=str(config),
        PROCURE_WAREHOUSE=str(warehouse),
        PROCURE_PUBLISH_DIR=str(work / "publish"),
        PROCURE_LANDING_DIR=str(work / "landing"),
        DBT_TARGET_PATH=str(work / "dbt_target"),
        DBT_LOG_PATH=str(work / "dbt_logs"),
        AIRFLOW_HOME=str(work / "airflow"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def write_config(path: Path, councils: list[tuple[str, str, Path]], empty: Path) -> Path:
    """councils.yml for generated councils: payment files only (no register, no notices)."""
    empty.mkdir(parents=True, exist_ok=True)
    lines = ["# generated by bench/run_bench.py", "councils:"]
    for cid, name, spend_dir in councils:
        lines += [
            f"  - id: {cid}",
            f"    name: {name}",
            f"    spend_dir: {spend_dir}",
            "    spend_glob: '*.csv'",
            f"    contracts_dir: {empty}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fresh(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.mkdir(parents=True)
    return path


def link(src: Path, dst_dir: Path) -> None:
    dst = dst_dir / src.name
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def measure_incremental(runner: Runner, work: Path, size: Size) -> dict[str, Any]:
    """Add the same month for one council to a warehouse with ``inc_years_long`` years and with 1 year."""
    long_months = 12 * size.inc_years_long
    first = date(FIRST_MONTH.year - size.inc_years_long, FIRST_MONTH.month, 1)
    months = month_starts(first, long_months + 1)
    data = work / "incremental" / "data"
    summary = generate_council(data, "inc", "Incremental District Council", months, size.inc_lines_per_year, SEED)
    files = [Path(f["path"]) for f in summary["files"]]
    new_month, new_rows = files[-1], summary["files"][-1]["rows"]
    out: dict[str, Any] = {"new_month": months[-1].strftime("%Y-%m"), "new_month_rows": new_rows}
    for label, history in (("1y", files[-13:-1]), (f"{size.inc_years_long}y", files[:-1])):
        base = fresh(work / "incremental" / label)
        drop = fresh(base / "drop")
        for f in history:
            link(f, drop)
        config = write_config(base / "councils.yml", [("inc", "Incremental District Council", drop)], base / "empty")
        env = isolated_env(base, config, base / "warehouse.duckdb")
        prep_last = months[-2].isoformat()
        prep = {}
        for stage in ("ingest", "build"):
            prep[stage] = runner.run(stage, env, last_month=prep_last, run_id="bench-prep")["seconds"]
        link(new_month, drop)
        add = {}
        for stage in ("ingest", "build", "gate"):
            add[stage] = runner.run(stage, env, last_month=months[-1].isoformat(), run_id="bench-add")
        loaded = add["ingest"]["result"]
        if loaded["rows_loaded"] + loaded["rows_quarantined"] != new_rows:
            raise StageFailed(f"incremental {label}: {loaded} does not account for the new month's {new_rows} rows")
        out[label] = {
            "history_months": len(history),
            "history_rows": sum(f["rows"] for f in summary["files"] if Path(f["path"]) in set(history)),
            "prepare_s": prep,
            "add_s": {k: v["seconds"] for k, v in add.items()},
            "add_total_s": round(sum(v["seconds"] for v in add.values()), 3),
        }
    long_key = f"{size.inc_years_long}y"
    out["ratio"] = round(out[long_key]["add_total_s"] / out["1y"]["add_total_s"], 3)
    out["ratio_by_stage"] = {
        s: round(out[long_key]["add_s"][s] / out["1y"]["add_s"][s], 3) for s in ("ingest", "build", "gate")
    }
    return out


def reset_pg_database(dbname: str) -> str:
    """Create the bench's own database when missing; drop the dbt schemas in it (a clean first build)."""
    import psycopg2

    from procure.transform.postgres_mirror import pg_dsn

    admin_dsn = pg_dsn().replace(f"dbname={os.environ.get('PROCURE_PG_DATABASE', 'procurement')}", "dbname=postgres")
    con = psycopg2.connect(admin_dsn)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", [dbname])
            if not cur.fetchone():
                cur.execute(f'create database "{dbname}"')
    finally:
        con.close()
    con = psycopg2.connect(admin_dsn.replace("dbname=postgres", f"dbname={dbname}"))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("select version()")
            version = cur.fetchone()[0]
            for schema in PG_SCHEMAS:
                cur.execute(f'drop schema if exists "{schema}" cascade')
    finally:
        con.close()
    return version


def measure_postgres(runner: Runner, work: Path, size: Size, main: dict[str, Any], pg_database: str) -> dict[str, Any]:
    """dbt build (full refresh) of the same raw layer on DuckDB and on PostgreSQL."""
    if not os.environ.get("PROCURE_PG_HOST"):
        return {"skipped": "PROCURE_PG_HOST is unset: no PostgreSQL server to compare with"}
    same = size.pg_councils == size.councils and size.pg_months == size.months
    if same:
        env = main["env"]
    else:
        base = fresh(work / "postgres")
        data = base / "data"
        summary = generate(data, size.pg_councils, size.pg_months, FIRST_MONTH, size.lines_per_year, SEED)
        cfg = [(c["council_id"], c["name"], Path(c["spend_dir"])) for c in summary["councils"]]
        env = isolated_env(base, write_config(base / "councils.yml", cfg, base / "empty"), base / "warehouse.duckdb")
        last = month_starts(FIRST_MONTH, size.pg_months)[-1].isoformat()
        for stage in ("ingest", "build"):
            runner.run(stage, env, last_month=last, run_id="bench-pg")
    version = reset_pg_database(pg_database)
    pg_env = {**env, "PROCURE_PG_DATABASE": pg_database}
    duck = runner.run("dbt", env, target="duckdb")
    mirror = runner.run("mirror", pg_env)
    pg = runner.run("dbt", pg_env, target="postgres")
    failed = [
        f"{side}: {m['result']['failed']}"
        for side, m in (("duckdb", duck), ("postgres", pg))
        if m["result"].get("failed")
    ]
    ratio = None if failed else round(pg["seconds"] / duck["seconds"], 3)
    return {
        **({"skipped": "dbt build failed, times not comparable: " + " | ".join(failed)} if failed else {}),
        "councils": size.pg_councils,
        "months": size.pg_months,
        "database": pg_database,
        "server": version,
        "spend_lines": mirror["result"].get("spend_lines"),
        "duckdb_dbt_s": duck["seconds"],
        "postgres_dbt_s": pg["seconds"],
        "mirror_s": mirror["seconds"],
        "mirror_peak_rss_gb": mirror["peak_rss_gb"],
        "duckdb_peak_rss_gb": duck["peak_rss_gb"],
        "postgres_client_peak_rss_gb": pg["peak_rss_gb"],
        "nodes": {"duckdb": duck["result"]["nodes"], "postgres": pg["result"]["nodes"]},
        "ratio": ratio,
    }


def measure_airflow_ingest(
    work: Path, data_config: Path, inprocess: dict[str, Any], port: int, parallelism: int
) -> dict[str, Any]:
    """The same files ingested through Airflow as deployed, beside the in-process ``ingest`` stage.

    A fresh warehouse and landing zone; api-server, scheduler and dag-processor in child
    processes (``bench/airflow_stack.py``: LocalExecutor, SQLite metadata DB); only
    ``ingest_finance_spend`` is unpaused and one run is triggered. ``seconds`` is from the
    trigger to the end of the run (scheduling, task start-up and the listing task included);
    ``airflow_ingest_over_inprocess`` = that ÷ the in-process stage's ``seconds``.
    """
    from airflow_stack import AirflowStack

    base = fresh(work / "airflow_ingest")
    env = isolated_env(base, data_config, base / "warehouse.duckdb")
    env.pop("AIRFLOW_HOME", None)
    status = CONSOLE.status(f"airflow ingest: api-server, scheduler, dag-processor (logs in {base / 'airflow'})")
    with status, AirflowStack(base / "airflow", port=port, env=env, parallelism=parallelism) as stack:
        stack.unpause("ingest_finance_spend")
        started = time.time()
        run_id = stack.trigger("ingest_finance_spend", logical_date=f"{_next_month(FIRST_MONTH)}T06:00:00Z")

        def finished():
            [run] = [r for r in stack.runs("ingest_finance_spend") if r["dag_run_id"] == run_id]
            return run if run["state"] in ("success", "failed") else None

        run = stack.wait_for(finished, 6 * 3600, "the Airflow ingest run", every=2)
        tis = stack.task_instances("ingest_finance_spend", run_id)
    ended = datetime.fromisoformat(run["end_date"]).timestamp()
    seconds = round(ended - started, 3)
    CONSOLE.log(f"airflow ingest: {seconds:.1f} s from trigger to the end of the run ({run['state']})")
    tasks = {}
    for ti in tis:
        t = tasks.setdefault(ti["task_id"], {"count": 0, "seconds": 0.0})
        t["count"] += 1
        t["seconds"] = round(t["seconds"] + (ti.get("duration") or 0.0), 3)
    import duckdb

    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        rows_loaded, rows_quarantined = con.execute(
            "select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) from raw.spend_manifest"
        ).fetchone()
    accounted = int(rows_loaded) + int(rows_quarantined)
    expected = inprocess["result"]["rows_loaded"] + inprocess["result"]["rows_quarantined"]
    if run["state"] != "success" or accounted != expected:
        raise StageFailed(
            f"Airflow ingest run {run_id} {run['state']}: {accounted} rows accounted for, {expected} in-process; "
            f"tasks {tasks}; logs in {base / 'airflow'}"
        )
    return {
        "seconds": seconds,
        "run_seconds": round(ended - datetime.fromisoformat(run["start_date"]).timestamp(), 3),
        "inprocess_seconds": inprocess["seconds"],
        "ratio": round(seconds / inprocess["seconds"], 3),
        "tasks": tasks,
        "rows_accounted": accounted,
        "parallelism": parallelism,
    }


def fmt_table(results: dict[str, Any]) -> str:
    rows = [("stage", "seconds", "x floor", "CPU s", "rows/s", "peak RSS GB")]
    floor = results["raw_floor"]
    for name, s in results["stages"].items():
        rows.append(
            (
                name,
                f"{s['seconds']:.1f}",
                f"{s['seconds'] / floor['seconds']:.1f}",
                f"{s.get('cpu_s', 0):.1f}",
                f"{s['rows_per_s']:,.0f}",
                f"{s['peak_rss_gb']:.2f}",
            )
        )
    rows.append(
        (
            "pipeline",
            f"{results['pipeline_s']:.1f}",
            f"{results['pipeline_s'] / floor['seconds']:.1f}",
            "",
            f"{results['rows'] / results['pipeline_s']:,.0f}",
            "",
        )
    )
    rows.append(("raw floor (read_csv)", f"{floor['seconds']:.1f}", "1.0", "", f"{floor['rows_per_s']:,.0f}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))

    def target(key: str) -> str:
        value = results.get(key)
        if value is None:
            return f"{key}: not measured ({results.get(MEASURED_IN.get(key, ''), {}).get('skipped', '')})"
        limit = TARGETS.get(key)
        met = "" if limit is None else f"  (target <= {limit}: {'met' if value <= limit else 'NOT met'})"
        return f"{key}: {value}{met}"

    keys = (
        "pipeline_over_raw_floor",
        "peak_rss_gb",
        "incremental_ratio",
        "postgres_over_duckdb",
        "airflow_ingest_over_inprocess",
        "publish_cpu_s_per_council",
    )
    head = (
        f"size {results['size']}: {results['councils']} councils x {results['months']} months, {results['rows']:,} rows"
    )
    return "\n".join([head, *lines, "", *(target(k) for k in keys)])


def git_commit() -> str | None:
    """The commit measured ("+dirty" when the work tree had uncommitted changes), None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}+dirty" if dirty else head


def save_partial(out: Path, size_name: str, rows: int, **measured: Any) -> None:
    """What is measured so far (``complete: false``): a long run that is stopped still leaves figures."""
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"complete": False, "size": size_name, "rows": rows, **measured}
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def run(
    size_name: str,
    work: Path,
    out: Path,
    pg_database: str,
    workers: int,
    skip: frozenset[str] = frozenset(),
    airflow_port: int = 18380,
) -> dict[str, Any]:
    size = SIZES[size_name]
    work.mkdir(parents=True, exist_ok=True)
    load_at_start = os.getloadavg()
    commit = git_commit()  # before the run writes its partial results over the committed file
    started = time.perf_counter()
    data = work / "data"
    gen = generate(data, size.councils, size.months, FIRST_MONTH, size.lines_per_year, SEED, workers)
    generate_s = time.perf_counter() - started
    # every run starts from an empty warehouse, landing zone and publish folder
    main_dir = fresh(work / "main")
    cfg = [(c["council_id"], c["name"], Path(c["spend_dir"])) for c in gen["councils"]]
    config = write_config(main_dir / "councils.yml", cfg, main_dir / "empty")
    env = isolated_env(main_dir, config, main_dir / "warehouse.duckdb")
    runner = Runner(work, env)
    months = month_starts(FIRST_MONTH, size.months)
    rows = gen["rows"]

    stages: dict[str, Any] = {}
    for stage in STAGES:
        m = runner.run(stage, last_month=months[-1].isoformat(), first_month=months[0].isoformat())
        m["rows_per_s"] = round(rows / m["seconds"], 1)
        stages[stage] = m
        save_partial(out, size_name, rows, stages=stages)
    ingest = stages["ingest"]["result"]
    accounted = ingest["rows_loaded"] + ingest["rows_quarantined"]
    if accounted != rows:
        raise StageFailed(f"ingest accounted for {accounted} rows of {rows} generated: {ingest}")

    files = sorted(f["path"] for c in gen["councils"] for f in c["files"])
    floor = runner.run("floor", database=str(main_dir / "floor.duckdb"), files=files)
    (main_dir / "floor.duckdb").unlink(missing_ok=True)
    floor["rows_per_s"] = round(rows / floor["seconds"], 1)

    save_partial(out, size_name, rows, stages=stages, raw_floor=floor)
    if "airflow" in skip:
        airflow = {"skipped": "--skip airflow", "ratio": None}
    else:
        airflow = measure_airflow_ingest(work, config, stages["ingest"], airflow_port, 2)
    save_partial(out, size_name, rows, stages=stages, raw_floor=floor, airflow_ingest=airflow)
    if "incremental" in skip:
        incremental = {"skipped": "--skip incremental", "ratio": None}
    else:
        incremental = measure_incremental(runner, work, size)
    save_partial(out, size_name, rows, stages=stages, raw_floor=floor, airflow_ingest=airflow, incremental=incremental)
    if "postgres" in skip:
        postgres = {"skipped": "--skip postgres"}
    else:
        postgres = measure_postgres(runner, work, size, {"env": env}, pg_database)
    pipeline_s = round(sum(s["seconds"] for s in stages.values()), 3)
    results = {
        "complete": True,
        "commit": commit,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size_name,
        "councils": size.councils,
        "months": size.months,
        "rows": rows,
        "rows_loaded": ingest["rows_loaded"],
        "rows_quarantined": ingest["rows_quarantined"],
        "csv_bytes": gen["bytes"],
        "files": gen["files"],
        "generate_s": round(generate_s, 3),
        "stages": stages,
        "pipeline_s": pipeline_s,
        "raw_floor": floor,
        "raw_floor_s": floor["seconds"],
        "pipeline_over_raw_floor": round(pipeline_s / floor["seconds"], 3),
        # issue 13's per-stage targets: ingest <= 2x, build <= 1.5x, gate <= 0.5x the floor
        "stage_over_raw_floor": {k: round(v["seconds"] / floor["seconds"], 3) for k, v in stages.items()},
        # issue 13's publish target: <= 0.25 s of CPU per council (packs and strategy reviews, workers included)
        "publish_cpu_s_per_council": round(stages["publish"]["cpu_s"] / size.councils, 3),
        "peak_rss_gb": round(runner.peak_rss_kb / 1024**2, 3),
        "peak_rss_child": max(runner.children, key=lambda c: c["peak_rss_gb"])["tag"],
        "children": runner.children,
        "airflow_ingest": airflow,
        "airflow_ingest_over_inprocess": airflow["ratio"],
        "incremental": incremental,
        "incremental_ratio": incremental["ratio"],
        "postgres": postgres,
        "postgres_over_duckdb": postgres.get("ratio"),
        "targets": TARGETS,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "bench_s": round(time.perf_counter() - started, 3),
        "work_dir": str(work),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def run_postgres(size_name: str, work: Path, out: Path, pg_database: str, workers: int) -> dict[str, Any]:
    """The pipeline end to end with the marts on PostgreSQL (``--target postgres``, module docstring)."""
    size = SIZES[size_name]
    work.mkdir(parents=True, exist_ok=True)
    load_at_start = os.getloadavg()
    commit = git_commit()  # before the run writes its partial results over the committed file
    started = time.perf_counter()
    gen = generate(work / "data", size.councils, size.months, FIRST_MONTH, size.lines_per_year, SEED, workers)
    generate_s = time.perf_counter() - started
    main_dir = fresh(work / "main")
    cfg = [(c["council_id"], c["name"], Path(c["spend_dir"])) for c in gen["councils"]]
    config = write_config(main_dir / "councils.yml", cfg, main_dir / "empty")
    server = reset_pg_database(pg_database)
    env = {
        **isolated_env(main_dir, config, main_dir / "warehouse.duckdb", target="postgres"),
        "PROCURE_PG_DATABASE": pg_database,
    }
    runner = Runner(work, env)
    months = month_starts(FIRST_MONTH, size.months)
    rows = gen["rows"]
    stages: dict[str, Any] = {}
    for stage in STAGES:
        m = runner.run(stage, last_month=months[-1].isoformat(), first_month=months[0].isoformat())
        m["rows_per_s"] = round(rows / m["seconds"], 1)
        stages[stage] = m
        save_partial(out, size_name, rows, target="postgres", stages=stages)
    ingest = stages["ingest"]["result"]
    if ingest["rows_loaded"] + ingest["rows_quarantined"] != rows:
        raise StageFailed(f"ingest accounted for {ingest} of {rows} generated rows")
    if not stages["gate"]["result"].get("passed"):
        raise StageFailed(f"the gate on PostgreSQL did not pass: {stages['gate']['result']}")
    build = stages["build"]["result"]
    # the pipeline as its steps: the build's own step times split it into resolution, mirror and dbt
    steps = {
        "ingest": stages["ingest"]["seconds"],
        **{f"build_{k}": v for k, v in build["seconds"].items()},
        "gate": stages["gate"]["seconds"],
        "publish": stages["publish"]["seconds"],
    }
    pipeline_s = round(sum(s["seconds"] for s in stages.values()), 3)
    results = {
        "complete": True,
        "target": "postgres",
        "commit": commit,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size_name,
        "councils": size.councils,
        "months": size.months,
        "rows": rows,
        "rows_loaded": ingest["rows_loaded"],
        "rows_quarantined": ingest["rows_quarantined"],
        "csv_bytes": gen["bytes"],
        "files": gen["files"],
        "generate_s": round(generate_s, 3),
        "server": server,
        "database": pg_database,
        "stages": stages,
        "steps_s": steps,
        "pipeline_s": pipeline_s,
        "peak_rss_gb": round(runner.peak_rss_kb / 1024**2, 3),
        "peak_rss_child": max(runner.children, key=lambda c: c["peak_rss_gb"])["tag"],
        "children": runner.children,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "bench_s": round(time.perf_counter() - started, 3),
        "work_dir": str(work),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def fmt_postgres_table(results: dict[str, Any]) -> str:
    rows = [("step (marts on PostgreSQL)", "seconds", "rows/s")]
    for name, seconds in results["steps_s"].items():
        rows.append((name, f"{seconds:.1f}", f"{results['rows'] / seconds:,.0f}" if seconds else ""))
    rows.append(("pipeline", f"{results['pipeline_s']:.1f}", f"{results['rows'] / results['pipeline_s']:,.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    head = (
        f"size {results['size']}, target postgres: {results['councils']} councils x {results['months']} months, "
        f"{results['rows']:,} rows; {results['server'].split(',')[0]}"
    )
    return "\n".join([head, *lines, "", f"peak RSS {results['peak_rss_gb']} GB ({results['peak_rss_child']})"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_stage":
        return child_main(*argv[1:4])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="national")
    parser.add_argument("--work", type=Path, help="work folder (default bench/work/<size>)")
    parser.add_argument(
        "--target",
        choices=["duckdb", "postgres"],
        default="duckdb",
        help="warehouse of the marts (PROCURE_DBT_TARGET): postgres runs the pipeline end to end on the "
        "PROCURE_PG_* server and writes bench/results_postgres.json",
    )
    parser.add_argument("--out", type=Path, help="results file (default bench/results.json, or results_postgres.json)")
    parser.add_argument("--pg-database", default=os.environ.get("PROCURE_BENCH_PG_DATABASE", "bench"))
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="generator processes")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["airflow", "incremental", "postgres"],
        help="leave a measurement out (recorded as skipped); the smoke test keeps make test short",
    )
    parser.add_argument(
        "--airflow-port",
        type=int,
        default=int(os.environ.get("PROCURE_BENCH_AIRFLOW_PORT", "18380")),
        help="loopback port of the api-server started for the Airflow ingest measurement",
    )
    a = parser.parse_args(argv)
    if a.target == "postgres":
        out = (a.out or BENCH / "results_postgres.json").resolve()
        work = (a.work or BENCH / "work" / f"{a.size}_postgres").resolve()
        if not os.environ.get("PROCURE_PG_HOST"):
            print(
                "bench --target postgres needs a PostgreSQL server: set PROCURE_PG_HOST (and PROCURE_PG_PORT, "
                "PROCURE_PG_USER, PROCURE_PG_PASSWORD), or run `make bench TARGET=postgres`, which starts a "
                "throwaway server when the PostgreSQL server binaries are installed (apt-get install postgresql)",
                file=sys.stderr,
            )
            return 2
        try:
            results = run_postgres(a.size, work, out, a.pg_database, a.workers)
        except StageFailed as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
        print(fmt_postgres_table(results))
        print(f"\nwrote {out}")
        return 0
    work = (a.work or BENCH / "work" / a.size).resolve()
    a.out = a.out or BENCH / "results.json"
    try:
        results = run(a.size, work, a.out.resolve(), a.pg_database, a.workers, frozenset(a.skip), a.airflow_port)
    except StageFailed as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    print(fmt_table(results))
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
