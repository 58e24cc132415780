"""Which column of a spend file is the amount, the payment date and the payee: header AND content.

Header spellings (``config/spend_column_aliases.yml`` and the words in a header) are hints
with weights, never the gate: every candidate column is also profiled from its values
(date-likeness in any common form, period-likeness, amount-likeness, text and company-name
likeness), and a column only takes an essential role when its values agree.

- **amount**: among columns whose values are amounts, the one whose header says *net* wins,
  then a plain amount/value/total/paid header (alias order breaks ties), then *gross* only
  when nothing else is there; a VAT column is never the amount. Two equally good candidates
  that no header word separates are *ambiguous*: the reader asks for configuration, naming both.
- **payment date**: among columns whose values are day-level dates, payment/paid >
  clearing/cleared > transaction/GL/posting/updated/plain "date" > invoice > effective/due.
  US month-first order is taken only when the content proves it (a day above 12 in second
  position and none in first). With no day-level date, a column of periods (``201009``,
  ``Q2 2010``, ``July 2010-September 2010``) is used at month/quarter precision.
- **payee**: a supplier-like header with text values, else the text column that looks most
  like organisation names (``Ltd``, ``Limited``, ``Council`` ...). May be redacted.

Other fields are mapped from the alias table as before (they are optional: a value that
does not parse is a warning on the line, not a reason to quarantine it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from procure.extract.parse import compact_header, normalise_header, parse_amount, parse_date, parse_period

#: Rows of data profiled per column (after the header), spread evenly over the records the
#: sniffer read (see spend_reader._sample): 60 spread over a few hundred lines see more of a
#: month's dates (a day above 12 proving month-first order) than 120 consecutive ones, at half the cost.
PROFILE_ROWS = 60
ESSENTIAL = ("amount_gbp", "payment_date", "supplier_name")

_WORDS = re.compile(r"[a-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ID_WORDS = {"id", "ref", "reference", "number", "no", "num", "code", "year", "period", "line", "qty", "quantity"}
_ID_WORDS |= {"count", "units", "rate", "percent", "postcode", "uri", "url", "urn", "account", "cost", "centre"}
_AMOUNT_WORDS = {"amount", "value", "total", "paid", "spend", "spent", "expenditure", "sum", "gbp", "net", "gross"}
_AMOUNT_WORDS |= {"payment", "price", "invoiced", "charge", "money"}
_SUPPLIER_WORDS = {"supplier", "payee", "beneficiary", "vendor", "creditor", "merchant", "contractor", "recipient"}
_SUPPLIER_WORDS |= {"trader", "company"}
_NOT_SUPPLIER = {"id", "ref", "reference", "number", "no", "code", "postcode", "type", "category", "vat", "group"}
_NOT_SUPPLIER |= {"registration", "registered", "charity", "address", "town", "uri", "url", "status", "size"}
_DATE_RANK = [  # header words -> preference among date columns (higher wins)
    ({"payment", "paid", "pay", "payed"}, 6),
    ({"clearing", "cleared", "clear"}, 5),
    ({"transaction", "trans", "gl", "posting", "posted", "updated", "voucher", "processed", "cheque", "bacs"}, 4),
    ({"invoice", "inv"}, 2),
    ({"effective", "due", "created", "received", "entered", "order", "document", "period"}, 1),
]
_COMPANY = re.compile(
    r"\b(ltd|limited|plc|llp|lp|inc|co|company|council|trust|services|group|associates|partnership|cic|"
    r"society|association|uk|solicitors|school|academy|university|nhs|hmrc|college|church|centre|club)\b\.?",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[A-Za-z]")
_TOTAL_LABEL = re.compile(r"^\s*(grand\s*|sub[\s-]*)?totals?\b\s*[:.]?\s*$|^\s*(grand|sub)[\s-]*total", re.IGNORECASE)


def header_words(name: str) -> list[str]:
    """Lower-case words of a header cell: ``NetAmount``, ``net_amount`` and ``Net Amount (£)`` alike."""
    return list(_header_words(name))


@lru_cache(maxsize=8192)  # header detection asks again for the same cells
def _header_words(name: str) -> tuple[str, ...]:
    return tuple(_WORDS.findall(_CAMEL.sub(" ", name).lower()))


def header_role_words(cells: Sequence[str]) -> set[str]:
    """Which essential roles the words of a header row point at: 'amount', 'date', 'payee'."""
    found: set[str] = set()
    for cell in cells:
        ws = set(_header_words(cell))
        if not ws:
            continue
        if ws & _AMOUNT_WORDS and not ws & _ID_WORDS:
            found.add("amount")
        if "date" in ws or any(ws & keys for keys, _ in _DATE_RANK[:3]):
            found.add("date")
        if ws & _SUPPLIER_WORDS and not ws & _NOT_SUPPLIER:
            found.add("payee")
    return found


def is_total_label(text: str | None) -> bool:
    """``Total``, ``Grand Total``, ``Sub-total:``: a label, not a payee (``Total Gas & Power`` is a payee)."""
    return bool(text) and bool(_TOTAL_LABEL.match(text))


@dataclass
class Profile:
    """What a column's sampled values look like (shares of its non-blank values)."""

    filled: int = 0  # non-blank values
    rows: int = 0  # records sampled
    date: float = 0.0  # day-level dates (Excel serials only count with a date header)
    serial: float = 0.0  # 5-digit Excel serial numbers
    period: float = 0.0
    amount: float = 0.0
    decimal: float = 0.0  # amounts written with a point, thousands comma or £
    integer: float = 0.0  # bare integers
    text: float = 0.0  # contains a letter
    company: float = 0.0
    distinct: float = 0.0
    first_over_12: int = 0  # numeric dates whose first part is > 12 (day-first proof)
    second_over_12: int = 0  # ... whose second part is > 12 (month-first proof)

    @property
    def fill(self) -> float:
        return self.filled / self.rows if self.rows else 0.0


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\b")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


