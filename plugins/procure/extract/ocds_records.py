"""Compile each procurement's releases into one OCDS record: its latest known state.

A procurement (ocid) gets a release per notice — tender, amendment, award, contract
details — and edits re-publish releases. Analysts want the current state, so releases
are merged with ``ocdsmerge`` following the OCDS merge rules (arrays of objects merge by
``id``, later releases win field by field, ``wholeListMerge`` / ``omitWhenMerged`` as the
schema says). We use the library rather than a merge of our own because the rules are
subtle (identifier merge, whole-list merge, omitted fields) and ocdsmerge is what OCDS's
own tools (Kingfisher, ocdskit) use. The merge rules come from the OCDS 1.1.5 release
schema shipped beside this module (``schema/release-schema-1.1.5.json``): ocdsmerge
would otherwise download it, and this project never fetches at run time.

Duplicate ids in one array (Contracts Finder publishes the same award id twice) collapse
into one object, as the merge rules define; the collision is recorded in the record's
``merge_warnings`` rather than dropped silently. The compiled records land in
``raw.notice_records`` with a few flattened columns for the staging models.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from procure.extract.ocds_rows import insert_rows
from procure.extract.ocds_rows import ocds_timestamp as _ts

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "release-schema-1.1.5.json"
PLACEHOLDER_VALUES = {Decimal("0"), Decimal("0.1"), Decimal("1")}


@lru_cache(maxsize=1)
def merger():
    """One ``ocdsmerge.Merger`` with rules from the local schema (never a download)."""
    import ocdsmerge

    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"{SCHEMA_PATH}: OCDS release schema missing; it ships with the package")
    return ocdsmerge.Merger(schema=str(SCHEMA_PATH))


def compile_releases(releases: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The compiled release of one ocid's releases, and the merge warnings (duplicate ids)."""
    from ocdsmerge.exceptions import OCDSMergeWarning

    ordered = sorted(releases, key=lambda r: (str(r.get("date") or ""), str(r.get("id"))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OCDSMergeWarning)
        compiled = merger().create_compiled_release(ordered)
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, OCDSMergeWarning)})
    return compiled, notes


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, dict) or value.get("amount") is None:
        return None
    try:
        amount = Decimal(str(value["amount"]))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount in PLACEHOLDER_VALUES:
        return None
    return amount.quantize(Decimal("0.01"))


def record_row(ocid: str, releases: list[dict[str, Any]], run_id: str | None = None) -> dict[str, Any]:
    """The raw.notice_records row for one ocid."""
    import html

    compiled, notes = compile_releases(releases)
    tender = compiled.get("tender") or {}
    buyer = compiled.get("buyer") or {}
    awards = compiled.get("awards") or []
    parties = {p.get("id"): p for p in compiled.get("parties") or [] if isinstance(p, dict)}
    active = [a for a in awards if a.get("status") in (None, "active")]
    values = [v for v in (_money(a.get("value")) for a in active) if v is not None]
    suppliers = [s for a in awards for s in a.get("suppliers") or []]
    details = [(parties.get(s.get("id")) or {}).get("details") or {} for s in suppliers]
    periods = [a.get("contractPeriod") or {} for a in active] + [
        c.get("period") or {} for c in compiled.get("contracts") or []
    ]
    starts = [d for d in (_ts(p.get("startDate")) for p in periods) if d]
    ends = [d for d in (_ts(p.get("endDate")) for p in periods) if d]
    award_dates = [d for d in (_ts(a.get("date")) for a in awards) if d]
    ordered = sorted(releases, key=lambda r: (str(r.get("date") or ""), str(r.get("id"))))
    text = json.dumps(compiled, sort_keys=True, ensure_ascii=False, default=str)

    def clean(value: Any) -> str | None:
        return html.unescape(str(value)).strip() or None if value is not None else None

    return {
        "ocid": ocid,
        "release_count": len(releases),
        "release_ids": ",".join(str(r.get("id")) for r in ordered),
        "latest_release_date": max((d for d in (_ts(r.get("date")) for r in releases) if d), default=None),
        "buyer_id": buyer.get("id"),
        "buyer_name": clean(buyer.get("name")),
        "title": clean(tender.get("title")),
        "tender_status": tender.get("status"),
        "cpv_code": (tender.get("classification") or {}).get("id"),
        "tender_value_gbp": _money(tender.get("value")),
        "award_count": len(awards),
        "award_value_gbp": sum(values) if values else None,
        "first_award_date": min(award_dates, default=None),
        "supplier_names": " | ".join(n for n in (clean(s.get("name")) for s in suppliers) if n) or None,
        "sme_supplier_count": sum(1 for d in details if str(d.get("scale") or "").lower() == "sme"),
        "vcse_supplier_count": sum(1 for d in details if d.get("vcse") is True),
        "contract_start_date": min(starts).date() if starts else None,
        "contract_end_date": max(ends).date() if ends else None,
        "merge_warnings": "; ".join(notes) or None,
        "record_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "compiled_json": text,
        "run_id": run_id,
    }


def refresh_records(con, ocids: Iterable[str], run_id: str | None = None) -> dict[str, int]:
    """Recompile the records of ``ocids`` from every release held in raw.notice_releases.

    Compiling from the stored releases (not from one page) makes the result independent of
    the order windows were harvested in: a record is a function of its releases only.
    """
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    wanted = sorted(set(ocids))
    if not wanted:
        return counts
    releases: dict[str, list[dict[str, Any]]] = {}
    for ocid, text in con.execute(
        "select ocid, release_json from raw.notice_releases where ocid in (select unnest(?::varchar[])) "
        "order by ocid, release_key",
        [wanted],
    ).fetchall():
        releases.setdefault(ocid, []).append(json.loads(text))
    held = dict(
        con.execute(
            "select ocid, record_sha256 from raw.notice_records where ocid in (select unnest(?::varchar[]))",
            [wanted],
        ).fetchall()
    )
    rows = []
    for ocid in sorted(releases):
        row = record_row(ocid, releases[ocid], run_id)
        if held.get(ocid) == row["record_sha256"]:
            counts["unchanged"] += 1
            continue
        counts["changed" if ocid in held else "new"] += 1
        rows.append(row)
    if rows:
        con.execute(
            "delete from raw.notice_records where ocid in (select unnest(?::varchar[]))", [[r["ocid"] for r in rows]]
        )
        insert_rows(con, "raw.notice_records", rows)
    return counts


def refresh_pending(con, run_id: str) -> dict[str, int]:
    """Recompile the ocids this run stored releases for, and any ocid without a record yet."""
    rows = con.execute(
        "select distinct ocid from raw.notice_releases where run_id = ? "
        "or ocid not in (select ocid from raw.notice_records)",
        [run_id],
    ).fetchall()
    return refresh_records(con, [r[0] for r in rows], run_id)
