"""Data Docs that open offline: a self-contained summary page, and GX's pages without the internet.

Great Expectations' Data Docs load Bootstrap, jQuery, bootstrap-table, Vega and Font Awesome
from public CDNs, and its index is drawn by those scripts: on a locked-down council network
(or offline) ``index.html`` is a blank page. So:

- ``publish/data_docs/index.html`` is written here from the gate's results: the run, every
  suite and expectation with its severity, outcome and observed value, inline CSS, no
  script, no external URL; each suite links to GX's page for it;
- GX's own site is built in ``publish/data_docs/gx/``, and every page of it is rewritten to
  load nothing from the internet: remote stylesheets and images and all scripts are removed (its
  validation pages are rendered HTML, readable without them) and a small inline stylesheet
  added. Charts and table filtering, which need those scripts, are not available.

The index is replaced atomically (written aside, then renamed).
"""

from __future__ import annotations

import html
import os
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from procure.quality.gate import GateResult

GX_SUBDIR = "gx"
# a stylesheet, image (GX's logo is a tracking pixel on S3), frame or media fetched from another host
_REMOTE_LINK = re.compile(
    r"""<(?:link|img|iframe|source|video|audio)\b[^>]*\b(?:href|src)\s*=\s*["']?(?:https?:)?//[^>]*>(?:\s*</iframe>)?""",
    re.I,
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_OFFLINE_MARK = "<!-- procure: offline -->"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem; color: #1b1b1b; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #c8c8c8; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.pass { color: #0b6e2f; font-weight: 600; } .fail { color: #a4000f; font-weight: 600; }
.warn { color: #8a5a00; font-weight: 600; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; word-break: break-all; }
"""
# enough for GX's own pages without Bootstrap: readable tables, hidden collapsed chrome
GX_CSS = (
    CSS
    + """
.collapse:not(.show) { display: none; } .sticky { position: static; }
img { max-width: 100%; } nav, .ge-cta-footer, #ge-cta-footer { display: none; }
"""
)
_GX_STYLE = f"{_OFFLINE_MARK}<style>{GX_CSS}</style>"


def site_dir(publish: Path) -> Path:
    return publish / "data_docs"


def make_offline(gx_dir: Path) -> int:
    """Rewrite every GX page under ``gx_dir`` to load nothing remote (see module docstring); return pages changed."""
    changed = 0
    for page in sorted(gx_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if _OFFLINE_MARK in text:
            continue
        text = _SCRIPT.sub("", _REMOTE_LINK.sub("", text))
        text = re.sub(r"</head\s*>", lambda _m: _GX_STYLE + "</head>", text, count=1, flags=re.I)
        _write(page, text)
        changed += 1
    return changed


def _latest_validation_pages(gx_dir: Path) -> dict[str, str]:
    """suite -> relative path of GX's newest validation page for it (run folders sort by time)."""
    found: dict[str, list[Path]] = defaultdict(list)
    root = gx_dir / "validations"
    for page in root.rglob("*.html") if root.is_dir() else []:
        found[page.relative_to(root).parts[0]].append(page)
    return {suite: max(pages).relative_to(gx_dir.parent).as_posix() for suite, pages in found.items()}


def render_index(result: GateResult, as_of: date, links: dict[str, str] | None = None) -> str:
    """The summary page: self-contained HTML (inline CSS, no script, no external URL)."""
    links = links or {}
    e = html.escape
    status = "PASSED" if result.passed else "FAILED"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Data quality: gate {status}</title><style>{CSS}</style></head><body>",
        f'<h1>Data quality gate <span class="{"pass" if result.passed else "fail"}">{status}</span></h1>',
        f"<p>Run <code>{e(result.run_id)}</code>, as of {as_of.isoformat()}: {len(result.checks)} checks, "
        f"{len(result.critical_failures)} critical failures, {len(result.warnings)} warnings. A failed "
        "<em>critical</em> check blocks publishing; a failed <em>warning</em> is shown in the board pack.</p>",
    ]
    by_suite: dict[str, list] = defaultdict(list)
    for check in result.checks:
        by_suite[check.suite].append(check)
    parts.append("<table><thead><tr><th>Suite</th><th>Checks</th><th>Critical failures</th><th>Warnings</th>"
                 "<th>Details</th></tr></thead><tbody>")  # fmt: skip
    for suite, checks in by_suite.items():
        critical = sum(1 for c in checks if c.severity == "critical" and not c.success)
        warned = sum(1 for c in checks if c.severity == "warning" and not c.success)
        detail = f'<a href="{e(links[suite])}">Great Expectations page</a>' if suite in links else ""
        parts.append(
            f'<tr><td><a href="#{e(suite)}">{e(suite)}</a></td><td>{len(checks)}</td>'
            f'<td class="{"fail" if critical else "pass"}">{critical}</td>'
            f'<td class="{"warn" if warned else "pass"}">{warned}</td><td>{detail}</td></tr>'
        )
    parts.append("</tbody></table>")
    for suite, checks in by_suite.items():
        parts.append(f'<h2 id="{e(suite)}">{e(suite)}</h2>')
        parts.append("<table><thead><tr><th>Expectation</th><th>Column</th><th>Severity</th><th>Result</th>"
                     "<th>Observed</th></tr></thead><tbody>")  # fmt: skip
        for c in checks:
            outcome = ("pass", "passed") if c.success else (("fail" if c.severity == "critical" else "warn"), "FAILED")
            parts.append(
                f"<tr><td>{e(c.expectation)}</td><td>{e(c.column or '')}</td><td>{e(c.severity)}</td>"
                f'<td class="{outcome[0]}">{outcome[1]}</td><td><code>{e(str(c.observed or ""))}</code></td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append(
        "<p>Recorded in <code>ops.quality_results</code> and <code>ops.quality_runs</code>. The Great Expectations "
        "pages open offline too, without their charts and table filters.</p></body></html>"
    )
    return "\n".join(parts) + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def publish_site(result: GateResult, as_of: date, publish: Path) -> Path:
    """Make GX's pages offline and write the summary index; return the index path."""
    root = site_dir(publish)
    gx_dir = root / GX_SUBDIR
    root.mkdir(parents=True, exist_ok=True)
    if gx_dir.is_dir():
        make_offline(gx_dir)
    index = root / "index.html"
    _write(index, render_index(result, as_of, _latest_validation_pages(gx_dir)))
    return index
