"""Supplier resolution: which spellings of a supplier's name are one supplier.

Runs in Python before dbt and writes ``raw.supplier_name_matches`` (one row per distinct
supplier name seen in spend, the contract register and notice parties, with the cluster
it belongs to and the rule that put it there). dbt reads it as a source, applies the
analyst override seed (force-merge / force-split) last and hashes the cluster key into
``supplier_id``. Being a plain table, the crosswalk is mirrored to PostgreSQL with the
other raw tables, so both targets resolve suppliers identically.

Why rapidfuzz and rules, not Splink: the names carry almost no other fields to compare
(no address in spend files), Splink's EM on name-only data gave best-pair probabilities
around 0.90 (see STACK.md) and merged nothing at a safe threshold, while SQL-only fuzzy
matching is not portable (PostgreSQL has no jaro_winkler/levenshtein without extensions).

Method: normalise -> block -> score -> cluster.

* normalise: upper case, accents dropped, '&'/'+' -> AND, dots and apostrophes closed up,
  runs of initials joined ("J P LENNARD" -> "JP LENNARD"), abbreviations expanded,
  stop words (THE, AND, OF, FOR) and LTD/LIMITED/PLC/LLP dropped wherever they stand,
  trailing legal forms (CO, UK, INC, ...) and a cut-off LTD/LIMITED dropped. Two names with
  one key but different company numbers stay apart (the key is split by number).
* exact edges: same normalised key; same Companies House number; "X T/A Y" also
  answers to the trading name Y (and to X when X is a firm, not a person); up to
  ``MAX_NAMES_PER_REF`` names filed under one finance-system supplier reference.
* same letters split differently (exact edge): HEALTH CARE / HEALTHCARE, N POWER / NPOWER.
* a firm named with its establishment, site, account or department (``site_parts``,
  ``_link_sites``): "<firm> RE <care home>", "<firm> - <site>", "<site> - <firm>",
  "<firm>/<home>", "<org> (<department>)", "<firm> LTD <anything>" join the first piece that
  is the key of a name seen on its own (never the text after RE or C/O, nor inside the
  brackets: "DIXONS OF WESTERHOPE (CALOR GAS)" is not Calor Gas); names sharing a leading
  registered name or followed by account numbers join each other; "<organisation>
  <department>" without a separator joins the organisation when its name ends in an
  organisation word (COUNCIL, OFFICE, AGENCY, TRUST, ...) and the rest names no other body
  (a trading arm, a fund, a school, "COUNCIL FOR ...").
* fuzzy edges (``similar``): the tokens the two names do not share must be near-identical --
  one edit for words of 5-9 letters, two for 10 letters or more (and 85% alike), a truncated
  last word, or an acronym of the rest; numbers and compass words must agree; short words
  (<= 4 letters) must match exactly. Blocking: only names sharing a signature are compared
  (``_signatures``: the tokens left once the 1-2 words allowed to differ are removed, with
  their first letters), which finds every pair ``similar`` accepts without comparing all pairs.
* cluster: union-find over the edges (same-token pairs before near spellings, each in sorted
  order), refusing any union that would put two different company numbers in one supplier.
  Redacted payees are never clustered; individuals (a title such as MR or MRS) only match
  their exact key.

Measured on tests/fixtures/supplier_pairs_labelled.csv (410 real name pairs from
../shared/data/real, labelled by hand, the 82 added for issue 12 item 7 with the reason in
``why``): precision 1.00, recall 0.95 (the rules before the site/department and split-word
edges: recall 0.69; see tests/unit/test_supplier_resolution.py). The benchmark's national population (182,960 names
of 300 councils, bench/bench_match.py): resolve() about 8 s of CPU, write_matches() about 12 s
of CPU and 0.9 GB peak RSS.
"""

from __future__ import annotations

import gc
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from procure.extract.spend_rows import load_aliases

log = logging.getLogger(__name__)

TABLE = "raw.supplier_name_matches"
MAX_NAMES_PER_REF = 5

