"""Data Docs open offline (issue 16 item 13): a real GX checkpoint builds its site, then the gate's
finishing step writes the self-contained index and strips every remote asset from GX's pages.
Chromium loads the index with the network refused and must show the results, asking for nothing remote.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from procure.quality import gate
from procure.quality.data_docs import publish_site, render_index

CHROMIUM = Path("/usr/bin/chromium")
REMOTE_ASSET = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I
)  # a script, stylesheet, image or frame fetched from another host


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import great_expectations as gx

    publish = tmp_path_factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCURE_PUBLISH_DIR", str(publish))
        context = gate._gx_context()
        batch = (
            context.data_sources.add_pandas("w")
            .add_dataframe_asset("fct_spend")
            .add_batch_definition_whole_dataframe("all")
        )
        expectations = [
            gx.expectations.ExpectColumnValuesToNotBeNull(column="amount_gbp", meta={"severity": "critical"}),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="local_share", min_value=0, max_value=1, meta={"severity": "warning"}
            ),
        ]
        frame = pd.DataFrame({"amount_gbp": [1.0, None, 3.0], "local_share": [0.2, 1.5, 0.4]})
        result = gate.GateResult("run-<offline>")
        result.checks += gate._validate(context, "fct_spend", expectations, batch, {"dataframe": frame})
        raw = (publish / "data_docs" / "gx" / "index.html").read_text(encoding="utf-8")
        index = publish_site(result, date(2025, 4, 5), publish)
    return {"publish": publish, "index": index, "result": result, "gx_index_before": raw}


def test_gx_itself_loads_its_assets_from_the_internet(site):
    """The control: what GX writes needs CDNs, so the checks below can fail."""
    assert REMOTE_ASSET.search(site["gx_index_before"])


def test_index_is_self_contained_and_reports_every_check(site):
    text = site["index"].read_text(encoding="utf-8")
    assert site["index"] == site["publish"] / "data_docs" / "index.html"
    assert not REMOTE_ASSET.search(text)
    assert not re.search(r"<script\b|<link\b", text, re.I)
    assert not re.search(r"https?://", text)
    assert 'Data quality gate <span class="fail">FAILED</span>' in text
    assert "run-&lt;offline&gt;" in text  # escaped
    assert text.count(">FAILED</td>") == 2  # the two failed expectations, critical and warning
    assert "expect_column_values_to_not_be_null" in text and "local_share" in text
    [link] = re.findall(r'href="(gx/validations/[^"]+)"', text)
    assert (site["publish"] / "data_docs" / link).is_file()


def test_every_gx_page_loads_nothing_remote(site):
    pages = sorted((site["publish"] / "data_docs" / "gx").rglob("*.html"))
    assert len(pages) >= 3  # index, suite, validation
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not REMOTE_ASSET.search(text), page
        assert "<script" not in text.lower(), page
        assert "<!-- procure: offline -->" in text


def test_render_index_passes_and_escapes():
    result = gate.GateResult("r1", [gate.CheckResult("dim_<x>", "expect_a", None, "critical", True, '"<b>"')])
    text = render_index(result, date(2025, 1, 1))
    assert '<span class="pass">PASSED</span>' in text and "dim_&lt;x&gt;" in text and "&lt;b&gt;" in text


def test_chromium_shows_the_index_offline(site):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} required under CI (.ci/run installs it)")
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site["index"].as_uri(), wait_until="load")
        rows = page.eval_on_selector_all("table tbody tr", "rs => rs.length")
        heading = page.text_content("h1")
        link = page.get_attribute("a[href^='gx/validations/']", "href")
        page.goto((site["index"].parent / link).as_uri(), wait_until="load")
        gx_text = page.text_content("body") or ""
        browser.close()
    assert heading and "FAILED" in heading
    assert rows == 3  # the suite summary row and the two expectations
    assert [u for u in requests if not u.startswith("file://")] == []
    assert errors == []
    assert "local_share" in gx_text  # GX's validation page is readable without its scripts
