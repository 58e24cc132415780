"""Which loaded spend file a new one replaces: only a re-issue of it, never a file that merely shares months.

Councils publish several files for one month (card payments, a month in two parts, another
body's payments, an annual file beside monthly ones): those add up. A file replaces an
earlier one only when it is a new version of that very file:

- **declared**: ``procure ingest spend --replaces NAME FILE``;
- **config**: the council re-issues corrected files under the same name
  (``spend_reissue_same_name`` globs in councils.yml) and the new file has that name;
- **detected**: the same name stem with a later version mark (``_v2``, ``-v3``, ``(1)``,
  ``revised``, ``corrected``, ``amended``, ``updated``, ``reissued``, ``final``) or the very
  same name, AND at least ``REISSUE_LINE_SHARE`` of the older version's loaded lines
  (``LINE_FINGERPRINT_SQL``: payee, amount, date, transaction number) appear in the newer.

The newer version wins: a later mark beats an earlier one, and between two files of the
same name the one loaded last. Every replacement deletes the older file's rows in the
transaction that loads the newer one, marks it ``superseded`` in raw.spend_manifest and
records both files' line counts and totals, the basis and the evidence in
raw.spend_replacements (shown in the board pack's data-quality section).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from procure.config import Council

log = logging.getLogger(__name__)

#: Share of the older file's loaded lines that must reappear in the newer one (detected re-issues).
REISSUE_LINE_SHARE = Decimal("0.80")
#: One payment line's identity across files (SQL over raw.spend_lines, portable to PostgreSQL):
#: re-issue detection here and the gate's duplicate-file check (expectations/raw_spend_files.py).
#: a payment line's fingerprint: its fields as SQL over raw.spend_lines, by name (a missing payee or
#: transaction number counts as empty); compared field by field, or as one string
LINE_FINGERPRINT_FIELDS = {
    "payee": "coalesce(supplier_name, '')",
    "amount_gbp": "amount_gbp",
    "payment_date": "payment_date",
    "transaction_number": "coalesce(transaction_number, '')",
}
LINE_FINGERPRINT_SQL = " || '|' || ".join(f"cast({sql} as varchar)" for sql in LINE_FINGERPRINT_FIELDS.values())

_EXTENSIONS = re.compile(r"(?:\.(?:csv|tsv|txt|xlsx|xls|xlsm|ods|json|gz|gzip|bz2|xz|zip))+$", re.IGNORECASE)
_SEP = r"[\s_.\-]"
# one version mark at the end of a name (after its extensions are gone); applied repeatedly
_MARK = re.compile(
    rf"(?:{_SEP}*\((?P<copy>\d{{1,3}})\)"
    rf"|(?:^|{_SEP}+)v(?:er(?:sion)?)?{_SEP}?(?P<version>\d{{1,3}})"
    rf"|(?:^|{_SEP}+)(?P<word>revised|revision|corrected|correction|amended|amendment|updated|update"
    rf"|reissued?|re{_SEP}?issued?|final|fixed))$",
    re.IGNORECASE,
)


def reissue_name(name: str) -> tuple[str, int]:
    """(stem, version) of a file name: ``Spend Jan 2017_v2 (1).CSV`` -> ('spend-jan-2017', 3).

    The stem is the name without extensions and trailing version marks, lower case, runs of
    spaces, dots, dashes and underscores as one '-'. The version adds up the marks: ``(n)``
    counts n, ``vN`` counts N, a word (revised, corrected, ...) counts 1; no mark is 0.
    """
    text = _EXTENSIONS.sub("", name.strip())
    version = 0
    while True:
        m = _MARK.search(text)
        if m is None or m.start() == 0:
            break
        version += int(m["copy"] or m["version"] or 1)
        text = text[: m.start()]
    stem = re.sub(rf"{_SEP}+", "-", text.lower()).strip("-")
    return stem, version


@dataclass(frozen=True)
class LoadedFile:
    """A file's side of a replacement: what the manifest (or the load in progress) says of it."""

    sha256: str
    name: str
    lines: int
    total: Decimal


@dataclass
class Outcome:
    """What loading one file replaced (``replaced``), or the newer version that replaces it."""

    replaced: list[str] = field(default_factory=list)
    superseded_by: LoadedFile | None = None
    reason: str | None = None


def unknown_declared(con, council_id: str, names: Sequence[str]) -> str | None:
    """Why a declared ``--replaces`` cannot be honoured (a name with no loaded file), or None."""
    missing = []
    for name in names:
        rows = con.execute(
            "select status from raw.spend_manifest where council_id = ? and source_file = ?", [council_id, name]
        ).fetchall()
        if not any(status == "loaded" for (status,) in rows):
            state = f"its versions are {sorted({s for (s,) in rows})}" if rows else "no file of that name"
            missing.append(f"{name!r} ({state})")
    if not missing:
        return None
    return (
        f"--replaces names no loaded spend file of council {council_id!r}: {', '.join(missing)}; "
        "nothing was loaded (see raw.spend_manifest for the council's file names)"
    )