LEGAL_FORMS = {"LTD", "LIMITED", "PLC", "LLP", "LLC", "INC", "CIC", "CO", "COMPANY", "UK", "GB", "LP", "CIO"}
LEGAL_ANYWHERE = {"LTD", "LIMITED", "PLC", "LLP"}  # dropped wherever they stand, e.g. "LIMITED (SALTASH)"
STOP_WORDS = {"THE", "AND", "OF", "FOR"}
ABBREVIATIONS = {
    "ASSOC": "ASSOCIATION",
    "ASSN": "ASSOCIATION",
    "BROS": "BROTHERS",
    "CNTR": "CENTRE",
    "CTR": "CENTRE",
    "CENTER": "CENTRE",
    "HSE": "HOUSE",
    "INTL": "INTERNATIONAL",
    "SERV": "SERVICES",
    "SERVS": "SERVICES",
    "SVCS": "SERVICES",
    "DEPT": "DEPARTMENT",
    "MGMT": "MANAGEMENT",
    "TRST": "TRUST",
    "COUNCL": "COUNCIL",
}
DIRECTION_WORDS = {"NORTH", "SOUTH", "EAST", "WEST", "CENTRAL", "NE", "NW", "SE", "SW", "N", "S", "E", "W"}
TITLES = {"MR", "MRS", "MISS", "MS", "DR", "MX", "MASTER", "REV", "SIR"}
TRADING_AS = re.compile(r"\s(?:T/AS?|T/A|TRADING AS|TA)(?=\s|$)|\(T/AS?\s|\(TRADING AS\s")


@dataclass(slots=True)
class NameRecord:
    """One supplier name as a source gave it, with any identifiers beside it."""

    name: str
    source: str
    council_id: str | None = None
    supplier_ref: str | None = None
    company_number: str | None = None


@dataclass(slots=True)
class Match:
    """The resolved cluster of one supplier name and the rule that joined it."""

    name: str
    name_key: str | None
    cluster_key: str | None
    rule: str
    company_number: str | None = None


def _fold(text: str) -> str:
    if text.isascii():
        return text.upper()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


def is_redacted(name: str) -> bool:
    """True for placeholders a council publishes instead of a payee's name: the spend reader's
    redaction_patterns (config/spend_column_aliases.yml), the one list of them."""
    return load_aliases().redaction.search(_fold(name).strip()) is not None


def tokens(name: str) -> list[str]:
    """The name as matching tokens (see module docstring); empty for a blank name."""
    text = _fold(name)
    text = text.replace("&", " AND ").replace("+", " AND ")
    text = re.sub(r"(?<=\w)['\u2019.](?=\w)", "", text)  # CHILDREN'S, L.A., LTD.
    text = re.sub(r"[^A-Z0-9]+", " ", text)
    raw = text.split()
    joined: list[str] = []
    initials = False  # is joined[-1] a run of single letters?
    for tok in raw:  # runs of initials: J P LENNARD -> JP LENNARD
        single = len(tok) == 1 and tok.isalpha()
        if single and initials:
            joined[-1] += tok
            continue
        joined.append(tok)
        initials = single
    out = [ABBREVIATIONS.get(t, t) for t in joined if t not in STOP_WORDS]
    if any(t not in LEGAL_ANYWHERE for t in out):
        out = [t for t in out if t not in LEGAL_ANYWHERE]
    while len(out) > 1 and (out[-1] in LEGAL_FORMS or _cut_legal_form(out[-1])):
        out.pop()  # trailing legal forms, also a cut-off LIMITED ("... COMPANY LT")
    return out


def _cut_legal_form(tok: str) -> bool:
    """A LIMITED or LTD cut off by a field width: LT, LIM, LIMIT ..."""
    return len(tok) >= 2 and ("LIMITED".startswith(tok) or "LTD".startswith(tok))


def name_key(name: str) -> str:
    return " ".join(tokens(name))


def is_individual(name: str) -> bool:
    """A named person (a title such as MR, MRS, DR): matched on the exact key only."""
    words = re.sub(r"[^A-Z ]+", " ", _fold(name)).split()
    return bool(words) and (words[0] in TITLES or "MRS" in words or "MR" in words)


def trading_parts(name: str) -> tuple[str, str] | None:
    """("X", "Y") for "X T/A Y" (also T/AS, TRADING AS, a bracketed t/a)."""
    folded = _fold(name)
    m = TRADING_AS.search(folded)
    if not m:
        return None
    left, right = folded[: m.start()].strip(), folded[m.end() :].strip(" )")
    if not left or not right:
        return None
    return left, right


