"""What makes a published file safe to open and lawful to publish.

Formula injection: a spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@``,
tab or carriage return as a formula (``=HYPERLINK(...)`` exfiltrates, ``-1+1`` computes).
Text cells starting with one of those are prefixed with an apostrophe, which every
spreadsheet shows as literal text. Genuine numbers are left alone: numeric values stay
numeric (a credit of -250.00 is still a number) and so does text that is exactly a
number ("-12.50").

Privacy: payments to individuals are redacted by councils, but a personal name can slip
through (a payee typed as "Mr J Smith"). A payee is *personal-looking* when its name
starts with a personal title — Mr, Mrs, Miss, Ms, Mx, Dr, Prof, Rev, Sir, Dame, Lady,
Lord (with or without a full stop) — followed by at least one more word, and contains
no organisation marker (Ltd, Limited, PLC, LLP, CIC, & Co, Trust, Partnership, Services,
Associates, Council, School, Church, Society, Club, Charity, Foundation, Group, Practice,
Surgery, Solicitors, ...). "Dr Smith & Partners" and "Mr Clean Services Ltd" are
organisations; "Mr J Smith", "MRS. ANNE JONES" and "Dr. P. Patel" are personal-looking.
Any personal-looking name in an output fails the publish (nothing is swapped in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

_TITLE = re.compile(r"^\s*(mr|mrs|miss|ms|mx|dr|prof|professor|rev|revd|reverend|sir|dame|lady|lord)\.?\s+\S", re.I)
_ORG = re.compile(
    r"\b(ltd|limited|plc|llp|lp|cic|cio|inc|corp|co|company|trust|partnership|partners|services|associates"
    r"|council|school|academy|college|university|church|society|club|charity|foundation|group|practice|surgery"
    r"|solicitors|clinic|centre|center|association|holdings|enterprises|consultants|consultancy|nhs|hospital"
    r"|housing|homes|agency|t/a|trading as)\b",
    re.I,
)


def neutralise(value: object) -> object:
    """The value as safe for a spreadsheet cell (see module docstring); non-text values unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value


def is_personal_looking(name: str | None) -> bool:
    """Whether a payee name looks like a private individual's (title + name, no organisation marker)."""
    if not name:
        return False
    return bool(_TITLE.match(name)) and not _ORG.search(name)


class PrivacyCheckFailed(RuntimeError):
    """A personal-looking payee name would have been published."""


def check_privacy(where: str, column: str, values: Iterable[object]) -> None:
    """Raise if any value in ``column`` of ``where`` is a personal-looking name."""
    bad = sorted({str(v) for v in values if isinstance(v, str) and is_personal_looking(v)})
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise PrivacyCheckFailed(
            f"{where}, column {column!r}: {len(bad)} personal-looking payee name(s) ({shown}); "
            "redact them at source or mark them redacted (config/spend_column_aliases.yml redaction_patterns) "
            "before publishing; nothing was published"
        )
