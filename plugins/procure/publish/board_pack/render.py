"""The pack's HTML: the collected figures laid out by one Jinja2 template per section.

``SECTIONS`` is the pack's table of contents, in order; each section is a template in
``templates/sections/`` that reads ``data`` (from ``figures.collect``) and the charts drawn
here. Autoescape is on for every template: a supplier called ``<b>`` is shown, not obeyed.
Only the charts (our own SVG, already escaped by ``charts``) go in as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from procure.config import Council
from procure.publish import charts
from procure.publish.board_pack.commentary import DATA_QUALITY_KPIS
from procure.publish.board_pack.formatting import FORMATS, NUMERIC_KINDS, count, day, gbp, month_label, pct

RISKS_SHOWN = 15  # contract-risk rows on the pack (largest exposure first); the count covers all
ROWS_SHOWN = 12  # rows of a long contract list on the pack (most at risk first); the rest are in the extracts


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor the contents links to
    title: str  # the heading, also the contents entry
    template: str  # file in templates/sections/
    # starts a new page in the PDF; off by default: a forced break leaves the page before it part-empty,
    # and no page of the pack may be more than half blank (headings are kept with what follows instead)
    page_break: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("headline", "Headline KPIs and summary", "headline.html.j2"),
    Section("trend", "Spend trend by service area (up to 13 months)", "trend.html.j2"),
    Section("shares", "Local, SME and VCSE shares against targets", "shares.html.j2"),
    Section("suppliers", "Top suppliers and category concentration", "suppliers.html.j2"),
    Section(
        "supplier_base", "Supplier base: tail spend and one-off suppliers", "supplier_base.html.j2", page_break=False
    ),
    Section("pipeline", "Contract pipeline and contract risks", "pipeline.html.j2"),
    Section("direct_awards", "Contracts awarded without competition", "direct_awards.html.j2"),
    Section("transparency", "Contracts without a published notice", "transparency.html.j2"),
    Section("offcontract", "Off-contract spend hotspots", "offcontract.html.j2"),
    Section("duplicates", "Possible duplicate payments", "duplicates.html.j2"),
    Section("awards", "New contract awards (Contracts Finder / Find a Tender)", "awards.html.j2"),
    Section("carbon", "Estimated supply-chain emissions", "carbon.html.j2"),
    Section("savings", "Savings", "savings.html.j2"),
    Section("social_value", "Social value", "social_value.html.j2"),
    Section("forecast", "Spend forecast and contract renewals", "forecast.html.j2"),
    Section("not_measured", "Not measured yet", "not_measured.html.j2"),
    Section("quality", "Data quality", "quality.html.j2"),
)

_ENV: Environment | None = None


def environment() -> Environment:
    """The templates' Jinja2 environment (made once): autoescape on, undefined names are errors."""
    global _ENV
    if _ENV is None:
        env = Environment(
            loader=PackageLoader("procure.publish.board_pack", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.do"],
        )
        env.filters.update(
            fmt=lambda v, kind: FORMATS[kind](v), gbp=gbp, pct=pct, count=count, day=day, month_label=month_label
        )
        env.globals["numeric_kinds"] = NUMERIC_KINDS
        env.globals["data_quality_kpis"] = DATA_QUALITY_KPIS
        _ENV = env
    return _ENV


def _share_targets(data: dict[str, Any]) -> dict[str, Any]:
    """The local, SME and VCSE targets, by series name, from the KPI rows."""
    names = {"local_share": "Local", "sme_share": "SME", "vcse_share": "VCSE"}
    return {names[k["key"]]: k["target"] for k in data["kpis"] if k["key"] in names and k["target"] is not None}


def _svg(svg: str) -> Markup:
    """A chart from ``procure.publish.charts``: our own SVG, its title and every text in it already escaped."""
    return Markup(svg)  # noqa: S704 - not user input: every label in it went through html.escape


def draw_charts(data: dict[str, Any]) -> dict[str, Markup]:
    """The pack's charts as inline SVG (deterministic bytes; the figures are in a table beside each)."""
    t = data["trend"]
    labels = [month_label(m) for m in t["months"]]
    trend = charts.stacked_bar_chart(
        "trend",
        f"Monthly spend by service area, {labels[0]} to {labels[-1]}",
        labels,
        {g: [float(t["values"][g][m]) for m in t["months"]] for g in t["groups"]},
        "Spend (£)",
    )
    series = {
        "Local": [r["local_share"] for r in data["shares"]],
        "SME": [r["sme_share"] for r in data["shares"]],
        "VCSE": [r["vcse_share"] for r in data["shares"]],
    }
    targets = _share_targets(data)
    shares = charts.line_chart(
        "shares",
        "Local, SME and VCSE shares of spend against targets",
        [month_label(r["month"]) for r in data["shares"]],
        {n: [None if v is None else float(v) for v in vals] for n, vals in series.items()},
        "Share of spend (%)",
        {n: float(v) for n, v in targets.items()},
    )
    sup = data["suppliers"]
    suppliers = charts.hbar_chart(
        "suppliers",
        "Top 10 suppliers, financial year to date",
        [x["supplier"] for x in sup],
        [float(x["spend"]) for x in sup],
        "Spend (£)",
    )
    return {
        "trend": _svg(trend),
        "shares": _svg(shares),
        "suppliers": _svg(suppliers),
        "forecast": _svg(forecast_chart(data["insight"]["forecast"])),
    }


def forecast_chart(f: dict[str, Any]) -> str:
    """The last 12 actual months, then the 12-month forecast of the council's total with its 95 % band."""
    if not f["measured"]:
        return ""
    actual, points = f["actual"], f["points"]
    labels = [month_label(r["month"]) for r in actual] + [month_label(p["month"]) for p in points]
    pad = [None] * len(actual)
    return charts.band_chart(
        "forecast",
        "Monthly spend: last 12 months and the next 12 forecast",
        labels,
        [float(r["spend"]) for r in actual] + [None] * len(points),
        pad + [float(p["forecast_gbp"]) for p in points],
        pad + [float(p["lower_95_gbp"]) for p in points],
        pad + [float(p["upper_95_gbp"]) for p in points],
        "Spend (£)",
    )


def render_html(con_or_data, council: Council | None = None, month: date | None = None) -> str:
    """The pack's HTML; pass collected data, or (con, council, month) to collect it first."""
    if isinstance(con_or_data, dict):
        data = con_or_data
    else:
        from procure.publish.board_pack.figures import collect

        data = collect(con_or_data, council, month)
    return (
        environment()
        .get_template("pack.html.j2")
        .render(
            data=data,
            council=data["council"],
            month=data["month"],
            sections=SECTIONS,
            charts=draw_charts(data),
            share_targets=_share_targets(data),
            risks_shown=RISKS_SHOWN,
            rows_shown=ROWS_SHOWN,
        )
    )