# What a firm's name is followed by when a payment names the establishment, site, account or
# department too. "<firm> RE <care home>", "<payee> C/O <agent>": the firm is on the left.
# "<firm> - <site>", "<site> - <firm>", "<firm>/<home>": either side. "<org> (<department>)":
# outside the trailing brackets (see site_parts).
REGARDING = re.compile(r"\s+RE:?\s+|\s+RE:\s*|\s+C/O\s+")
SITE_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]+\s*|\s*[-\u2013\u2014]+\s+|(?<=[A-Z]{3})\s*/\s*(?=[A-Z]{3})")
# "FOUR SEASONS HEALTHCARE-GROSVENOR PARK": a firm of 2+ words, a hyphen, a site (left side only:
# RENT-A-CAR, E-ON and WESTON-SUPER-MARE do not split, their left side being one word)
UNSPACED_HYPHEN = re.compile(r"^(\S+(?:\s+\S+)+?[A-Z]{3})-(?=[A-Z]{3})")
_OPEN, _CLOSE = "([", ")]"
# a legal form inside a name ends the firm's name: "VODAFONE CORPORATE LTD INACTIVE"
LEGAL_FORM_INSIDE = re.compile(r"\w\s(?:LTD|LIMITED|PLC|LLP)\b(?=\.?\s+\S)")
# a name holding none of these has no site part (most names: plain substring tests, no regex)
_SITE_CHARS = frozenset("-/([\u2013\u2014")
_SITE_WORDS = (" RE ", " RE:", "LTD ", "LTD. ", "LIMITED ", "PLC ", "PLC. ", "LLP ")


def _trailing_bracket(text: str) -> int | None:
    """Where the bracketed part that ends ``text`` opens (also one left open by a field width:
    "BRITISH GAS (ELECTRICITY"); None when the name does not end in one. A bracket inside a
    name ("CARE CONCERN (DARLINGTON) LTD") is part of the registered name, not a site."""
    if text.endswith(tuple(_CLOSE)):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            if text[i] in _CLOSE:
                depth += 1
            elif text[i] in _OPEN:
                depth -= 1
                if depth == 0:
                    return i if i > 0 else None
        return None
    opened = max(text.rfind("("), text.rfind("["))
    if opened > 0 and not any(c in _CLOSE for c in text[opened:]):
        return opened
    return None


def site_parts(name: str) -> list[str]:
    """The pieces of a name that may be the firm itself when an establishment, site, account or
    department is named with it, in the order to try them; empty for a name with none.

    ``BARCHESTER HEALTHCARE HOMES LTD RE MEADOW PARK`` -> [``BARCHESTER HEALTHCARE HOMES LTD``];
    ``ROSEMOUNT - FOUR SEASONS HEALTH CARE`` -> [``ROSEMOUNT``, ``FOUR SEASONS HEALTH CARE``];
    ``ANCHOR TRUST (SUTTON)`` -> [``ANCHOR TRUST``]; ``VODAFONE CORPORATE LTD INACTIVE`` ->
    [``VODAFONE CORPORATE LTD``] (a legal form ends a firm's name). The text after RE or C/O
    and inside trailing brackets is never a candidate: it names a site, a department, an agent
    or a former name ("DIXONS OF WESTERHOPE (CALOR GAS)" is not Calor Gas). Which piece is the
    firm is decided by the resolver: the first that names a supplier seen on its own.
    """
    if _SITE_CHARS.isdisjoint(name) and not any(w in name.upper() for w in _SITE_WORDS):
        return []
    folded = " ".join(_fold(name).split())
    outer = folded
    while (cut := _trailing_bracket(outer)) is not None:
        outer = outer[:cut].rstrip()
    outer = REGARDING.split(outer, maxsplit=1)[0]
    out = [p for p in (" ".join(x.split()) for x in SITE_SEPARATOR.split(outer)) if p]
    if len(out) > 1:
        out.insert(0, outer)  # "CARE UK - HOMES DIVISION" may be spelt whole elsewhere
    if m := UNSPACED_HYPHEN.match(outer):
        out.append(m.group(1))
    if m := LEGAL_FORM_INSIDE.search(folded):
        out.append(folded[: m.end()])
    seen: set[str] = set()
    return [p for p in out if not (p in seen or seen.add(p)) and p != folded]


def company_number(value: str | None) -> str | None:
    """Companies House number, upper case, 8 characters (zero-padded when all digits)."""
    if value is None:
        return None
    v = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    if not v or set(v) == {"0"}:
        return None
    return v.zfill(8) if v.isdigit() and len(v) <= 8 else v


def _numbers(toks: Iterable[str]) -> set[str]:
    return {t for t in toks if any(c.isdigit() for c in t)}


def _acronym_of(tok: str, others: list[str]) -> bool:
    """GLL for GREENWICH LEISURE (LIMITED): the initials, optionally with L for the dropped LIMITED."""
    initials = "".join(o[0] for o in others)
    return len(tok) >= 2 and len(others) >= 2 and tok in (initials, initials + "L")


