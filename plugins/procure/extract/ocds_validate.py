"""Validate every stored OCDS release against the OCDS 1.1.5 release schema, recording errors beside the data.

The schema is the one shipped beside this module (``schema/release-schema-1.1.5.json``, a
copy of the standard's file: never fetched at run time). OCDS schemas are JSON Schema
draft-04, so the validator is ``jsonschema.Draft4Validator``, with format checks
(``date-time`` through ``rfc3339-validator``, ``email``).

Validation never drops a release: each stored release version (``release_key`` +
``content_sha256``) gets one row in ``raw.notice_validation`` (its error count) and one row
per error in ``raw.notice_validation_errors`` (JSON path, validator, message). A release
whose content changes is validated again; an unchanged one is not re-validated.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from procure.extract.ocds_records import SCHEMA_PATH
from procure.extract.ocds_rows import insert_rows

SCHEMA_VERSION = "1.1.5"
MAX_MESSAGE = 500  # a type error on a large object quotes the whole object; keep the head


@lru_cache(maxsize=1)
def validator():
    """A draft-04 validator for the shipped release schema, with format checking."""
    from jsonschema import Draft4Validator

    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"{SCHEMA_PATH}: OCDS release schema missing; it ships with the package")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def validate_release(release: dict[str, Any]) -> list[dict[str, str]]:
    """The schema errors of one release (plain JSON types), in a stable order."""
    errors = []
    for error in validator().iter_errors(release):
        message = error.message
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 3] + "..."
        errors.append(
            {
                "path": error.json_path,
                "validator": str(error.validator),
                "message": message,
                "schema_path": "/".join(str(p) for p in error.absolute_schema_path),
            }
        )
    return sorted(errors, key=lambda e: (e["path"], e["validator"], e["message"], e["schema_path"]))


def validate_pending(con, run_id: str | None = None) -> dict[str, int]:
    """Validate every release version in raw.notice_releases not validated yet; replace its old errors."""
    pending = con.execute(
        "select r.release_key, r.content_sha256, r.release_json, r.source_file from raw.notice_releases r "
        "left join raw.notice_validation v on v.release_key = r.release_key "
        "where v.content_sha256 is null or v.content_sha256 <> r.content_sha256 order by r.release_key"
    ).fetchall()
    counts = {"validated": 0, "invalid": 0, "errors": 0}
    if not pending:
        return counts
    keys = [row[0] for row in pending]
    for table in ("notice_validation", "notice_validation_errors"):
        con.execute(f"delete from raw.{table} where release_key in (select unnest(?::varchar[]))", [keys])
    summary, details = [], []
    for key, sha, release_json, source_file in pending:
        errors = validate_release(json.loads(release_json))
        summary.append(
            {
                "release_key": key,
                "content_sha256": sha,
                "schema_version": SCHEMA_VERSION,
                "error_count": len(errors),
                "run_id": run_id,
            }
        )
        for number, error in enumerate(errors, start=1):
            details.append(
                {
                    "release_key": key,
                    "content_sha256": sha,
                    "error_no": number,
                    **error,
                    "source_file": source_file,
                    "run_id": run_id,
                }
            )
        counts["validated"] += 1
        counts["invalid"] += bool(errors)
        counts["errors"] += len(errors)
    insert_rows(con, "raw.notice_validation", summary)
    insert_rows(con, "raw.notice_validation_errors", details)
    return counts
