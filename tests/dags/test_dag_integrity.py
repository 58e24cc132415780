"""DAG integrity: every DAG parses, is configured on purpose, hands over through assets
in one gated chain, and does no work when the scheduler parses its file.

The per-DAG expectations are spelled out here (not derived from the DAGs), so a DAG that
loses its owner, retries, schedule, pool or place in the asset chain fails a test.
"""

from __future__ import annotations

import ast
import graphlib
import itertools
import json
import os
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = ROOT / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))

WRITER_POOL = "duckdb_writer"  # the one-slot pool conftest's airflow_db fixture creates

# dag_id -> (task kind, schedule kind). I/O tasks retry with backoff (a council's server
# or an API can be briefly down); deterministic tasks (dbt, the gate, publishing) do not,
# because a retry would fail the same way.
EXPECTED_DAGS: dict[str, tuple[str, str]] = {
    "ingest_finance_spend": ("io", "cron"),
    "ingest_contract_register": ("io", "cron"),
    "ingest_procurement_notices": ("io", "cron"),
    "build_warehouse": ("deterministic", "assets"),
    "quality_gate": ("deterministic", "assets"),
    "publish_board_pack": ("deterministic", "assets_or_cron"),
    "publish_strategy_review": ("deterministic", "assets_or_cron"),
}
INGEST_DAGS = {d for d in EXPECTED_DAGS if d.startswith("ingest_")}
PUBLISH_DAGS = {d for d in EXPECTED_DAGS if d.startswith("publish_")}
GATED_MARTS_URI = "warehouse://marts/quality_gated"

# producer DAG -> consumer DAG through asset outlets and asset schedules
EXPECTED_CHAIN = {
    *((ingest, "build_warehouse") for ingest in INGEST_DAGS),
    ("build_warehouse", "quality_gate"),
    *(("quality_gate", publish) for publish in PUBLISH_DAGS),
}

HEAVY_MODULES = ("procure.tasks", "dbt", "great_expectations", "weasyprint", "duckdb")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.fixture(scope="module")
def dags(dagbag):
    assert dagbag.import_errors == {}, f"DAG import errors: {dagbag.import_errors}"
    return dagbag.dags


def _dag(dags, dag_id):
    assert dag_id in dags, f"DAG {dag_id!r} not found in {DAGS_DIR}; parsed: {sorted(dags)}"
    return dags[dag_id]


def _decorator_keywords(path: Path) -> dict[str, ast.expr]:
    """Keywords passed to the file's single ``@dag(...)`` decorator, read from the source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == "dag":
                    assert isinstance(decorator, ast.Call), f"{path.name}:{node.lineno}: bare @dag sets nothing"
                    calls.append((node.name, decorator))
    assert len(calls) == 1, f"{path.name}: expected exactly one @dag(...) function, found {len(calls)}"
    func_name, call = calls[0]
    assert func_name == path.stem, f"{path.name}: @dag function is {func_name!r}, expected {path.stem!r}"
    return {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}


def _schedule_asset_uris(dag) -> set[str]:
    """URIs of every asset in the DAG's asset schedule (empty for a time schedule)."""
    from airflow.sdk import Asset
    from airflow.sdk.definitions.asset import AssetBooleanCondition

    uris: set[str] = set()

    def walk(condition) -> None:
        if isinstance(condition, Asset):
            uris.add(condition.uri)
        elif isinstance(condition, AssetBooleanCondition):
            for part in condition.objects:
                walk(part)
        else:  # aliases and name/URI refs cannot be checked statically: keep the chain explicit
            raise AssertionError(f"{dag.dag_id}: schedule uses {condition!r}; use concrete Assets")

    condition = getattr(dag.timetable, "asset_condition", None)
    if condition is not None:
        walk(condition)
    return uris


def _effective_backoff(task) -> float:
    """Backoff multiplier as the scheduler applies it (Airflow 3.3 reads a bool True as 2.0)."""
    value = task.retry_exponential_backoff
    if isinstance(value, bool):
        return 2.0 if value else 0.0
    return float(value)


# 1. Everything parses, one DAG per file, file name == dag_id ------------------------------


