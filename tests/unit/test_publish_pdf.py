"""PDF renders are byte-identical whatever font subsetter WeasyPrint uses (issue 16 item 15).

fontTools (used when libharfbuzz-subset0 is absent) stamps each subset font's ``head.modified``
with the clock; the test moves fontTools' clock between two renders instead of sleeping.
"""

from __future__ import annotations

import contextlib
import os
import types

import pytest

from procure.publish import pdf
from procure.publish.board_pack import write_pdf

HTML = "<html><body><h1>Board pack</h1><p>Local spend 41.2% — £1,234.00 (ÆØÅ)</p></body></html>"


def _clock(monkeypatch, seconds: float) -> None:
    import fontTools.misc.timeTools as tt

    monkeypatch.setattr(tt, "time", types.SimpleNamespace(time=lambda: seconds))


def _render(tmp_path, name: str) -> bytes:
    path = tmp_path / name
    write_pdf(HTML, path, "test-2025-03")
    return path.read_bytes()


@pytest.fixture(params=["fonttools", "harfbuzz"])
def subsetter(request, monkeypatch):
    import weasyprint.pdf.fonts as fonts

    if request.param == "fonttools":
        monkeypatch.setattr(fonts, "harfbuzz_subset", None)  # as on a machine without libharfbuzz-subset0
    elif pdf.subsetter() != "harfbuzz":
        pytest.skip("libharfbuzz-subset0 is not installed here (ldconfig -p | grep harfbuzz-subset)")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return request.param


def test_pdf_bytes_do_not_depend_on_the_clock(subsetter, tmp_path, monkeypatch):
    _clock(monkeypatch, 1_700_000_000)
    first = _render(tmp_path, "a.pdf")
    _clock(monkeypatch, 1_800_000_000)
    second = _render(tmp_path, "b.pdf")
    assert first.startswith(b"%PDF-")
    assert first == second
    assert "SOURCE_DATE_EPOCH" not in os.environ  # restored after the render


def test_fonttools_really_stamps_the_clock_without_the_fix(tmp_path, monkeypatch):
    """The control: the clock does reach fontTools' output, so the test above can fail."""
    import weasyprint.pdf.fonts as fonts

    monkeypatch.setattr(fonts, "harfbuzz_subset", None)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

    monkeypatch.setattr(pdf, "fixed_font_timestamps", contextlib.nullcontext)
    _clock(monkeypatch, 1_700_000_000)
    first = _render(tmp_path, "a.pdf")
    _clock(monkeypatch, 1_800_000_000)
    assert _render(tmp_path, "b.pdf") != first


def test_a_caller_set_source_date_epoch_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    with pdf.fixed_font_timestamps():
        assert os.environ["SOURCE_DATE_EPOCH"] == "1234567890"
    assert os.environ["SOURCE_DATE_EPOCH"] == "1234567890"


def test_check_system_reports_the_subsetter(monkeypatch):
    import weasyprint.text.ffi as ffi

    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    warnings = pdf.check_system()
    assert len(warnings) == 1 and "apt-get install -y libharfbuzz-subset0" in warnings[0]
