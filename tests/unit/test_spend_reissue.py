"""Files for one month add up; a file replaces another only when it is its re-issue.

Real Hyndburn payments (../shared/data/real/spend) cut and edited here, loaded into a real
DuckDB file through the real loader. Expected totals come from the csv module, not the reader.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data

from procure.config import Council, load_councils
from procure.extract.spend_loader import ingest_spend_files
from procure.extract.spend_reissue import reissue_name
from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"  # 180 lines, all paid in January 2017
AT = datetime(2025, 4, 1, 6, 0)
TABLES = ("spend_manifest", "spend_lines", "spend_quarantine", "spend_replacements")


@pytest.fixture(autouse=True)
def landing(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path / "landing"


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "w.duckdb"


@pytest.fixture
def council(tmp_path) -> Council:
    return Council(id="hyndburn", name="Hyndburn Borough Council", spend_dir=tmp_path / "drop")


def _lines() -> tuple[bytes, list[bytes]]:
    """Header and data lines of the real January file (cp1252, CRLF, header on line 1)."""
    raw = shared_data("spend", HYNDBURN).read_bytes().split(b"\r\n")
    header, body = raw[0], [line for line in raw[1:] if line.strip(b", ")]
    assert len(body) == 180
    return header, body


def _write(folder: Path, name: str, header: bytes, body: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\r\n".join([header, *body]) + b"\r\n")
    return path


def _total(body: list[bytes]) -> Decimal:
    rows = csv.reader(io.StringIO(b"\r\n".join(body).decode("cp1252")))
    return sum((Decimal(r[6].replace(",", "")) for r in rows), Decimal("0.00"))


def _edit(line: bytes, amount: str) -> bytes:
    cells = next(csv.reader(io.StringIO(line.decode("cp1252"))))
    cells[6] = amount
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode("cp1252")


def _query(db: Path, sql: str, params=()) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _january(db: Path) -> tuple[int, Decimal]:
    return _query(
        db,
        "select count(*), sum(amount_gbp) from raw.spend_lines where payment_date between '2017-01-01' and '2017-01-31'",
    )[0]


def _status(db: Path) -> dict[str, str]:
    return dict(_query(db, "select source_file, status from raw.spend_manifest"))


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = connect(db, read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from raw.{t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


# --------------------------------------------------------------------------- files add up


def test_a_month_split_into_two_files_loads_the_whole_month(council, db, tmp_path):
    header, body = _lines()
    part1 = _write(tmp_path / "in", "hyndburn_2017-01_part1.csv", header, body[:90])
    part2 = _write(tmp_path / "in", "hyndburn_2017-01_part2.csv", header, body[90:])

    results = ingest_spend_files(council, [part1, part2], "run-1", AT, db)

    assert [(r.status, r.rows_loaded, r.superseded) for r in results] == [("loaded", 90, []), ("loaded", 90, [])]
    assert _january(db) == (180, _total(body))
    assert _status(db) == {part1.name: "loaded", part2.name: "loaded"}
    assert _query(db, "select period_months from raw.spend_manifest") == [("2017-01",), ("2017-01",)]
    assert _query(db, "select count(*) from raw.spend_replacements") == [(0,)]

    # the same two files again change nothing
    before = _snapshot(db)
    again = ingest_spend_files(council, [part2, part1], "run-2", datetime(2025, 4, 2), db)
    assert {r.status for r in again} == {"unchanged"}
    assert _snapshot(db) == before


def test_an_unrelated_file_for_the_same_month_does_not_replace_it(council, db, tmp_path):
    """Another body's January (other lines) and a card-payments file: neither is a re-issue."""
    header, body = _lines()
    main = _write(tmp_path / "in", HYNDBURN, header, body[:150])
    other_body = _write(tmp_path / "in", "hyndburn_leisure-trust_2017-01.csv", header, body[150:])
    # same name stem with a version mark, but only a third of the first file's lines: not a re-issue
    marked = _write(tmp_path / "in", "hyndburn_2017-01_spend-over-250_v2.csv", header, body[100:])

    results = ingest_spend_files(council, [main, other_body, marked], "run-1", AT, db)

    assert [r.superseded for r in results] == [[], [], []]
    assert set(_status(db).values()) == {"loaded"}
    lines, total = _january(db)
    assert lines == 150 + 30 + 80
    assert total == _total(body[:150]) + _total(body[150:]) + _total(body[100:])


