"""Flatten OCDS releases (Contracts Finder / Find a Tender) into the raw notice tables.

Accepts release packages (``{"releases": [...]}``) and bare releases, as the APIs and
the real Contracts Finder downloads provide them. A release is keyed by ocid + release
id; seeing it again with the same content changes nothing, with new content (an edited
notice re-published in a later window) replaces it.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from procure.extract.ocds_rows import insert_rows, ocds_timestamp
from procure.extract.ocds_validate import validate_pending

log = logging.getLogger(__name__)

PLACEHOLDER_VALUES = {Decimal("0"), Decimal("0.1"), Decimal("1")}


def _parse_float(text: str) -> Decimal | None:
    """JSON numbers as Decimal; invalid ones such as ``1e9999`` become null, not a crash."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or not math.isfinite(float(value)):
        log.warning("invalid JSON number %s replaced by null", text[:40])
        return None
    return value


def loads_tolerant(data: bytes | str) -> Any:
    return json.loads(data, parse_float=_parse_float, parse_int=_parse_float)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = html.unescape(str(value)).strip()
    return text or None


def _money(value: Any) -> Decimal | None:
    """A value amount, with the known placeholders (0, 0.1, 1) treated as unknown."""
    if not isinstance(value, dict) or value.get("amount") is None:
        return None
    try:
        amount = Decimal(str(value["amount"]))
    except InvalidOperation:
        log.warning("value amount %r is not a number; treated as unknown", value["amount"])
        return None
    if amount in PLACEHOLDER_VALUES:
        return None
    return amount.quantize(Decimal("0.01"))


def _date(value: Any) -> date | None:
    ts = ocds_timestamp(value)
    return ts.date() if ts else None


