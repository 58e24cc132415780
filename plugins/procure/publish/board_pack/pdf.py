"""The pack's PDF: the same HTML through WeasyPrint, with each chart handed over as an SVG image.

WeasyPrint runs no JavaScript and renders SVG in pure Python, per node: ``flatten_svg`` gives it
the same drawing in fewer, plainer nodes, and ``pdf_html`` swaps each inline chart for an
``<img>`` of it (alt text from the chart's title and description). ``PDF_CSS`` sizes those images
as the inline SVG is sized on screen.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

PDF_CSS = (Path(__file__).parent / "templates" / "pdf.css").read_text(encoding="utf-8")

_INLINE_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
_SVG_TITLE = re.compile(r'<title id="[^"]*">([^<]*)</title><desc id="[^"]*">([^<]*)</desc>')


_SVG_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'
_STAR_RULE = re.compile(r"\s*\*\s*\{([^}]*)\}\s*")


def _declarations(text: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in text.split(";") if ":" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def flatten_svg(svg: str) -> str:
    """The same drawing in fewer, plainer nodes, for WeasyPrint's SVG renderer (pure Python, per node).

    ``<g>`` wrappers that carry only an id are unwrapped, and every ``style`` attribute (with
    matplotlib's one ``* {...}`` rule folded in, which a style attribute overrides) becomes
    presentation attributes - what WeasyPrint's SVG cascade would compute, done once in C here.
    Anything unexpected (another style rule, no SVG namespace) leaves the SVG as it is.
    """
    import xml.etree.ElementTree as ET

    head = svg[: svg.index(">")]
    if _SVG_XMLNS not in head or "xmlns:" in svg:
        return svg
    root = ET.fromstring(svg.replace(_SVG_XMLNS, "", 1))  # noqa: S314 - our own matplotlib output
    star: dict[str, str] = {}
    for defs in root.iter("defs"):
        for rule in defs.findall("style"):
            m = _STAR_RULE.fullmatch(rule.text or "")
            if not m:
                return svg
            star.update(_declarations(m.group(1)))
            defs.remove(rule)

    def walk(parent) -> None:
        children = []
        for el in list(parent):
            walk(el)
            if el.tag == "g" and set(el.attrib) <= {"id"}:
                children.extend(el)
                continue
            if el.tag not in ("title", "desc", "defs"):
                for k, v in {**star, **_declarations(el.attrib.pop("style", ""))}.items():
                    el.set(k, v)
            children.append(el)
        parent[:] = children

    walk(root)
    root.set("xmlns", _SVG_XMLNS.split('"')[1])
    return ET.tostring(root, encoding="unicode")


def _svg_as_image(m: re.Match) -> str:
    svg = m.group(0)
    label = _SVG_TITLE.search(svg)
    alt = f"{label.group(1)}. {label.group(2)}" if label else ""  # already HTML-escaped by charts._to_svg
    data = base64.b64encode(flatten_svg(svg).encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def pdf_html(html: str) -> str:
    """The page as WeasyPrint gets it: each inline chart becomes the same SVG as an image.

    Same drawing, text still text, but WeasyPrint no longer runs its HTML style cascade over
    every chart element (a fifth of the PDF's cost), and each chart is flattened
    (``flatten_svg``); the published HTML keeps the inline SVG as it was.
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
