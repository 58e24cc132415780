"""Shared test set-up: Airflow and project paths point inside the repo, never at ~/airflow.

Environment is set before anything imports Airflow. Tests that write the warehouse or
publish outputs get their own folders through the ``isolated_env`` fixture.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PROCURE_SHARED_DATA", ROOT.parent / "shared" / "data" / "real")).resolve()

os.environ.setdefault("PROCURE_HOME", str(ROOT))
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / "airflow_home"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

#: `make test` runs the suite in two pytest-xdist workers (gw0, gw1). Each has an Airflow home of its own
#: (SQLite allows one writer; a copy of the metadata DB `make airflow-db` migrated) and its own Cosmos cache.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    _main_home = Path(os.environ["AIRFLOW_HOME"])
    _home = _main_home / "xdist" / WORKER
    _home.mkdir(parents=True, exist_ok=True)
    if (_main_home / "airflow.db").is_file() and not (_home / "airflow.db").exists():
        shutil.copy(_main_home / "airflow.db", _home / "airflow.db")
    os.environ["AIRFLOW_HOME"] = str(_home)
    os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = str(_home / "cosmos")


#: modules that start a whole Airflow deployment on the fixed ports of bench/airflow_stack.py
AIRFLOW_STACK_MODULES = {"tests/e2e/test_scheduler_chain.py", "tests/integration/test_bench_tiny.py"}


def xdist_group(nodeid: str) -> str:
    """Which worker-exclusive group a test runs in: its module (module fixtures are built once), except
    tests sharing an outside resource, which run one after another on one worker: the PostgreSQL server
    (one database whose schemas each test drops and rebuilds) and the Airflow deployment's fixed ports."""
    module = nodeid.split("::")[0]
    if module in AIRFLOW_STACK_MODULES:
        return "airflow-stack"
    source = ROOT / module
    if source.suffix == ".py" and source.is_file():
        text = source.read_text(encoding="utf-8")
        if "pg_clean" in text or "mark.postgres" in text:
            return "postgresql-server"
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole groups (:func:`xdist_group`) to a worker. (xdist's own ``--dist loadgroup`` marks do not reach
    its scheduler under pytest 9, which no longer lets a plugin rename a test's node id.)"""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return GroupScheduling(config, log)


def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary root: shared by the xdist workers (each has its own basetemp below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if WORKER else base


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock across the xdist workers (the first builds a shared fixture, the other waits)."""
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


#: every mart the dbt project publishes (schema marts)
MARTS = (
    "fct_spend",
    "dim_supplier",
    "fct_contract_portfolio",
    "mart_spend_by_category",
    "mart_local_spend",
    "mart_supplier_concentration",
    "mart_off_contract_spend",
    "mart_procurement_kpis",
    "mart_spend_carbon_estimate",
    "mart_savings",
    "mart_social_value",
    "mart_spend_forecast",
    "mart_contract_renewals",
    "mart_contract_expiry",
    "mart_duplicate_payment_candidates",
    "mart_direct_awards",
    "mart_supplier_rationalisation",
    "mart_transparency_compliance",
)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data/real; the test is skipped when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set PROCURE_SHARED_DATA)", allow_module_level=True)
    return path


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's SQLite metadata DB, migrated once (`make test` has usually done it)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    db = home / "airflow.db"
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    subprocess.run(
        [str(airflow), "pools", "set", "duckdb_writer", "1", "DuckDB allows one writer per file"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return db


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The bundled sample data, generated once per session (deterministic)."""
    from procure_sample.generate import generate_sample

    root = shared_tmp(tmp_path_factory)
    out, done = root / "sample", root / "sample.done"
    with locked(root / "sample.lock"):
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            generate_sample(out)
            done.touch()
    return out


def write_config(path: Path, sample: Path, council_id: str = "norwich") -> Path:
    """A councils.yml pointing at generated sample data."""
    base = sample / council_id
    path.write_text(
        "councils:\n"
        f"  - id: {council_id}\n"
        "    name: Norwich City Council\n"
        f"    spend_dir: {base / 'spend'}\n"
        f"    contracts_file: {base / 'contracts' / 'contract_register.csv'}\n"
        f"    notices_dir: {base / 'notices'}\n"
        "    local_postcode_prefixes: [NR1, NR2, NR3, NR4, NR5, NR6, NR7, NR8, NR9, NR10, NR11, NR12, NR13, NR14]\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def isolated_env(tmp_path, monkeypatch, sample_dir) -> dict[str, Path]:
    """Warehouse, publish folder and council config of this test's own, on the sample data."""
    paths = {
        "warehouse": tmp_path / "warehouse" / "procurement.duckdb",
        "publish": tmp_path / "publish",
        "config": write_config(tmp_path / "councils.yml", sample_dir),
        "sample": sample_dir,
    }
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(paths["warehouse"]))
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(paths["publish"]))
    monkeypatch.setenv("PROCURE_CONFIG", str(paths["config"]))
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    return paths


@pytest.fixture
def pg_clean():
    """Connect to the PROCURE_PG_* server with the given schemas dropped (autocommit).

    Skips without a server, except on CI, where .ci/run must have started one.
    """
    if not os.environ.get("PROCURE_PG_HOST"):
        if os.environ.get("CI"):
            pytest.fail("CI must provide PostgreSQL (PROCURE_PG_* unset): see .ci/run")
        pytest.skip('no PostgreSQL: run `eval "$(bash .ci/start_postgres.sh)"` first')
    import psycopg2

    from procure.transform.postgres_mirror import pg_dsn

    opened = []

    def connect(*schemas: str):
        con = psycopg2.connect(pg_dsn())
        con.autocommit = True
        opened.append(con)
        with con.cursor() as cur:
            for schema in schemas:
                cur.execute(f"drop schema if exists {schema} cascade")
        return con

    yield connect
    for con in opened:
        con.close()


def gated_warehouse(tmp_path_factory, sample_dir: Path) -> Path:
    """A gate-passed warehouse on the sample data, built once per run through the CLI (shared by the publish
    tests, and by the xdist workers: the first to ask builds it while the other waits)."""
    root = shared_tmp(tmp_path_factory) / "publish_warehouse"
    root.mkdir(exist_ok=True)
    with locked(root.parent / "publish_warehouse.lock"):
        return _build_gated_warehouse(root, sample_dir)


def _build_gated_warehouse(root: Path, sample_dir: Path) -> Path:
    done, failed = root / "built", root / "failed"
    if done.exists():
        return root / "w.duckdb"
    if failed.exists():  # built once per session: do not repeat a failed build for every test
        pytest.fail(failed.read_text(encoding="utf-8"))
    env = {
        **os.environ,
        "PROCURE_WAREHOUSE": str(root / "w.duckdb"),
        "PROCURE_CONFIG": str(write_config(root / "councils.yml", sample_dir)),
        "PROCURE_PUBLISH_DIR": str(root / "publish"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
    }
    for step in (["ingest", "all", "--as-of", "2025-04-05"], ["build"], ["check", "--as-of", "2025-04-05"]):
        done_step = subprocess.run(
            [str(Path(sys.executable).parent / "procure"), *step], env=env, capture_output=True, text=True
        )
        if done_step.returncode != 0:
            failed.write_text(
                f"procure {' '.join(step)} failed:\n{done_step.stdout}\n{done_step.stderr}", encoding="utf-8"
            )
            pytest.fail(f"procure {' '.join(step)} failed:\n{done_step.stdout}\n{done_step.stderr}")
    done.write_text("ok", encoding="utf-8")
    return root / "w.duckdb"
