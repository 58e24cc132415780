"""OCDS 1.1.5 schema validation: errors are recorded beside the releases, never a reason to drop one."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import shared_data

from procure.extract.notices_loader import flatten_release, load_notice_dir, releases_in, upsert_releases
from procure.extract.ocds_validate import validate_release, validator
from procure.warehouse import connect

CF_DIR = ("contracts_finder_ocds", "cf_2025-01_2025-03_releases_apa999")


@pytest.fixture(scope="module")
def real_releases() -> list[dict]:
    files = sorted(shared_data(*CF_DIR).glob("*.json"))
    return [r for path in files for r in releases_in(path)]


@pytest.fixture
def con(tmp_path):
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def _plain(release: dict) -> dict:
    """A release as stored (Decimals from the tolerant decoder back to JSON numbers)."""
    return json.loads(flatten_release(release, "x.json").release["release_json"])


def test_the_shipped_schema_is_draft4_with_date_time_format_checks():
    v = validator()
    assert v.META_SCHEMA["id"] == "http://json-schema.org/draft-04/schema#"
    assert v.schema["id"] == "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
    assert "date-time" in v.format_checker.checkers  # rfc3339-validator installed, or formats go unchecked


def test_all_201_real_releases_are_validated_and_accounted_for(con, real_releases):
    assert len(real_releases) == 201
    direct = {f"{r['ocid']}/{r['id']}": len(validate_release(_plain(r))) for r in real_releases}
    load_notice_dir(con, shared_data(*CF_DIR), "run-1")

    held = dict(con.execute("select release_key, error_count from raw.notice_validation").fetchall())
    stored = {k for (k,) in con.execute("select release_key from raw.notice_releases").fetchall()}
    assert set(held) == stored == set(direct)  # every stored release version has a validation row
    errors = con.execute("select count(*) from raw.notice_validation_errors").fetchall()[0][0]
    assert errors == sum(held.values())
    # measured: the 201 real Contracts Finder releases are valid OCDS 1.1.5 (0 errors)
    assert sum(validate_release(_plain(r)) != [] for r in real_releases) == 0
    assert errors == 0


def test_a_wrong_typed_field_is_recorded_and_the_release_still_loaded(con, real_releases):
    bad = copy.deepcopy(real_releases[0])
    bad["tender"]["value"]["amount"] = "about fifty thousand"
    bad["date"] = "last Tuesday"
    key = f"{bad['ocid']}/{bad['id']}"

    assert upsert_releases(con, [flatten_release(bad, "bad.json")], "run-1")["new"] == 1

    assert con.execute("select count(*) from raw.notice_releases where release_key = ?", [key]).fetchall() == [(1,)]
    rows = con.execute(
        "select path, validator, message, source_file, run_id from raw.notice_validation_errors "
        "where release_key = ? order by error_no",
        [key],
    ).fetchall()
    assert rows == [
        ("$.date", "format", "'last Tuesday' is not a 'date-time'", "bad.json", "run-1"),
        ("$.tender.value.amount", "type", "'about fifty thousand' is not of type 'number', 'null'", "bad.json",
         "run-1"),
    ]  # fmt: skip
    assert con.execute("select error_count from raw.notice_validation where release_key = ?", [key]).fetchall() == [
        (2,)
    ]


def test_a_corrected_release_is_revalidated_and_reloading_is_idempotent(con, real_releases):
    good = real_releases[0]
    bad = copy.deepcopy(good)
    bad["tender"]["value"]["amount"] = "n/a"
    bad["date"] = good["date"]
    upsert_releases(con, [flatten_release(bad, "bad.json")], "run-1")
    assert con.execute("select count(*) from raw.notice_validation_errors").fetchall() == [(1,)]

    fixed = copy.deepcopy(good)
    fixed["tender"]["title"] = fixed["tender"].get("title", "") + " (corrected)"
    fixed["date"] = good["date"][:10] + "T23:59:59Z"  # a later edit replaces the bad version
    upsert_releases(con, [flatten_release(fixed, "fixed.json")], "run-2")
    snapshot = con.execute("select * from raw.notice_validation").fetchall()
    assert con.execute("select count(*) from raw.notice_validation_errors").fetchall() == [(0,)]
    assert [(r[3], r[4]) for r in snapshot] == [(0, "run-2")]

    upsert_releases(con, [flatten_release(fixed, "fixed.json")], "run-3")
    assert con.execute("select * from raw.notice_validation").fetchall() == snapshot
