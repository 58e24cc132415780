"""Spend loader: real council files into a real DuckDB file, every source row accounted for.

Expected record counts are computed here with the csv module, not with the reader.
"""

from __future__ import annotations

import csv
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import shared_data

from procure.config import Council
from procure.extract.sniff import SpendFileError
from procure.extract.spend_loader import load_council_spend, spend_files
from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
OXFORD = "oxford_2014-q2_expenditure-over-500_time-not-date.csv"  # 'Paid Date' holds only a time
DEVON = "devon_2025-04_spend-over-500_new-erp.csv"
STUB = "hyndburn_2022-09_spend-over-250_pcard-only-stub.csv"
FILES = (HYNDBURN, OXFORD, DEVON, STUB)
NO_HEADER = "hyndburn_2025-03_spend-over-250_no-header.csv"  # raises without overrides['columns']

LOADED_AT = datetime(2025, 4, 1, 6, 0)
RAW_TABLES = ("councils", "spend_files", "spend_lines", "spend_quarantine")


def _data_records(path: Path) -> int:
    """Non-blank records after the header on line 1 (all FILES have it there)."""
    with path.open(encoding="latin-1", newline="") as f:
        rows = list(csv.reader(f))
    return sum(1 for cells in rows[1:] if any(c.strip() for c in cells))


@pytest.fixture
def drop(tmp_path) -> Path:
    folder = tmp_path / "landing" / "spend"
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(shared_data("spend", name), folder / name)
    return folder


@pytest.fixture
def council(drop) -> Council:
    return Council(id="testshire", name="Testshire District Council", spend_dir=drop, local_postcode_prefixes=("TS1",))


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "warehouse" / "procurement.duckdb"


