"""Strategy-review extracts on a real warehouse built from the sample data (real DuckDB, dbt, GX).

The warehouse is built once per session by the CLI (ingest, build, check) and copied for the
tests that change it. Checks: files against an independent reading of the marts, byte-identical
re-runs, formula injection neutralised in CSV and XLSX (numbers stay numbers), personal-looking
payees refused, a failed gate refusing to publish with the previous outputs untouched, and
`procure export`.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import gated_warehouse

from procure.config import get_council, placeholder_supplier_ids
from procure.publish.atomic import GateNotPassed, sha256_file
from procure.publish.export import ExportError, export_mart, normalise_fiscal_year
from procure.publish.safety import PrivacyCheckFailed, is_personal_looking, neutralise
from procure.publish.strategy_review import EXTRACTS, dbt_column_descriptions, publish_strategy_review

FY = "2024-25"
REDACTED_ID, _ = placeholder_supplier_ids()


@pytest.fixture
def warehouse(tmp_path_factory, sample_dir, tmp_path, monkeypatch) -> Path:
    """This test's own copy of the gated warehouse, with config/publish/dbt target pointing at it."""
    built = gated_warehouse(tmp_path_factory, sample_dir)
    copy = tmp_path / "w.duckdb"
    shutil.copy(built, copy)
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(copy))
    monkeypatch.setenv("PROCURE_CONFIG", str(built.parent / "councils.yml"))
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(tmp_path / "publish"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(built.parent / "dbt_target"))
    return copy


def _folder(tmp_path: Path) -> Path:
    return tmp_path / "publish" / "strategy_review" / "norwich" / FY


