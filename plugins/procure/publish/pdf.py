"""Byte-identical PDFs whatever font subsetter WeasyPrint finds.

WeasyPrint subsets each embedded font with HarfBuzz (``libharfbuzz-subset0``) when the library
is installed, else with fontTools. fontTools rewrites the font's ``head`` table and stamps
``head.modified`` with the current time, so two renders a second apart differ. fontTools
honours ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/) for
that stamp: ``fixed_font_timestamps`` sets it for the length of one render (keeping a value
the caller already set), so the bytes depend on the page only. With HarfBuzz the stamp is the
font file's own and the variable changes nothing.

``subsetter()`` says which one this process uses; ``make setup`` reports it (``check_system``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: head.modified of fonts subset by fontTools: 2000-01-01T00:00:00Z (any fixed value would do)
FONT_EPOCH = "946684800"
_ENV = "SOURCE_DATE_EPOCH"
_LOCK = threading.Lock()


@contextmanager
def fixed_font_timestamps() -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` set (unless already set) while the block renders; restored afterwards."""
    with _LOCK:
        before = os.environ.get(_ENV)
        if before is None:
            os.environ[_ENV] = FONT_EPOCH
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(_ENV, None)


def subsetter() -> str:
    """``harfbuzz`` or ``fonttools``: how WeasyPrint will subset fonts in this process."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"


def check_system() -> list[str]:
    """Problems with the system libraries PDF rendering needs, each with the command that fixes it.

    Pango is required (WeasyPrint cannot import without it); HarfBuzz-subset is optional
    (PDFs are byte-identical either way) but faster and what WeasyPrint will require next.
    Returns warnings; raises ``RuntimeError`` when rendering cannot work at all.
    """
    try:
        import weasyprint  # noqa: F401  (loads pango, harfbuzz, fontconfig through ffi)
    except OSError as exc:
        raise RuntimeError(
            f"WeasyPrint cannot load its system libraries ({exc}): "
            "install them with `sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
            "fonts-dejavu-core` (Debian/Ubuntu; .ci/run does this)"
        ) from exc
    if subsetter() == "fonttools":
        return [
            "libharfbuzz-subset0 not found: PDF fonts are subset with fontTools (slower, same bytes on every "
            "render); install it with `sudo apt-get install -y libharfbuzz-subset0`"
        ]
    return []


if __name__ == "__main__":  # `python -m procure.publish.pdf`: what `make setup` runs
    import sys

    try:
        for warning in check_system():
            print(f"note: {warning}", file=sys.stderr)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