def _file_accounts(db: Path) -> dict[str, tuple]:
    con = connect(db, read_only=True)
    try:
        return {
            name: (records, accepted, rejected, lines, quarantined, sha)
            for name, records, accepted, rejected, lines, quarantined, sha in con.execute(
                """
                select f.source_file, f.records, f.accepted, f.rejected,
                       (select count(*) from raw.spend_lines l
                         where l.council_id = f.council_id and l.source_file = f.source_file),
                       (select count(*) from raw.spend_quarantine q
                         where q.council_id = f.council_id and q.source_file = f.source_file),
                       f.file_sha256
                from raw.spend_files f
                """
            ).fetchall()
        }
    finally:
        con.close()


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of the raw spend tables, in a stable order."""
    con = connect(db, read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from raw.{t}").fetchall(), key=repr) for t in RAW_TABLES}
    finally:
        con.close()


def test_every_source_row_is_accounted_for(council, db, drop):
    loads = load_council_spend(council, "run-1", LOADED_AT, db)

    assert [f.source_file for f in loads] == sorted(FILES)
    assert {f.status for f in loads} == {"loaded"}
    accounts = _file_accounts(db)
    assert set(accounts) == set(FILES)
    for load in loads:
        records, accepted, rejected, lines, quarantined, _ = accounts[load.source_file]
        expected = _data_records(drop / load.source_file)
        assert (load.records, load.accepted, load.rejected) == (records, accepted, rejected)
        assert records == expected, load.source_file
        assert records == accepted + rejected == lines + quarantined, load.source_file
        assert (accepted, rejected) == (lines, quarantined), load.source_file
    assert accounts[HYNDBURN][:3] == (180, 180, 0)
    assert accounts[OXFORD][:3] == (3836, 0, 3836)


def test_council_and_file_metadata_are_recorded(council, db):
    load_council_spend(council, "run-1", LOADED_AT, db)

    con = connect(db, read_only=True)
    try:
        councils = con.execute("select * from raw.councils").fetchall()
        total, lines_total, first, last = con.execute(
            """
            select f.amount_total_gbp, (select sum(amount_gbp) from raw.spend_lines l
                                         where l.source_file = f.source_file),
                   f.first_payment_date, f.last_payment_date
            from raw.spend_files f where f.source_file = ?
            """,
            [HYNDBURN],
        ).fetchone()
        run_ids = con.execute("select distinct run_id from raw.spend_lines").fetchall()
    finally:
        con.close()

    assert councils == [("testshire", "Testshire District Council", "TS1", 4)]
    assert total == lines_total and total is not None
    assert first.year == last.year == 2017
    assert run_ids == [("run-1",)]


def test_oxford_time_only_dates_are_all_quarantined_with_file_line_and_field(council, db):
    load_council_spend(council, "run-1", LOADED_AT, db)

    con = connect(db, read_only=True)
    try:
        lines = con.execute("select count(*) from raw.spend_lines where source_file = ?", [OXFORD]).fetchone()[0]
        rejects = con.execute(
            "select source_line, reject_reason from raw.spend_quarantine where source_file = ? order by source_line",
            [OXFORD],
        ).fetchall()
    finally:
        con.close()

    assert lines == 0
    assert len(rejects) == 3836
    assert rejects[0][0] == 2
    for source_line, reason in rejects:
        assert reason.startswith(f"{OXFORD} line {source_line}"), reason
        assert "'Paid Date'" in reason


def test_rerun_changes_nothing(council, db):
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _snapshot(db)

    loads = load_council_spend(council, "run-2", datetime(2025, 4, 2), db)

    assert {f.status for f in loads} == {"unchanged"}
    assert _snapshot(db) == before


def test_replaced_file_replaces_all_its_rows(council, db, drop):
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _file_accounts(db)
    with (drop / HYNDBURN).open("ab") as f:
        f.write(b"Test Centre,Test Account,LATE INVOICE,B0099999/1,NEW SUPPLIER LTD,31/01/2017,1234.56\r\n")

    loads = {f.source_file: f for f in load_council_spend(council, "run-2", datetime(2025, 4, 2), db)}

    assert loads[HYNDBURN].status == "replaced"
    assert (loads[HYNDBURN].records, loads[HYNDBURN].accepted) == (181, 181)
    assert {loads[name].status for name in FILES if name != HYNDBURN} == {"unchanged"}
    after = _file_accounts(db)
    assert after[HYNDBURN][:5] == (181, 181, 0, 181, 0)
    assert after[HYNDBURN][5] != before[HYNDBURN][5]
    assert {k: v for k, v in after.items() if k != HYNDBURN} == {k: v for k, v in before.items() if k != HYNDBURN}
    con = connect(db, read_only=True)
    try:
        stale = con.execute(
            "select count(*) from raw.spend_lines where source_file = ? and (file_sha256 <> ? or run_id <> 'run-2')",
            [HYNDBURN, after[HYNDBURN][5]],
        ).fetchone()[0]
        files = con.execute("select count(*) from raw.spend_files where source_file = ?", [HYNDBURN]).fetchone()[0]
        late = con.execute(
            "select supplier_name, amount_gbp from raw.spend_lines where description = 'LATE INVOICE'"
        ).fetchall()
    finally:
        con.close()
    assert stale == 0
    assert files == 1
    assert [(name, str(amount)) for name, amount in late] == [("NEW SUPPLIER LTD", "1234.56")]


def test_failure_mid_load_leaves_the_warehouse_as_it_was(council, db, drop):
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _snapshot(db)
    # the first file changes (its replacement is written first), then a later file cannot be read
    with (drop / HYNDBURN).open("ab") as f:
        f.write(b"Test Centre,Test Account,LATE INVOICE,B0099999/1,NEW SUPPLIER LTD,31/01/2017,1234.56\r\n")
    shutil.copyfile(shared_data("spend", NO_HEADER), drop / f"zz_{NO_HEADER}")
    renamed = Council(id=council.id, name="Renamed Council", spend_dir=drop)
    assert spend_files(renamed)[-1].name == f"zz_{NO_HEADER}"

    with pytest.raises(SpendFileError, match=re.escape(f"zz_{NO_HEADER}")):
        load_council_spend(renamed, "run-2", datetime(2025, 4, 2), db)

    assert _snapshot(db) == before


def test_missing_or_empty_drop_folder_is_an_error_naming_the_council(tmp_path, db):
    missing = Council(id="nowhere", name="Nowhere", spend_dir=tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"'nowhere'.*spend_dir"):
        load_council_spend(missing, "run-1", LOADED_AT, db)

    (tmp_path / "empty").mkdir()
    empty = Council(id="empty", name="Empty", spend_dir=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"'empty': no files matching '\*\.csv'"):
        load_council_spend(empty, "run-1", LOADED_AT, db)
