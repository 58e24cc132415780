"""Cell parsers for spend files: header names, dates and money.

Each parser returns ``(value, problem)``: ``problem`` is None when the cell is fine and
otherwise a short phrase a person can act on (the reader adds the file, line and field).
Dates are UK day-first, always: ``03/04/2023`` is 3 April.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
EXCEL_EPOCH = date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1990, 2100

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"

_NUMERIC_DATE = re.compile(rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{2}}|\d{{4}}){_TIME}$")
_ISO_DATE = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$")
_NAMED_DATE = re.compile(
    rf"^(\d{{1,2}})(?:st|nd|rd|th)?[-\s/]+({_MONTH_RE})\.?[-\s/,]+(\d{{2}}|\d{{4}}){_TIME}$",
    re.IGNORECASE,
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_BARE_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_PERIOD = re.compile(
    rf"^(?:q[1-4]\b.*|.*\bquarter\b.*|(?:{_MONTH_RE})\.?[\s-]+\d{{2,4}}(?:\s*(?:-|to|\u2013)\s*(?:{_MONTH_RE})\.?[\s-]+\d{{2,4}})?)$",
    re.IGNORECASE,
)

_AMOUNT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_CURRENCY_NOISE = re.compile(r"£|Â|GBP|\s", re.IGNORECASE)

_HEADER_NOISE = re.compile(r"[^0-9a-z£]+")


def normalise_header(name: str) -> str:
    """Lower-case, runs of anything but letters, digits and £ collapsed to one space.

    ``Net Amount(£)`` and ``net amount £`` both become ``net amount £``; camelCase and
    snake_case meet via :func:`compact_header`.
    """
    return _HEADER_NOISE.sub(" ", name.replace("\ufeff", "").casefold()).strip()


def compact_header(name: str) -> str:
    """The normalised name without spaces and £: ``DatePaid`` == ``date_paid`` == ``Date Paid``."""
    return normalise_header(name).replace(" ", "").replace("£", "")


def _two_digit_year(yy: int) -> int:
    return 2000 + yy if yy < 70 else 1900 + yy


def _build(year: int, month: int, day: int, raw: str) -> tuple[date | None, str | None]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return (
            None,
            f"{raw!r} has an implausible year {year} (expected {MIN_YEAR}-{MAX_YEAR})",
        )
    try:
        return date(year, month, day), None
    except ValueError:
        return (
            None,
            f"{raw!r} is not a real calendar date (read day-first as {day}/{month}/{year})",
        )


def parse_date(raw: str, date_format: str | None = None) -> tuple[date | None, str | None]:
    """Parse a UK payment date. ``date_format`` is a strptime format, 'dayfirst' or 'monthfirst'.

    A bare time (``00:00:00``, the date lost on export) and a period (``July 2010-September
    2010``, ``Q2 2010``) are problems, not dates: guessing a day would invent data.
    """
    text = raw.strip()
    if not text:
        return None, "payment date is blank"
    if date_format and date_format not in ("dayfirst", "monthfirst"):
        try:
            return _build_dt(datetime.strptime(text, date_format).date(), raw)
        except ValueError:
            return None, f"{raw!r} does not match date_format {date_format!r}"
    if _BARE_TIME.match(text):
        return None, f"{raw!r} is a time with no date"
    if m := _NUMERIC_DATE.match(text):
        a, b, y = (int(g) for g in m.groups())
        year = _two_digit_year(y) if len(m.group(3)) == 2 else y
        day, month = (b, a) if date_format == "monthfirst" else (a, b)
        return _build(year, month, day, raw)
    if m := _ISO_DATE.match(text):
        y, mo, d = (int(g) for g in m.groups())
        return _build(y, mo, d, raw)
    if m := _NAMED_DATE.match(text):
        day, mon, y = m.groups()
        year = _two_digit_year(int(y)) if len(y) == 2 else int(y)
        return _build(year, _MONTHS[mon.lower()], int(day), raw)
    if m := _COMPACT_DATE.match(text):
        y, mo, d = (int(g) for g in m.groups())
        return _build(y, mo, d, raw)
    if m := _EXCEL_SERIAL.match(text):
        serial = int(m.group(1))
        if 20000 <= serial <= 80000:  # 1954..2119
            return _build_dt(EXCEL_EPOCH + timedelta(days=serial), raw)
    if _PERIOD.match(text):
        return None, f"{raw!r} is a period, not a payment date"
    return (
        None,
        f"{raw!r} is not a recognised date (expected e.g. 31/01/2024, 31-Jan-24, 2024-01-31)",
    )


def _build_dt(value: date, raw: str) -> tuple[date | None, str | None]:
    return _build(value.year, value.month, value.day, raw)


def parse_amount(raw: str) -> tuple[Decimal | None, str | None]:
    """Parse money as published: ``£1,234.00``, ``(3728)``, `` 507.50 ``, ``0142.``, ``1,708.75-``.

    Binary-float artefacts (``977.5999999999999``) are rounded half-up to pence.
    """
    text = _CURRENCY_NOISE.sub("", raw.replace("\u00a0", " "))
    if not text:
        return None, "amount is blank"
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    elif text.endswith("-") and text[:-1].replace(",", "").replace(".", "").isdigit():
        negative, text = True, text[:-1]
    elif text.upper().endswith("CR"):
        negative, text = True, text[:-2]
    if "," in text:
        if not _THOUSANDS.match(text):
            return None, f"{raw!r} is not an amount (misplaced comma)"
        text = text.replace(",", "")
    if not _AMOUNT.match(text):
        return None, f"{raw!r} is not an amount"
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None, f"{raw!r} is not an amount"
    if negative:
        value = -value
    return value.quantize(CENT, rounding=ROUND_HALF_UP), None


def looks_like_date(cell: str) -> bool:
    text = cell.strip()
    return bool(text) and parse_date(text)[0] is not None and not _EXCEL_SERIAL.match(text)


def looks_like_amount(cell: str) -> bool:
    text = cell.strip()
    return bool(text) and any(c.isdigit() for c in text) and parse_amount(text)[0] is not None
