"""Every headline figure of the board pack, recomputed from the marts (issue 15 item 2).

The pack is rendered from a real gate-passed warehouse built from the sample; this test reads the
figures back out of the HTML (``data-value`` on every number) and checks each against the mart
column it must come from, with SQL of its own. Then the contract figures: the portfolio, the
off-contract mart and the pack split the same pounds (issue 15 item 1), and the local / SME / VCSE
shares carry their coverage and get no RAG below the floor (item 3). No browser needed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import duckdb
import pytest
from conftest import gated_warehouse

MONTH = date(2025, 3, 1)
FY_START = date(2024, 4, 1)


class PackReader(HTMLParser):
    """Tables (by data-panel: rows of cells) and named figures (data-figure) of the pack's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[dict]]] = {}
        self.figures: dict[str, dict] = {}
        self.text: list[str] = []
        self._panel: str | None = None
        self._in_body = False
        self._cell: dict | None = None
        self._figure: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._panel = a.get("data-panel")
            self.tables[self._panel] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._panel].append([])
        elif tag == "td" and self._in_body:
            self._cell = {"text": "", "value": a.get("data-value"), "kind": a.get("data-kind")}
        elif "data-figure" in a:
            self._figure = {"text": "", "value": a["data-value"], "kind": a["data-kind"]}
            self.figures[a["data-figure"]] = self._figure

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self.tables[self._panel][-1].append(self._cell)
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag in ("b", "span") and self._figure is not None:
            self._figure = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data
        if self._figure is not None:
            self._figure["text"] += data


def _num(cell: dict) -> Decimal | None:
    return None if cell["value"] in (None, "") else Decimal(cell["value"])