def test_dag_folder_parses_without_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_dag_per_file_named_after_it(dags):
    stems = {path.stem for path in DAG_FILES}
    assert set(dags) == stems
    for dag_id, dag in dags.items():
        assert Path(dag.fileloc).stem == dag_id, f"{dag_id} is defined in {dag.fileloc}"
    assert set(dags) == set(EXPECTED_DAGS)


# 2. Each DAG is configured on purpose ------------------------------------------------------


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_owner_and_tags(dags, dag_id):
    dag = _dag(dags, dag_id)
    owner = dag.default_args.get("owner")
    assert owner and owner != "airflow", f"{dag_id}: default_args owner is {owner!r}"
    for task in dag.tasks:
        assert task.owner == owner, f"{dag_id}.{task.task_id}: owner {task.owner!r}"
    assert dag.tags, f"{dag_id}: no tags"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_retries(dags, dag_id):
    dag = _dag(dags, dag_id)
    assert dag.default_args.get("retries", 0) >= 1, f"{dag_id}: default_args retries must be >= 1"
    kind, _ = EXPECTED_DAGS[dag_id]
    assert dag.tasks, f"{dag_id}: no tasks"
    for task in dag.tasks:
        where = f"{dag_id}.{task.task_id}"
        if kind == "io":
            assert task.retries >= 2, f"{where}: I/O task with retries={task.retries}, expected >= 2"
            assert _effective_backoff(task) > 1.0, (
                f"{where}: retry_exponential_backoff={task.retry_exponential_backoff!r} gives a constant delay"
            )
        else:
            assert task.retries == 0, f"{where}: deterministic task with retries={task.retries}, expected 0"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_explicit_schedule(dags, dag_id):
    from airflow.sdk import CronTriggerTimetable

    dag = _dag(dags, dag_id)
    keywords = _decorator_keywords(DAGS_DIR / f"{dag_id}.py")
    assert "schedule" in keywords, f"{dag_id}: no schedule= in @dag(...)"
    timetable = dag.timetable
    assert timetable.can_be_scheduled, f"{dag_id}: {type(timetable).__name__} never runs by itself"
    _, schedule_kind = EXPECTED_DAGS[dag_id]
    if schedule_kind == "cron":
        assert isinstance(timetable, CronTriggerTimetable), f"{dag_id}: {type(timetable).__name__}"
        assert timetable.asset_condition is None
    elif schedule_kind == "assets_or_cron":
        # publishing runs on the clock (monthly pack, yearly review) and when the gate passes; a clock
        # run is still gated: the publishers refuse unless the latest gate run passed (require_gate)
        assert type(timetable).__name__ == "AssetOrTimeSchedule", f"{dag_id}: {type(timetable).__name__}"
        assert _schedule_asset_uris(dag) == {GATED_MARTS_URI}, f"{dag_id}: must wait on the gated marts only"
    else:
        assert type(timetable).__name__ == "AssetTriggeredTimetable", f"{dag_id}: {type(timetable).__name__}"
        assert _schedule_asset_uris(dag), f"{dag_id}: asset schedule with no assets"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_catchup_set_on_purpose(dag_id):
    """Airflow's default would otherwise apply silently, so the file must say catchup=True/False."""
    keywords = _decorator_keywords(DAGS_DIR / f"{dag_id}.py")
    assert "catchup" in keywords, f"{dag_id}: catchup not set in @dag(...)"
    value = keywords["catchup"]
    assert isinstance(value, ast.Constant) and isinstance(value.value, bool), (
        f"{dag_id}: catchup should be a literal True/False, got {ast.unparse(value)}"
    )


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_doc_md_and_max_active_runs(dags, dag_id):
    dag = _dag(dags, dag_id)
    assert dag.doc_md and dag.doc_md.strip(), f"{dag_id}: empty doc_md"
    assert dag.max_active_runs == 1, f"{dag_id}: max_active_runs={dag.max_active_runs}"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_warehouse_tasks_use_the_writer_pool(dags, dag_id):
    """DuckDB locks the file per process: tasks that open it queue in one pool of 1 slot.

    Writers are the tasks with warehouse:// outlets; the ingest, build and gate DAGs must
    have at least one, so removing an outlet cannot silently exempt a task. The publish
    tasks read the file, and a read-only connection is refused while another process
    writes (and blocks the writer while it reads), so they hold the pool too.
    """
    dag = _dag(dags, dag_id)
    writers = [t for t in dag.tasks if any(a.uri.startswith("warehouse://") for a in t.outlets)]
    if dag_id in INGEST_DAGS | {"build_warehouse", "quality_gate"}:
        assert writers, f"{dag_id}: no task declares a warehouse:// outlet"
    # the ingest DAGs' loads write without an outlet (their raw Asset is emitted once, at the end)
    readers = dag.tasks if dag_id in PUBLISH_DAGS | INGEST_DAGS else []
    for task in [*writers, *readers]:
        assert task.pool == WRITER_POOL, f"{dag_id}.{task.task_id}: pool {task.pool!r}, expected {WRITER_POOL!r}"