_PENCE = re.compile(r"[.,£]")
_DIGIT = re.compile(r"\d")


def profile(values: Sequence[str | None], rows: int) -> Profile:
    """Shares of the column's non-blank values that look like each kind (each distinct value parsed once)."""
    p = Profile(rows=rows)
    counts = Counter((raw or "").strip() for raw in values)
    counts.pop("", None)
    n = dates = serials = periods = amounts = decimals = integers = texts = companies = 0
    for v, k in counts.items():
        n += k
        if not _DIGIT.search(v):  # no digit: no date, period or amount (names, descriptions, codes)
            if _LETTER.search(v):
                texts += k
                companies += k * bool(_COMPANY.search(v))
            continue
        if _SERIAL.match(v) and 20000 <= float(v) <= 80000:
            serials += k
        elif m := _NUMERIC_DATE.match(v):
            a, b = int(m.group(1)), int(m.group(2))
            p.first_over_12 += k * (a > 12)
            p.second_over_12 += k * (b > 12)
            if parse_date(v)[0] is not None or parse_date(v, "monthfirst")[0] is not None:
                dates += k
        elif _LETTER.search(v) or "-" in v or "/" in v or ":" in v:
            if parse_date(v)[0] is not None:
                dates += k
            elif parse_period(v) is not None:
                periods += k
        elif len(v) == 6 and _INTEGER.match(v) and parse_period(v) is not None:
            periods += k
        if parse_amount(v)[0] is not None:
            amounts += k
            decimals += k * bool(_PENCE.search(v))
            integers += k * bool(_INTEGER.match(v))
        if _LETTER.search(v):
            texts += k
            companies += k * bool(_COMPANY.search(v))
    if n:
        p.filled = n
        p.date, p.serial, p.period = dates / n, serials / n, periods / n
        p.amount, p.decimal, p.integer = amounts / n, decimals / n, integers / n
        p.text, p.company = texts / n, companies / n
        p.distinct = len(counts) / n
    return p


@dataclass
class Inference:
    """The roles found for a header and its sample rows, with the evidence for each."""

    column_map: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    confidence: float = 0.0
    date_order: str = "dayfirst"  # or 'monthfirst' (proved by the content)
    date_kind: str | None = None  # 'day' (dates) | 'period' (a period column) | None
    ambiguous: str | None = None  # why the amount or date cannot be chosen, naming the columns
    profiles: dict[str, Profile] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "column_map": dict(self.column_map),
            "evidence": dict(self.evidence),
            "confidence": round(self.confidence, 2),
        }


