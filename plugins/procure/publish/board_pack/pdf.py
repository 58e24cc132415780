"""The pack's PDF: the same HTML through WeasyPrint, with each chart handed over as an SVG image.

WeasyPrint runs no JavaScript and renders SVG in pure Python, per node: the charts are already
plain (``procure.publish.charts``: presentation attributes, no CSS, no nesting), and ``pdf_html``
swaps each inline chart for an ``<img>`` of it (alt text from the chart's title and description).
``PDF_CSS`` sizes those images as the inline SVG is sized on screen.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

PDF_CSS = (Path(__file__).parent / "templates" / "pdf.css").read_text(encoding="utf-8")

_INLINE_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
_SVG_TITLE = re.compile(r'<title id="[^"]*">([^<]*)</title><desc id="[^"]*">([^<]*)</desc>')


def _svg_as_image(m: re.Match) -> str:
    svg = m.group(0)
    label = _SVG_TITLE.search(svg)
    alt = f"{label.group(1)}. {label.group(2)}" if label else ""  # already HTML-escaped by charts._to_svg
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def pdf_html(html: str) -> str:
    """The page as WeasyPrint gets it: each inline chart becomes the same SVG as an image.

    Same drawing, text still text, but WeasyPrint does not run its HTML style cascade over
    every chart element; the published HTML keeps the inline SVG as it was.
    """
    return _INLINE_SVG.sub(_svg_as_image, html)


_WEASY: dict[str, Any] = {}


def _weasyprint() -> dict[str, Any]:
    """WeasyPrint's font configuration and the PDF stylesheet: made once per process, reused by every pack."""
    if not _WEASY:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        _WEASY.update(fonts=fonts, css=[CSS(string=PDF_CSS, font_config=fonts)])
    return _WEASY


def pdf_fingerprint(html: str, identifier: str) -> str:
    """What the PDF is a function of: the pack's HTML (itself a pure function of its figures), the PDF
    stylesheet and this module's SVG handling, and the WeasyPrint version. Equal fingerprints give the
    same PDF bytes, so a pack whose fingerprint is already published need not be laid out again."""
    import hashlib
    from importlib.metadata import version

    h = hashlib.sha256()
    for part in (html, identifier, PDF_CSS, Path(__file__).read_text(encoding="utf-8"), version("weasyprint")):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def write_pdf(html: str, path: Path, identifier: str) -> None:
    from weasyprint import HTML

    from procure.publish.pdf import fixed_font_timestamps

    w = _weasyprint()
    with fixed_font_timestamps():  # same bytes whichever font subsetter WeasyPrint uses
        HTML(string=pdf_html(html), base_url=str(path.parent)).write_pdf(
            path, stylesheets=w["css"], font_config=w["fonts"], pdf_tags=True, pdf_identifier=identifier.encode()
        )
