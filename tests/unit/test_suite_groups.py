"""The suite's xdist grouping (tests/conftest.py): tests sharing an outside resource never run at once."""

from __future__ import annotations

from conftest import AIRFLOW_STACK_MODULES, ROOT, xdist_group


def _modules() -> list[str]:
    """Every test module but this one (which names what it looks for)."""
    here = "tests/unit/test_suite_groups.py"
    return sorted(m for p in (ROOT / "tests").rglob("test_*.py") if (m := p.relative_to(ROOT).as_posix()) != here)


def test_every_postgresql_test_module_is_in_one_group():
    fixture = "pg_" + "clean"  # not spelled out: this module is not a PostgreSQL test
    pg = [m for m in _modules() if fixture in (ROOT / m).read_text(encoding="utf-8")]
    assert "tests/integration/test_postgres_portability.py" in pg
    assert {xdist_group(f"{m}::test_x") for m in pg} == {"postgresql-server"}


def test_every_module_that_starts_an_airflow_deployment_is_in_one_group():
    starters = [
        m
        for m in _modules()
        if any(s in (ROOT / m).read_text(encoding="utf-8") for s in ("AirflowStack(", "run_bench"))
    ]
    assert set(starters) <= AIRFLOW_STACK_MODULES, "add the module to AIRFLOW_STACK_MODULES"
    assert {xdist_group(f"{m}::test_x") for m in AIRFLOW_STACK_MODULES} == {"airflow-stack"}


def test_other_tests_group_by_module_so_module_fixtures_are_built_once():
    a = xdist_group("tests/e2e/test_pipeline_chain.py::test_chain_publishes_totals_that_match_the_input_files")
    b = xdist_group("tests/e2e/test_pipeline_chain.py::test_backfill_of_a_past_month_reproduces_the_same_outputs")
    assert a == b == "tests/e2e/test_pipeline_chain.py"
    assert xdist_group("tests/unit/test_config.py::test_x[1]") != a