def test_the_month_total_jump_of_two_overlapping_files_is_flagged_naming_both(council, db, tmp_path):
    """An annual file beside a monthly one doubles the month: the gate's raw_spend_months suite
    (real GX checkpoint on the real query) reports the month with both file names."""
    from procure.quality.gate import _gx_context, _load_suite, _validate

    raw_spend_months = _load_suite("raw_spend_months")

    header, body = _lines()
    months = []
    for month in ("03", "05", "07"):  # three ordinary months (31 days, as January), each its own file
        shifted = [line.replace(b"/01/2017", f"/{month}/2017".encode()) for line in body]
        months.append(_write(tmp_path / "in", f"hyndburn_2017-{month}.csv", header, shifted))
    january = _write(tmp_path / "in", "hyndburn_2017-01.csv", header, body)
    december = [line.replace(b"/01/2017", b"/12/2016") for line in body]
    annual = _write(tmp_path / "in", "hyndburn_2016-17_all-payments.csv", header, december + body)  # + January

    ingest_spend_files(council, [*months, january, annual], "run-1", AT, db)

    con = connect(db, read_only=True)
    try:
        frame = con.execute(raw_spend_months.QUERY).df()
    finally:
        con.close()
    flagged = frame[frame["overlap_jump"].notna()]
    assert list(flagged["overlap_jump"]) == [f"hyndburn 2017-01-01: {annual.name} + {january.name}"]
    context = _gx_context()
    batch = context.data_sources.add_pandas("w").add_dataframe_asset("m").add_batch_definition_whole_dataframe("all")
    checks = _validate(context, "raw_spend_months", raw_spend_months.build({}), batch, {"dataframe": frame})
    [jump] = [c for c in checks if c.column == "overlap_jump"]
    assert (jump.severity, jump.success) == ("warning", False)
    assert annual.name in jump.observed and january.name in jump.observed
    # without the overlap nothing is flagged
    frame_ok = frame.assign(overlap_jump=None)
    checks = _validate(context, "raw_spend_months_ok", raw_spend_months.build({}), batch, {"dataframe": frame_ok})
    assert [c.success for c in checks if c.column == "overlap_jump"] == [True]


# --------------------------------------------------------------------------- re-issues


def test_a_declared_reissue_replaces_and_is_recorded_with_both_files_figures(council, db, tmp_path):
    header, body = _lines()
    first = _write(tmp_path / "in", HYNDBURN, header, body)
    corrected_body = [_edit(body[0], "1.00"), *body[1:100]]  # re-cut: many lines dropped, one changed
    fix = _write(tmp_path / "in", "january-payments-reissued-by-finance.csv", header, corrected_body)
    ingest_spend_files(council, [first], "run-1", AT, db)

    [result] = ingest_spend_files(council, [fix], "run-2", AT, db, replaces=[HYNDBURN])

    assert (result.status, result.superseded) == ("loaded", [HYNDBURN])
    assert _january(db) == (100, _total(corrected_body))
    assert _status(db) == {HYNDBURN: "superseded", fix.name: "loaded"}
    [row] = _query(
        db,
        "select replaced_file, replaced_lines, replaced_total_gbp, replacing_file, replacing_lines, "
        "replacing_total_gbp, basis, evidence from raw.spend_replacements",
    )
    assert row == (
        HYNDBURN,
        180,
        _total(body),
        fix.name,
        100,
        _total(corrected_body),
        "declared",
        f"--replaces {HYNDBURN}",
    )


def test_a_declared_name_with_no_loaded_file_rejects_without_loading(council, db, tmp_path):
    header, body = _lines()
    first = _write(tmp_path / "in", HYNDBURN, header, body)
    ingest_spend_files(council, [first], "run-1", AT, db)
    before = _snapshot(db)
    other = _write(tmp_path / "in", "hyndburn_2017-02.csv", header, body[:10])

    [result] = ingest_spend_files(council, [other], "run-2", AT, db, replaces=["hyndburn_2017-01.csv"])

    assert result.status == "rejected"
    assert "'hyndburn_2017-01.csv'" in result.reason and "no file of that name" in result.reason
    assert _snapshot(db) == before  # nothing recorded: the corrected command line loads it
    [ok] = ingest_spend_files(council, [other], "run-3", AT, db, replaces=[HYNDBURN])
    assert (ok.status, ok.superseded) == ("loaded", [HYNDBURN])
    with pytest.raises(ValueError, match="exactly one file"):
        ingest_spend_files(council, [first, other], "run-4", AT, db, replaces=[HYNDBURN])