def _words_close(a: str, b: str, last: bool) -> bool:
    if a == b:
        return True
    short = min(len(a), len(b))
    if short <= 4:
        return False
    if last and short >= 4 and (a.startswith(b) or b.startswith(a)):
        return True  # truncated last word: APPLIAN / APPLIANCE
    if a[0] != b[0]:
        return False
    dist = Levenshtein.distance(a, b)
    return dist <= (1 if short <= 9 else 2) and Levenshtein.normalized_similarity(a, b) >= 0.85


def similar(a: list[str], b: list[str]) -> bool:
    """Two token lists name the same firm (rules in the module docstring)."""
    if not a or not b:
        return False
    if a == b or sorted(a) == sorted(b):
        return True
    if _numbers(a) != _numbers(b):
        return False
    if {t for t in a if t in DIRECTION_WORDS} != {t for t in b if t in DIRECTION_WORDS}:
        return False
    only_a = [t for t in a if t not in b]
    only_b = [t for t in b if t not in a]
    if not only_a or not only_b:
        extra, rest = (only_a, b) if only_a else (only_b, a)
        return len(extra) == 1 and _acronym_of(extra[0], rest)
    if len(only_a) != len(only_b) or len(only_a) > 2:
        return False
    shared = len(a) - len(only_a)
    if shared < 1:
        return False
    for x, y in zip(only_a, only_b, strict=True):
        last = x == a[-1] and y == b[-1]
        if not _words_close(x, y, last):
            return False
    return True


SMALL_BUCKET = 40  # tokens of a signature bucket compared pair by pair in Python; more go through cdist
CDIST_ROWS = 2048  # rows of one cdist chunk (a chunk's matrix is CDIST_ROWS x bucket tokens bytes)


def _may_differ(tok: str) -> bool:
    """A token similar() can let differ between two names: 5 letters or more, no digit, no compass word."""
    return len(tok) >= 5 and tok.isalpha() and tok not in DIRECTION_WORDS


def _signatures(toks: list[str]) -> tuple[list[tuple[str, tuple[str, ...]]], list[str], list[str]]:
    """The signatures under which ``toks`` can meet a similar() name; (word, acronym-bearer, acronym-host).

    similar(a, b) beyond the same-tokens case needs the tokens of ``a`` missing from ``b``
    (with repeats, ``only_a``) and those of ``b`` missing from ``a`` to be 1 or 2 words of 5+
    letters pairing up on first letters, with at least one token shared; so ``a`` minus the
    words of ``only_a`` and ``b`` minus the words of ``only_b`` leave one token set, and
    "first letters of the removed words | remaining tokens" is the same string for both. A word
    signature is made for every removable set of 1-2 words. The acronym rule (GLL beside
    GREENWICH LEISURE) pairs a bearer signature "@GLL | GREENWICH LEISURE" of the longer
    name with a host signature "@initials | tokens" of the shorter one.
    """
    counts: dict[str, int] = {}
    for t in toks:
        counts[t] = counts.get(t, 0) + 1
    distinct = sorted(counts)
    words: list[tuple[str, tuple[str, ...]]] = []
    loose = [t for t in distinct if counts[t] <= 2 and _may_differ(t)]
    for i, t in enumerate(loose):
        rest = [u for u in distinct if u != t]
        if not rest:
            continue
        words.append((t[0] * counts[t] + "|" + " ".join(rest), (t,)))
        if counts[t] > 1:
            continue
        for u in loose[i + 1 :]:
            rest2 = [v for v in rest if v != u]
            if counts[u] == 1 and rest2:
                words.append(("".join(sorted(t[0] + u[0])) + "|" + " ".join(rest2), (t, u)))
    bearer: list[str] = []
    for t in distinct:
        if counts[t] != 1 or len(t) < 2 or not t.isalpha() or t in DIRECTION_WORDS:
            continue
        rest = [u for u in distinct if u != t]
        if rest and len(t) >= len(rest) and set(t) <= {u[0] for u in rest} | {"L"}:
            bearer.append(f"@{t}|{' '.join(rest)}")
    host: list[str] = []
    if len(toks) >= 2:
        initials = "".join(t[0] for t in toks)
        host = [f"@{initials}|{' '.join(distinct)}", f"@{initials}L|{' '.join(distinct)}"]
    return words, bearer, host


