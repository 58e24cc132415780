"""Builds the dbt warehouse whenever raw data changes, through astronomer-cosmos: one Airflow task per
dbt model, each running ``dbt build`` on that model (the model, then its data tests; dbt unit tests test the
SQL, not the data, and run in the test suite instead: ``procure.transform.dbt_build.PRODUCTION_BUILD_FLAGS``),
in the order of the dbt graph. Supplier names are resolved (raw.supplier_name_matches) and seeds loaded first; after the
models, the spend forecasts are computed in Python and the marts on them (``tag:forecast``) built; tests that
span models (relationships, the reconciliation tests) run once every model is built; only then is the marts
Asset updated for the quality gate.

The warehouse the marts are built in is configuration (``PROCURE_DBT_TARGET``: duckdb, the default, or
postgres; procure.config.warehouse_target): the dbt tasks run on that target, and on PostgreSQL the raw
layer (supplier matches included) is mirrored there before the seeds (procure.transform.postgres_mirror).

Every task holds the one-slot ``duckdb_writer`` pool (DuckDB allows one writer). The task graph is
rendered from dbt's manifest (``dbt_project/target/cosmos/manifest.json``, written at set-up time by
``procure build --manifest-only``, which ``make`` runs when the dbt project changes), so parsing this file
runs no dbt and opens no database.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    SeedRenderingBehavior,
    TestBehavior,
    TestIndirectSelection,
)

from procure.assets import MARTS, RAW_CONTRACTS, RAW_NOTICES, RAW_SPEND
from procure.config import cosmos_manifest_path, dbt_project_dir, warehouse_target
from procure.dag_defaults import BUILD_PRIORITY, DEFAULT_ARGS, NO_RETRY, WRITER_POOL, limits
from procure.transform.dbt_build import PRODUCTION_BUILD_FLAGS

# paths only (PROCURE_HOME, else the checkout): nothing is opened or read at parse time
DBT_PROJECT = dbt_project_dir()
MANIFEST = cosmos_manifest_path()
# configuration (an environment variable), read when the file is parsed: the task graph depends on it
TARGET = warehouse_target()


def procure_warehouse() -> str:
    """The warehouse file, resolved when a task runs (never at parse time) for dbt's profiles.yml."""
    from procure.config import warehouse_path

    return str(warehouse_path().resolve())


@dag(
    schedule=(RAW_SPEND | RAW_CONTRACTS | RAW_NOTICES),
    start_date=pendulum.datetime(2024, 4, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["transform", "dbt"],
    default_args={**DEFAULT_ARGS, **BUILD_PRIORITY},
    doc_md=__doc__,
    user_defined_macros={"procure_warehouse": procure_warehouse},
)
def build_warehouse():
    @task(pool=WRITER_POOL, **NO_RETRY, **limits("transform"))
    def resolve_suppliers() -> dict[str, int]:
        """Cluster supplier name variants into raw.supplier_name_matches, which the dbt models read."""
        from procure.transform.supplier_match import write_matches

        return write_matches()

    @task(pool=WRITER_POOL, **NO_RETRY, **limits("transform"))
    def mirror_raw() -> dict[str, int]:
        """Copy the DuckDB raw layer (with the supplier matches just written) to PostgreSQL, where dbt reads it."""
        from procure.transform.postgres_mirror import mirror_raw_to_postgres

        return mirror_raw_to_postgres()

    @task(pool=WRITER_POOL, **NO_RETRY, **limits("transform"))
    def seeds() -> int:
        """dbt seeds (lookups, KPI targets) and their tests."""
        from procure.transform.dbt_build import seed

        return len(seed(target=TARGET))

    models = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT,
            manifest_path=MANIFEST,
            project_name="procure",
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="procure",
            target_name=TARGET,
            profiles_yml_filepath=DBT_PROJECT / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            seed_rendering_behavior=SeedRenderingBehavior.NONE,
            enable_mock_profile=False,
            # built by the forecasts task, after the forecasting step they read
            exclude=["tag:forecast"],
        ),
        operator_args={
            # no dbt unit tests in production (they test the SQL, not the data): the rule in dbt_build
            "dbt_cmd_flags": list(PRODUCTION_BUILD_FLAGS),
            "pool": WRITER_POOL,
            "emit_datasets": False,
            "install_deps": False,
            "env": {"PROCURE_WAREHOUSE": "{{ procure_warehouse() }}"},
            **NO_RETRY,
            **limits("transform"),
        },
    )

    @task(pool=WRITER_POOL, **NO_RETRY, **limits("transform"))
    def forecasts() -> int:
        """Spend forecasts (statsmodels, in Python), then the dbt marts built on them (tag:forecast)."""
        from procure.transform.dbt_build import build_forecasts

        return len(build_forecasts(target=TARGET))

    @task(outlets=[MARTS], pool=WRITER_POOL, **NO_RETRY, **limits("transform"))
    def cross_model_tests() -> int:
        """Relationships and reconciliation tests, which read several models: the marts pass as a whole."""
        from procure.transform.dbt_build import cross_model_tests as run_tests

        return len(run_tests(target=TARGET))

    resolved = resolve_suppliers()
    if TARGET == "postgres":
        resolved = resolved >> mirror_raw()
    resolved >> seeds() >> models >> forecasts() >> cross_model_tests()


build_warehouse()