def test_a_detected_reissue_replaces_in_either_order(council, db, tmp_path):
    """Same stem with a version mark and most lines identical: the later version wins, also when
    the original arrives after its re-issue (a name sorting first, a late download)."""
    header, body = _lines()
    corrected = [*body[:5], *body[6:], _edit(body[5], "99.99")]  # one payment corrected
    original = _write(tmp_path / "in", HYNDBURN, header, body)
    v2 = _write(tmp_path / "in", "hyndburn_2017-01_spend-over-250 (1).csv", header, corrected)
    assert v2.name < original.name  # "(1)" sorts first: a drop folder loads the re-issue first

    in_order = ingest_spend_files(council, [original], "run-1", AT, db) + ingest_spend_files(
        council, [v2], "run-2", AT, db
    )
    assert [r.status for r in in_order] == ["loaded", "loaded"] and in_order[1].superseded == [HYNDBURN]
    assert _january(db) == (180, _total(corrected))
    [(basis, evidence)] = _query(db, "select basis, evidence from raw.spend_replacements")
    assert basis == "detected" and "179 of 180 lines" in evidence

    other_db = tmp_path / "other.duckdb"
    reverse = ingest_spend_files(council, [v2, original], "run-1", AT, other_db)
    assert [r.status for r in reverse] == ["loaded", "superseded"]
    assert reverse[1].superseded_by == v2.name and v2.name in reverse[1].reason
    assert _january(other_db) == (180, _total(corrected))
    assert _status(other_db) == {HYNDBURN: "superseded", v2.name: "loaded"}


def test_same_name_new_bytes_replace_only_with_most_lines_identical_or_by_config(council, db, tmp_path):
    header, body = _lines()
    first = _write(tmp_path / "a", HYNDBURN, header, body)
    grown = _write(tmp_path / "b", HYNDBURN, header, [*body, *body[:20]])  # a re-download with 20 more lines
    ingest_spend_files(council, [first], "run-1", AT, db)
    [r] = ingest_spend_files(council, [grown], "run-2", AT, db)
    assert (r.status, r.superseded) == ("loaded", [HYNDBURN])
    assert _january(db) == (200, _total([*body, *body[:20]]))

    # the same name with mostly other lines is another file: it adds up...
    rewritten = [_edit(line, "10.00") for line in body[:120]] + body[120:]
    third = _write(tmp_path / "c", HYNDBURN, header, rewritten)
    [r] = ingest_spend_files(council, [third], "run-3", AT, db)
    assert r.superseded == []
    assert _january(db)[0] == 380
    # ... unless the council says it re-issues files under the same name
    says = Council(id="hyndburn", name="Hyndburn", spend_dir=tmp_path, spend_reissue_same_name=("hyndburn_*.csv",))
    fourth = _write(tmp_path / "d", HYNDBURN, header, rewritten[:50])
    [r] = ingest_spend_files(says, [fourth], "run-4", AT, db)
    assert sorted(r.superseded) == [HYNDBURN, HYNDBURN]
    assert _january(db) == (50, _total(rewritten[:50]))
    assert _query(db, "select basis, count(*) from raw.spend_replacements group by 1 order by 1") == [
        ("config", 2),
        ("detected", 1),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hyndburn_2017-01_spend-over-250.csv", ("hyndburn-2017-01-spend-over-250", 0)),
        ("Hyndburn 2017-01 Spend Over 250_v2.CSV", ("hyndburn-2017-01-spend-over-250", 2)),
        ("hyndburn_2017-01_spend-over-250 (1).csv", ("hyndburn-2017-01-spend-over-250", 1)),
        ("hyndburn_2017-01_spend-over-250-REVISED.csv.gz", ("hyndburn-2017-01-spend-over-250", 1)),
        ("payments_january_corrected_v3 (2).xlsx", ("payments-january", 6)),
        ("spend-version-2.csv", ("spend", 2)),
        ("payments_nov2017.csv", ("payments-nov2017", 0)),  # 'v2017' inside a word is not a version
        ("final.csv", ("final", 0)),  # a mark needs a stem before it
        ("council_spend_q1_updated.csv", ("council-spend-q1", 1)),
    ],
)
def test_reissue_name(name, expected):
    assert reissue_name(name) == expected