def _close_words(words: list[str]) -> set[tuple[str, str]]:
    """Pairs (x, y), x < y, of ``words`` that _words_close could accept: one a prefix of the other,
    or the same first letter and at most two edits apart (a superset: similar() decides)."""
    words = sorted(words)
    out: set[tuple[str, str]] = set()
    for i, x in enumerate(words):  # in sorted order the words that x starts follow it
        for y in words[i + 1 :]:
            if not y.startswith(x):
                break
            out.add((x, y))
    by_letter: dict[str, list[str]] = defaultdict(list)
    for w in words:
        by_letter[w[0]].append(w)
    for group in by_letter.values():
        if len(group) <= SMALL_BUCKET:
            for i, x in enumerate(group):
                for y in group[i + 1 :]:
                    if abs(len(x) - len(y)) <= 2 and Levenshtein.distance(x, y, score_cutoff=2) <= 2:
                        out.add((x, y))
            continue
        for start in range(0, len(group), CDIST_ROWS):
            chunk = group[start : start + CDIST_ROWS]
            dist = process.cdist(chunk, group, scorer=Levenshtein.distance, score_cutoff=2, dtype=np.uint8)
            for r, c in zip(*np.nonzero(dist <= 2), strict=True):
                if start + r < c:
                    out.add((chunk[r], group[c]))
    return out


def _bucket_pairs(members: list[tuple[int, tuple[str, ...]]]) -> Iterable[tuple[int, int]]:
    """Pairs of one word-signature bucket whose removed words could all be close (see _close_words)."""
    by_word: dict[str, list[int]] = defaultdict(list)
    removed = dict(members)
    for i, words in members:
        for w in words:
            by_word[w].append(i)
    close = _close_words(list(by_word))
    both = close | {(y, x) for x, y in close}
    for x, y in sorted(close):
        for i in by_word[x]:
            for j in by_word[y]:
                ri, rj = removed[i], removed[j]
                if i == j or set(ri) & set(rj):
                    continue
                if all(any((u, v) in both for v in rj) for u in ri) and all(
                    any((v, u) in both for u in ri) for v in rj
                ):
                    yield (i, j) if i < j else (j, i)


def _fuzzy_pairs(token_lists: dict[str, list[str]], skip: set[str]) -> list[tuple[str, str]]:
    """Every pair of keys (a < b) that similar() accepts, individuals (``skip``) left out: first the
    pairs with the same tokens (a key split by company number, words in another order), then the
    others, each part sorted, so that a name spelt like two registered companies joins the one it
    spells exactly before a near spelling.

    Instead of comparing all pairs, each key is filed under its signatures (_signatures) and
    only keys sharing one are compared: near-linear in the number of keys, and complete (a
    pair similar() accepts always shares a signature), so no block is ever too big to compare.
    """
    keys = sorted(k for k in token_lists if k not in skip)
    same: dict[str, list[int]] = defaultdict(list)
    buckets: dict[str, int | list[int]] = {}
    bearers: dict[str, list[int]] = defaultdict(list)
    hosts: list[tuple[int, list[str]]] = []
    for i, key in enumerate(keys):
        toks = token_lists[key]
        if not toks:
            continue
        same[" ".join(sorted(toks))].append(i)
        if len(toks) > 1:  # HEALTH CARE / HEALTHCARE: the same letters split differently
            same["=" + "".join(toks)].append(i)
        words, bearer, host = _signatures(toks)
        for sig, _ in words:
            b = buckets.get(sig)
            if b is None:
                buckets[sig] = i
            elif isinstance(b, int):
                buckets[sig] = [b, i]
            else:
                b.append(i)
        for sig in bearer:
            bearers[sig].append(i)
        if host:
            hosts.append((i, host))
    exact = {(a, b) for group in same.values() for n, a in enumerate(group) for b in group[n + 1 :]}
    candidates: set[tuple[int, int]] = set()
    for sig, group in buckets.items():
        if isinstance(group, int):
            continue
        rest = set(sig.split("|", 1)[1].split())
        members = [(i, tuple(sorted({t for t in token_lists[keys[i]] if t not in rest}))) for i in group]
        candidates.update(_bucket_pairs(members))
    for i, host in hosts:
        for sig in host:
            for j in bearers.get(sig, ()):
                candidates.add((i, j) if i < j else (j, i))
    candidates -= exact
    fuzzy = [(a, b) for a, b in sorted(candidates) if similar(token_lists[keys[a]], token_lists[keys[b]])]
    return [(keys[a], keys[b]) for a, b in sorted(exact) + fuzzy]


_NO_COMPANY: frozenset[str] = frozenset()