def _tree(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ pure functions
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("-1+1", "'-1+1"),
        ("+44 1603 212121", "'+44 1603 212121"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-12.50", "-12.50"),  # text that is exactly a number is a genuine number
        ("+3", "+3"),
        ("Smith & Sons Ltd", "Smith & Sons Ltd"),
        (Decimal("-250.00"), Decimal("-250.00")),
        (-3, -3),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize(
    "name",
    ["Mr J Smith", "MRS. ANNE JONES", "Dr. P. Patel", "Miss Joanne Brown", "mx a taylor", "Rev Peter Green"],
)
def test_personal_looking(name):
    assert is_personal_looking(name)


@pytest.mark.parametrize(
    "name",
    [
        "Dr Smith & Partners",
        "Mr Clean Services Ltd",
        "Drs Waste Management PLC",
        "DRS WASTE MANAGEMENT PLC",
        "Mrs Miggins Pie Shop Limited",
        "Mr",
        "Mister Softee",
        "St Andrews Church",
        "",
        None,
    ],
)
def test_not_personal_looking(name):
    assert not is_personal_looking(name)


def test_fiscal_year_labels():
    assert normalise_fiscal_year("2024") == "2024-25"
    assert normalise_fiscal_year(1999) == "1999-00"
    assert normalise_fiscal_year("2024-25") == "2024-25"
    with pytest.raises(ExportError, match="2024-26"):
        normalise_fiscal_year("2024-26")


# ------------------------------------------------------------------ on the warehouse
def test_extracts_match_the_marts_and_the_manifest(warehouse, tmp_path):
    manifest_path = publish_strategy_review(get_council("norwich"), 2024)

    folder = _folder(tmp_path)
    assert manifest_path == folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.name for p in folder.iterdir()} - {"manifest.json"}
    assert listed == on_disk
    expected = {f"{e.name}.{ext}" for e in EXTRACTS for ext in ("csv", "parquet")}
    assert expected | {"strategy_review_2024-25.xlsx", "README.txt"} == on_disk
    for f in manifest["files"]:
        assert f["sha256"] == sha256_file(folder / f["path"]), f["path"]
    assert manifest["data_interval"] == {"start": "2024-04-01", "end": "2025-03-31"}
    assert manifest["dbt_invocation_id"] and manifest["gate_run_id"]
    assert manifest["git_commit"] or manifest["git_commit_note"]

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        total, lines, credits = con.execute(
            "select sum(amount_gbp), count(*), sum(amount_gbp) filter (where is_credit) from marts.fct_spend "
            "where council_id = 'norwich' and fiscal_year = ?",
            [FY],
        ).fetchall()[0]
        redacted = con.execute(
            "select sum(amount_gbp) from marts.fct_spend where supplier_id = ? and fiscal_year = ?", [REDACTED_ID, FY]
        ).fetchall()[0][0]
        contracts = con.execute("select count(*) from marts.fct_contract_portfolio").fetchall()[0][0]
        expiring, at_risk = con.execute(
            "select count(*), sum(spend_at_risk_gbp) from marts.mart_contract_expiry "
            "where council_id = 'norwich' and month = date '2025-03-01'"
        ).fetchall()[0]
        secret_names = {
            r[0]
            for r in con.execute(
                "select distinct supplier_name_as_paid from marts.fct_spend where is_redacted and supplier_name_as_paid is not null"
            ).fetchall()
        }
    finally:
        con.close()

    by_path = {f["path"]: f for f in manifest["files"]}
    for name in ("spend_by_supplier", "spend_by_category", "spend_by_service_area", "local_sme_vcse_summary"):
        for ext in ("csv", "parquet"):
            assert Decimal(by_path[f"{name}.{ext}"]["amount_totals"]["total_spend_gbp"]) == total, name
    suppliers = _csv(folder / "spend_by_supplier.csv")
    assert len(suppliers) == by_path["spend_by_supplier.csv"]["rows"]
    assert sum(Decimal(r["total_spend_gbp"]) for r in suppliers) == total
    assert sum(int(r["line_count"]) for r in suppliers) == lines
    assert sum(Decimal(r["credit_gbp"]) for r in suppliers) == credits
    [redacted_row] = [r for r in suppliers if r["supplier_id"] == REDACTED_ID]
    assert Decimal(redacted_row["total_spend_gbp"]) == redacted
    assert redacted_row["supplier_name"] == "Redacted payees (personal data)"
    text = (folder / "spend_by_supplier.csv").read_text(encoding="utf-8")
    assert not [n for n in secret_names if n and n in text.splitlines()[1:]]
    assert len(_csv(folder / "contract_portfolio.csv")) == contracts
    # the full list behind the pack's top rows: as at the year's last month, most spend at risk first
    expiry = _csv(folder / "contracts_expiring_lapsed.csv")
    assert len(expiry) == expiring and {r["month"] for r in expiry} == {"2025-03-01"}
    risk = [Decimal(r["spend_at_risk_gbp"]) for r in expiry]
    assert risk == sorted(risk, reverse=True) and sum(risk) == at_risk and risk[0] > 0
    assert pq.read_table(folder / "spend_by_supplier.parquet").num_rows == len(suppliers)

    from openpyxl import load_workbook

    wb = load_workbook(folder / "strategy_review_2024-25.xlsx")
    assert wb.sheetnames == [e.name for e in EXTRACTS] + ["data_dictionary"]
    dictionary = list(wb["data_dictionary"].iter_rows(min_row=2, values_only=True))
    assert all(desc for _s, _c, _t, desc in dictionary)
    assert wb.properties.modified.date().isoformat() == "2025-03-31"
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in readme and "2024-04-01 to 2025-03-31" in readme

    # issue 15 item 13: the README and the dictionary describe exactly the columns shipped, in words
    flat = re.sub(r"\s+", " ", readme)
    kinds = {(sheet, col): (kind, desc) for sheet, col, kind, desc in dictionary}
    for e in EXTRACTS:
        with (folder / f"{e.name}.csv").open(encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert [c for s, c in kinds if s == e.name] == header, e.name
        for col in header:
            kind, desc = kinds[(e.name, col)]
            assert f"- {col} ({kind}): {' '.join(desc.split())}" in flat, (e.name, col)
            assert not re.search(r"decimal|int64|string|bool\b|date32|timestamp\[", kind), kind
    dbt_docs = dbt_column_descriptions()
    assert kinds[("kpis_with_targets", "local_share_rag")][1] == dbt_docs["mart_procurement_kpis"]["local_share_rag"]
    assert "largest five" not in readme and "every contract on the register" not in readme.lower()
    # XLSX: shares as percentages, money as pounds, a filter on every column, the header row frozen
    ws = wb["kpis_with_targets"]
    head = [c.value for c in ws[1]]
    assert ws.cell(2, head.index("local_share") + 1).number_format == "0.0%"
    assert ws.cell(2, head.index("total_spend_gbp") + 1).number_format == "#,##0.00"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(head)).column_letter}{ws.max_row}"
    assert ws.freeze_panes == "A2"
    by_category = _csv(folder / "supplier_by_category.csv")
    assert sum(Decimal(r["total_spend_gbp"]) for r in by_category) == total
    # the dbt invocations that built the marts read, recorded in this warehouse at build time
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        built = dict(con.execute("select model, invocation_id from ops.dbt_model_builds").fetchall())
    finally:
        con.close()
    assert manifest["dbt_invocations"]["fct_spend"] == built["fct_spend"]
    assert manifest["dbt_invocation_id"] in built.values() and manifest["dbt_invocation_note"] is None


