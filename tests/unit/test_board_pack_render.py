"""The board pack's templates on hand-built figures (no warehouse): autoescaping, the board name
from configuration, and the section list matching the template files."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from procure.config import load_councils
from procure.publish.board_pack import SECTIONS, render_html
from procure.publish.board_pack.render import environment

EVIL = '<script>alert("x")</script> & Sons'
MONTH = date(2025, 3, 1)


def _figures(board_name: str | None = "Resources Board") -> dict:
    """The smallest figures every section can render: one month, one supplier, one of each row."""
    months = [date(2025, 2, 1), MONTH]
    supplier = {
        "supplier": EVIL,
        "spend": Decimal("100.00"),
        "lines": 2,
        "share": Decimal("0.5"),
        "is_sme": None,
        "is_local": True,
        "on_contract_share": Decimal("0.25"),
    }
    contract = {
        "contract_ref": "C1",
        "title": EVIL,
        "supplier_name": EVIL,
        "end_date": date(2025, 6, 30),
        "contract_value_gbp": Decimal("1000.00"),
        "spend_at_risk_gbp": Decimal("100.00"),
    }
    return {
        "council": {"id": "x", "name": "Example Council", "board_name": board_name, "local_postcode_prefixes": ["EX1"]},
        "month": MONTH,
        "fy_start": date(2024, 4, 1),
        "kpi_month": {
            "line_count": 2,
            "suppliers_paid": 1,
            "credit_gbp": Decimal(0),
            "redacted_spend_gbp": Decimal(0),
            "pcard_spend_gbp": Decimal(0),
            "contracts_expiring_6m": 1,
            "value_expiring_6m_gbp": Decimal("1000.00"),
        },
        "spend": {"month": Decimal(200), "prev": None, "last_year": None, "ytd": Decimal(200), "ytd_lines": 2},
        "kpis": [
            {
                "key": "local_share",
                "label": "Local spend share",
                "value": Decimal("0.1"),
                "coverage": Decimal("0.7"),
                "share_of_all_spend": Decimal("0.07"),
                "coverage_floor": Decimal("0.8"),
                "below_coverage_floor": True,
                "target": Decimal("0.4"),
                "target_source": "seed",
                "rag": "none",
                "change_month": None,
                "last_year": None,
                "change_year": None,
                "direction": "higher",
            }
        ],
        "trend": {
            "months": months,
            "loaded": {MONTH},
            "groups": ["Housing"],
            "values": {"Housing": dict.fromkeys(months, Decimal(200))},
        },
        "shares": [
            {
                "month": MONTH,
                "local_share": Decimal("0.1"),
                "local_coverage": Decimal("0.7"),
                "sme_share": None,
                "sme_coverage": None,
                "vcse_share": None,
                "vcse_coverage": None,
            }
        ],
        "suppliers": [supplier],
        "top10_share": Decimal("0.5"),
        "categories": [
            {
                "category": EVIL,
                "spend": Decimal(200),
                "share": Decimal(1),
                "suppliers": 1,
                "top_supplier_share": Decimal(1),
                "top_supplier": EVIL,
            }
        ],
        "pipeline": {"0-6 months": [contract], "6-12 months": [], "lapsed": []},
        "risks": [],
        "offcontract": [],
        "offcontract_total": Decimal(0),
        "offcontract_after_end": Decimal(0),
        "awards": [],
        "duplicates": {"pairs": 0, "at_stake": Decimal(0), "largest": []},
        "direct_awards": {"contracts": [], "value": 0, "value_share": 0},
        "awards_from": date(2025, 1, 1),
        "supplier_base": {
            "all": {
                "supplier_count": 1,
                "months_loaded": 2,
                "tail_threshold_gbp": Decimal(5000),
                "tail_supplier_count": 1,
                "tail_supplier_share": Decimal(1),
                "tail_spend_gbp": Decimal(200),
                "tail_spend_share": Decimal(1),
                "one_off_supplier_count": 0,
                "one_off_supplier_share": Decimal(0),
            },
            "categories": [
                {
                    "category_l1": EVIL,
                    "supplier_count": 1,
                    "tail_supplier_count": 1,
                    "tail_spend_gbp": Decimal(200),
                    "tail_spend_share": Decimal(1),
                    "one_off_supplier_count": 0,
                    "total_spend_gbp": Decimal(200),
                }
            ],
        },
        "transparency": {
            "no_notice": [{**contract, "finding": "no notice", "start_date": date(2024, 1, 1)}],
            "not_on_register": [],
            "threshold": Decimal(30000),
            "no_notice_value": Decimal("1000.00"),
            "not_on_register_value": 0,
        },
        "quality": {
            "gate": None,
            "files": [],
            "records": 0,
            "accepted": 0,
            "rejected": 0,
            "quarantine": [],
            "warnings": [
                {
                    "suite": "dim_supplier",
                    "column_name": "is_sme",
                    "expectation": "expect_column_values_to_not_be_null",
                    "observed": "86.56565656565657",
                    "message": "86.6 % of suppliers have no SME status.",
                }
            ],
            "failures": [],
            "sources": [{"source": "Spend files", "latest": None, "late": True}],
        },
        "commentary": [f"Paid {EVIL}."],
        "variance": {
            "month": {
                "label": "February 2025",
                "before": Decimal(100),
                "now": Decimal(200),
                "change": Decimal(100),
                "areas": [{"name": EVIL, "before": Decimal(100), "now": Decimal(200), "change": Decimal(100)}],
                "suppliers": [{"name": EVIL, "before": Decimal(0), "now": Decimal(100), "change": Decimal(100)}],
            },
            "last_year": None,
            "ytd": None,
        },
        "insight": {
            "fiscal_year": "2024-25",
            "carbon": {"measured": False, "categories": [], "trend": [], "total_spend": Decimal(200)},
            "savings": {"measured": False, "by_type": [], "lines": []},
            "social_value": {
                "measured": True,
                "contracts": [
                    {
                        "contract_key": "C1",
                        "title": EVIL,
                        "supplier_name": EVIL,
                        "social_value_weight_pct": Decimal(10),
                        "committed_proxy_gbp": None,
                        "delivered_proxy_gbp": None,
                        "delivered_share": None,
                        "status": "committed, no delivery recorded",
                    }
                ],
                "summary": {
                    "contracts": 1,
                    "live_contracts": 1,
                    "with_weight": 1,
                    "average_weight": Decimal("0.1"),
                    "committed": Decimal(0),
                    "delivered": Decimal(0),
                    "any_delivered": False,
                },
            },
            "forecast": {
                "measured": True,
                "points": [
                    {
                        "month": date(2025, 4, 1),
                        "forecast_gbp": Decimal(200),
                        "lower_95_gbp": Decimal(150),
                        "upper_95_gbp": Decimal(250),
                        "method": "seasonal_naive_one_year",
                        "history_months": 12,
                        "backtest_months": 0,
                        "backtest_wape": None,
                        "backtest_coverage_95": None,
                        "last_actual_month": MONTH,
                    }
                ],
                "actual": [{"month": MONTH, "spend": Decimal(200)}],
                "series": [],
                "renewals": [
                    {
                        "expiry_fiscal_year": "2025-26",
                        "expiry_quarter": 1,
                        "contracts": 1,
                        "run_rate": Decimal(100),
                        "value": Decimal(300),
                    }
                ],
            },
        },
    }


def test_every_text_is_escaped_and_the_charts_are_inline_svg():
    html = render_html(_figures())
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons" in html
    assert html.count("<svg ") == 4  # trend, shares, suppliers, forecast


def test_board_name_comes_from_the_council_configuration(tmp_path):
    assert "Report to: Resources Board." in render_html(_figures())
    assert "Report to" not in render_html(_figures(board_name=None))
    config = tmp_path / "councils.yml"
    config.write_text(
        "councils:\n  - {id: a, name: A Council, board_name: Cabinet}\n  - {id: b, name: B Council}\n", encoding="utf-8"
    )
    assert [c.board_name for c in load_councils(config)] == ["Cabinet", None]


def test_the_section_list_and_the_template_files_agree():
    folder = Path(environment().loader.get_source(environment(), "pack.html.j2")[1]).parent / "sections"
    assert sorted(s.template for s in SECTIONS) == sorted(p.name for p in folder.glob("*.html.j2"))
    assert len({s.id for s in SECTIONS}) == len(SECTIONS)


def test_an_unknown_name_in_a_template_is_an_error_not_a_blank():
    data = _figures()
    del data["kpi_month"]["pcard_spend_gbp"]  # a figure the template needs
    with pytest.raises(Exception, match="pcard_spend_gbp"):
        render_html(data)


def test_contents_lists_every_section_in_order():
    html = render_html(_figures())
    toc = re.findall(r'<li><a href="#([a-z_]+)">', html)
    assert toc == [s.id for s in SECTIONS]


def test_a_share_below_the_coverage_floor_shows_no_status_and_its_coverage():
    html = render_html(_figures())
    assert '<span class="rag rag-none">NO STATUS</span>' in html
    assert "No status is given when coverage is below 80.0%" in html
    assert "EX1" in html  # what "local" means


def test_pdf_fingerprint_changes_with_what_the_pack_shows():
    from procure.publish.board_pack import pdf_fingerprint

    base = pdf_fingerprint("<p>£1,000</p>", "norwich-2025-03")
    assert base == pdf_fingerprint("<p>£1,000</p>", "norwich-2025-03")
    assert base != pdf_fingerprint("<p>£1,001</p>", "norwich-2025-03")  # one figure changed
    assert base != pdf_fingerprint("<p>£1,000</p>", "norwich-2025-04")  # another month's pack


@pytest.mark.parametrize(
    ("suite", "column", "expectation", "observed", "said"),
    [
        (
            "dim_supplier",
            "is_sme",
            "expect_column_values_to_not_be_null",
            "86.56565656565657",
            "86.6 % of suppliers have no SME status.",
        ),
        (
            "fct_contract_portfolio",
            "supplier_id",
            "expect_column_values_to_not_be_in_set",
            "12.3",
            "12.3 % of contracts have no matched supplier.",
        ),
        (
            "raw_spend_months",
            "overlap_jump",
            "expect_column_values_to_be_null",
            '["norwich 2024-11-01: a.csv + b.csv"]',
            "Overlap with another file found in council months: norwich 2024-11-01: a.csv + b.csv.",
        ),
        (
            "new_table",
            "is_widget",
            "expect_column_values_to_be_between",
            "5",
            "5.0 % of rows of new table have a widget outside the expected range.",
        ),
    ],
)
def test_gate_warnings_are_worded_for_people(suite, column, expectation, observed, said):
    from procure.quality.wording import describe_check

    assert describe_check(suite, column, expectation, observed) == said


def test_the_quality_section_shows_the_warning_in_words_and_no_run_id():
    data = _figures()
    data["quality"]["gate"] = {
        "run_id": "scheduled__2025-04-05T06:00:00+00:00",
        "passed": True,
        "critical_failures": 0,
        "warnings": 1,
        "checked_on": date(2025, 4, 5),
    }
    html = render_html(data)
    assert "86.6 % of suppliers have no SME status." in html
    assert "expect_column_values" not in html and "86.5656" not in html and "scheduled__" not in html