def test_reissue_same_name_globs_come_from_the_council_config(tmp_path):
    config = tmp_path / "councils.yml"
    config.write_text(
        "councils:\n  - id: a\n    name: A\n    spend_reissue_same_name: ['payments-*.csv']\n  - id: b\n    name: B\n",
        encoding="utf-8",
    )
    a, b = load_councils(config)
    assert a.reissues_under_same_name("payments-2024.csv") and not a.reissues_under_same_name("card-2024.csv")
    assert not b.reissues_under_same_name("payments-2024.csv")
    config.write_text("councils:\n  - id: a\n    name: A\n    spend_reissue_same_name: {x: 1}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="spend_reissue_same_name must be a list of file-name globs"):
        load_councils(config)


def test_cli_replaces_declares_a_reissue_and_needs_one_file(tmp_path):
    header, body = _lines()
    drop = tmp_path / "drop"
    first = _write(drop, HYNDBURN, header, body)
    fix = _write(tmp_path / "fix", "hyndburn-jan-2017-fixed-by-finance.csv", header, body[:170])
    config = tmp_path / "councils.yml"
    config.write_text(f"councils:\n  - id: hyndburn\n    name: Hyndburn\n    spend_dir: {drop}\n", encoding="utf-8")
    env = {
        **os.environ,
        "PROCURE_CONFIG": str(config),
        "PROCURE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "PROCURE_LANDING_DIR": str(tmp_path / "landing"),
    }
    procure = [str(Path(sys.executable).parent / "procure"), "ingest", "spend", "--council", "hyndburn"]

    def run(*args):
        return subprocess.run([*procure, *args], capture_output=True, text=True, env=env, timeout=300)

    assert run(str(first)).returncode == 0
    unknown = run("--replaces", "nope.csv", str(fix))
    assert unknown.returncode == 1 and "'nope.csv'" in unknown.stdout
    two = run("--replaces", HYNDBURN, str(fix), str(first))
    assert two.returncode == 2 and "exactly one FILE" in two.stderr
    ok = run("--replaces", HYNDBURN, str(fix))
    assert ok.returncode == 0, ok.stderr
    assert f"replaces {HYNDBURN}" in ok.stdout
    assert _january(tmp_path / "w.duckdb") == (170, _total(body[:170]))


def test_the_board_packs_quality_section_lists_each_replacement_with_both_files(council, db, tmp_path):
    from procure.publish.board_pack.figures import _collect_quality
    from procure.publish.board_pack.render import environment

    header, body = _lines()
    first = _write(tmp_path / "in", HYNDBURN, header, body)
    v2 = _write(tmp_path / "in", "hyndburn_2017-01_spend-over-250_v2.csv", header, body[:-1])
    ingest_spend_files(council, [first, v2], "run-1", AT, db)
    con = connect(db)
    try:  # the two dbt relations the panel also reads, empty: no dbt run in a unit test
        con.execute("create schema if not exists marts; create schema if not exists staging")
        con.execute("create table marts.fct_contract_portfolio (council_id varchar, as_at_date date)")
        con.execute("create table staging.stg_contracts_finder__releases (buyer_name varchar, released_at timestamp)")
        quality = _collect_quality(con, council, datetime(2017, 1, 1).date())
    finally:
        con.close()

    assert quality["replacements"] == [
        {
            "replaced_file": HYNDBURN,
            "replaced_lines": 180,
            "replaced_total_gbp": _total(body),
            "replacing_file": v2.name,
            "replacing_lines": 179,
            "replacing_total_gbp": _total(body[:-1]),
            "basis": "detected",
        }
    ]
    assert [f["source_file"] for f in quality["files"]] == [v2.name]
    html = environment().get_template("sections/quality.html.j2").render(data={"quality": quality, "kpis": []})
    panel = html[html.index('data-panel="replacements"') :]
    panel = panel[: panel.index("</table>")]
    assert HYNDBURN in panel and v2.name in panel and "detected" in panel
    assert f'data-value="{_total(body)}"' in panel and f'data-value="{_total(body[:-1])}"' in panel