# Minutes each task may run (issue 16 item 2), spelled out per task: a task that loses its timeout, or
# gets one that does not fit its job, fails here. "*": every other task of the DAG (the dbt models).
EXPECTED_TIMEOUT_MINUTES: dict[str, dict[str, int]] = {
    "ingest_finance_spend": {"list_new_files": 10, "load_batch": 60, "emit_raw_spend": 10},
    "ingest_contract_register": {"list_new_files": 10, "load_batch": 60, "emit_raw_contracts": 10},
    "ingest_procurement_notices": {"load_notices": 120, "emit_raw_notices": 10},
    "build_warehouse": {"resolve_suppliers": 60, "seeds": 60, "cross_model_tests": 60, "*": 60},
    "quality_gate": {"run_checkpoints": 30},
    "publish_board_pack": {"render": 120},
    "publish_strategy_review": {"extract": 120},
}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_every_task_has_an_execution_timeout_sized_to_its_job(dags, dag_id):
    from datetime import timedelta

    dag = _dag(dags, dag_id)
    expected = EXPECTED_TIMEOUT_MINUTES[dag_id]
    seen = set()
    for task in dag.tasks:
        minutes = expected.get(task.task_id, expected.get("*"))
        assert minutes is not None, f"{dag_id}.{task.task_id}: no expected timeout (add it to this test)"
        assert task.execution_timeout == timedelta(minutes=minutes), (
            f"{dag_id}.{task.task_id}: execution_timeout {task.execution_timeout}, expected {minutes} min"
        )
        seen.add(task.task_id if task.task_id in expected else "*")
    assert seen == set(expected), f"{dag_id}: tasks expected but not found: {set(expected) - seen}"


@pytest.mark.parametrize("dag_id", sorted(INGEST_DAGS))
def test_ingest_dags_emit_their_raw_asset_once_per_run_after_every_load(dags, dag_id):
    """One asset event per ingest run, so one build: never from a mapped (per-file or per-batch) task.

    The emitting task is a teardown downstream of every other task: it runs whatever the loads'
    outcome (it skips when nothing changed) and does not decide the run's state, so a failed
    load still fails the run.
    """
    dag = _dag(dags, dag_id)
    emitters = [t for t in dag.tasks if any(a.uri.startswith("warehouse://raw/") for a in t.outlets)]
    assert len(emitters) == 1, f"{dag_id}: raw Assets emitted by {[t.task_id for t in emitters]}"
    [emit] = emitters
    assert emit.is_teardown and not emit.on_failure_fail_dagrun, f"{dag_id}.{emit.task_id}: not a teardown"
    assert not getattr(emit, "is_mapped", False) and type(emit).__name__ != "MappedOperator"
    others = {t.task_id for t in dag.tasks} - {emit.task_id}
    assert others <= emit.get_flat_relative_ids(upstream=True), f"{dag_id}: {emit.task_id} not after every task"


def test_priority_weights_put_loads_before_builds_before_the_gate_before_publishing(dags):
    """Queued tasks take the one writer slot by weight: an ingest run's loads go in back to back."""
    ranks = (INGEST_DAGS, {"build_warehouse"}, {"quality_gate"}, PUBLISH_DAGS)
    weights = []
    for group in ranks:
        tasks = [t for d in sorted(group) for t in _dag(dags, d).tasks]
        for t in tasks:
            rule = getattr(t.weight_rule, "value", t.weight_rule)
            assert str(rule).lower().endswith("absolute"), f"{t.dag_id}.{t.task_id}: weight_rule {t.weight_rule!r}"
        weights.append({t.priority_weight for t in tasks})
    for higher, lower in itertools.pairwise(weights):
        assert min(higher) > max(lower), weights


