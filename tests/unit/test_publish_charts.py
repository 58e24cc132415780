"""Board-pack charts and commentary: deterministic, accessible SVG; sentences from the numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from procure.publish import charts
from procure.publish.board_pack import commentary, gbp, rag

NS = "{http://www.w3.org/2000/svg}"


def _line(key="shares"):
    return charts.line_chart(
        key,
        "Local share <vs> target",
        ["Jan 25", "Feb 25", "Mar 25"],
        {"Local": [0.44, 0.443, 0.412], "SME": [0.3, None, 0.31]},
        "Share of spend (%)",
        {"Local": 0.45},
    )


def test_same_numbers_give_identical_bytes_and_different_numbers_do_not():
    assert _line() == _line()
    other = charts.line_chart("shares", "Local share <vs> target", ["Jan 25"], {"Local": [0.5]}, "Share")
    assert other != _line()


def test_svg_is_accessible_inline_markup_with_prefixed_ids():
    svg = _line("k1")
    assert svg.startswith("<svg ")  # no XML declaration or DOCTYPE inside the HTML
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{NS}title").text == "Local share <vs> target"
    assert root.find(f"{NS}desc").text
    ids = re.findall(r'id="([^"]+)"', svg)
    assert ids and all(i.startswith("k1-") for i in ids)
    refs = re.findall(r"url\(#([^)]+)\)|href=\"#([^\"]+)\"", svg)
    assert all((a or b) in ids for a, b in refs)
    assert "<dc:date>" not in svg and not re.search(r"20\d\d-\d\d-\d\dT", svg)
    texts = {t.text for t in root.iter(f"{NS}text")}  # text stays text (svg.fonttype none)
    assert {"Month", "Share of spend (%)", "Local target 45%"} <= texts


def test_palette_is_okabe_ito():
    svg = charts.stacked_bar_chart("t", "Spend", ["Jan", "Feb"], {"A": [1e6, 2e6], "B": [5e5, -1.0]}, "Spend (£)")
    assert "#0072b2" in svg.lower() and "#e69f00" in svg.lower()
    with pytest.raises(ValueError, match="'A' has 1 values for 2 labels"):
        charts.stacked_bar_chart("t", "Spend", ["Jan", "Feb"], {"A": [1.0]}, "Spend")


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (Decimal("0.45"), Decimal("0.45"), "higher", "green"),
        (Decimal("0.41"), Decimal("0.45"), "higher", "amber"),
        (Decimal("0.39"), Decimal("0.45"), "higher", "red"),
        (Decimal("0.39"), Decimal("0.45"), "lower", "green"),
        (None, Decimal("0.45"), "higher", "none"),
    ],
)
def test_rag(value, target, direction, expected):
    assert rag(value, target, direction, Decimal("0.05")) == expected


def test_commentary_is_generated_from_the_numbers():
    data = {
        "month": date(2025, 3, 1),
        "spend": {"month": Decimal("900"), "prev": Decimal("1000")},
        "kpis": [
            {
                "label": "Local spend share",
                "value": Decimal("0.412"),
                "target": Decimal("0.45"),
                "rag": "red",
                "direction": "higher",
                "change_month": Decimal("-0.031"),
            }
        ],
        "pipeline": {"0-6 months": []},
        "risks": [],
        "suppliers": [],
        "top10_share": None,
        "quality": {"rejected": 3, "records": 1200, "sources": [{"source": "Contract register", "late": True}]},
    }
    text = commentary(data)
    assert "Spend in March 2025 fell 10.0% to £900 (from £1,000 in the previous month)." in text
    assert "Local spend share fell 3.1 points to 41.2%, below the 45.0% target." in text
    assert "3 of 1,200 payment rows were quarantined; late sources: Contract register." in text
    assert gbp(Decimal("-21698.84")) == "−£21,699"
