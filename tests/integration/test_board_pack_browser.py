"""The board pack in a real browser (Debian's headless Chromium through Playwright) and its PDF.

The pack is published from a real, gate-passed warehouse built from the sample data. Checks:
no console error and no network request when Chromium loads it (DNS is mapped to nothing,
so any lookup would also fail loudly); a screenshot that is not blank; a PDF with the
sections, contents and page numbers; and every number shown equal to the marts, which this
test reads with its own SQL.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import gated_warehouse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
MONTH = date(2025, 3, 1)
FY_START = date(2024, 4, 1)
SECTIONS = [
    "Headline KPIs and summary",
    "Spend trend by service area (up to 13 months)",
    "Local, SME and VCSE shares against targets",
    "Top suppliers and category concentration",
    "Supplier base: tail spend and one-off suppliers",
    "Contract pipeline and contract risks",
    "Contracts awarded without competition",
    "Contracts without a published notice",
    "Off-contract spend hotspots",
    "Possible duplicate payments",
    "New contract awards (Contracts Finder / Find a Tender)",
    "Estimated supply-chain emissions",
    "Savings",
    "Social value",
    "Spend forecast and contract renewals",
    "Not measured yet",
    "Data quality",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`, as .ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " — required under CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pack(tmp_path_factory, sample_dir):
    """The published pack (HTML, PDF) and the warehouse it came from."""
    built = gated_warehouse(tmp_path_factory, sample_dir)
    work = tmp_path_factory.mktemp("board_pack")
    warehouse = work / "w.duckdb"
    shutil.copy(built, warehouse)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCURE_WAREHOUSE", str(warehouse))
        mp.setenv("PROCURE_CONFIG", str(built.parent / "councils.yml"))
        mp.setenv("PROCURE_PUBLISH_DIR", str(work / "publish"))
        from procure.config import get_council
        from procure.publish.board_pack import publish_board_pack

        council = get_council("norwich")
        paths = publish_board_pack(council, MONTH)
        first = (paths.html.read_bytes(), paths.pdf.read_bytes())
        # re-publishing the same month: with its fingerprint gone the pack is laid out again from scratch
        (paths.html.parent / "fingerprint.txt").unlink()
        again = publish_board_pack(council, MONTH)
        second = (again.html.read_bytes(), again.pdf.read_bytes())
        # and with it present, the unchanged pack is kept as it is: no PDF layout, no file rewritten
        stamps = {p.name: p.stat().st_mtime_ns for p in paths.html.parent.iterdir()}
        kept = publish_board_pack(council, MONTH)
        kept_stamps = {p.name: p.stat().st_mtime_ns for p in paths.html.parent.iterdir()}
    return {
        "html": paths.html,
        "pdf": paths.pdf,
        "warehouse": warehouse,
        "runs": (first, second),
        "rendered": (paths.rendered, again.rendered, kept.rendered),
        "stamps": (stamps, kept_stamps),
        "work": work,
    }


@pytest.fixture(scope="module")
def browser_page(pack):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    events: dict[str, list] = {"console": [], "pageerror": [], "requests": [], "failed": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("console", lambda m: events["console"].append((m.type, m.text)))
        page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
        page.on("request", lambda r: events["requests"].append(r.url))
        page.on("requestfailed", lambda r: events["failed"].append(r.url))
        page.goto(pack["html"].as_uri(), wait_until="load")
        shot = pack["work"] / "board_pack.png"
        page.screenshot(path=str(shot), full_page=False)
        tables = page.eval_on_selector_all(
            "table[data-panel]",
            """ts => Object.fromEntries(ts.map(t => [t.dataset.panel, [...t.tBodies[0].rows].map(r =>
                   [...r.cells].map(c => ({text: c.textContent.trim(), value: c.dataset.value ?? null,
                                           kind: c.dataset.kind ?? null})))]))""",
        )
        headings = page.eval_on_selector_all("section > h2", "hs => hs.map(h => h.textContent)")
        svg_titles = page.eval_on_selector_all("svg[role=img] > title", "ts => ts.map(t => t.textContent)")
        yield {"events": events, "screenshot": shot, "tables": tables, "headings": headings, "svg_titles": svg_titles}
        browser.close()


def test_chromium_loads_with_no_console_error_and_no_network(browser_page, pack):
    ev = browser_page["events"]
    assert [m for m in ev["console"] if m[0] in ("error", "warning")] == []
    assert ev["pageerror"] == []
    assert ev["requests"] == [pack["html"].as_uri()]  # the page itself and nothing else
    assert ev["failed"] == []
    assert browser_page["headings"] == SECTIONS
    assert len(browser_page["svg_titles"]) == 4 and all(browser_page["svg_titles"])


def test_html_is_self_contained_and_deterministic(pack):
    html = pack["html"].read_text(encoding="utf-8")
    urls = set(re.findall(r"""(?:https?:|//)[^\s"'<>)]+""", html)) - {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert urls == set()
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert re.search(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d", html) is None  # no timestamps in SVG metadata
    (html1, pdf1), (html2, pdf2) = pack["runs"]
    assert html1 == html2
    assert pdf1 == pdf2


def test_unchanged_pack_is_kept_without_laying_it_out_again(pack):
    """A pack is keyed by the fingerprint of its figures: publishing the same figures again writes nothing."""
    assert pack["rendered"] == (True, True, False)
    stamps, kept_stamps = pack["stamps"]
    assert set(stamps) == {"board_pack.html", "board_pack.pdf", "fingerprint.txt"}
    assert kept_stamps == stamps


def test_screenshot_is_not_blank(browser_page):
    from PIL import Image

    img = Image.open(browser_page["screenshot"]).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    non_white = sum(n for n, c in colours if sum(c) < 3 * 235)
    assert non_white / (img.width * img.height) > 0.03


def test_pdf_has_sections_contents_and_page_numbers(pack):
    from pypdf import PdfReader

    reader = PdfReader(pack["pdf"])
    pages = [p.extract_text() for p in reader.pages]
    n = len(pages)
    assert n >= 5
    text = re.sub(r"\s+", " ", " ".join(pages))
    assert "Norwich City Council" in pages[0] and "Procurement board pack — March 2025" in pages[0]
    assert "Contents" in pages[0]
    for title in SECTIONS:
        assert title in text, title
    for i in range(1, n + 1):
        assert f"Page {i} of {n}" in re.sub(r"\s+", " ", pages[i - 1])
    # The contents list carries page numbers, and each section's title is on the page it gives.
    toc = re.sub(r"\s+", " ", pages[0])
    listed = []
    for title in SECTIONS:
        m = re.search(re.escape(title) + r" ?\.+ +(\d+)", toc)
        assert m, f"contents entry for {title!r} with a page number"
        page = int(m.group(1))
        assert 1 <= page <= n
        assert re.sub(r"\s+", " ", pages[page - 1]).count(title) >= (2 if page == 1 else 1), (title, page)
        listed.append(page)
    assert listed == sorted(listed)


MM = 72 / 25.4
PAGE_TOP, PAGE_BOTTOM = 841.9 - 16 * MM, 18 * MM  # A4, the pack's @page margins (pack.css)
TEXT_RIGHT = 595.3 - 14 * MM


def _runs(page) -> list[tuple[float, float, float, str]]:
    """(x, y, printed size in pt, text) of every text run on a PDF page, chart text (SVG images) included."""
    runs = []

    def visit(text, cm, tm, _font, size):
        if text.strip():
            a, b, _c, _d, e, f = tm
            ca, cb, cc, cd, ce, cf = cm
            scale = math.hypot(a * ca + b * cc, a * cb + b * cd)
            runs.append((e * ca + f * cc + ce, e * cb + f * cd + cf, size * scale, text.strip()))

    page.extract_text(visitor_text=visit)
    return runs


def test_pdf_layout_contents_chart_text_and_no_half_empty_page(pack):
    """Issue 15 item 12: each contents entry has its page number on its own line inside the text column;
    no text, chart text included, is printed under 8 pt; no page but the last is more than half blank."""
    from pypdf import PdfReader

    pages = [_runs(p) for p in PdfReader(pack["pdf"]).pages]
    toc = pages[0]
    for title in SECTIONS:
        [(x, y, _s, _t)] = [r for r in toc if r[3] == title][:1]
        numbers = [r for r in toc if abs(r[1] - y) < 1 and r[3].isdigit() and r[0] > x]
        assert len(numbers) == 1, (title, numbers)
        assert TEXT_RIGHT - 30 < numbers[0][0] < TEXT_RIGHT, (title, numbers[0])  # right-aligned, not beyond
    chart_text = [r for p in pages for r in p if r[3] in ("Spend (£)", "Share of spend (%)")]
    assert chart_text, "chart text must be text in the PDF, measurable"
    small = [(i + 1, round(r[2], 1), r[3]) for i, p in enumerate(pages) for r in p if r[2] < 8.0]
    assert small == [], small[:5]
    for i, runs in enumerate(pages[:-1], start=1):
        body = [y for _x, y, _s, _t in runs if y > PAGE_BOTTOM]
        used = (PAGE_TOP - min(body)) / (PAGE_TOP - PAGE_BOTTOM)
        assert used >= 0.5, f"page {i} is {1 - used:.0%} blank"


def _num(cell) -> Decimal | None:
    return None if cell["value"] in (None, "") else Decimal(cell["value"])


def test_every_number_shown_is_formatted_from_its_value(browser_page):
    from procure.publish.board_pack import FORMATS

    cells = [c for rows in browser_page["tables"].values() for r in rows for c in r if c["kind"]]
    assert len(cells) > 300
    for c in cells:
        assert c["text"] == FORMATS[c["kind"]](_num(c)), c


def test_numbers_equal_the_marts(browser_page, pack):
    t = browser_page["tables"]
    con = duckdb.connect(str(pack["warehouse"]), read_only=True)
    q = lambda sql, *p: con.execute(sql, list(p)).fetchall()  # noqa: E731
    try:
        # KPIs: value, last month, target and RAG from mart_procurement_kpis, labels from the seed kpi_targets
        labels = dict(q("select kpi, label from reference.kpi_targets where council_id = '*'"))
        kpi = {r[0]: r[1:] for r in q("select month, * exclude (council_id, month) from marts.mart_procurement_kpis")}
        cols = [r[0] for r in q("describe marts.mart_procurement_kpis")][2:]
        pk_cols = [r[0] for r in q("describe marts.mart_procurement_kpis")]
        pk = {
            r[0].date() if hasattr(r[0], "date") else r[0]: dict(zip(pk_cols, r[1:], strict=False))
            for r in q("select month, * from marts.mart_procurement_kpis where council_id = 'norwich'")
        }
        shown = {r[0]["text"]: r for r in t["kpis"]}
        assert set(shown) == set(labels.values())
        for key, label in labels.items():
            row = shown[label]
            now, prev = pk[MONTH][key], pk[date(2025, 2, 1)][key]
            target, status = pk[MONTH][f"{key}_target"], pk[MONTH][f"{key}_rag"]
            assert _num(row[1]) == now, key
            assert _num(row[4]) == target, key
            if status:
                assert row[5]["text"] == status.upper(), key
            assert _num(row[6]) == (None if now is None or prev is None else now - prev), key
            assert row[7]["value"] in ("", None)  # no March 2024 in the sample: shown as –, never invented
        # spend: month, previous month and financial year to date
        spend = {r[0]["text"]: _num(r[1]) for r in t["spend"]}
        assert spend["March 2025"] == kpi[MONTH][cols.index("total_spend_gbp")]
        assert spend["Previous month"] == kpi[date(2025, 2, 1)][cols.index("total_spend_gbp")]
        ytd = q(
            "select sum(amount_gbp) from marts.fct_spend where council_id = 'norwich' and payment_month between ? and ?",
            FY_START,
            MONTH,
        )[0][0]
        assert spend["Financial year to date (from 01 April 2024)"] == ytd
        # trend: each month's service areas add up to the month's total spend
        for row in t["trend"]:
            values = [_num(c) for c in row[1:]]
            month = next((m for m in kpi if f"{m:%b %y}" == row[0]["text"]), None)
            if month is None:
                assert values == [None] * len(values)
            else:
                assert sum(values) == kpi[month][cols.index("total_spend_gbp")]
        # shares over time, each with its coverage
        for row in t["shares"]:
            month = next(m for m in kpi if f"{m:%b %y}" == row[0]["text"])
            assert [_num(c) for c in row[1:]] == [
                kpi[month][cols.index(k)]
                for k in ("local_share", "local_coverage", "sme_share", "sme_coverage", "vcse_share", "vcse_coverage")
            ]
        # top 10 suppliers, financial year to date, redacted payees excluded
        top = q(
            "select d.canonical_name, sum(f.amount_gbp) s, count(*) from marts.fct_spend f join marts.dim_supplier d "
            "using (supplier_id) where f.payment_month between ? and ? and not d.is_placeholder "
            "group by 1 order by s desc, 1 limit 10",
            FY_START,
            MONTH,
        )
        assert [(r[0]["text"], _num(r[1]), _num(r[3])) for r in t["suppliers"]] == [(n, s, c) for n, s, c in top]
        assert sum(_num(r[1]) for r in t["categories"]) == ytd
        # contract pipeline: the rows of mart_contract_expiry for the month, most spend at risk first (12 shown)
        for panel, band in (("pipeline_0_6", "0-6 months"), ("pipeline_6_12", "6-12 months"), ("lapsed", "lapsed")):
            expected = q(
                "select contract_ref, contract_value_gbp, spend_at_risk_gbp from marts.mart_contract_expiry "
                "where month = ? and expiry_band = ? "
                "order by spend_at_risk_gbp desc, contract_value_gbp desc nulls last, contract_ref limit 12",
                MONTH,
                band,
            )
            assert [(r[0]["text"], _num(r[4]), _num(r[5])) for r in t[panel]] == expected
        n_risks = q(
            "select count(*) from marts.fct_contract_portfolio where is_spend_beyond_value or is_expired_but_paid"
        )[0][0]
        assert 0 < len(t["risks"]) <= min(n_risks, 15)
        # data quality
        files, records, rejected = q("select count(*), sum(records), sum(rejected) from raw.spend_files")[0]
        dq = {r[0]["text"]: _num(r[1]) for r in t["quality_totals"]}
        assert (dq["Files loaded"], dq["Rows read"], dq["Rows quarantined"]) == (files, records, rejected)
        warnings = q(
            "select count(*) from ops.quality_results where severity = 'warning' and not success and run_id = "
            "(select run_id from ops.quality_runs order by recorded_at desc limit 1)"
        )[0][0]
        assert len([r for r in t["warnings"] if len(r) > 1]) == warnings
    finally:
        con.close()