def test_dbt_tasks_build_without_unit_tests(dags):
    """Production builds leave dbt's unit tests (the SQL on fixed inputs) to the test suite; data tests run."""
    from procure.transform.dbt_build import PRODUCTION_BUILD_FLAGS

    dbt_tasks = [t for t in _dag(dags, "build_warehouse").tasks if hasattr(t, "dbt_cmd_flags")]
    assert len(dbt_tasks) > 20, "the build renders one task per dbt model"
    wrong = [t.task_id for t in dbt_tasks if list(PRODUCTION_BUILD_FLAGS) != t.dbt_cmd_flags[-2:]]
    assert not wrong, wrong
    assert list(PRODUCTION_BUILD_FLAGS) == ["--exclude-resource-type", "unit_test"]


# 3. No cycles, inside a DAG or across the asset chain -------------------------------------


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_no_task_cycles(dags, dag_id):
    dag = _dag(dags, dag_id)
    dag.check_cycle()  # raises AirflowDagCycleException
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_asset_chain_is_acyclic_and_gated(dags):
    producers: dict[str, set[str]] = defaultdict(set)
    for dag in dags.values():
        for task in dag.tasks:
            for asset in task.outlets:
                producers[asset.uri].add(dag.dag_id)

    edges: set[tuple[str, str]] = set()
    for dag in dags.values():
        for uri in _schedule_asset_uris(dag):
            assert producers[uri], f"{dag.dag_id} waits on {uri}, which no DAG produces"
            edges |= {(producer, dag.dag_id) for producer in producers[uri]}

    upstream: dict[str, set[str]] = {dag_id: set() for dag_id in dags}
    for producer, consumer in edges:
        upstream[consumer].add(producer)
    try:
        order = list(graphlib.TopologicalSorter(upstream).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"cycle between DAGs through assets: {exc.args[1]}")
    assert set(order) == set(dags)

    assert edges == EXPECTED_CHAIN
    # nothing publishes from marts that have not passed the gate
    assert producers[GATED_MARTS_URI] == {"quality_gate"}
    for dag_id in PUBLISH_DAGS:
        assert _schedule_asset_uris(_dag(dags, dag_id)) == {GATED_MARTS_URI}, dag_id


# 4-5. Parsing does no I/O and imports nothing heavy ---------------------------------------