def _amount_class(words: list[str]) -> str | None:
    ws = set(words)
    text = " ".join(words)
    if "net" in ws or re.search(r"\b(excl?|excluding|ex|before|less|net of|without) (of )?vat\b", text):
        return "net"
    if "gross" in ws or re.search(r"\b(incl?|including|inc|with|plus) (of )?vat\b", text):
        return "gross"
    if ws & {"vat", "tax"}:
        return "vat"
    return None


def infer_roles(columns: list[str], rows: Sequence[Sequence[str]], aliases: Any) -> Inference:
    """Map essential roles from header hints and sampled values, other fields from aliases."""
    inf = Inference()
    sample = list(rows[:PROFILE_ROWS])
    n = len(sample)
    words = [header_words(c) for c in columns]
    alias_hits = [aliases.field_for(c) for c in columns]
    generated = [bool(re.fullmatch(r"col_\d+", c)) for c in columns]
    for i, c in enumerate(columns):
        inf.profiles[c] = profile([r[i] if i < len(r) else None for r in sample], n)
    used: set[str] = set()

    # ---------------------------------------------------------------- amount
    cands: list[tuple[float, int, str]] = []  # (score, position, why)
    for i, c in enumerate(columns):
        p = inf.profiles[c]
        ws = set(words[i])
        hit = alias_hits[i]
        klass = _amount_class(words[i])
        hinted = (hit is not None and hit[0] == "amount_gbp") or bool(ws & _AMOUNT_WORDS)
        # a header spelled as in the alias table needs some values to agree (bad ones are then
        # quarantined, and a file with too many is rejected), a header word most, an unnamed column nearly all
        exact = hit is not None and hit[0] == "amount_gbp"
        need = 0.0 if exact else 0.5 if hinted else 0.9
        if p.amount == 0 or p.amount < need or p.date >= 0.5 or (p.fill < 0.3 and not exact):
            continue
        if klass == "vat" or (hit is not None and hit[0] == "irrecoverable_vat_gbp"):
            continue
        if hit is not None and hit[0] not in ("amount_gbp",) and not (ws & _AMOUNT_WORDS):
            continue  # a known non-money column (supplier id, expense code ...)
        if ws & _ID_WORDS and not (ws & _AMOUNT_WORDS):
            continue
        if klass == "net":
            score, why = 100.0, "header says net"
        elif hinted and klass != "gross":
            score, why = 80.0, "amount header"
        elif klass == "gross":
            score, why = 40.0, "gross amount (no net column)"
        elif p.decimal >= 0.3 and p.integer < 0.9:
            score, why = 20.0, "values are amounts with pence"
        else:
            continue
        if hit is not None and hit[0] == "amount_gbp":
            score += 10 - min(hit[1], 9) * 0.5  # alias order breaks ties (earlier spelling wins)
        score += p.decimal  # pence written out: more money-like
        cands.append((score, i, f"{why}; {p.amount:.0%} of values are amounts"))
    cands.sort(key=lambda t: (-t[0], t[1]))
    if cands:
        best = cands[0]
        if len(cands) > 1 and abs(cands[1][0] - best[0]) < 0.25 and best[0] < 80:
            inf.ambiguous = (
                f"amount: columns {columns[best[1]]!r} and {columns[cands[1][1]]!r} both look like the amount "
                "and no header word (net, gross, VAT) separates them"
            )
        inf.column_map["amount_gbp"] = columns[best[1]]
        inf.evidence["amount_gbp"] = best[2]
        used.add(columns[best[1]])

    # ---------------------------------------------------------------- payment date
    def date_rank(i: int) -> int:
        ws = set(words[i])
        for keys, rank in _DATE_RANK:
            if ws & keys:
                return rank
        hit = alias_hits[i]
        return 3 if "date" in ws or (hit is not None and hit[0] == "payment_date") else 0

    dcands: list[tuple[int, float, int]] = []
    for i, c in enumerate(columns):
        p = inf.profiles[c]
        if c in used or p.filled == 0:
            continue
        dateish = p.date + (p.serial if (date_rank(i) or "date" in words[i]) else 0.0)
        exact = alias_hits[i] is not None and alias_hits[i][0] == "payment_date"
        if dateish > 0 and dateish >= (0.0 if exact else 0.5 if date_rank(i) else 0.8):
            dcands.append((date_rank(i), dateish, i))
    dcands.sort(key=lambda t: (-t[0], -t[1], t[2]))
    if dcands:
        rank, share, i = dcands[0]
        c = columns[i]
        p = inf.profiles[c]
        if p.second_over_12 and not p.first_over_12:
            inf.date_order = "monthfirst"
        inf.column_map["payment_date"] = c
        inf.date_kind = "day"
        others = [columns[j] for _, _, j in dcands[1:]]
        inf.evidence["payment_date"] = (
            f"{share:.0%} of values are dates"
            + (", month-first (a day above 12 in second position)" if inf.date_order == "monthfirst" else "")
            + (f"; preferred over {others}" if others else "")
        )
        if len(dcands) > 1 and dcands[1][0] == rank and rank < 3:
            inf.ambiguous = inf.ambiguous or (
                f"payment date: columns {c!r} and {columns[dcands[1][2]]!r} both hold dates and no header word "
                "(payment, paid, clearing, transaction, invoice) says which is the payment date"
            )
        used.add(c)
    else:
        pcands = [
            (date_rank(i), inf.profiles[c].period, i)
            for i, c in enumerate(columns)
            if c not in used and inf.profiles[c].filled and inf.profiles[c].period >= 0.8
        ]
        pcands.sort(key=lambda t: (-t[0], -t[1], t[2]))
        if pcands:
            _, share, i = pcands[0]
            inf.column_map["payment_date"] = columns[i]
            inf.date_kind = "period"
            inf.evidence["payment_date"] = f"{share:.0%} of values are periods (month or quarter): month precision"
            used.add(columns[i])

    # ---------------------------------------------------------------- payee
    scands: list[tuple[float, int, str]] = []
    for i, c in enumerate(columns):
        p = inf.profiles[c]
        if c in used or p.filled == 0 or p.text < 0.5 or p.date >= 0.5:
            continue
        ws = set(words[i])
        hit = alias_hits[i]
        if hit is not None and hit[0] == "supplier_name":
            score, why = 80.0 - min(hit[1], 9) * 0.5, "payee header"
        elif ws & _SUPPLIER_WORDS and not ws & _NOT_SUPPLIER:
            score, why = 70.0, "payee header word"
        elif hit is None and not generated[i] and ws == {"name"}:
            score, why = 60.0, "header 'name'"
        elif hit is None and p.company >= 0.2 and p.distinct >= 0.2:
            score, why = 20.0 + 10 * p.company, f"{p.company:.0%} of values look like organisation names"
        else:
            continue
        scands.append((score, i, why))
    scands.sort(key=lambda t: (-t[0], t[1]))
    if scands:
        _, i, why = scands[0]
        inf.column_map["supplier_name"] = columns[i]
        inf.evidence["supplier_name"] = why
        used.add(columns[i])

    # ---------------------------------------------------------------- the rest, from the aliases
    best: dict[str, tuple[int, int]] = {}
    for i, hit in enumerate(alias_hits):
        if hit is None or columns[i] in used or hit[0] in ESSENTIAL:
            continue
        fname, rank = hit
        if fname not in best or rank < best[fname][0]:
            best[fname] = (rank, i)
    for fname, (_, i) in best.items():
        inf.column_map[fname] = columns[i]
        inf.evidence[fname] = "header spelling in the alias table"

    # ---------------------------------------------------------------- confidence
    score = 0.0
    for role, weight in (("amount_gbp", 0.45), ("payment_date", 0.35), ("supplier_name", 0.2)):
        col = inf.column_map.get(role)
        if col is None:
            continue
        i = columns.index(col)
        hinted = alias_hits[i] is not None and alias_hits[i][0] == role
        if role == "amount_gbp":
            share = inf.profiles[col].amount
        elif role == "payment_date":
            share = max(inf.profiles[col].date + inf.profiles[col].serial, inf.profiles[col].period)
        else:
            share = inf.profiles[col].text
        score += weight * min(share, 1.0) * (1.0 if hinted else 0.85)
    if inf.ambiguous:
        score *= 0.5
    inf.confidence = score
    return inf


def normalised(columns: list[str]) -> list[str]:
    """The header as the alias table compares it (for messages)."""
    return [normalise_header(c) or compact_header(c) for c in columns]