def test_rerun_is_byte_identical(warehouse, tmp_path):
    council = get_council("norwich")
    publish_strategy_review(council, 2024)
    first = _tree(_folder(tmp_path))
    publish_strategy_review(council, 2024)
    assert _tree(_folder(tmp_path)) == first


def _rename_top_suppliers(warehouse: Path, names: list[str]) -> list[str]:
    con = duckdb.connect(str(warehouse))
    try:
        ids = [
            r[0]
            for r in con.execute(
                "select supplier_id from marts.fct_spend join marts.dim_supplier using (supplier_id) "
                "where fiscal_year = ? and not is_placeholder group by 1 "
                "having sum(amount_gbp) filter (where is_credit) < 0 order by sum(amount_gbp) desc limit ?",
                [FY, len(names)],
            ).fetchall()
        ]
        for sid, name in zip(ids, names, strict=True):
            con.execute("update marts.dim_supplier set canonical_name = ? where supplier_id = ?", [name, sid])
    finally:
        con.close()
    return ids


def test_formula_injection_is_neutralised_and_numbers_stay_numbers(warehouse, tmp_path):
    evil = ['=HYPERLINK("http://x","y")', "-1+1"]
    ids = _rename_top_suppliers(warehouse, evil)

    publish_strategy_review(get_council("norwich"), 2024)

    folder = _folder(tmp_path)
    rows = {r["supplier_id"]: r for r in _csv(folder / "spend_by_supplier.csv")}
    assert [rows[i]["supplier_name"] for i in ids] == ["'" + e for e in evil]
    for i in ids:  # these suppliers have credits: a negative amount is written as a plain number
        assert Decimal(rows[i]["credit_gbp"]) < 0
        assert rows[i]["credit_gbp"].startswith("-")
    raw = (folder / "spend_by_supplier.csv").read_text(encoding="utf-8")
    assert ',"=HYPERLINK' not in raw and ",-1+1," not in raw

    from openpyxl import load_workbook

    ws = load_workbook(folder / "strategy_review_2024-25.xlsx")["spend_by_supplier"]
    header = [c.value for c in ws[1]]
    name_col, credit_col = header.index("supplier_name"), header.index("credit_gbp")
    xrows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    for i, e in zip(ids, evil, strict=True):
        cell = xrows[i][name_col]
        assert cell.data_type == "s" and cell.value == "'" + e  # text, never a formula ("f")
        credit = xrows[i][credit_col]
        assert credit.data_type == "n" and credit.value < 0
    # Parquet is typed data for code, not a spreadsheet: the name is kept as it is.
    names = pq.read_table(folder / "spend_by_supplier.parquet").column("supplier_name").to_pylist()
    assert set(evil) <= set(names)


def test_personal_looking_payee_fails_the_publish_and_keeps_previous(warehouse, tmp_path):
    council = get_council("norwich")
    publish_strategy_review(council, 2024)
    before = _tree(_folder(tmp_path))
    _rename_top_suppliers(warehouse, ["Mr J Smith"])

    with pytest.raises(PrivacyCheckFailed, match=r"spend_by_supplier.*'Mr J Smith'"):
        publish_strategy_review(council, 2024)

    assert _tree(_folder(tmp_path)) == before
    assert sorted(p.name for p in _folder(tmp_path).parent.iterdir()) == [FY]  # no temp folder left