def _json_default(value: Any) -> Any:
    """Decimals from the tolerant decoder go back out as JSON numbers, not strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Flattened:
    release: dict[str, Any]
    parties: list[dict[str, Any]]
    awards: list[dict[str, Any]]


def flatten_release(release: dict[str, Any], source_file: str) -> Flattened:
    """One OCDS release as rows for raw.notice_releases, notice_parties and notice_awards."""
    ocid, rid = release.get("ocid"), release.get("id")
    if not ocid or not rid:
        raise ValueError(f"{source_file}: release without ocid/id: {str(release)[:120]}")
    key = f"{ocid}/{rid}"
    tender = release.get("tender") or {}
    classification = tender.get("classification") or {}
    suitability = tender.get("suitability") or {}
    buyer = release.get("buyer") or {}
    row = {
        "release_key": key,
        "ocid": ocid,
        "release_id": rid,
        "release_date": ocds_timestamp(release.get("date")),
        "tags": ",".join(release.get("tag") or []),
        "buyer_id": buyer.get("id"),
        "buyer_name": _text(buyer.get("name")),
        "title": _text(tender.get("title")),
        "description": _text(tender.get("description")),
        "status": tender.get("status"),
        "cpv_code": classification.get("id"),
        "cpv_description": _text(classification.get("description")),
        "tender_value_gbp": _money(tender.get("value")),
        "procurement_method": tender.get("procurementMethod"),
        "suitable_for_sme": suitability.get("sme"),
        "suitable_for_vcse": suitability.get("vcse"),
        "content_sha256": _sha(release),
        "source_file": source_file,
        "release_json": json.dumps(release, sort_keys=True, default=_json_default),
    }
    parties = []
    for party in release.get("parties") or []:
        address = party.get("address") or {}
        details = party.get("details") or {}
        parties.append(
            {
                "release_key": key,
                "party_id": party.get("id") or _text(party.get("name")) or "unknown",
                "name": _text(party.get("name")),
                "roles": ",".join(party.get("roles") or []),
                "postal_code": _text(address.get("postalCode")),
                "street_address": _text(address.get("streetAddress")),
                "locality": _text(address.get("locality")),
                "country_name": _text(address.get("countryName")),
                "scale": details.get("scale"),
                "is_vcse": details.get("vcse"),
            }
        )
    awards = []
    for award in release.get("awards") or []:
        period = award.get("contractPeriod") or {}
        for supplier in award.get("suppliers") or [{}]:
            awards.append(
                {
                    "release_key": key,
                    "award_id": str(award.get("id")),
                    "supplier_id": supplier.get("id") or _text(supplier.get("name")) or "unknown",
                    "supplier_name": _text(supplier.get("name")),
                    "status": award.get("status"),
                    "award_date": ocds_timestamp(award.get("date")),
                    "value_gbp": _money(award.get("value")),
                    "contract_start_date": _date(period.get("startDate")),
                    "contract_end_date": _date(period.get("endDate")),
                }
            )
    # the same award id can appear twice in one release; keep the last, as a compiled record would
    awards = list({(a["award_id"], a["supplier_id"]): a for a in awards}.values())
    parties = list({p["party_id"]: p for p in parties}.values())
    return Flattened(row, parties, awards)


def releases_in(path: Path) -> list[dict[str, Any]]:
    doc = loads_tolerant(path.read_bytes())
    if isinstance(doc, dict) and "releases" in doc:
        return list(doc["releases"])
    if isinstance(doc, dict) and "ocid" in doc:
        return [doc]
    raise ValueError(f"{path}: neither an OCDS release package nor a release")


def upsert_releases(con, flattened: list[Flattened], run_id: str) -> dict[str, int]:
    """Insert new releases, replace changed ones, skip identical ones."""
    counts = {"new": 0, "changed": 0, "unchanged": 0, "stale": 0}
    # one version per release key: the latest-dated wins (files in name order break ties),
    # so reloading the same folder is a no-op even when it holds two versions of a release
    latest: dict[str, Flattened] = {}
    for item in flattened:
        key = item.release["release_key"]
        held = latest.get(key)
        if held is None or (item.release["release_date"] or datetime.min) >= (
            held.release["release_date"] or datetime.min
        ):
            latest[key] = item
    keys = list(latest)
    held = {}
    if keys:
        held = {
            key: (sha, released)
            for key, sha, released in con.execute(
                "select release_key, content_sha256, release_date from raw.notice_releases "
                "where release_key in (select unnest(?::varchar[]))",
                [keys],
            ).fetchall()
        }
    write: list[Flattened] = []
    for key, item in latest.items():
        seen = held.get(key)
        if seen and seen[0] == item.release["content_sha256"]:
            counts["unchanged"] += 1
            continue
        if seen and seen[1] and item.release["release_date"] and item.release["release_date"] < seen[1]:
            # an older version (a window re-harvested after a later edit) never replaces a newer one
            counts["stale"] += 1
            continue
        counts["changed" if seen else "new"] += 1
        write.append(item)
    if not write:
        _validate(con, run_id)
        return counts
    # set-based: one delete per table and one batched insert per table, not a statement per row
    write_keys = [item.release["release_key"] for item in write]
    for table in ("notice_releases", "notice_parties", "notice_awards"):
        con.execute(f"delete from raw.{table} where release_key in (select unnest(?::varchar[]))", [write_keys])
    batches = (
        ("notice_releases", [{**item.release, "run_id": run_id} for item in write]),
        ("notice_parties", [r for item in write for r in item.parties]),
        ("notice_awards", [r for item in write for r in item.awards]),
    )
    for table, rows in batches:
        insert_rows(con, f"raw.{table}", rows)
    _validate(con, run_id)
    return counts


def _validate(con, run_id: str) -> None:
    """Schema-validate the release versions not validated yet; errors are recorded, never a reason to drop."""
    counts = validate_pending(con, run_id)
    if counts["validated"]:
        log.info("OCDS schema validation: %s", counts)


def load_notice_dir(con, directory: Path, run_id: str) -> dict[str, int]:
    """Load every ``*.json`` release or package under ``directory``."""
    flattened = []
    for path in sorted(directory.rglob("*.json")):
        flattened.extend(flatten_release(r, path.name) for r in releases_in(path))
    counts = upsert_releases(con, flattened, run_id)
    log.info("notices from %s: %s", directory, counts)
    return counts