@dataclass
class _Cluster:
    parent: dict[str, str] = field(default_factory=dict)
    companies: dict[str, frozenset[str]] = field(default_factory=dict)
    rule: dict[str, str] = field(default_factory=dict)

    def add(self, key: str) -> None:
        if key not in self.parent:
            self.parent[key] = key
            self.companies[key] = _NO_COMPANY

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str, rule: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ca, cb = self.companies[ra], self.companies[rb]
        if ca and cb and ca != cb:
            return False  # two different registered companies are never one supplier
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.companies[ra] = ca | cb
        self.rule.setdefault(a, rule)
        self.rule.setdefault(b, rule)
        return True


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector: resolve() allocates millions of small sets and tuples that
    nothing holds in a cycle (reference counting frees them), and at 180,000 names the collector's
    repeated passes over them took 40% of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve(records: Iterable[NameRecord]) -> dict[str, Match]:
    """Resolve every distinct name in ``records``; deterministic for a given input set."""
    with _cyclic_gc_paused():
        return _resolve(list(records))


def _resolve(records: list[NameRecord]) -> dict[str, Match]:
    # every step groups records into sets or sorts them: the order of ``records`` does not matter
    names = sorted({r.name for r in records if r.name and r.name.strip()})
    out: dict[str, Match] = {}
    keys: dict[str, str] = {}  # name_key of each name and trading part, computed once

    def key_for(text: str) -> str:
        if text not in keys:
            keys[text] = name_key(text)
        return keys[text]

    numbers_of_name: dict[str, set[str]] = defaultdict(set)
    number_of: dict[object, str | None] = {}  # company_number() of each raw value, computed once
    for r in records:
        raw = r.company_number
        if raw not in number_of:
            number_of[raw] = company_number(raw)
        if number := number_of[raw]:
            numbers_of_name[r.name].add(number)
    numbers_of_key: dict[str, set[str]] = defaultdict(set)
    for name, numbers in numbers_of_name.items():
        numbers_of_key[key_for(name)] |= numbers
    # graph nodes are name keys; a key spelt by two registered companies splits by number
    key_of: dict[str, str] = {}
    personal: set[str] = set()
    for name in names:
        if is_redacted(name):
            out[name] = Match(name, None, None, "redacted")
            continue
        key = key_for(name)
        if not key:
            out[name] = Match(name, None, None, "redacted")
            continue
        if len(numbers_of_key[key]) > 1 and len(numbers_of_name[name]) == 1:
            key = f"{key}#{min(numbers_of_name[name])}"
        key_of[name] = key
        if is_individual(name):
            personal.add(key)

    uf = _Cluster()
    for key in sorted(set(key_of.values())):
        uf.add(key)
    # company numbers: first attach them, then join names sharing one
    by_company: dict[str, set[str]] = defaultdict(set)
    for name, numbers in numbers_of_name.items():
        if name in key_of:
            for number in numbers:
                by_company[number].add(key_of[name])
    for number, named in by_company.items():
        for key in named:
            uf.companies[key] |= {number}  # every key is still its own root here
    for _, named in sorted((number, named) for number, named in by_company.items() if len(named) > 1):
        ordered = sorted(named)
        for key in ordered[1:]:
            uf.union(ordered[0], key, "company_number")

    # trading-as aliases answer to the trading name, and to the owner when it is a firm
    alias: dict[str, set[str]] = defaultdict(set)
    for name, key in key_of.items():
        parts = trading_parts(name)
        if not parts:
            continue
        owner, trading = parts
        trading_key = key_for(trading)
        if len(trading_key.split()) >= 2 and len(trading_key) >= 8:
            alias[trading_key].add(key)
        owner_key = key_for(owner)
        if not is_individual(owner) and owner_key != key and len(owner_key.split()) >= 2:
            alias[owner_key].add(key)
    for alias_key, owners in sorted(alias.items()):
        if alias_key in personal:
            continue
        uf.add(alias_key)  # a trading name nobody uses on its own still links its owners' names
        for key in sorted(owners):
            uf.union(alias_key, key, "trading_as")

    # names filed under one supplier reference in a council's finance system
    by_ref: dict[tuple[str, str], str | set[str]] = {}  # a set only once a second key turns up
    for r in records:
        if r.supplier_ref and r.supplier_ref.strip() and r.name in key_of:
            ref, key = (r.council_id or "", r.supplier_ref.strip().upper()), key_of[r.name]
            filed = by_ref.setdefault(ref, key)
            if isinstance(filed, set):
                filed.add(key)
            elif filed != key:
                by_ref[ref] = {filed, key}
    for _, filed in sorted((ref, filed) for ref, filed in by_ref.items() if isinstance(filed, set)):
        if len(filed) <= MAX_NAMES_PER_REF and not filed & personal:
            ordered = sorted(filed)
            for key in ordered[1:]:
                uf.union(ordered[0], key, "supplier_ref")

    _link_sites(uf, key_of, key_for, personal)

    # fuzzy edges: only keys sharing a signature are compared (see _fuzzy_pairs)
    token_lists = {key: key.split("#")[0].split() for key in uf.parent}
    for a, b in _fuzzy_pairs(token_lists, personal):
        uf.union(a, b, "fuzzy_name")

    roots = {key: uf.find(key) for key in uf.parent}
    members_of: dict[str, list[str]] = defaultdict(list)
    for key in sorted(set(key_of.values())):  # real names only, not bare trading-name aliases
        members_of[roots[key]].append(key)
    for name, key in key_of.items():
        root = roots[key]
        companies = uf.companies[root]
        number = min(companies) if len(companies) == 1 else None
        cluster = f"CH:{number}" if number else f"NAME:{members_of[root][0]}"  # members are sorted
        rule = "individual" if key in personal else uf.rule.get(key, "exact_key")
        if rule != "individual" and len(members_of[root]) == 1:
            rule = "exact_key"
        out[name] = Match(name, key.split("#")[0], cluster, rule, number)
    return out


