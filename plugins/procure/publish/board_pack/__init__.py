"""The monthly board pack: one self-contained HTML page per council and month, and its PDF.

Three steps, one module each: ``figures.collect`` reads every figure from the marts into plain
data; ``render.render_html`` lays it out with one Jinja2 template per section
(``templates/sections/``, autoescaped); ``pdf.write_pdf`` prints the same HTML with WeasyPrint.
Nothing comes from the wall clock and the charts are deterministic SVG, so re-publishing a
month gives byte-identical HTML. Every number cell carries its exact value in ``data-value``
so a test can check what is shown against the warehouse.

A pack is keyed by the fingerprint of what it shows (``pdf.pdf_fingerprint``: its HTML, the PDF
stylesheet and renderer version), written beside it as ``fingerprint.txt``: publishing a council
whose figures did not change leaves its folder untouched and skips the PDF layout, the costly step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from procure.config import Council, publish_dir
from procure.publish.atomic import atomic_dir, require_gate, sha256_file
from procure.publish.board_pack.commentary import commentary
from procure.publish.board_pack.figures import add_months, collect, fy_start
from procure.publish.board_pack.formatting import FORMATS, count, gbp, pct, points
from procure.publish.board_pack.pdf import pdf_fingerprint, pdf_html, write_pdf
from procure.publish.board_pack.render import SECTIONS, render_html
from procure.warehouse import connect

__all__ = [
    "FORMATS",
    "SECTIONS",
    "PackPaths",
    "add_months",
    "collect",
    "commentary",
    "count",
    "fy_start",
    "gbp",
    "pct",
    "pdf_fingerprint",
    "pdf_html",
    "points",
    "publish_board_pack",
    "render_html",
    "write_pdf",
]

log = logging.getLogger(__name__)


FINGERPRINT = "fingerprint.txt"


@dataclass
class PackPaths:
    html: Path
    pdf: Path
    rendered: bool = True  # False: the published pack already showed these figures and was kept as it was


def _published_fingerprint(target: Path) -> str | None:
    """The fingerprint of the pack published in ``target``, when all three of its files are there."""
    files = [target / name for name in ("board_pack.html", "board_pack.pdf", FINGERPRINT)]
    if not all(f.is_file() and f.stat().st_size > 0 for f in files):
        return None
    return files[2].read_text(encoding="utf-8").strip()


def publish_board_pack(council: Council, month: date, warehouse: Path | None = None) -> PackPaths:
    """Render the pack for ``month`` into publish/board_pack/<council>/<YYYY-MM>/ (HTML + PDF, atomically)."""
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    month = month.replace(day=1)
    con = connect(warehouse, read_only=True)
    try:
        require_gate(con)
        html = render_html(collect(con, council, month))
    finally:
        con.close()
    target = publish_dir() / "board_pack" / council.id / f"{month:%Y-%m}"
    identifier = f"{council.id}-{month:%Y-%m}"
    fingerprint = pdf_fingerprint(html, identifier)
    if _published_fingerprint(target) == fingerprint:
        log.info("board pack %s unchanged (fingerprint %s): kept as published", target, fingerprint[:12])
        return PackPaths(target / "board_pack.html", target / "board_pack.pdf", rendered=False)
    with atomic_dir(target) as tmp:
        (tmp / "board_pack.html").write_text(html, encoding="utf-8")
        write_pdf(html, tmp / "board_pack.pdf", identifier)
        (tmp / FINGERPRINT).write_text(fingerprint + "\n", encoding="utf-8")
    paths = PackPaths(target / "board_pack.html", target / "board_pack.pdf")
    log.info("board pack %s (%s)", paths.html, sha256_file(paths.html)[:12])
    return paths
