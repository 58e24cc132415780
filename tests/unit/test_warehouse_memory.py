"""Every warehouse connection caps DuckDB's memory at one configured limit (issue 13: peak RSS at national size).

Without a cap DuckDB keeps every block it reads cached, up to 80 % of RAM; the national ingest
peaked at 2.4 GB that way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from procure.config import (
    DUCKDB_MEMORY_LIMIT_DEFAULT,
    DUCKDB_MEMORY_LIMIT_ENV,
    PROJECT_ROOT,
    duckdb_memory_limit,
)
from procure.warehouse import connect


@pytest.mark.parametrize("read_only", [False, True])
def test_connections_are_capped_at_the_configured_limit(tmp_path: Path, monkeypatch, read_only: bool) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    monkeypatch.setenv(DUCKDB_MEMORY_LIMIT_ENV, "300MB")
    con = connect(path, read_only=read_only)
    try:
        assert con.execute("select current_setting('memory_limit')").fetchall()[0][0] == "286.1 MiB"
    finally:
        con.close()


def test_default_limit_applies_when_unset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(DUCKDB_MEMORY_LIMIT_ENV, raising=False)
    con = connect(tmp_path / "w.duckdb")
    try:
        assert duckdb_memory_limit() == DUCKDB_MEMORY_LIMIT_DEFAULT
        assert con.execute("select current_setting('memory_limit')").fetchall()[0][0] == "1.4 GiB"
    finally:
        con.close()


@pytest.mark.parametrize("value", ["lots", "0MB", "-1GB", "2 parsecs", "1e9"])
def test_a_bad_limit_is_a_clear_error(monkeypatch, value: str) -> None:
    monkeypatch.setenv(DUCKDB_MEMORY_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=rf"{DUCKDB_MEMORY_LIMIT_ENV}=.*expected an amount of memory"):
        duckdb_memory_limit()


@pytest.mark.parametrize(("value", "spelled"), [(" 2GB ", "2GB"), ("1.5gib", "1.5gib"), ("512 MB", "512MB")])
def test_limits_are_spelled_as_duckdb_reads_them(monkeypatch, value: str, spelled: str) -> None:
    monkeypatch.setenv(DUCKDB_MEMORY_LIMIT_ENV, value)
    assert duckdb_memory_limit() == spelled


def test_dbt_profile_defaults_to_the_same_limit() -> None:
    """dbt run by hand (or by Cosmos without the variable) gets the limit procure would set."""
    text = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    setting = yaml.safe_load(text)["procure"]["outputs"]["duckdb"]["settings"]["memory_limit"]
    assert setting == f"{{{{ env_var('{DUCKDB_MEMORY_LIMIT_ENV}', '{DUCKDB_MEMORY_LIMIT_DEFAULT}') }}}}"