def _link_sites(uf: _Cluster, key_of: dict[str, str], key_for, personal: set[str]) -> None:
    """Join a name given with an establishment, site, account or department to its firm.

    First, the first of its ``site_parts`` (2+ words) that is the key of a name seen on its own
    (or the same letters split differently: HEALTH CARE / HEALTHCARE) joins it -- one piece
    only, so a bracketed former name or agent never joins a second firm. Then names that
    joined nothing and begin with the same 2+ word piece are one supplier when that piece is a
    registered name ("ANGELA COURT LTD (<home>)") or what follows it are account or meter
    numbers ("WATER PLUS - 4081791400 <site>"): not for a brand followed by a place, which
    may be two franchises ("BLUEBIRD CARE (NEWTON ABBOT)", "BLUEBIRD CARE (EXETER)").
    """
    plain: dict[str, set[str]] = defaultdict(set)  # name key -> graph keys (split by company number)
    joined: dict[str, set[str]] = defaultdict(set)
    for key in set(key_of.values()):
        if key in personal:
            continue
        base = key.split("#")[0]
        plain[base].add(key)
        joined[base.replace(" ", "")].add(key)

    def firm(part_key: str) -> str | None:
        found = plain.get(part_key) or joined.get(part_key.replace(" ", ""), set())
        return next(iter(found)) if len(found) == 1 else None

    leading: dict[str, set[str]] = defaultdict(set)
    for name in sorted(key_of):
        key = key_of[name]
        if key in personal:
            continue
        parts = site_parts(name)
        if not parts:
            target = _organisation_of_department(name, key.split("#")[0], plain)
            if target is not None and target != key and len(plain[target.split("#")[0]]) == 1:
                uf.union(target, key, "site_part")
            continue
        for part in parts:
            part_key = key_for(part)
            if len(part_key.split()) < 2 or part_key == key.split("#")[0]:
                continue
            target = firm(part_key)
            if target is not None and target != key:
                uf.union(target, key, "site_part")
                break
        else:
            first = key_for(parts[0])
            rest = " ".join(_fold(name).split()).replace(parts[0], "", 1)
            registered = LEGAL_ANYWHERE & set(re.split(r"[^A-Z]+", parts[0]))
            if (registered or any(c.isdigit() for c in rest)) and len(first.split()) >= 2 and len(first) >= 8:
                leading[first].add(key)
    for _, keys in sorted(leading.items()):
        if len(keys) > 1:
            ordered = sorted(keys)
            for key in ordered[1:]:
                uf.union(ordered[0], key, "site_part")


# the last word of an organisation's name that a department, office or site can follow without a
# separator ("HOME OFFICE LEAVE TO REMAIN", "VALUATION OFFICE AGENCY ADMINISTRATION") ...
ORGANISATION_WORDS = frozenset(
    {"COUNCIL", "OFFICE", "AGENCY", "TRUST", "SOCIETY", "UNIVERSITY", "AUTHORITY", "DEPARTMENT", "MINISTRY",
     "COMMISSION", "ASSOCIATION", "INSTITUTE", "EXECUTIVE", "CUSTOMS", "BOARD"}
)  # fmt: skip
# ... unless what follows makes it another body: a trading arm, a fund, a school, a club ...
OTHER_BODY_WORDS = frozenset(
    {"TRADING", "HOLDINGS", "ENTERPRISE", "ENTERPRISES", "FEDERATION", "UNION", "CLUB", "PENSION", "PENSIONS",
     "FUND", "SCHOOL", "SCHOOLS", "COLLEGE", "ACADEMY", "NURSERY", "FOUNDATION", "CHARITY", "GROUP",
     "PARTNERSHIP", "COMPANY"} | (ORGANISATION_WORDS - {"OFFICE", "DEPARTMENT", "BOARD", "EXECUTIVE"})
)  # fmt: skip


