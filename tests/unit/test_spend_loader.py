"""Spend loader: real council files, landed and loaded into a real DuckDB file.

Every source row is accounted for per file, the landing zone holds byte-identical copies,
the same bytes twice change nothing, a re-issue declared with ``replaces`` replaces its
file's rows whatever its name (tests/unit/test_spend_reissue.py: files add up, detected
re-issues), and an unreadable file is recorded as rejected without stopping the others.
Expected counts and totals are computed here with the csv module, not with the reader.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import shared_data

from procure.config import Council
from procure.extract.spend_loader import (
    SKIP_KINDS,
    _account,
    ingest_spend_files,
    load_council_spend,
    new_landed_files,
)
from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
HYNDBURN_2019 = "hyndburn_2019-06_spend-over-250_cr-line-endings.csv"
OXFORD = "oxford_2014-q2_expenditure-over-500_time-not-date.csv"  # 'Paid Date' holds only a time: Q2 from the name
DEVON = "devon_2025-04_spend-over-500_new-erp.csv"
STUB = "hyndburn_2022-09_spend-over-250_pcard-only-stub.csv"
DARLINGTON = "darlington_2011-11_payments-over-500_sql-preamble.csv"  # 20 lines before the header
FILES = (HYNDBURN, OXFORD, DEVON, STUB, DARLINGTON)
NO_HEADER = "hyndburn_2025-03_spend-over-250_no-header.csv"  # loads: column names from its last line
# no date column and no period in a title row or the file name: rejected until overrides['period'] says
UNDATED = "zz_payments-undated.csv"
UNDATED_BYTES = b"Payee,Reference,Net Amount\r\nACME LTD,R1,1250.00\r\nBETA LTD,R2,99.50\r\nGAMMA PLC,R3,10.00\r\n"

LOADED_AT = datetime(2025, 4, 1, 6, 0)
RAW_TABLES = ("councils", "spend_manifest", "spend_lines", "spend_quarantine")


def _hyndburn_records(path: Path) -> list[list[str]]:
    """Data records of a Hyndburn file with its header on line 1 (cp1252, plain amounts)."""
    with path.open(encoding="cp1252", newline="") as f:
        rows = list(csv.reader(f))
    return [cells for cells in rows[1:] if any(c.strip() for c in cells)]


def _hyndburn_total(path: Path) -> Decimal:
    return sum((Decimal(cells[6].replace(",", "")) for cells in _hyndburn_records(path)), Decimal("0.00"))


@pytest.fixture(autouse=True)
def landing(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "landing"
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(root))
    return root


@pytest.fixture
def drop(tmp_path) -> Path:
    folder = tmp_path / "drop" / "spend"
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


def _query(db: Path, sql: str, params=()) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _manifest(db: Path) -> dict[str, dict]:
    con = connect(db, read_only=True)
    try:
        cur = con.execute("select * from raw.spend_manifest")
        names = [d[0] for d in cur.description]
        return {row[names.index("source_file")]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
    finally:
        con.close()


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = connect(db, read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from raw.{t}").fetchall(), key=repr) for t in RAW_TABLES}
    finally:
        con.close()


# --------------------------------------------------------------------------- accounting


def test_every_source_row_is_accounted_for_per_file(council, db, drop):
    results = load_council_spend(council, "run-1", LOADED_AT, db)

    assert [r.source_file for r in results] == sorted(FILES)
    assert {r.status for r in results} == {"loaded"}
    manifest = _manifest(db)
    assert set(manifest) == set(FILES)
    for r in results:
        m = manifest[r.source_file]
        lines, total = _query(
            db,
            "select count(*), sum(amount_gbp) from raw.spend_lines where file_sha256 = ?",
            [m["file_sha256"]],
        )[0]
        quarantined = _query(db, "select count(*) from raw.spend_quarantine where file_sha256 = ?", [m["file_sha256"]])
        skipped = sum(m[k] for k in SKIP_KINDS)
        assert m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] + skipped, r.source_file
        assert (m["rows_loaded"], m["rows_quarantined"]) == (lines, quarantined[0][0]), r.source_file
        assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_skipped) == (
            m["rows_read"],
            m["rows_loaded"],
            m["rows_quarantined"],
            skipped,
        )
        assert m["amount_total_gbp"] == (total or Decimal("0.00")) == r.amount_total, r.source_file
        assert m["status"] == "loaded" and m["council_id"] == "testshire"

    hyndburn = manifest[HYNDBURN]
    records = _hyndburn_records(drop / HYNDBURN)
    assert len(records) == 180
    assert (hyndburn["rows_read"], hyndburn["rows_loaded"], hyndburn["rows_quarantined"]) == (180, 180, 0)
    assert hyndburn["amount_total_gbp"] == _hyndburn_total(drop / HYNDBURN)
    assert (str(hyndburn["first_payment_date"])[:7], hyndburn["period_months"]) == ("2017-01", "2017-01")
    # Oxford's 'Paid Date' is only a time: every line takes the quarter its file name gives (Q2 2014)
    assert (manifest[OXFORD]["rows_loaded"], manifest[OXFORD]["rows_quarantined"]) == (3836, 0)
    assert _query(db, "select distinct payment_date::varchar, date_precision from raw.spend_lines where source_file = ?",
                  [OXFORD]) == [("2014-04-01", "quarter")]  # fmt: skip
    assert "2014" in manifest[OXFORD]["column_evidence"] and manifest[OXFORD]["map_confidence"] > 0
    # Darlington's SQL query and title rows sit above the header: counted, not loaded
    assert manifest[DARLINGTON]["skipped_preamble"] >= 20


BAD_DATES = "hyndburn_2017-01_bad-dates.csv"


def _with_bad_dates(folder: Path, n: int = 10) -> Path:
    """Hyndburn January with the payment date of its first ``n`` lines made impossible (31/02/2017)."""
    lines = shared_data("spend", HYNDBURN).read_bytes().split(b"\r\n")
    for i in range(1, n + 1):
        cells = lines[i].split(b",")
        cells[5] = b"31/02/2017"
        lines[i] = b",".join(cells)
    path = folder / BAD_DATES
    path.write_bytes(b"\r\n".join(lines))
    return path


def test_quarantined_rows_carry_file_line_field_and_raw_text(council, db, tmp_path):
    bad = _with_bad_dates(tmp_path)
    ingest_spend_files(council, [bad], "run-1", LOADED_AT, db)

    rows = _query(
        db,
        "select source_file, source_line, field, reject_reason, raw_record from raw.spend_quarantine "
        "where source_file = ? order by source_line",
        [BAD_DATES],
    )
    assert len(rows) == 10
    assert rows[0][1] == 2
    physical = bad.read_text(encoding="cp1252").splitlines()
    for source_file, line, field, reason, raw in rows:
        assert source_file == BAD_DATES
        assert reason.startswith(f"{BAD_DATES} line {line}"), reason
        assert field == "Payment date"
        assert "'Payment date'" in reason and "not a real calendar date" in reason
        assert physical[line - 1].split(",")[0] in raw
    assert _manifest(db)[BAD_DATES]["status"] == "loaded"  # 10 of 180 quarantined: under the 20 % limit


def test_council_row_and_run_id_are_recorded(council, db):
    load_council_spend(council, "run-1", LOADED_AT, db)

    assert _query(db, "select * from raw.councils") == [
        ("testshire", "Testshire District Council", "TS1", 4, "Testshire District Council", "")
    ]  # buyer_names default to the council's name; no buyer_ids configured
    assert _query(db, "select distinct run_id from raw.spend_lines") == [("run-1",)]
    assert {row[0] for row in _query(db, "select loaded_at from raw.spend_manifest")} == {LOADED_AT}


# --------------------------------------------------------------------------- landing zone


def test_landing_zone_holds_byte_identical_copies(council, db, drop, landing):
    load_council_spend(council, "run-1", LOADED_AT, db)

    for name, m in _manifest(db).items():
        original = (drop / name).read_bytes()
        landed = Path(m["landing_path"])
        assert landed == landing / "spend" / "testshire" / m["file_sha256"] / name
        assert landed.read_bytes() == original
        assert hashlib.sha256(original).hexdigest() == m["file_sha256"]
        assert m["size_bytes"] == len(original)
        assert m["source_path"] == str(drop / name)


def test_rows_are_read_from_the_landed_copy(council, db, drop):
    """Once landed, the drop folder can be emptied: nothing the warehouse holds depends on it."""
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _snapshot(db)
    shutil.rmtree(drop)
    drop.mkdir()

    assert load_council_spend(council, "run-2", datetime(2025, 5, 1), db) == []
    assert _snapshot(db) == before


# --------------------------------------------------------------------------- idempotency


def test_same_bytes_twice_change_nothing(council, db, drop):
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _snapshot(db)
    shutil.copyfile(drop / HYNDBURN, drop / "renamed_copy_of_january.csv")  # same bytes, another name

    results = load_council_spend(council, "run-2", datetime(2025, 4, 2), db)

    assert {r.status for r in results} == {"unchanged"}
    copy = next(r for r in results if r.source_file == "renamed_copy_of_january.csv")
    assert HYNDBURN in copy.reason
    assert _snapshot(db) == before
    assert new_landed_files(council, db) == []


def test_declared_reissue_under_another_name_replaces_the_file(council, db, drop, tmp_path):
    load_council_spend(council, "run-1", LOADED_AT, db)
    before = _manifest(db)
    others_before = _query(
        db, "select file_sha256, count(*) from raw.spend_lines where source_file <> ? group by 1 order by 1", [HYNDBURN]
    )
    original = (drop / HYNDBURN).read_bytes().split(b"\r\n")
    # the council republishes January: one payment withdrawn, one late invoice added
    corrected = b"\r\n".join([*original[:5], *original[6:-1]]) + (
        b"\r\nTest Centre,Test Account,LATE INVOICE,B0099999/1,NEW SUPPLIER LTD,31/01/2017,1234.56\r\n"
    )
    fixed = tmp_path / "hyndburn-january-2017-CORRECTED.csv"
    fixed.write_bytes(corrected)
    expected_total = _hyndburn_total(fixed)

    [result] = ingest_spend_files(council, [fixed], "run-2", datetime(2025, 4, 2), db, replaces=[HYNDBURN])

    assert result.status == "loaded"
    assert result.superseded == [HYNDBURN]
    assert (result.rows_loaded, result.amount_total) == (180, expected_total)
    after = _manifest(db)
    old, new = after[HYNDBURN], after[fixed.name]
    assert old["file_sha256"] == before[HYNDBURN]["file_sha256"]
    assert (old["status"], old["superseded_by"]) == ("superseded", new["file_sha256"])
    assert fixed.name in old["reason"]
    assert (new["status"], new["period_months"]) == ("loaded", "2017-01")
    january = _query(
        db,
        "select file_sha256, count(*), sum(amount_gbp) from raw.spend_lines "
        "where payment_date between '2017-01-01' and '2017-01-31' group by 1",
    )
    assert january == [(new["file_sha256"], 180, expected_total)]
    assert _query(db, "select count(*) from raw.spend_lines where file_sha256 = ?", [old["file_sha256"]]) == [(0,)]
    late = _query(db, "select supplier_name, amount_gbp from raw.spend_lines where description = 'LATE INVOICE'")
    assert late == [("NEW SUPPLIER LTD", Decimal("1234.56"))]
    # other months untouched; the view dbt reads lists the current version only
    assert (
        _query(
            db,
            "select file_sha256, count(*) from raw.spend_lines where source_file not in (?, ?) group by 1 order by 1",
            [HYNDBURN, fixed.name],
        )
        == others_before
    )
    assert _query(db, "select source_file from raw.spend_files where period_months = '2017-01'") == [(fixed.name,)]

    # the old bytes dropped again are known (superseded): nothing changes back
    snapshot = _snapshot(db)
    [again] = ingest_spend_files(council, [drop / HYNDBURN], "run-3", datetime(2025, 4, 3), db)
    assert again.status == "unchanged"
    assert _snapshot(db) == snapshot


def test_another_month_does_not_replace_anything(council, db, drop):
    shutil.copyfile(shared_data("spend", HYNDBURN_2019), drop / HYNDBURN_2019)

    results = load_council_spend(council, "run-1", LOADED_AT, db)

    assert all(r.superseded == [] for r in results)
    assert {m["status"] for m in _manifest(db).values()} == {"loaded"}


# --------------------------------------------------------------------------- rejected files


def test_unreadable_file_is_rejected_recorded_and_does_not_stop_the_others(council, db, drop):
    (drop / UNDATED).write_bytes(UNDATED_BYTES)  # no date, no period: rejected
    truncated = gzip.compress((drop / HYNDBURN).read_bytes())
    (drop / "zz_truncated.csv").write_bytes(truncated[: len(truncated) // 2])  # gzip cut short, named .csv

    results = {r.source_file: r for r in load_council_spend(council, "run-1", LOADED_AT, db)}

    assert results[UNDATED].status == "rejected"
    assert results[UNDATED].reason.startswith(UNDATED)
    reason = results[UNDATED].reason
    # the message names the header seen, the roles found and missing, and the override that fixes it
    assert "no payment-date column" in reason and "['Payee', 'Reference', 'Net Amount']" in reason
    assert "amount_gbp = 'Net Amount'" in reason and "Roles missing: ['payment_date']" in reason
    assert "period: 'YYYY-MM'" in reason
    assert results["zz_truncated.csv"].status == "rejected"
    assert results["zz_truncated.csv"].reason.startswith("zz_truncated.csv: ")
    assert {results[name].status for name in FILES} == {"loaded"}
    manifest = _manifest(db)
    for name in (UNDATED, "zz_truncated.csv"):
        assert (manifest[name]["status"], manifest[name]["reason"]) == ("rejected", results[name].reason)
        assert manifest[name]["rows_loaded"] == 0
        # every record is kept in quarantine with the file's reason (nothing is lost)
        kept = _query(db, "select count(*), min(reject_reason), max(reject_reason) from raw.spend_quarantine "
                          "where file_sha256 = ?", [manifest[name]["file_sha256"]])  # fmt: skip
        assert kept == [(manifest[name]["rows_quarantined"], results[name].reason, results[name].reason)]
        assert Path(manifest[name]["landing_path"]).read_bytes() == (drop / name).read_bytes()
    assert manifest[UNDATED]["rows_quarantined"] == 4  # header and three payment lines
    rejected_sha = manifest[UNDATED]["file_sha256"]
    assert _query(db, "select count(*) from raw.spend_lines where file_sha256 = ?", [rejected_sha]) == [(0,)]
    assert _query(db, "select count(*) from raw.spend_files where source_file = ?", [UNDATED]) == [(0,)]

    # the same bytes with the same settings: reported as rejected again, nothing rewritten
    snapshot = _snapshot(db)
    again = {r.source_file: r for r in load_council_spend(council, "run-2", datetime(2025, 4, 2), db)}
    assert again[UNDATED].status == "rejected" and again[UNDATED].reason == results[UNDATED].reason
    assert _snapshot(db) == snapshot


def test_headerless_month_loads_with_no_overrides(council, db, drop):
    """Hyndburn 2025-03 has no header at the top; its last line names the columns."""
    shutil.copyfile(shared_data("spend", NO_HEADER), drop / NO_HEADER)
    [result] = ingest_spend_files(council, [drop / NO_HEADER], "run-1", LOADED_AT, db)

    with (drop / NO_HEADER).open(encoding="cp1252", newline="") as f:
        records = [c for c in csv.reader(f) if any(x.strip() for x in c)]
    payments = [c for c in records if c[16].strip() and c[14].strip()[:2].isdigit()]
    assert result.status == "loaded", result.reason
    assert result.rows_loaded == len(payments)

    def amount(text: str) -> Decimal:  # trailing minus marks a credit: '5,559.00-'
        text = text.replace(",", "").strip()
        return -Decimal(text[:-1]) if text.endswith("-") else Decimal(text)

    assert result.amount_total == sum((amount(c[16]) for c in payments), Decimal("0.00"))
    assert result.rows_read == result.rows_loaded + result.rows_quarantined + result.rows_skipped
    assert _manifest(db)[NO_HEADER]["status"] == "loaded"


def test_per_file_overrides_give_an_undated_file_its_period(council, db, drop):
    (drop / UNDATED).write_bytes(UNDATED_BYTES)
    load_council_spend(council, "run-1", LOADED_AT, db)
    assert _manifest(db)[UNDATED]["status"] == "rejected"
    assert new_landed_files(council, db) == []

    fixed = Council(
        id=council.id, name=council.name, spend_dir=drop, spend_file_overrides={"zz_payments-*": {"period": "2025-03"}}
    )
    assert fixed.overrides_for(HYNDBURN) == {}  # the other months keep theirs
    assert [f.original_name for f in new_landed_files(fixed, db)] == [UNDATED]  # new overrides: retried

    [result] = ingest_spend_files(fixed, [drop / UNDATED], "run-2", datetime(2025, 4, 2), db)

    assert (result.status, result.rows_loaded, result.amount_total) == ("loaded", 3, Decimal("1359.50"))
    assert _query(db, "select distinct payment_date::varchar, date_precision from raw.spend_lines "
                      "where source_file = ?", [UNDATED]) == [("2025-03-01", "month")]  # fmt: skip


def test_file_with_no_payment_lines_is_rejected(council, db, tmp_path):
    empty = tmp_path / "hyndburn_2025-09_spend-over-250.csv"
    empty.write_bytes(b"Service Cost Centre,Account Detail,Description,HBC ref no,Name,Payment date,Net Amount\r\n\r\n")

    [result] = ingest_spend_files(council, [empty], "run-1", LOADED_AT, db)

    assert result.status == "rejected"
    assert result.reason.startswith(f"{empty.name}: ")
    assert "no payment lines" in result.reason
    assert _manifest(db)[empty.name]["status"] == "rejected"


def test_missing_drop_folder_is_an_error_naming_the_council(tmp_path, db):
    missing = Council(id="nowhere", name="Nowhere", spend_dir=tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"'nowhere'.*spend_dir"):
        load_council_spend(missing, "run-1", LOADED_AT, db)


# --------------------------------------------------------------------------- reader contract


def test_row_dict_batches_and_arrow_batches_load_the_same(council, db, tmp_path, monkeypatch):
    """The reader may yield list[dict] or a pyarrow.Table (with or without reject_field)."""
    from procure.extract import spend_reader

    real = spend_reader.read_spend_file

    class AsRowDicts:
        def __init__(self, sf):
            self._sf = sf

        def __getattr__(self, name):
            return getattr(self._sf, name)

        def iter_batches(self):
            for batch in self._sf.iter_batches():
                rows = batch.to_pylist() if isinstance(batch, pa.Table) else batch
                yield [{k: v for k, v in row.items() if k != "reject_field"} for row in rows]

    files = [shared_data("spend", HYNDBURN_2019), _with_bad_dates(tmp_path)]
    ingest_spend_files(council, files, "run-1", LOADED_AT, db)
    arrow = _snapshot(db)

    monkeypatch.setattr(spend_reader, "read_spend_file", lambda *a, **k: AsRowDicts(real(*a, **k)))
    other = tmp_path / "other.duckdb"
    ingest_spend_files(council, files, "run-1", LOADED_AT, other)
    dicts = _snapshot(other)

    assert dicts["spend_lines"] == arrow["spend_lines"]
    assert len(dicts["spend_quarantine"]) == len(arrow["spend_quarantine"]) == 10
    # without reject_field the field is unknown (None), everything else is the same
    field_at = 5
    assert {row[field_at] for row in dicts["spend_quarantine"]} == {None}
    strip = [row[:field_at] + row[field_at + 1 :] for row in dicts["spend_quarantine"]]
    assert strip == [row[:field_at] + row[field_at + 1 :] for row in arrow["spend_quarantine"]]


def test_stats_from_readers_before_the_skip_kinds_still_add_up():
    old = {"records": 12, "accepted": 9, "rejected": 3, "blank_lines_skipped": 2}
    account = _account(old, preamble_lines=4)
    assert account["rows_read"] == 18 == 9 + 3 + sum(account[k] for k in SKIP_KINDS)
    new = {
        "rows_read": 10,
        "accepted": 5,
        "rejected": 1,
        "skipped_blank": 1,
        "skipped_preamble": 1,
        "skipped_repeated_header": 1,
        "skipped_total": 1,
    }
    assert _account(new, preamble_lines=99) == new


def test_reader_miscount_is_a_loud_error_not_a_silent_load(council, db, monkeypatch):
    from procure.extract import spend_reader

    real = spend_reader.read_spend_file

    class Miscounting:
        def __init__(self, sf):
            self._sf = sf

        def __getattr__(self, name):
            return getattr(self._sf, name)

        def iter_batches(self):
            yield from self._sf.iter_batches()
            self._sf.stats["accepted"] += 1

    monkeypatch.setattr(spend_reader, "read_spend_file", lambda *a, **k: Miscounting(real(*a, **k)))
    with pytest.raises(RuntimeError, match="reader counted 181 accepted"):
        ingest_spend_files(council, [shared_data("spend", HYNDBURN)], "run-1", LOADED_AT, db)
    assert _query(db, "select count(*) from raw.spend_lines") == [(0,)]


def test_a_warehouse_from_before_the_manifest_is_migrated(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "create schema raw; create table raw.spend_files (council_id varchar, source_file varchar, records integer);"
        "create table raw.spend_lines (council_id varchar, source_file varchar, record_index integer);"
        "insert into raw.spend_files values ('x', 'a.csv', 1)"
    )
    con.close()

    con = connect(path)
    try:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        )
        columns = [c[0] for c in con.execute("describe raw.spend_lines").fetchall()]
    finally:
        con.close()
    assert kinds["spend_files"] == "VIEW" and kinds["spend_manifest"] == "BASE TABLE"
    assert "is_redacted" in columns


def test_council_yaml_keys_for_urls_thresholds_and_per_file_overrides(tmp_path):
    from procure.config import ConfigError, load_councils

    path = tmp_path / "councils.yml"
    path.write_text(
        "councils:\n"
        "  - id: hyndburn\n"
        "    name: Hyndburn Borough Council\n"
        "    ons_code: E07000120\n"
        "    local_postcode_districts: [bb5]\n"
        "    publication_threshold_gbp: 250\n"
        "    spend_urls: [http://127.0.0.1:9/spend.csv]\n"
        "    spend_overrides: {encoding: cp1252}\n"
        "    spend_file_overrides:\n"
        "      'hyndburn_2025-03_*': {columns: [service_area, amount_gbp]}\n"
        "      '*-03_*': {date_format: dayfirst}\n",
        encoding="utf-8",
    )

    [council] = load_councils(path)

    assert (council.ons_code, council.local_postcode_prefixes) == ("E07000120", ("BB5",))
    assert council.publication_threshold_gbp == Decimal("250")
    assert council.spend_urls == ("http://127.0.0.1:9/spend.csv",)
    assert council.overrides_for(NO_HEADER) == {
        "encoding": "cp1252",
        "columns": ["service_area", "amount_gbp"],
        "date_format": "dayfirst",
    }
    assert council.overrides_for(HYNDBURN) == {"encoding": "cp1252"}

    path.write_text("councils:\n  - id: x\n    name: X\n    spend_urls: spend.csv\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"entry 1: spend_urls must be a list of URLs"):
        load_councils(path)


# --------------------------------------------------------------------------- one connection per run


class _Wrapped:
    """A real SpendFile whose iter_batches is replaced (the reader's contract stays the same)."""

    def __init__(self, sf, iter_batches):
        self._sf = sf
        self.iter_batches = lambda: iter_batches(sf)

    def __getattr__(self, name):
        return getattr(self._sf, name)


def test_a_file_failing_mid_load_rolls_back_alone_on_the_shared_connection(council, db, drop, monkeypatch):
    """One connection serves the whole run; a file that fails after some of its rows were
    inserted leaves none of them, is recorded as rejected, and the files after it load."""
    from procure.extract import spend_loader, spend_reader

    real = spend_reader.read_spend_file

    def fails_after_first_batch(sf):
        batches = sf.iter_batches(batch_rows=50)
        yield next(batches)
        raise spend_reader.SpendFileError(f"{sf.path.name} line 52: CSV structure error (injected)")

    def read(path, *args, **kwargs):
        sf = real(path, *args, **kwargs)
        return _Wrapped(sf, fails_after_first_batch) if Path(path).name == HYNDBURN else sf

    opened = []
    real_connect = spend_loader.connect
    monkeypatch.setattr(spend_reader, "read_spend_file", read)
    monkeypatch.setattr(spend_loader, "connect", lambda *a, **k: opened.append(a) or real_connect(*a, **k))

    results = {r.source_file: r for r in load_council_spend(council, "run-1", LOADED_AT, db)}

    assert len(opened) == 1  # one warehouse connection for the council's five files
    assert results[HYNDBURN].status == "rejected"
    assert results[HYNDBURN].reason == f"{HYNDBURN} line 52: CSV structure error (injected)"
    assert {results[n].status for n in FILES if n != HYNDBURN} == {"loaded"}
    sha = _manifest(db)[HYNDBURN]["file_sha256"]
    assert _query(db, "select count(*) from raw.spend_lines where file_sha256 = ?", [sha]) == [(0,)]
    assert _manifest(db)[HYNDBURN]["status"] == "rejected"
    loaded = sum(results[n].rows_loaded for n in FILES if n != HYNDBURN)
    assert _query(db, "select count(*) from raw.spend_lines") == [(loaded,)] and loaded > 0


def test_file_totals_dates_and_period_are_summed_batch_by_batch(council, db, monkeypatch):
    """The manifest's total, first/last date and period come from the file's own rows as they
    are inserted (many small batches here): the same as querying the loaded rows afterwards."""
    from procure.extract import spend_reader

    real = spend_reader.read_spend_file
    monkeypatch.setattr(
        spend_reader,
        "read_spend_file",
        lambda *a, **k: _Wrapped(real(*a, **k), lambda sf: sf.iter_batches(batch_rows=37)),
    )
    files = [shared_data("spend", name) for name in (*FILES, HYNDBURN_2019)]

    results = ingest_spend_files(council, files, "run-1", LOADED_AT, db)

    assert {r.status for r in results} == {"loaded"}
    for m in _manifest(db).values():
        total, first, last = _query(
            db,
            "select coalesce(sum(amount_gbp), 0), min(payment_date), max(payment_date) from raw.spend_lines "
            "where file_sha256 = ?",
            [m["file_sha256"]],
        )[0]
        months = _query(
            db,
            "select strftime(payment_date, '%Y-%m'), count(*) from raw.spend_lines where file_sha256 = ? "
            "and payment_date is not null group by 1 order by 1",
            [m["file_sha256"]],
        )
        period = ",".join(mo for mo, _ in months) or None  # every month present in the dates
        assert (m["amount_total_gbp"], m["first_payment_date"], m["last_payment_date"]) == (total, first, last)
        assert m["period_months"] == period, m["source_file"]
    assert sum(r.rows_loaded for r in results) > 37 * len(results)  # several batches per file


def test_councils_loaded_with_the_next_one_read_ahead_match_loading_them_one_by_one(council, drop, tmp_path):
    """iter_council_spend (what tasks.ingest_spend runs) lands and reads the next council's
    files in a worker thread while the current one loads: the warehouse ends up the same as
    loading each council on its own, and a council without its drop folder still fails
    naming it, after the councils before it were loaded."""
    from procure.extract.spend_loader import iter_council_spend

    other_drop = tmp_path / "other" / "spend"
    other_drop.mkdir(parents=True)
    for name in (HYNDBURN, HYNDBURN_2019, DEVON):
        shutil.copyfile(shared_data("spend", name), other_drop / name)
    other = Council(id="otherton", name="Otherton Borough Council", spend_dir=other_drop)
    missing = Council(id="nowhere", name="Nowhere", spend_dir=tmp_path / "absent")

    one_by_one = tmp_path / "one_by_one.duckdb"
    for c in (council, other):
        load_council_spend(c, "run-1", LOADED_AT, one_by_one)
    with pytest.raises(FileNotFoundError):
        load_council_spend(missing, "run-1", LOADED_AT, one_by_one)  # registered, then fails (as before)
    ahead = tmp_path / "ahead.duckdb"
    done = []
    with pytest.raises(FileNotFoundError, match=r"'nowhere'.*spend_dir"):
        for c, results in iter_council_spend([council, other, missing], "run-1", LOADED_AT, ahead):
            done.append((c.id, sorted(r.status for r in results)))

    assert done == [("testshire", ["loaded"] * len(FILES)), ("otherton", ["loaded"] * 3)]
    assert _snapshot(ahead) == _snapshot(one_by_one)
    assert ("nowhere",) in _query(ahead, "select council_id from raw.councils")
    again = list(iter_council_spend([council, other], "run-2", datetime(2025, 5, 1), ahead))
    assert [sorted({r.status for r in results}) for _, results in again] == [["unchanged"], ["unchanged"]]
    assert _snapshot(ahead) == _snapshot(one_by_one)
