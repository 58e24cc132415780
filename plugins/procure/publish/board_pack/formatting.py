"""How the pack writes numbers: one function per kind, used by the templates and by the tests.

Every number cell carries its exact value in ``data-value`` and its kind in ``data-kind``, so a
test can check that the text shown is ``FORMATS[kind](value)`` and that the value equals the mart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any


def gbp(v: Any) -> str:
    if v is None:
        return "–"
    d = Decimal(v)
    return f"−£{-d:,.0f}" if d < 0 else f"£{d:,.0f}"


def pct(v: Any) -> str:
    return "–" if v is None else f"{Decimal(v) * 100:.1f}%"


def points(v: Any) -> str:
    return "–" if v is None else f"{Decimal(v) * 100:+.1f} pts"


def count(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


def tonnes(v: Any) -> str:
    return "–" if v is None else f"{Decimal(v):,.1f} t"


def text(v: Any) -> str:
    return "" if v is None else str(v)


#: cell kinds: numbers (right-aligned, with data-value) and text kinds
FORMATS: dict[str, Callable[[Any], str]] = {
    "gbp": gbp,
    "pct": pct,
    "points": points,
    "count": count,
    "tonnes": tonnes,
    "text": text,
    "code": text,  # references and dates: never wrapped
    "rag": lambda v: "NO STATUS" if v in (None, "none") else str(v).upper(),  # a RAG status, as a coloured badge
}
NUMERIC_KINDS = frozenset({"gbp", "pct", "points", "count", "tonnes"})


def month_label(m: date) -> str:
    """A month as the charts and trend tables label it: ``Mar 25``."""
    return f"{m:%b %y}"


def day(d: date | None) -> str:
    """A date in a table: ``05 Mar 2025``."""
    return "" if d is None else f"{d:%d %b %Y}"
