"""OCDS notice flattening and upserts, against the 201 real Contracts Finder releases."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.extract.notices_loader import (
    flatten_release,
    load_notice_dir,
    loads_tolerant,
    releases_in,
    upsert_releases,
)
from procure.warehouse import connect

CF_DIR = ("contracts_finder_ocds", "cf_2025-01_2025-03_releases_apa999")
# OneRelease.json and Release1.json hold the same release (same ocid + id); they differ only
# in one street address, an artefact of how the files were lifted out of Swift literals.
SAME_KEY_FILES = ("OneRelease.json", "Release1.json")
TABLES = ("notice_releases", "notice_parties", "notice_awards")


def _release(ocid: str = "ocds-test-1", rid: str = "r1", **extra) -> dict:
    release = {
        "ocid": ocid,
        "id": rid,
        "date": "2025-01-23T10:00:00Z",
        "tag": ["award"],
        "buyer": {"id": "GB-LAE-NOR", "name": "Norwich City Council"},
        "tender": {"title": "Grounds maintenance", "value": {"amount": 125000, "currency": "GBP"}},
        "parties": [{"id": "GB-COH-01234567", "name": "Acme Ltd", "roles": ["supplier"]}],
        "awards": [
            {
                "id": "a1",
                "status": "active",
                "value": {"amount": 120000.5, "currency": "GBP"},
                "suppliers": [{"id": "GB-COH-01234567", "name": "Acme Ltd"}],
            }
        ],
    }
    release.update(extra)
    return release


def _counts(con) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def real_files() -> list[Path]:
    return sorted(shared_data(*CF_DIR).glob("*.json"))


@pytest.fixture(scope="module")
def real_flattened(real_files):
    return [flatten_release(r, path.name) for path in real_files for r in releases_in(path)]


@pytest.fixture
def con(tmp_path):
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


# --------------------------------------------------------------------------- real releases


def test_all_real_releases_flatten(real_files, real_flattened):
    assert len(real_files) == 201
    assert len(real_flattened) == 201
    for path, item in zip(real_files, real_flattened, strict=True):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert item.release["release_key"] == f"{doc['ocid']}/{doc['id']}"
        assert item.release["source_file"] == path.name
        assert len(item.release["content_sha256"]) == 64
        assert json.loads(item.release["release_json"])["ocid"] == doc["ocid"]
        assert all(p["release_key"] == item.release["release_key"] for p in item.parties)
        assert all(a["release_key"] == item.release["release_key"] for a in item.awards)
    keys = {i.release["release_key"] for i in real_flattened}
    assert len(keys) == 200  # the two SAME_KEY_FILES share one key
    assert sum(len(i.awards) for i in real_flattened) > 100
    assert sum(len(i.parties) for i in real_flattened) > 200


def test_html_entities_are_unescaped_in_names(real_files, real_flattened):
    by_file = {i.release["source_file"]: i for i in real_flattened}
    raw = (shared_data(*CF_DIR) / "Release52.json").read_text(encoding="utf-8")
    assert "St Bede&apos;s" in raw
    title = by_file["Release52.json"].release["title"]
    assert "St Bede's Catholic" in title
    for item in real_flattened:
        texts = [item.release["title"], item.release["description"], item.release["buyer_name"]]
        texts += [p["name"] for p in item.parties] + [a["supplier_name"] for a in item.awards]
        for text in filter(None, texts):
            assert "&apos;" not in text and "&amp;" not in text and "&quot;" not in text


def test_html_entities_unescaped_in_party_and_supplier_names():
    release = _release(
        buyer={"id": "B", "name": "Smith &amp; Jones Council"},
        parties=[{"id": "P1", "name": "O&#39;Brien &amp; Sons", "address": {"locality": "King&apos;s Lynn"}}],
        awards=[{"id": "a1", "suppliers": [{"id": "P1", "name": "O&#39;Brien &amp; Sons"}]}],
    )

    item = flatten_release(release, "x.json")

    assert item.release["buyer_name"] == "Smith & Jones Council"
    assert item.parties[0]["name"] == "O'Brien & Sons"
    assert item.parties[0]["locality"] == "King's Lynn"
    assert item.awards[0]["supplier_name"] == "O'Brien & Sons"


def test_real_placeholder_award_values_become_none(real_files, real_flattened):
    placeholder_awards = 0
    for path, item in zip(real_files, real_flattened, strict=True):
        doc = json.loads(path.read_text(encoding="utf-8"))
        values = {str(a["id"]): (a.get("value") or {}).get("amount") for a in doc.get("awards") or []}
        for award in item.awards:
            amount = values[award["award_id"]]
            if amount in (0, 0.1, 1):
                placeholder_awards += 1
                assert award["value_gbp"] is None, (path.name, award["award_id"])
            elif amount is not None:
                assert award["value_gbp"] == Decimal(str(amount)).quantize(Decimal("0.01"))
    assert placeholder_awards >= 8


@pytest.mark.parametrize(("amount", "expected"), [(0, None), (0.1, None), (1, None), (2, Decimal("2.00"))])
def test_placeholder_values_become_none(amount, expected):
    release = _release(tender={"title": "t", "value": {"amount": amount}})
    release["awards"][0]["value"] = {"amount": amount}
    item = flatten_release(loads_tolerant(json.dumps(release)), "x.json")

    assert item.release["tender_value_gbp"] == expected
    assert item.awards[0]["value_gbp"] == expected


def test_release_without_ocid_is_an_error_naming_the_file():
    with pytest.raises(ValueError, match=r"bad\.json"):
        flatten_release({"id": "r1"}, "bad.json")


# --------------------------------------------------------------------------- JSON parsing


def test_loads_tolerant_replaces_overflowing_number_with_none(caplog):
    with caplog.at_level(logging.WARNING, logger="procure.extract.notices_loader"):
        assert loads_tolerant(b'{"a": 1e9999}') == {"a": None}
    assert any("1e9999" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_loads_tolerant_keeps_numbers_exact():
    doc = loads_tolerant('{"a": 0.1, "b": 12, "c": 1234567.89}')
    assert doc == {"a": Decimal("0.1"), "b": Decimal("12"), "c": Decimal("1234567.89")}


def test_releases_in_accepts_packages_and_bare_releases(tmp_path):
    package = tmp_path / "package.json"
    package.write_text(json.dumps({"uri": "x", "releases": [_release(rid="r1"), _release(rid="r2")]}))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(_release(rid="r3")))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"records": []}))

    assert [r["id"] for r in releases_in(package)] == ["r1", "r2"]
    assert [r["id"] for r in releases_in(bare)] == ["r3"]
    with pytest.raises(ValueError, match=r"other\.json"):
        releases_in(other)


# --------------------------------------------------------------------------- upserts


def test_upserting_same_releases_twice_changes_nothing(con):
    items = [flatten_release(_release(rid=f"r{i}"), "p.json") for i in range(3)]

    first = upsert_releases(con, items, "run-1")
    counts_first = _counts(con)
    second = upsert_releases(con, items, "run-2")

    assert first == {"new": 3, "changed": 0, "unchanged": 0, "stale": 0}
    assert second == {"new": 0, "changed": 0, "unchanged": 3, "stale": 0}
    assert counts_first == {"notice_releases": 3, "notice_parties": 3, "notice_awards": 3}
    assert _counts(con) == counts_first
    assert con.execute("select distinct run_id from raw.notice_releases").fetchall() == [("run-1",)]


def test_edited_release_replaces_the_old_row(con):
    original = _release()
    edited = _release(
        tender={"title": "Grounds maintenance (amended)", "value": {"amount": 130000}},
        parties=[{"id": "GB-COH-07654321", "name": "Other Ltd", "roles": ["supplier"]}],
        awards=[],
    )
    upsert_releases(con, [flatten_release(original, "a.json")], "run-1")

    result = upsert_releases(con, [flatten_release(edited, "b.json")], "run-2")

    assert result == {"new": 0, "changed": 1, "unchanged": 0, "stale": 0}
    assert con.execute(
        "select release_key, title, tender_value_gbp, source_file, run_id from raw.notice_releases"
    ).fetchall() == [("ocds-test-1/r1", "Grounds maintenance (amended)", Decimal("130000.00"), "b.json", "run-2")]
    assert con.execute("select party_id from raw.notice_parties").fetchall() == [("GB-COH-07654321",)]
    assert _counts(con)["notice_awards"] == 0


def test_real_release_edit_is_changed_not_duplicated(con, real_flattened):
    by_file = {i.release["source_file"]: i for i in real_flattened}
    old, new = (by_file[name] for name in SAME_KEY_FILES)
    assert old.release["release_key"] == new.release["release_key"]
    assert old.release["content_sha256"] != new.release["content_sha256"]

    assert upsert_releases(con, [old], "run-1") == {"new": 1, "changed": 0, "unchanged": 0, "stale": 0}
    counts = _counts(con)
    assert upsert_releases(con, [new], "run-2") == {"new": 0, "changed": 1, "unchanged": 0, "stale": 0}

    assert _counts(con) == counts
    assert con.execute("select source_file from raw.notice_releases").fetchall() == [("Release1.json",)]


def test_real_releases_load_and_reload_unchanged(con, real_flattened):
    # one version of each release; see test_real_directory_reload_is_idempotent for both versions
    items = [i for i in real_flattened if i.release["source_file"] != "OneRelease.json"]

    first = upsert_releases(con, items, "run-1")
    counts = _counts(con)
    second = upsert_releases(con, items, "run-2")

    assert first == {"new": 200, "changed": 0, "unchanged": 0, "stale": 0}
    assert second == {"new": 0, "changed": 0, "unchanged": 200, "stale": 0}
    assert _counts(con) == counts
    assert counts["notice_releases"] == 200
    assert counts["notice_awards"] == sum(len(i.awards) for i in items)
    assert counts["notice_parties"] == sum(len(i.parties) for i in items)


def test_real_directory_reload_is_idempotent(con):
    directory = shared_data(*CF_DIR)
    load_notice_dir(con, directory, "run-1")
    counts = _counts(con)

    second = load_notice_dir(con, directory, "run-2")

    assert _counts(con) == counts
    assert second["changed"] == 0
