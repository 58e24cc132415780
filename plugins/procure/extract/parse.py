"""Cell parsers for spend files: header names, dates and money.

Each parser returns ``(value, problem)``: ``problem`` is None when the cell is fine and
otherwise a short phrase a person can act on (the reader adds the file, line and field).
Dates are UK day-first unless the caller says the file is month-first (the reader decides
that from a file's content: a US file proves itself with a day above 12 in second position).
A period (``November 2011``, ``201009``, ``Q2 2010``, ``July 2010-September 2010``) is not a
date; :func:`parse_period` reads it as its first and last day.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

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
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
# "Friday, April 29, 2022", "April 29 2022", "Apr 29th, 2022" (month name first: no day/month doubt)
_US_NAMED_DATE = re.compile(
    rf"^{_WEEKDAY}({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}){_TIME}$", re.IGNORECASE
)
_MONTH_WORD = re.compile(rf"(?<![a-z])(?:{_MONTH_RE})(?![a-z])", re.IGNORECASE)
_WEEKDAY_PREFIX = re.compile(rf"^{_WEEKDAY}(?=\d)", re.IGNORECASE)
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_BARE_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_PERIOD = re.compile(
    rf"^(?:q[1-4]\b.*|.*\bquarter\b.*|(?:{_MONTH_RE})\.?[\s-]+\d{{2,4}}(?:\s*(?:-|to|\u2013)\s*(?:{_MONTH_RE})\.?[\s-]+\d{{2,4}})?)$",
    re.IGNORECASE,
)

_AMOUNT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_CURRENCY_NOISE = re.compile(r"£|Â|GBP|\s", re.IGNORECASE)
#: raw.spend_lines.amount_gbp is DECIMAL(18, 2): at most 16 digits before the point
AMOUNT_LIMIT = Decimal(10) ** 16

_HEADER_NOISE = re.compile(r"[^0-9a-z£]+")


def normalise_header(name: str) -> str:
    """Lower-case, runs of anything but letters, digits and £ collapsed to one space.

    ``Net Amount(£)`` and ``net amount £`` both become ``net amount £``; camelCase and
    snake_case meet via :func:`compact_header`.
    """
    return _HEADER_NOISE.sub(" ", name.replace("\ufeff", "").casefold()).strip()


@lru_cache(maxsize=8192)  # header detection asks again for the same cells (service areas, months)
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
    if text[:1].isalpha() and (stripped := _WEEKDAY_PREFIX.sub("", text)) != text:
        text = stripped  # "Friday 29 April 2022"
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
    if m := _US_NAMED_DATE.match(text):
        mon, day, y = m.groups()
        return _build(int(y), _MONTHS[mon.lower()], int(day), raw)
    if m := _COMPACT_DATE.match(text):
        y, mo, d = (int(g) for g in m.groups())
        return _build(y, mo, d, raw)
    if m := _EXCEL_SERIAL.match(text):
        serial = int(m.group(1))
        if 20000 <= serial <= 80000:  # 1954..2119
            return _build_dt(EXCEL_EPOCH + timedelta(days=serial), raw)
    if _PERIOD.match(text) or parse_period(text) is not None:
        return None, f"{raw!r} is a period, not a payment date"
    if _MONTH_WORD.search(text) and (found := _dateutil_day(text, date_format != "monthfirst")):
        return _build_dt(found, raw)
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
    if not value.is_finite() or abs(value) >= AMOUNT_LIMIT:
        return None, f"{raw!r} is out of range for an amount (at most 16 digits before the decimal point)"
    return value.quantize(CENT, rounding=ROUND_HALF_UP), None


def looks_like_date(cell: str) -> bool:
    text = cell.strip()
    return bool(text) and parse_date(text)[0] is not None and not _EXCEL_SERIAL.match(text)


def looks_like_amount(cell: str) -> bool:
    text = cell.strip()
    return bool(text) and any(c.isdigit() for c in text) and parse_amount(text)[0] is not None


def _dateutil_day(text: str, dayfirst: bool) -> date | None:
    """A day-level date in a wording the patterns above do not cover, via python-dateutil.

    Parsed twice with different defaults: if the results differ, the text lacks a day, month
    or year (``April 2022``) and is not a day-level date.
    """
    from dateutil import parser

    try:
        a = parser.parse(text, dayfirst=dayfirst, default=datetime(2001, 1, 1))
        b = parser.parse(text, dayfirst=dayfirst, default=datetime(2002, 2, 2))
    except (ValueError, OverflowError, parser.ParserError):
        return None
    return a.date() if a.date() == b.date() else None


_PERIOD_MONTH_YEAR = re.compile(rf"^({_MONTH_RE})\.?[\s,/-]*(\d{{4}}|\d{{2}})$", re.IGNORECASE)
_PERIOD_YYYYMM = re.compile(r"^(\d{4})[-/ ]?(0[1-9]|1[0-2])$")
_PERIOD_QUARTER = re.compile(r"^(?:q([1-4])[\s/-]*(\d{4})|(\d{4})[\s/-]*q([1-4]))$", re.IGNORECASE)
_PERIOD_RANGE = re.compile(r"^(.+?)\s*(?:-|to|\u2013)\s*(.+)$", re.IGNORECASE)


def _month_start(year: int, month: int) -> date | None:
    return date(year, month, 1) if MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12 else None


def _month_end(start: date) -> date:
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def precision_of(first: date, last: date) -> str:
    """'month', 'quarter' or 'period' for a span of whole months."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return "month" if months == 1 else "quarter" if months == 3 else "period"


def parse_period(raw: str) -> tuple[date, date] | None:
    """First and last day of a month or quarter written as a period, or None.

    ``November 2011``, ``Nov-2011``, ``201009``, ``2010-09``, ``Q2 2010``, ``2010 Q2`` (calendar
    quarters) and ranges of them: ``July 2010-September 2010``, ``Apr 2014 to Jun 2014``.
    """
    text = raw.strip()
    if not text or len(text) > 60:
        return None
    if m := _PERIOD_YYYYMM.match(text):
        start = _month_start(int(m.group(1)), int(m.group(2)))
        return (start, _month_end(start)) if start else None
    if m := _PERIOD_MONTH_YEAR.match(text):
        year = int(m.group(2)) if len(m.group(2)) == 4 else _two_digit_year(int(m.group(2)))
        start = _month_start(year, _MONTHS[m.group(1).lower()])
        return (start, _month_end(start)) if start else None
    if m := _PERIOD_QUARTER.match(text):
        q, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        start = _month_start(int(year), 3 * int(q) - 2)
        if start is None:
            return None
        return start, _month_end(start.replace(month=start.month + 2))
    if m := _PERIOD_RANGE.match(text):
        a, b = parse_period(m.group(1)), parse_period(m.group(2))
        if a and b and a[0] <= b[0] and (b[1] - a[0]).days < 370:
            return a[0], b[1]
    return None
