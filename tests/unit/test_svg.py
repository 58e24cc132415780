"""Inline SVG charts: well-formed XML, one bar per value, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from procure.publish.svg import bar_chart, hbar_chart

NS = "{http://www.w3.org/2000/svg}"
CHARTS = [bar_chart, hbar_chart]


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def _rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{NS}rect")


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.findall(f"{NS}text")]


@pytest.mark.parametrize("chart", CHARTS)
def test_one_rect_per_value(chart):
    values = [150_000.0, 250_000.0, 3_200_000.0, 800_000.0]
    root = _parse(chart(["Q1", "Q2", "Q3", "Q4"], values))

    rects = _rects(root)
    assert len(rects) == len(values)
    size = "height" if chart is bar_chart else "width"
    sizes = [float(r.get(size)) for r in rects]
    assert sizes.index(max(sizes)) == 2  # the largest value has the largest bar
    assert all(s > 0 for s in sizes)
    assert sizes[0] < sizes[1] < sizes[3] < sizes[2]
    assert {"£150k", "£250k", "£3.2m", "£800k"} <= set(_texts(root))


@pytest.mark.parametrize("chart", CHARTS)
def test_labels_with_markup_characters_are_escaped(chart):
    labels = ["Smith & Sons <Ltd>", 'Say "hi"']
    svg = chart(labels, [10.0, 20.0])

    root = _parse(svg)
    assert "Smith & Sons <Ltd>" in _texts(root)
    assert "<Ltd>" not in svg
    assert "Smith &amp; Sons &lt;Ltd&gt;" in svg


def test_title_is_escaped_in_attribute():
    root = _parse(bar_chart(["a"], [1.0], title='Spend <by> "month" & year'))
    assert root.get("aria-label") == 'Spend <by> "month" & year'


@pytest.mark.parametrize("chart", CHARTS)
def test_zero_and_negative_values(chart):
    root = _parse(chart(["zero", "credit", "spend"], [0.0, -5000.0, 1000.0]))

    rects = _rects(root)
    assert len(rects) == 3
    size = "height" if chart is bar_chart else "width"
    sizes = [float(r.get(size)) for r in rects]
    assert sizes[0] == 0.0
    assert sizes[1] == 0.0  # negative values draw no bar (never a negative size)
    assert sizes[2] > 0
    assert all(float(r.get(a)) >= 0 for r in rects for a in ("x", "y", "width", "height"))


@pytest.mark.parametrize("chart", CHARTS)
def test_all_zero_and_empty_inputs_are_valid_svg(chart):
    root = _parse(chart(["a", "b"], [0.0, 0.0]))
    assert [float(r.get("height" if chart is bar_chart else "width")) for r in _rects(root)] == [0.0, 0.0]

    empty = _parse(chart([], []))
    assert _rects(empty) == []


@pytest.mark.parametrize("chart", CHARTS)
def test_labels_and_values_must_match(chart):
    with pytest.raises(ValueError):
        chart(["a", "b"], [1.0])


def test_long_hbar_labels_are_shortened():
    root = _parse(hbar_chart(["A" * 60], [1.0]))
    [label, _value] = _texts(root)
    assert len(label) == 40
    assert label.endswith("…")
