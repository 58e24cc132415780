"""dbt names that become relations must fit PostgreSQL's 63-character identifier limit.

dbt creates a temporary relation named after each unit test; on PostgreSQL a longer name is an error
(the DuckDB build passes, so only the portability test would find it, late).
"""

from __future__ import annotations

from pathlib import Path

import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
PG_MAX_IDENTIFIER = 63


def test_unit_test_and_model_names_fit_postgres_identifiers():
    too_long = []
    for path in (DBT_PROJECT / "models").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names = [t["name"] for t in doc.get("unit_tests") or []]
        names += [m["name"] for m in doc.get("models") or []]
        too_long += [f"{path.name}: {n}" for n in names if len(n) > PG_MAX_IDENTIFIER]
    too_long += [p.stem for p in (DBT_PROJECT / "models").rglob("*.sql") if len(p.stem) > PG_MAX_IDENTIFIER]
    assert not too_long, too_long