# Run in a fresh interpreter: imports every DAG file twice with importlib (not DagBag, which
# itself uses the metadata DB). The first pass warms up Airflow's own lazy set-up (config,
# time zones); then project modules are dropped from sys.modules and the files run again
# with recording on, so only the DAG files' and the project's import-time work is seen.
# Connections (sqlite3, socket, duckdb) and Variable/Connection look-ups are recorded in
# both passes: Airflow's own import makes none, and a pooled one would hide in pass two.
HARNESS = textwrap.dedent(
    r"""
    import importlib.abc, importlib.util, json, os, sys, sysconfig

    HEAVY = tuple(sys.argv[1].split(","))
    dag_files = [os.path.abspath(p) for p in sys.argv[2:]]

    def heavy_loaded():
        return sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in HEAVY))

    preloaded = heavy_loaded()
    installed = [os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()}]
    allowed = [*installed, "/proc", "/dev", *{os.path.dirname(f) for f in dag_files}]
    # read-only exception (see READ_ONLY_ALLOWED in the test module): the dbt project Cosmos renders from
    read_allowed = [os.path.realpath(p) for p in os.environ.get("INTEGRITY_READ_ALLOWED", "").split(os.pathsep) if p]
    events, state = [], {"recording": False, "busy": False}

    def under(path, roots):
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    def outside(path):
        if isinstance(path, int):
            return False
        path = os.fsdecode(path)
        return not path.endswith((".py", ".pyc")) and not under(path, allowed)

    def reads_allowed(args):
        path, mode, flags = args
        if isinstance(path, int):
            return False
        reading = mode in ("r", "rb") or (mode is None and (flags & os.O_ACCMODE) == os.O_RDONLY)
        return reading and under(os.fsdecode(path), read_allowed)

    def hook(event, args):
        if event in ("sqlite3.connect", "socket.connect"):
            # in both passes: a pooled connection opened in the first would go unseen in the second
            events.append({"event": event, "detail": repr(args)[:300]})
            return
        if not state["recording"] or state["busy"]:
            return
        state["busy"] = True
        try:
            if event == "open" and outside(args[0]) and not reads_allowed(args):
                events.append({"event": event, "detail": f"{os.fsdecode(args[0])} mode={args[1]} flags={args[2]}"})
            elif event in ("os.listdir", "os.scandir", "glob.glob"):
                path = "." if args[0] is None else args[0]
                caller = sys._getframe(1).f_code.co_filename
                if not caller.startswith("<frozen importlib") and outside(path):
                    events.append({"event": event, "detail": os.fsdecode(path)})
            elif event in ("subprocess.Popen", "os.system"):
                events.append({"event": event, "detail": repr(args)[:300]})
        finally:
            state["busy"] = False

    class PatchDuckdbConnect(importlib.abc.MetaPathFinder):
        # duckdb opens files in C++, unseen by audit hooks: record connect() and never open the file
        def find_spec(self, name, path, target=None):
            if name != "duckdb":
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            real_exec = spec.loader.exec_module

            def exec_module(module):
                real_exec(module)
                real_connect = module.connect

                def connect(database=":memory:", *args, **kwargs):
                    events.append({"event": "duckdb.connect", "detail": str(database)})
                    return real_connect(":memory:")

                module.connect = connect

            spec.loader.exec_module = exec_module
            return spec

    def record_calls(cls, name):
        # Variable/Connection look-ups go to the API server (or metadata DB) when a DAG is parsed
        real = getattr(cls, name)

        def recorder(klass, *args, **kwargs):
            events.append({"event": f"{cls.__name__}.{name}", "detail": repr(args)[:300]})
            return real(*args, **kwargs)

        setattr(cls, name, classmethod(recorder))

    def import_files(prefix):
        for path in dag_files:
            name = prefix + os.path.splitext(os.path.basename(path))[0]
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)

    from airflow.sdk import Connection, Variable

    record_calls(Variable, "get")
    record_calls(Connection, "get")
    sys.meta_path.insert(0, PatchDuckdbConnect())
    sys.addaudithook(hook)
    import_files("_integrity_warmup_")
    heavy = heavy_loaded()
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if origin and not under(origin, installed):
            del sys.modules[name]
    state["recording"] = True
    import_files("_integrity_checked_")
    state["recording"] = False
    print("INTEGRITY-RESULT " + json.dumps({"preloaded": preloaded, "heavy": heavy, "events": events}))
    """
)


# The one exception to "no file I/O at parse time": build_warehouse renders one task per dbt model with
# Cosmos from dbt's manifest (LoadMode.DBT_MANIFEST, written at set-up time by `procure build
# --manifest-only`), so Cosmos reads the manifest, dbt_project.yml and the seed files. Reading only, and
# only inside the dbt project: no database, no dbt run, no other file; any write there is still reported.
READ_ONLY_ALLOWED = (ROOT / "dbt_project",)


def _parse_in_subprocess(files: list[Path], cwd: Path, read_only_allowed: tuple[Path, ...] = ()) -> dict:
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "INTEGRITY_READ_ALLOWED": os.pathsep.join(map(str, read_only_allowed)),
    }
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, ",".join(HEAVY_MODULES), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, f"harness failed:\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("INTEGRITY-RESULT ")]
    assert len(lines) == 1, f"no result from harness:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    result = json.loads(lines[0].removeprefix("INTEGRITY-RESULT "))
    assert result["preloaded"] == [], "the harness itself imported a heavy module"
    return result


@pytest.fixture(scope="module")
def dag_parse():
    assert DAG_FILES, f"no DAG files in {DAGS_DIR}"
    return _parse_in_subprocess(DAG_FILES, ROOT, READ_ONLY_ALLOWED)


def test_parsing_dags_does_no_io(dag_parse):
    assert dag_parse["events"] == []


