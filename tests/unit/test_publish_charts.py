"""Board-pack charts and commentary: deterministic, accessible SVG; sentences from the numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from procure.publish import charts
from procure.publish.board_pack import commentary, gbp

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


def test_commentary_is_generated_from_the_numbers():
    data = {
        "month": date(2025, 3, 1),
        "fy_start": date(2024, 4, 1),
        "spend": {"month": Decimal("900"), "prev": Decimal("1000"), "ytd": Decimal("12000")},
        "variance": {
            "month": {
                "label": "February 2025",
                "before": Decimal("1000"),
                "now": Decimal("900"),
                "change": Decimal("-100"),
                "areas": [
                    {"name": "Housing", "change": Decimal("-250")},
                    {"name": "Waste", "change": Decimal("150")},
                ],
                "suppliers": [{"name": "Acme Ltd", "change": Decimal("-180")}],
            },
            "last_year": None,
            "ytd": None,
        },
        "kpis": [
            {
                "key": "quarantine_share",
                "label": "Payment rows quarantined",
                "value": Decimal("0.0025"),
                "target": Decimal("0"),
                "rag": "amber",
                "direction": "lower",
                "change_month": Decimal("0"),
            },
            {
                "key": "local_share",
                "label": "Local spend share",
                "value": Decimal("0.412"),
                "target": Decimal("0.45"),
                "rag": "red",
                "direction": "higher",
                "change_month": Decimal("-0.031"),
            },
        ],
        "pipeline": {"0-6 months": []},
        "risks": [],
        "suppliers": [],
        "top10_share": None,
        "quality": {"rejected": 3, "records": 1200, "sources": [{"source": "Contract register", "late": True}]},
    }
    text = commentary(data)
    # the change explained: its largest movers by service area and by supplier, with their pounds
    assert text[0] == (
        "Spend in March 2025 fell 10.0% to £900 (from £1,000 in the previous month); largest movements by service "
        "area Housing −£250, Waste +£150; by supplier Acme Ltd −£180."
    )
    assert "March 2024 is not loaded, so there is no same-month comparison." in text
    assert "Spend this financial year to date is £12,000 over 12 months (£1,000 a month)." in text
    assert "Local spend share fell 3.1 points to 41.2%, below the 45.0% target." in text
    # data-quality facts are in the data-quality section, not the summary
    assert not [t for t in text if "quarantined" in t or "late" in t]
    assert gbp(Decimal("-21698.84")) == "−£21,699"


def _all_charts() -> dict[str, str]:
    many = {f"Area {i}": [1000.0 * (i + 1), 2000.0, 0.0] for i in range(10)}  # more groups than colours: hatched
    return {
        "trend": charts.stacked_bar_chart("trend", "Spend", ["Jan 25", "Feb 25", "Mar 25"], many, "Spend (£)"),
        "shares": _line(),
        "suppliers": charts.hbar_chart(
            "suppliers", "Top suppliers", ["A very long supplier name that goes on and on Ltd", "B"], [2e6, -5.0], "£"
        ),
        "forecast": charts.band_chart(
            "forecast",
            "Forecast",
            ["Jan 25", "Feb 25", "Mar 25", "Apr 25"],
            [100.0, 120.0, None, None],
            [None, None, 130.0, 140.0],
            [None, None, 90.0, 80.0],
            [None, None, 170.0, 200.0],
            "Spend (£)",
        ),
    }


def test_charts_are_plain_svg_that_fits_their_width():
    """Presentation attributes only (WeasyPrint draws them without a style cascade), nothing nested but the
    hatch patterns, and every text inside the drawing's width at the pack's minimum size or larger."""
    for key, svg in _all_charts().items():
        root = ET.fromstring(svg)
        assert not [el for el in root.iter() if "style" in el.attrib or el.tag in (f"{NS}style", f"{NS}g")], key
        width = float(root.get("viewBox").split()[2])
        assert root.get("width") == f"{charts.WIDTH_IN * 72:g}pt" and width == charts.WIDTH_IN * 72
        for el in root.iter(f"{NS}text"):
            if el.get("transform"):  # the rotated axis label
                continue
            x, size = float(el.get("x")), float(el.get("font-size", charts.MIN_FONT_PT))
            span = charts.text_width(el.text, size, el.get("font-weight") == "bold")
            left = {"end": x - span, "middle": x - span / 2}.get(el.get("text-anchor"), x)
            assert size >= charts.MIN_FONT_PT and left >= 0 and left + span <= width + 0.01, (key, el.text, left, span)
    trend = ET.fromstring(_all_charts()["trend"])
    assert trend.find(f"{NS}defs/{NS}pattern").get("id") == "trend-hatch-1"  # the 9th and 10th groups


def test_ticks_are_round_numbers_covering_the_values():
    assert charts.nice_ticks(0, 9.3e6) == [0, 2e6, 4e6, 6e6, 8e6, 1e7]
    assert charts.nice_ticks(0, 47.25) == [0, 10, 20, 30, 40, 50]
    assert charts.nice_ticks(-120, 380) == [-200, -100, 0, 100, 200, 300, 400]
    assert charts.nice_ticks(5, 5) == [5, 5.2, 5.4, 5.6, 5.8, 6]


def test_a_missing_value_breaks_the_line():
    root = ET.fromstring(
        charts.line_chart("k", "T", ["a", "b", "c", "d", "e"], {"S": [0.1, 0.2, None, 0.3, 0.4]}, "Share")
    )
    lines = [p for p in root.iter(f"{NS}path") if p.get("fill") == "none" and p.get("stroke") == charts.PALETTE[0]]
    [line] = [p for p in lines if "L" in p.get("d")]  # the other is its key in the legend
    assert line.get("d").count("M") == 2  # two runs, not one line across the gap


def test_pdf_gets_each_chart_as_an_svg_image_with_its_text_alternative():
    from procure.publish.board_pack import pdf_html

    svg = charts.stacked_bar_chart(
        "trend", "Spend", ["Jan 25", "Feb 25"], {"Adults": [1000.0, 2000.0], "Housing": [500.0, -10.0]}, "£"
    )
    page = pdf_html(f"<p>x</p>{svg}<p>y</p>")
    assert page.startswith('<p>x</p><img class="chart" alt="Spend. Stacked bars') and page.endswith("<p>y</p>")
    assert "<svg" not in page
