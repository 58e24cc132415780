"""Compiling releases into records (ocdsmerge with the local OCDS 1.1.5 schema), against real releases.

Expected values below were written by reading the release JSON files, not by running the code.
"""

from __future__ import annotations

import json
import socket
from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import shared_data

from procure.extract.notices_loader import flatten_release, upsert_releases
from procure.extract.ocds_records import SCHEMA_PATH, compile_releases, record_row, refresh_records
from procure.warehouse import connect

CF_DIR = ("contracts_finder_ocds", "cf_2025-01_2025-03_releases_apa999")
CAMBS = "ocds-b5fd17-3acef0bd-20d7-4df8-bbd7-01a3540dc2d6"  # two award releases, awards -13 and -14
SUFFOLK = "ocds-b5fd17-299e8fcb-19ae-4baf-9bf6-0676f602a94a"  # award, then awardUpdate of the same award


def _refresh_every_record(con, run_id: str) -> dict[str, int]:
    """Recompile every ocid the warehouse holds releases for."""
    ocids = [r[0] for r in con.execute("select distinct ocid from raw.notice_releases").fetchall()]
    return refresh_records(con, ocids, run_id)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """ocdsmerge downloads the schema when not given one: any socket here is a failure."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def by_ocid() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in sorted(shared_data(*CF_DIR).glob("*.json")):
        release = json.loads(path.read_bytes())
        out.setdefault(release["ocid"], []).append(release)
    return out


def test_schema_ships_with_the_package():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/1__1__5/release-schema.json")


def test_two_award_releases_compile_into_both_awards(by_ocid):
    row = record_row(CAMBS, by_ocid[CAMBS])
    assert row["release_count"] == 2
    assert row["buyer_name"] == "Cambridgeshire County Council"
    assert row["title"] == "Placements Award Notice's"
    assert row["tender_status"] == "complete"
    assert row["cpv_code"] == "85000000"
    assert row["award_count"] == 2
    assert row["award_value_gbp"] is None  # both awards say 0: a placeholder, unknown
    assert row["first_award_date"] == datetime(2024, 12, 1)
    assert row["supplier_names"].split(" | ")[:2] == ["Outcomes First Group", "Aurora Group"]
    assert len(row["supplier_names"].split(" | ")) == 12 + 13
    assert row["vcse_supplier_count"] == 2  # Landmark International School, in each award
    assert row["sme_supplier_count"] == 0  # every supplier is "large"
    assert (row["contract_start_date"], row["contract_end_date"]) == (date(2024, 12, 2), date(2030, 1, 1))
    assert row["latest_release_date"] == datetime(2025, 3, 11, 12, 50, 28)
    compiled = json.loads(row["compiled_json"])
    assert compiled["tag"] == ["compiled"]
    assert sorted(a["id"] for a in compiled["awards"]) == [f"{CAMBS}-13", f"{CAMBS}-14"]
    assert len(compiled["parties"]) == 14  # buyer + 13 distinct suppliers, merged by id


def test_award_update_merges_into_the_same_award(by_ocid):
    row = record_row(SUFFOLK, by_ocid[SUFFOLK])
    assert row["release_count"] == 2
    assert row["release_ids"].split(",") == [
        "b7a62d09-8346-4a6d-bce6-efbf376ea587-832958",
        "b7a62d09-8346-4a6d-bce6-efbf376ea587-832959",
    ]
    assert row["award_count"] == 1
    assert row["award_value_gbp"] == Decimal("3036.96")
    assert row["supplier_names"] == "Cabs Smart"
    assert row["buyer_name"] == "Suffolk County Council Passenger Transport"
    assert (row["contract_start_date"], row["contract_end_date"]) == (date(2025, 3, 17), date(2025, 6, 27))


def test_later_release_wins_field_by_field():
    older = {
        "ocid": "ocds-x-1",
        "id": "1",
        "date": "2025-01-01T00:00:00Z",
        "tag": ["tender"],
        "tender": {"id": "t", "title": "Old title", "status": "active", "value": {"amount": 5000, "currency": "GBP"}},
    }
    newer = {
        "ocid": "ocds-x-1",
        "id": "2",
        "date": "2025-02-01T00:00:00Z",
        "tag": ["award"],
        "tender": {"id": "t", "title": "New title", "status": "complete"},
        "awards": [{"id": "a1", "status": "active", "value": {"amount": 4800, "currency": "GBP"}}],
    }
    row = record_row("ocds-x-1", [newer, older])  # order given does not matter: merged by date
    assert (row["title"], row["tender_status"], row["tender_value_gbp"]) == (
        "New title",
        "complete",
        Decimal("5000.00"),
    )
    assert row["award_value_gbp"] == Decimal("4800.00")


def test_duplicate_award_ids_collapse_with_a_recorded_warning():
    release = {
        "ocid": "ocds-x-2",
        "id": "1",
        "date": "2025-01-01T00:00:00Z",
        "tag": ["award"],
        "awards": [
            {"id": "1", "status": "active", "value": {"amount": 100, "currency": "GBP"}, "suppliers": [{"name": "A"}]},
            {"id": "1", "status": "active", "value": {"amount": 250, "currency": "GBP"}},
        ],
    }
    compiled, notes = compile_releases([release])
    assert len(compiled["awards"]) == 1
    assert compiled["awards"][0]["value"]["amount"] == 250  # the later object's fields win
    assert compiled["awards"][0]["suppliers"] == [{"name": "A"}]  # fields only the first had survive
    assert notes and "awards" in notes[0]
    assert "awards" in record_row("ocds-x-2", [release])["merge_warnings"]


def test_every_real_ocid_compiles_and_refresh_is_idempotent(tmp_path, by_ocid):
    con = connect(tmp_path / "w.duckdb")
    try:
        items = [flatten_release(r, "f.json") for rs in by_ocid.values() for r in rs]
        upsert_releases(con, items, "run-1")
        first = _refresh_every_record(con, "run-1")
        assert first == {"new": len(by_ocid), "changed": 0, "unchanged": 0}
        assert _refresh_every_record(con, "run-2") == {"new": 0, "changed": 0, "unchanged": len(by_ocid)}
        held = con.execute("select count(*), count(distinct ocid) from raw.notice_records").fetchall()[0]
        assert held == (190, 190)
        # an edit to one release changes that record only
        # (the latest release: an edit to the earlier one would be overridden by the later one)
        edited = json.loads(json.dumps(max(by_ocid[SUFFOLK], key=lambda r: r["date"])))
        edited["tender"]["title"] = "Amended"
        upsert_releases(con, [flatten_release(edited, "g.json")], "run-3")
        assert refresh_records(con, [SUFFOLK, CAMBS], "run-3") == {"new": 0, "changed": 1, "unchanged": 1}
        title = con.execute("select title from raw.notice_records where ocid = ?", [SUFFOLK]).fetchall()
        assert title == [("Amended",)]
    finally:
        con.close()


# --------------------------------------------------------------------------- hand-checked sample
# Expected values written from reading the release JSON files in CF_DIR (Release17.json;
# Release35.json + Release38.json; OneRelease.json + Release1.json), not from running the code.
# Dates keep the wall-clock time the notice states (an offset such as +01:00 is dropped).
# The contract period is the awarded contract's (awards[].contractPeriod), not the tender's estimate.

WELLAND = "ocds-b5fd17-d1441223-b3e7-45a9-9ff6-88fcdad59f37"  # one DPS call-off award, 12 SME suppliers
PROGRESS = "ocds-b5fd17-75afe551-b5e4-4538-a546-0547477d0f9f"  # a tender published, then edited 87 s later
MERTON = "ocds-b5fd17-e3b5f385-5989-4cf1-8849-01c247fc9c30"  # a direct award; the same release in two files

HAND_CHECKED = {
    WELLAND: {
        "release_count": 1,
        "release_ids": "a7425cdc-e7f7-44cc-a75a-7f77eeff79a7-819935",
        "latest_release_date": datetime(2025, 1, 23, 17, 32, 10),
        "buyer_id": "GB-SRS-sid4gov.cabinetoffice.gov.uk/SjTw969a",
        "buyer_name": "Welland Procurement Unit",
        "title": "RCC-1118-S-DPS Home to School DPS",
        "tender_status": "complete",
        "cpv_code": "60120000",
        "tender_value_gbp": Decimal("776888.48"),
        "award_count": 1,
        "award_value_gbp": Decimal("776888.48"),
        "first_award_date": datetime(2024, 9, 1),
        "supplier_names": "24x7 | A1 Taxis | Ace Cabs of Stamford | BA Taxis Ltd | Corby Jet Carz | NMI Taxis | "
        "Starline | Swift Transport | Take Me | TDST (Taxi Direct School Transport Ltd) | TLC Cabs | "
        "Star Cars Of Corby Ltd",
        "sme_supplier_count": 12,
        "vcse_supplier_count": 0,
        "contract_start_date": date(2024, 9, 1),
        "contract_end_date": date(2025, 8, 19),
    },
    PROGRESS: {
        "release_count": 2,
        "release_ids": "61663400-0e04-4dd3-9b52-ad091ff31932-819918,e22ded3b-515b-4309-8ab1-ce3c76e44ebe-819920",
        "latest_release_date": datetime(2025, 1, 23, 16, 37, 56),
        "buyer_id": "GB-CFS-4337",
        "buyer_name": "Progress Housing Group",
        "title": "Sumner House - Window Replacement",
        "tender_status": "active",
        "cpv_code": "45421112",
        "tender_value_gbp": Decimal("100000.00"),
        "award_count": 0,
        "award_value_gbp": None,
        "first_award_date": None,
        "supplier_names": None,
        "sme_supplier_count": 0,
        "vcse_supplier_count": 0,
        "contract_start_date": None,  # a tender: no contract awarded yet
        "contract_end_date": None,
    },
    MERTON: {
        "release_count": 1,  # OneRelease.json and Release1.json carry the same release id: stored once
        "release_ids": "2a1e3359-87a0-4fdd-ac61-20d5e6520a13-819950",
        "latest_release_date": datetime(2025, 1, 23, 22, 10, 19),
        "buyer_id": "GB-CFS-18525",
        "buyer_name": "London Borough of Merton",
        "title": "Parking Pilot - CEO",
        "tender_status": "complete",
        "cpv_code": "63712400",
        "tender_value_gbp": Decimal("372032.00"),
        "award_count": 1,
        "award_value_gbp": Decimal("93007.00"),
        "first_award_date": datetime(2024, 12, 22),
        "supplier_names": "Marstons holdings plc",
        "sme_supplier_count": 0,  # "scale": "large"
        "vcse_supplier_count": 0,
        "contract_start_date": date(2025, 1, 23),
        "contract_end_date": date(2025, 4, 23),
    },
}


@pytest.fixture(scope="module")
def loaded_records(tmp_path_factory) -> dict[str, dict]:
    """raw.notice_records after loading the real folder, as analysts read it."""
    from procure.extract.notices_loader import load_notice_dir

    con = connect(tmp_path_factory.mktemp("records") / "w.duckdb")
    try:
        load_notice_dir(con, shared_data(*CF_DIR), "run-1")
        _refresh_every_record(con, "run-1")
        cur = con.execute(f"select ocid, {', '.join(HAND_CHECKED[MERTON])} from raw.notice_records")
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cur.fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("ocid", list(HAND_CHECKED))
def test_compiled_record_matches_the_hand_checked_json(loaded_records, ocid):
    assert loaded_records[ocid] == HAND_CHECKED[ocid]


def test_edited_tender_keeps_both_notice_documents(by_ocid):
    # Release38 (16:36:29) has tender document id "2", its edit Release35 (16:37:56) id "3": merged by id
    compiled, notes = compile_releases(by_ocid[PROGRESS])
    assert [d["id"] for d in compiled["tender"]["documents"]] == ["2", "3"]
    assert compiled["tender"]["documents"][1]["dateModified"] == "2025-01-23T16:37:56Z"
    assert notes == []