def test_dags_import_heavy_modules_lazily(dag_parse):
    assert dag_parse["heavy"] == []


LEAKY_DAG = '''
"""Breaks every parse-time rule, so the harness is shown to see each one."""
import socket
import sqlite3
from pathlib import Path

import duckdb
from airflow.sdk import Variable, dag, task

HERE = Path(__file__).resolve().parent
COUNCILS = (HERE.parent / "councils.yml").read_text()
THRESHOLD = Variable.get("spend_threshold", default=None)
WAREHOUSE = duckdb.connect(str(HERE.parent / "warehouse.duckdb"))
sqlite3.connect(str(HERE.parent / "airflow.db")).close()
try:
    socket.create_connection(("127.0.0.1", 9), timeout=0.2).close()
except OSError:
    pass


@dag(schedule=None)
def leaky_dag():
    @task
    def noop():
        return None

    noop()


leaky_dag()
'''


def test_parse_harness_reports_violations(tmp_path):
    dags_dir = tmp_path / "dags"
    dags_dir.mkdir()
    leaky = dags_dir / "leaky_dag.py"
    leaky.write_text(LEAKY_DAG, encoding="utf-8")
    (tmp_path / "councils.yml").write_text("councils: []\n", encoding="utf-8")

    result = _parse_in_subprocess([leaky], tmp_path)

    kinds = {event["event"] for event in result["events"]}
    assert {"open", "duckdb.connect", "sqlite3.connect", "socket.connect", "Variable.get"} <= kinds, result["events"]
    opened = [e["detail"] for e in result["events"] if e["event"] == "open"]
    assert any("councils.yml" in detail for detail in opened), opened
    assert "duckdb" in result["heavy"]
    assert not (tmp_path / "warehouse.duckdb").exists(), "the harness let duckdb open the real file"


WRITING_DAG = '''
"""Reads a manifest in the allowed folder (fine) and writes beside it (reported)."""
from pathlib import Path

from airflow.sdk import dag

PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = (PROJECT / "manifest.json").read_text()
(PROJECT / "written.json").write_text("{}")


@dag(schedule=None)
def writing_dag():
    pass


writing_dag()
'''


def test_parse_harness_allows_only_reading_the_dbt_project(tmp_path):
    """The exception for Cosmos' manifest is read-only: a write in the dbt project is still reported."""
    dags_dir = tmp_path / "dags"
    dags_dir.mkdir()
    project = tmp_path / "dbt_project"
    project.mkdir()
    (project / "manifest.json").write_text("{}", encoding="utf-8")
    path = dags_dir / "writing_dag.py"
    path.write_text(WRITING_DAG, encoding="utf-8")

    result = _parse_in_subprocess([path], tmp_path, (project,))

    opened = [e["detail"] for e in result["events"] if e["event"] == "open"]
    assert not any("manifest.json" in detail for detail in opened), opened
    assert any("written.json" in detail for detail in opened), opened


def test_build_warehouse_builds_on_the_configured_target(monkeypatch):
    """PROCURE_DBT_TARGET=postgres (configuration only): the raw layer is mirrored after the supplier
    resolution and before the seeds, and every dbt task runs on the postgres profile target."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PROCURE_DBT_TARGET", "postgres")
    bag = DagBag(dag_folder=str(DAGS_DIR / "build_warehouse.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["build_warehouse"]
    mirror = dag.get_task("mirror_raw")
    assert mirror.upstream_task_ids == {"resolve_suppliers"}
    assert mirror.downstream_task_ids == {"seeds"}
    dbt_tasks = [t for t in dag.tasks if hasattr(t, "profile_config")]
    assert len(dbt_tasks) > 20
    assert {t.profile_config.target_name for t in dbt_tasks} == {"postgres"}

    monkeypatch.setenv("PROCURE_DBT_TARGET", "duckdb")
    bag = DagBag(dag_folder=str(DAGS_DIR / "build_warehouse.py"))
    dag = bag.dags["build_warehouse"]
    assert "mirror_raw" not in dag.task_ids
    assert dag.get_task("seeds").upstream_task_ids == {"resolve_suppliers"}
    assert {t.profile_config.target_name for t in dag.tasks if hasattr(t, "profile_config")} == {"duckdb"}