def test_failed_gate_refuses_and_leaves_previous_outputs(warehouse, tmp_path):
    from procure.publish.board_pack import publish_board_pack

    council = get_council("norwich")
    publish_strategy_review(council, 2024)
    before = _tree(_folder(tmp_path))
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "insert into ops.quality_runs (run_id, checked_at, passed, critical_failures, warnings, summary, recorded_at)"
            " values ('broken', timestamp '2099-01-01', false, 3, 0, 'broken', timestamp '2099-01-01')"
        )
    finally:
        con.close()

    with pytest.raises(GateNotPassed):
        publish_strategy_review(council, 2024)
    with pytest.raises(GateNotPassed):
        publish_board_pack(council, date(2025, 3, 1))

    assert _tree(_folder(tmp_path)) == before
    assert not (tmp_path / "publish" / "board_pack").exists()


def test_export_filters_and_neutralises(warehouse, tmp_path):
    _rename_top_suppliers(warehouse, ["@evil"])
    out = export_mart("mart_procurement_kpis", "csv", tmp_path / "kpi.csv", council_id="norwich", fiscal_year="2024")
    assert out.rows == 12
    assert {r["fiscal_year"] for r in _csv(out.path)} == {FY}

    sup = export_mart("dim_supplier", "csv", tmp_path / "sup.csv")
    assert "'@evil" in {r["canonical_name"] for r in _csv(sup.path)}
    xlsx = export_mart("mart_local_spend", "xlsx", tmp_path / "local.xlsx", council_id="norwich")
    assert xlsx.path.stat().st_size > 0
    assert (
        export_mart("fct_spend", "parquet", tmp_path / "f.parquet").rows
        == pq.read_table(tmp_path / "f.parquet").num_rows
    )

    with pytest.raises(ExportError, match="not found"):
        export_mart("fct_spend; drop table x", "csv", tmp_path / "x.csv")
    with pytest.raises(ExportError, match="no council_id"):
        export_mart("dim_supplier", "csv", tmp_path / "x.csv", council_id="norwich")


def test_xlsx_rows_written_directly_are_byte_identical_to_openpyxl(tmp_path):
    """The direct row writer gives openpyxl's own bytes; values it does not handle go through openpyxl."""
    from datetime import datetime

    from openpyxl import load_workbook

    from procure.publish import writers

    when = datetime(2025, 3, 31)
    rows = [
        (Decimal("1.10"), "", date(2024, 4, 1), True),
        (None, None, None, None),
        (Decimal("-0.00"), " padded ", datetime(2024, 4, 1, 12, 30), False),
        (3, "a&b<c>\"'", None, 1.5),
        (2.25, "line\nbreak", date(2025, 1, 2), "x "),
        (10**20, "\tcmd", None, date(2024, 5, 5)),
        (Decimal("123456789012345.67"), "=1+1", None, "ünïcödé £"),
    ]
    sheets = [("edge", ["a_gbp", "b", "when", "d"], rows), ("second", ["n"], [(1,), (2,)])]

    def xlsx(fast: bool, name: str) -> bytes:
        data, rows_xml = writers._build_xlsx(sheets, when, "t", fast=fast)
        writers._normalise_zip(data, tmp_path / name, when, rows_xml)
        return (tmp_path / name).read_bytes()

    direct, cell_by_cell = xlsx(True, "direct.xlsx"), xlsx(False, "openpyxl.xlsx")
    assert direct == cell_by_cell
    ws = load_workbook(tmp_path / "direct.xlsx")["edge"]
    assert ws["B8"].value == "'=1+1" and ws["A8"].number_format == "#,##0.00"
    assert ws["C2"].number_format == "yyyy-mm-dd" and ws["D7"].is_date

    for odd in ("#N/A", float("nan"), "bad\x01char"):  # openpyxl's own handling, whole workbook
        assert not writers._plain(odd)
        if odd == "bad\x01char":
            continue  # openpyxl refuses it (IllegalCharacterError), as it always did
        writers.write_xlsx(tmp_path / "odd.xlsx", [("s", ["v"], [(odd,)])], when)
        assert load_workbook(tmp_path / "odd.xlsx")["s"].max_row == 2
