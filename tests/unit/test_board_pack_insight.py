"""The pack's strategy sections (emissions, savings, social value, forecast) on hand-built marts."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from procure.publish.board_pack import insight
from procure.publish.board_pack.render import environment


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.mart_spend_carbon_estimate (council_id varchar, fiscal_year varchar, month date, "
        "category_l1 varchar, method varchar, spend_gbp decimal(18,2), spend_in_factor_prices_gbp decimal(18,2), "
        "factor_kgco2e_per_gbp decimal(12,6), tco2e decimal(18,3), factor_year integer, price_year integer, "
        "is_deflated boolean, supplier_count bigint)"
    )
    con.execute(
        "create table marts.mart_savings (savings_id varchar, council_id varchar, fiscal_year varchar, "
        "savings_type varchar, is_cashable boolean, contract_ref varchar, supplier_name varchar, "
        "baseline_gbp decimal(18,2), actual_gbp decimal(18,2), savings_gbp decimal(18,2), method varchar)"
    )
    con.execute(
        "create table marts.mart_social_value (council_id varchar, contract_key varchar, title varchar, "
        "supplier_name varchar, social_value_weight_pct decimal(9,2), committed_proxy_gbp decimal(18,2), "
        "delivered_proxy_gbp decimal(18,2), delivered_share decimal(12,6), status varchar)"
    )
    con.execute("create table marts.fct_contract_portfolio (council_id varchar, days_to_expiry integer)")
    yield con
    con.close()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _render(section: str, data: dict) -> str:
    return environment().get_template(f"sections/{section}.html.j2").render(data=data, charts={})


def test_sections_say_not_measured_when_the_marts_hold_nothing(con):
    con.execute(
        "insert into marts.mart_spend_carbon_estimate values "
        "('c', '2024-25', '2024-06-01', 'Catering', 'not_measured', 1000, 1000, null, null, null, null, false, 1)"
    )
    data = {
        "insight": {
            "fiscal_year": "2024-25",
            "carbon": insight.carbon(con, "c", "2024-25", date(2025, 3, 1)),
            "savings": insight.savings(con, "c", "2024-25"),
            "social_value": insight.social_value(con, "c"),
        }
    }
    for section in ("carbon", "savings", "social_value"):
        assert "Not measured." in _text(_render(section, data)), section
    assert "£1,000 spent in 2024-25" in _text(_render("carbon", data))


def test_carbon_section_shows_the_known_tonnes_and_the_uncertainty(con):
    con.execute(
        "insert into marts.mart_spend_carbon_estimate values "
        "('c', '2024-25', '2024-06-01', 'Catering', 'category_sic', 1000, 800, 0.5, 0.4, 2021, 2020, true, 1), "
        "('c', '2024-25', '2024-07-01', 'Catering', 'category_sic', 1000, 800, 0.5, 0.4, 2021, 2020, true, 1), "
        "('c', '2024-25', '2024-07-01', 'Legal Services', 'not_measured', 2000, 2000, null, null, null, null, "
        "false, 1), "
        "('c', '2025-25', '2025-04-01', 'Catering', 'category_sic', 9000, 9000, 0.5, 4.5, 2021, 2020, true, 1)"
    )
    c = insight.carbon(con, "c", "2024-25", date(2025, 3, 1))
    assert c["measured"] and c["total_tco2e"] == Decimal("0.8") and c["coverage"] == Decimal("0.5")
    text = _text(_render("carbon", {"insight": {"fiscal_year": "2024-25", "carbon": c}}))
    assert "0.8 t CO2e" in text
    assert "out by half or more" in text
    assert "50.0% of the £4,000 spent" in text


def test_savings_and_social_value_sections_show_what_is_recorded(con):
    con.execute(
        "insert into marts.mart_savings values "
        "('s1', 'c', '2024-25', 'competed_award', true, 'REF1', 'ONE LTD', 100000, 90000, 10000, 'estimate - award'), "
        "('s2', 'c', '2024-25', 'repeat_purchase_price', false, null, 'TWO LTD', 660, 600, 60, 'average payment'), "
        "('s3', 'c', '2023-24', 'competed_award', true, 'OLD', 'OLD LTD', 5, 1, 4, 'last year')"
    )
    con.execute(
        "insert into marts.mart_social_value values "
        "('c', 'REF1', 'Cleaning', 'ONE LTD', 10, 50000, 20000, 0.4, 'committed and delivered')"
    )
    con.execute("insert into marts.fct_contract_portfolio values ('c', 10), ('c', -5), ('c', null)")
    s = insight.savings(con, "c", "2024-25")
    assert s["cashable"] == Decimal("10000") and s["total"] == Decimal("10060")
    text = _text(_render("savings", {"insight": {"fiscal_year": "2024-25", "savings": s}}))
    assert "£10,000 cashable" in text and "OLD LTD" not in text
    v = insight.social_value(con, "c")
    assert v["summary"]["live_contracts"] == 2
    text = _text(_render("social_value", {"insight": {"fiscal_year": "2024-25", "social_value": v}}))
    assert "Delivered so far: £20,000" in text and "£50,000 committed" in text