@pytest.fixture(scope="module")
def pack(tmp_path_factory, sample_dir):
    warehouse = gated_warehouse(tmp_path_factory, sample_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCURE_CONFIG", str(warehouse.parent / "councils.yml"))
        from procure.config import get_council
        from procure.publish.board_pack import collect, render_html

        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            html = render_html(collect(con, get_council("norwich"), MONTH))
        finally:
            con.close()
    reader = PackReader()
    reader.feed(html)
    con = duckdb.connect(str(warehouse), read_only=True)
    yield {"html": html, "pack": reader, "con": con}
    con.close()


def _one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchall()[0]


def test_headline_figures_are_mart_columns(pack):
    con, p = pack["con"], pack["pack"]
    kpi = dict(
        zip(
            [d[0] for d in con.execute("select * from marts.mart_procurement_kpis limit 0").description],
            _one(con, "select * from marts.mart_procurement_kpis where council_id = 'norwich' and month = ?", MONTH),
            strict=True,
        )
    )
    monthly = _one(
        con,
        "select line_count, suppliers_paid, credit_gbp, redacted_spend_gbp, pcard_spend_gbp "
        "from marts.mart_procurement_kpis where council_id = 'norwich' and month = ?",
        MONTH,
    )
    ytd = _one(
        con,
        "select sum(total_spend_gbp) from marts.mart_procurement_kpis where council_id = 'norwich' and month between ? and ?",
        FY_START,
        MONTH,
    )[0]
    f = {k: _num(v) for k, v in p.figures.items()}
    assert f["spend_month"] == kpi["total_spend_gbp"]
    assert f["spend_ytd"] == ytd
    assert (f["lines_month"], f["suppliers_month"]) == (kpi["line_count"], kpi["suppliers_paid"]) == monthly[:2]
    spend = {r[0]["text"]: _num(r[1]) for r in p.tables["spend"]}
    assert spend["March 2025"] == kpi["total_spend_gbp"]
    assert spend["Credits this month (already deducted above)"] == monthly[2]
    assert spend["Payments to redacted payees this month"] == monthly[3]
    assert spend["Procurement-card spend this month"] == monthly[4]
    # the KPI table: value, coverage, share of all spend, target and status from mart_procurement_kpis
    rows = {r[0]["text"]: r for r in p.tables["kpis"]}
    for key, label in (("local", "Local spend share"), ("sme", "SME spend share"), ("vcse", "VCSE spend share")):
        row = rows[label]
        assert _num(row[1]) == kpi[f"{key}_share"]
        assert _num(row[2]) == kpi[f"{key}_coverage"]
        assert _num(row[3]) == kpi[f"{key}_share_of_all_spend"]
        assert _num(row[4]) == kpi[f"{key}_share_target"]
        assert row[5]["text"] == (kpi[f"{key}_share_rag"] or "no status").upper()
    row = rows["On-contract spend share"]
    assert (_num(row[1]), _num(row[4]), row[5]["text"]) == (
        kpi["on_contract_share"],
        kpi["on_contract_share_target"],
        kpi["on_contract_share_rag"].upper(),
    )
    # contracts expiring: the pack lists exactly the rows the KPI mart counts
    assert f["pipeline_0_6_count"] == kpi["contracts_expiring_6m"]
    assert f["pipeline_0_6_count"] + f["pipeline_6_12_count"] == kpi["contracts_expiring_12m"]
    assert f"{kpi['contracts_expiring_6m']} contracts worth £{kpi['value_expiring_6m_gbp']:,.0f} expire" in pack["html"]
    # off contract, financial year to date (March is the year's last month): the same pounds in both marts
    off = _one(
        con,
        "select sum(off_contract_spend_gbp), sum(after_contract_end_gbp) from marts.mart_off_contract_spend "
        "where council_id = 'norwich' and fiscal_year = '2024-25'",
    )
    assert (f["offcontract_fytd"], f["offcontract_after_end_fytd"]) == off
    assert (
        f["offcontract_fytd"]
        == _one(
            con,
            "select sum(amount_gbp) from marts.fct_spend where council_id = 'norwich' and not is_on_contract "
            "and payment_month between ? and ?",
            FY_START,
            MONTH,
        )[0]
    )


def test_contract_risks_count_each_payment_once(pack):
    con, p = pack["con"], pack["pack"]
    portfolio = _one(
        con,
        "select sum(spend_to_date_gbp), sum(spend_after_end_gbp) from marts.fct_contract_portfolio "
        "where council_id = 'norwich'",
    )
    split = _one(
        con,
        "select sum(amount_gbp) filter (where is_on_contract), "
        "sum(amount_gbp) filter (where contract_attribution = 'after_contract_end') "
        "from marts.fct_spend where council_id = 'norwich'",
    )
    after_end = _one(
        con, "select sum(after_contract_end_gbp) from marts.mart_off_contract_spend where council_id = 'norwich'"
    )[0]
    assert portfolio == split
    assert portfolio[1] == after_end
    # no contract is charged a payment another live contract of the same supplier covers
    doubled = _one(
        con,
        "select count(*) from marts.fct_spend f join marts.fct_contract_portfolio c "
        "on c.contract_id = f.outside_contract_id "
        "where f.contract_attribution = 'after_contract_end' and exists (select 1 from marts.fct_contract_portfolio l "
        "  where l.council_id = f.council_id and l.supplier_id = f.supplier_id "
        "  and f.payment_date between coalesce(l.start_date, f.payment_date) and coalesce(l.end_date, f.payment_date))",
    )[0]
    assert doubled == 0
    shown = {r[0]["text"]: (_num(r[5]), _num(r[6])) for r in p.tables["risks"]}
    expected = {
        ref: (to_date, after)
        for ref, to_date, after in con.execute(
            "select contract_ref, spend_to_date_gbp, spend_after_end_gbp from marts.fct_contract_portfolio "
            "where council_id = 'norwich' and contract_ref in (select unnest(?))",
            [list(shown)],
        ).fetchall()
    }
    assert shown == expected


def test_shares_show_coverage_and_define_local(pack):
    p, html = pack["pack"], pack["html"]
    con = pack["con"]
    for row in p.tables["shares"]:
        m = next(
            m
            for (m,) in con.execute("select distinct month from marts.mart_procurement_kpis").fetchall()
            if f"{m:%b %y}" == row[0]["text"]
        )
        expected = _one(
            con,
            "select local_share, local_coverage, sme_share, sme_coverage, vcse_share, vcse_coverage "
            "from marts.mart_procurement_kpis where council_id = 'norwich' and month = ?",
            m,
        )
        assert tuple(_num(c) for c in row[1:]) == expected
    assert "NR1, NR2, NR3" in html  # what "local" means, from the council's configuration
    assert "not figures from the procurement strategy" in html


def test_governance_sections_are_mart_rows(pack):
    con, p = pack["con"], pack["pack"]
    pairs, at_stake = _one(
        con,
        "select count(*), coalesce(sum(amount_at_stake_gbp), 0) from marts.mart_duplicate_payment_candidates "
        "where council_id = 'norwich' and payment_month between ? and ?",
        FY_START,
        MONTH,
    )
    f = {k: _num(v) for k, v in p.figures.items()}
    assert (f["duplicate_pairs_fytd"], f["duplicate_at_stake_fytd"]) == (pairs, at_stake)
    assert [_num(r[2]) for r in p.tables["duplicates"]] == [
        a
        for (a,) in con.execute(
            "select amount_at_stake_gbp from marts.mart_duplicate_payment_candidates where council_id = 'norwich' "
            "and payment_month between ? and ? order by amount_at_stake_gbp desc, second_spend_line_id limit 10",
            [FY_START, MONTH],
        ).fetchall()
    ]
    count, value = _one(
        con,
        "select count(*), coalesce(sum(contract_value_gbp), 0) from marts.mart_direct_awards "
        "where council_id = 'norwich' and (end_date is null or end_date >= ?)",
        MONTH,
    )
    assert (f["direct_awards_count"], f["direct_awards_value"]) == (count, value)
    assert "Invoices paid within 30 days" in pack["html"]  # said as not measured, not left out


def test_supplier_base_and_transparency_are_mart_rows(pack):
    """Issue 15 items 8 and 9: tail spend, one-off suppliers and unpublished contracts read from their marts."""
    con, p = pack["con"], pack["pack"]
    f = {k: _num(v) for k, v in p.figures.items()}
    tail = _one(
        con,
        "select supplier_count, tail_supplier_count, tail_supplier_share, tail_spend_gbp, tail_spend_share, "
        "one_off_supplier_count from marts.mart_supplier_rationalisation "
        "where council_id = 'norwich' and month = ? and category_l1 = 'All categories'",
        MONTH,
    )
    names = ("suppliers_fytd", "tail_suppliers", "tail_supplier_share", "tail_spend", "tail_spend_share")
    assert tuple(f[n] for n in (*names, "one_off_suppliers")) == tail
    # independently: suppliers paid under £5,000 over the 12 months of 2024-25, gross of credits
    paid = con.execute(
        "select supplier_id, sum(amount_gbp) from marts.fct_spend where council_id = 'norwich' and fiscal_year = "
        "'2024-25' and not is_credit and supplier_id not in ('redacted', 'unknown') group by 1"
    ).fetchall()
    assert len(paid) == tail[0] and sum(1 for _s, v in paid if v < 5000) == tail[1]
    assert [r[0]["text"] for r in p.tables["supplier_base"]][:3] == [
        c
        for (c,) in con.execute(
            "select category_l1 from marts.mart_supplier_rationalisation where council_id = 'norwich' and month = ? "
            "and category_l1 <> 'All categories' order by supplier_count desc, category_l1 limit 3",
            [MONTH],
        ).fetchall()
    ]
    for kind, where in (
        ("no_notice", "finding <> 'not on register'"),
        ("not_on_register", "finding = 'not on register'"),
    ):
        count, value = _one(
            con,
            "select count(*), coalesce(sum(contract_value_gbp), 0) from marts.mart_transparency_compliance "
            f"where council_id = 'norwich' and {where} and (end_date is null or end_date >= ?) "
            "and (start_date is null or start_date <= ?)",
            FY_START,
            date(2025, 3, 31),
        )
        assert (f[f"{kind}_count"], f[f"{kind}_value"]) == (count, value), kind
        assert count > 0, kind  # the sample has both kinds


def test_the_change_on_last_month_is_explained_by_its_largest_movers(pack):
    """Issue 15 item 11: the month's change split by service area and by supplier, each mover's pounds from the
    marts; the sample has no March 2024, so no same-month comparison is made up."""
    con, p = pack["con"], pack["pack"]
    rows = p.tables["variance_month"]
    assert {r[1]["text"] for r in rows} == {"Service area", "Supplier"}
    feb = date(2025, 2, 1)
    for r in rows:
        name, by = r[0]["text"], r[1]["text"]
        if by == "Service area":
            sql = (
                "select month, sum(total_spend_gbp) from marts.mart_local_spend where council_id = 'norwich' "
                "and service_area = ? and month in (?, ?) group by 1"
            )
        else:
            sql = (
                "select f.payment_month, sum(f.amount_gbp) from marts.fct_spend f join marts.dim_supplier d "
                "using (supplier_id) where f.council_id = 'norwich' and d.canonical_name = ? "
                "and f.payment_month in (?, ?) group by 1"
            )
        got = dict(con.execute(sql, [name, feb, MONTH]).fetchall())
        before, now = got.get(feb, Decimal(0)), got.get(MONTH, Decimal(0))
        assert (_num(r[2]), _num(r[3]), _num(r[4])) == (before, now, now - before), name
    # the largest mover by area is the area whose spend changed most
    changes = con.execute(
        "select service_area, sum(case when month = ? then total_spend_gbp else -total_spend_gbp end) as c "
        "from marts.mart_local_spend where council_id = 'norwich' and month in (?, ?) group by 1 "
        "order by abs(c) desc, 1 limit 1",
        [MONTH, feb, MONTH],
    ).fetchall()[0]
    assert rows[0][0]["text"] == changes[0] and _num(rows[0][4]) == changes[1]
    assert "variance_last_year" not in p.tables and "variance_ytd" not in p.tables
    summary = " ".join(p.text)
    assert f"{changes[0]} +£" in summary or f"{changes[0]} −£" in summary


def test_the_packs_gate_status_is_the_data_docs_status(pack, tmp_path_factory, sample_dir):
    """Issue 15 item 14: the pack's PASSED / FAILED and counts are those of the Data Docs published by the same
    gate run (both from the one GateResult: ops.quality_runs and publish/data_docs/index.html)."""
    import re

    docs = gated_warehouse(tmp_path_factory, sample_dir).parent / "publish" / "data_docs" / "index.html"
    index = docs.read_text(encoding="utf-8")
    status = re.search(r"<h1>Data quality gate <span[^>]*>(PASSED|FAILED)</span>", index).group(1)
    critical, warnings = map(int, re.search(r"(\d+) critical failures, (\d+) warnings", index).groups())
    text = re.sub(r"\s+", " ", " ".join(pack["pack"].text))
    m = re.search(r"Quality gate, checked as at [^:]+: (PASSED|FAILED) , (\d+) critical failures, (\d+) warnings", text)
    assert m, "the pack states the gate's result"
    assert (m.group(1), int(m.group(2)), int(m.group(3))) == (status, critical, warnings)
    assert len([r for r in pack["pack"].tables["warnings"] if len(r) > 1]) == warnings