def _loaded(con, council_id: str, sha256: str) -> list[LoadedFile]:
    rows = con.execute(
        "select file_sha256, source_file, rows_loaded, amount_total_gbp from raw.spend_manifest "
        "where council_id = ? and status = 'loaded' and file_sha256 <> ? order by loaded_at, source_file",
        [council_id, sha256],
    ).fetchall()
    return [LoadedFile(sha, name, int(n or 0), total or Decimal("0.00")) for sha, name, n, total in rows]


def shared_lines(con, council_id: str, sha_a: str, sha_b: str) -> int:
    """How many loaded lines the two files have in common (as multisets of fingerprints)."""
    return con.execute(
        f"""
        with a as (select {LINE_FINGERPRINT_SQL} as fp, count(*) as n from raw.spend_lines
                   where council_id = ? and file_sha256 = ? group by 1),
             b as (select {LINE_FINGERPRINT_SQL} as fp, count(*) as n from raw.spend_lines
                   where council_id = ? and file_sha256 = ? group by 1)
        select coalesce(sum(least(a.n, b.n)), 0) from a join b on a.fp = b.fp
        """,
        [council_id, sha_a, council_id, sha_b],
    ).fetchall()[0][0]


def replace_reissues(
    con,
    council: Council,
    new: LoadedFile,
    declared: Sequence[str],
    run_id: str,
    at: datetime,
) -> Outcome:
    """Retire the loaded files ``new`` re-issues (inside the caller's transaction; module docstring).

    ``new``'s lines are already in raw.spend_lines. When a loaded file turns out to be the
    newer version of ``new`` (a late original beside its ``_v2``), ``new`` is the one
    replaced: ``Outcome.superseded_by`` names the winner and the caller records ``new`` as
    superseded.
    """
    out = Outcome()
    stem, version = reissue_name(new.name)
    for old in _loaded(con, council.id, new.sha256):
        if old.name in declared:
            _retire(con, council.id, old, new, "declared", f"--replaces {old.name}", run_id, at)
            out.replaced.append(old.name)
            continue
        if old.name == new.name and council.reissues_under_same_name(new.name):
            evidence = "the council re-issues files of this name (spend_reissue_same_name)"
            _retire(con, council.id, old, new, "config", evidence, run_id, at)
            out.replaced.append(old.name)
            continue
        old_stem, old_version = reissue_name(old.name)
        if old_stem != stem or (old_version == version and old.name != new.name):
            continue
        older, newer = (new, old) if old_version > version else (old, new)
        if older.lines == 0:
            continue
        shared = shared_lines(con, council.id, older.sha256, newer.sha256)
        if shared < REISSUE_LINE_SHARE * older.lines:
            log.info(
                "%s and %s share the name stem %r but only %d of %d lines: both kept",
                old.name,
                new.name,
                stem,
                shared,
                older.lines,
            )
            continue
        evidence = (
            f"same name stem {stem!r}, {newer.name} the later version; "
            f"{shared} of {older.lines} lines of {older.name} identical in it"
        )
        _retire(con, council.id, older, newer, "detected", evidence, run_id, at)
        if older is new:
            out.superseded_by = old
            out.reason = f"replaced by {old.name} ({old.sha256[:12]}), its re-issue: {evidence}"
            return out
        out.replaced.append(old.name)
    return out


def _retire(con, council_id: str, old: LoadedFile, new: LoadedFile, basis: str, evidence: str, run_id, at) -> None:
    """Delete ``old``'s rows, mark it superseded by ``new`` and record the replacement."""
    for table in ("spend_lines", "spend_quarantine"):
        con.execute(f"delete from raw.{table} where council_id = ? and file_sha256 = ?", [council_id, old.sha256])
    con.execute(
        "update raw.spend_manifest set status = 'superseded', superseded_by = ?, reason = ? "
        "where council_id = ? and file_sha256 = ?",
        [new.sha256, f"replaced by {new.name} ({new.sha256[:12]}), {basis}: {evidence}", council_id, old.sha256],
    )
    con.execute(
        "insert or replace into raw.spend_replacements (council_id, replaced_sha256, replaced_file, replaced_lines, "
        "replaced_total_gbp, replacing_sha256, replacing_file, replacing_lines, replacing_total_gbp, basis, "
        "evidence, run_id, replaced_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            council_id,
            old.sha256,
            old.name,
            old.lines,
            old.total,
            new.sha256,
            new.name,
            new.lines,
            new.total,
            basis,
            evidence,
            run_id,
            at,
        ],
    )
    log.info(
        "%s (%s) replaced by %s (%s), %s: %s", old.name, old.sha256[:12], new.name, new.sha256[:12], basis, evidence
    )