def _organisation_of_department(name: str, key: str, plain: dict[str, set[str]]) -> str | None:
    """The graph key of the organisation ``name`` begins with when a department, office or site
    follows its name without a separator, or None.

    The organisation is the longest leading run of 2+ words of the name's key that is the key
    of a name seen on its own and ends in an organisation word; it is not taken when the rest
    names another body (an organisation word, a trading arm, a fund, a school; "NATIONAL TRUST
    FOR SCOTLAND", "COUNCIL OF ...": the organisation word followed by FOR / OF / AND), or when
    the name carries a legal form of its own ("PRINCE'S TRUST TRADING LTD").
    """
    toks = key.split()
    if len(toks) < 3 or ORGANISATION_WORDS.isdisjoint(toks[1:-1]):
        return None
    for i in range(len(toks) - 1, 1, -1):
        head, rest = toks[:i], toks[i:]
        if head[-1] not in ORGANISATION_WORDS or " ".join(head) not in plain:
            continue
        folded = _fold(name)
        if OTHER_BODY_WORDS & set(rest) or LEGAL_ANYWHERE & set(re.split(r"[^A-Z]+", folded)):
            return None
        if re.search(rf"\b{head[-1]}\W+(?:FOR|OF|AND|&)\W", folded):
            return None
        return next(iter(plain[" ".join(head)]))
    return None


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def load_records(con) -> list[NameRecord]:
    """Every supplier name the warehouse's raw tables hold, with its identifiers."""
    records: list[NameRecord] = []
    if _table_exists(con, "raw", "spend_lines"):
        rows = con.execute(
            "select distinct supplier_name, council_id, supplier_ref, company_number from raw.spend_lines "
            "where supplier_name is not null and not coalesce(is_redacted, false)"
        ).fetchall()
        records += [NameRecord(n, "spend", c, ref, num) for n, c, ref, num in rows]
    if _table_exists(con, "raw", "contracts"):
        rows = con.execute(
            "select distinct supplier_name, council_id, supplier_company_number from raw.contracts "
            "where supplier_name is not null"
        ).fetchall()
        records += [NameRecord(n, "contract_register", c, None, num) for n, c, num in rows]
    if _table_exists(con, "raw", "notice_parties"):
        rows = con.execute(
            "select distinct name, case when party_id like 'GB-COH-%' then substr(party_id, 8) end "
            "from raw.notice_parties where name is not null and roles like '%supplier%'"
        ).fetchall()
        records += [NameRecord(n, "contracts_finder", None, None, num) for n, num in rows]
    return records


def write_matches(warehouse: Path | None = None) -> dict[str, int]:
    """Resolve the warehouse's supplier names and (re)write ``raw.supplier_name_matches``."""
    import pyarrow as pa

    from procure.warehouse import transaction

    with transaction(warehouse) as con:
        con.execute("create schema if not exists raw")
        records = load_records(con)
        matches = resolve(records)
        con.execute(
            f"create or replace table {TABLE} (supplier_name varchar primary key, name_key varchar, "
            "cluster_key varchar, match_rule varchar not null, company_number varchar)"
        )
        ordered = [matches[name] for name in sorted(matches)]
        table = pa.table(  # one Arrow insert: executemany takes minutes for 180,000 rows
            {
                "supplier_name": pa.array([m.name for m in ordered], pa.string()),
                "name_key": pa.array([m.name_key for m in ordered], pa.string()),
                "cluster_key": pa.array([m.cluster_key for m in ordered], pa.string()),
                "match_rule": pa.array([m.rule for m in ordered], pa.string()),
                "company_number": pa.array([m.company_number for m in ordered], pa.string()),
            }
        )
        con.register("supplier_name_matches_new", table)
        try:
            con.execute(f"insert into {TABLE} by name select * from supplier_name_matches_new")
        finally:
            con.unregister("supplier_name_matches_new")
    clusters = len({m.cluster_key for m in matches.values() if m.cluster_key})
    counts = {"names": len(matches), "suppliers": clusters}
    log.info("supplier resolution: %d names -> %d suppliers", counts["names"], counts["suppliers"])
    return counts
