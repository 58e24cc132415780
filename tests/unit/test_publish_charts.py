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


def _marks(root) -> list[tuple[str, dict[str, str]]]:
    """Every drawn element in document order with its resolved presentation (style folded in)."""
    star = {}
    for rule in root.iter(f"{NS}style"):
        body = re.fullmatch(r"\s*\*\s*\{([^}]*)\}\s*", rule.text).group(1)
        star = dict(tuple(x.strip() for x in d.split(":", 1)) for d in body.split(";") if ":" in d)
    out = []
    for el in root.iter():
        tag = el.tag.removeprefix(NS)
        if tag in ("path", "use", "text", "tspan"):
            attrs = {k: v for k, v in el.attrib.items() if k not in ("style", "id")}
            decls = dict(tuple(x.strip() for x in d.split(":", 1)) for d in el.get("style", "").split(";") if ":" in d)
            out.append((tag, {**attrs, **star, **decls}, (el.text or "").strip()))
    return out


def test_pdf_charts_are_the_same_marks_in_fewer_nodes():
    from procure.publish.board_pack import flatten_svg, pdf_html

    svg = charts.stacked_bar_chart(
        "trend", "Spend", ["Jan 25", "Feb 25"], {"Adults": [1000.0, 2000.0], "Housing": [500.0, -10.0]}, "£"
    )
    flat = flatten_svg(svg)
    before, after = ET.fromstring(svg), ET.fromstring(flat)
    assert _marks(after) == _marks(before)
    assert len(list(after.iter())) < len(list(before.iter())) * 0.6
    assert not [el for el in after.iter() if "style" in el.attrib or el.tag == f"{NS}style"]
    assert not [el for el in after.iter(f"{NS}g") if set(el.attrib) <= {"id"}]
    assert after.find(f"{NS}title").text == "Spend"
    # the PDF gets it as an SVG image with the chart's title and description as its text alternative
    page = pdf_html(f"<p>x</p>{svg}<p>y</p>")
    assert page.startswith('<p>x</p><img class="chart" alt="Spend. Stacked bars') and page.endswith("<p>y</p>")
    assert "<svg" not in page
