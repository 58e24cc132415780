"""Load a council's dropped supplier-payment files into raw.spend_lines.

Idempotent by content: a file already loaded with the same sha256 is skipped; a file
re-published under the same name with different bytes replaces its earlier rows in the
same transaction. Accepted rows go to raw.spend_lines, rejected rows to
raw.spend_quarantine with the reason, and raw.spend_files keeps the per-file account
(records = accepted + rejected), so every source row is accounted for.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from procure.config import Council
from procure.warehouse import transaction

log = logging.getLogger(__name__)

LINE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("source_line", pa.int32()),
    ("record_index", pa.int32()),
    ("body_name", pa.string()),
    ("service_area", pa.string()),
    ("expense_type", pa.string()),
    ("description", pa.string()),
    ("supplier_name", pa.string()),
    ("supplier_ref", pa.string()),
    ("company_number", pa.string()),
    ("charity_number", pa.string()),
    ("vat_number", pa.string()),
    ("transaction_number", pa.string()),
    ("proclass_code", pa.string()),
    ("proclass_label", pa.string()),
    ("capital_revenue", pa.string()),
    ("payment_date", pa.date32()),
    ("payment_date_raw", pa.string()),
    ("amount_gbp", pa.decimal128(18, 2)),
    ("amount_raw", pa.string()),
    ("irrecoverable_vat_gbp", pa.decimal128(18, 2)),
    ("is_redacted", pa.bool_()),
    ("is_credit", pa.bool_()),
    ("is_pcard", pa.bool_()),
    ("raw_record", pa.string()),
]
LINE_SCHEMA = pa.schema(LINE_FIELDS)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_line", pa.int32()),
        ("record_index", pa.int32()),
        ("reject_reason", pa.string()),
        ("raw_record", pa.string()),
    ]
)


@dataclass
class FileLoad:
    source_file: str
    status: str  # loaded | replaced | unchanged
    records: int = 0
    accepted: int = 0
    rejected: int = 0


def register_council(con, council: Council) -> None:
    """Mirror the YAML council settings into raw.councils for dbt to read."""
    con.execute("delete from raw.councils where council_id = ?", [council.id])
    con.execute(
        "insert into raw.councils values (?, ?, ?, ?)",
        [
            council.id,
            council.name,
            ",".join(council.local_postcode_prefixes),
            council.fiscal_year_start_month,
        ],
    )


def spend_files(council: Council) -> list[Path]:
    """The payment files waiting in the council's drop folder, in name order."""
    if not council.spend_dir.is_dir():
        raise FileNotFoundError(
            f"council {council.id!r}: spend_dir {council.spend_dir} does not exist "
            "(set spend_dir in the council configuration)"
        )
    return sorted(p for p in council.spend_dir.glob(council.spend_glob) if p.is_file())


def load_spend_file(con, council: Council, path: Path, run_id: str, loaded_at: datetime) -> FileLoad:
    """Load one file inside the caller's transaction."""
    from procure.extract.spend_reader import read_spend_file

    sf = read_spend_file(path, overrides=council.spend_overrides or None)
    previous = con.execute(
        "select file_sha256 from raw.spend_files where council_id = ? and source_file = ?",
        [council.id, path.name],
    ).fetchall()
    if previous and previous[0][0] == sf.sha256:
        return FileLoad(path.name, "unchanged")
    for table in ("spend_lines", "spend_quarantine", "spend_files"):
        con.execute(
            f"delete from raw.{table} where council_id = ? and source_file = ?",
            [council.id, path.name],
        )
    for batch in sf.iter_batches():
        good = [r for r in batch if r["reject_reason"] is None]
        bad = [r for r in batch if r["reject_reason"] is not None]
        if good:
            tbl = pa.Table.from_pylist(good, schema=LINE_SCHEMA)  # noqa: F841 - read by DuckDB
            con.execute(
                "insert into raw.spend_lines select ?, ?, ?, "
                + ", ".join(name for name, _ in LINE_FIELDS)
                + ", ? from tbl",
                [council.id, path.name, sf.sha256, run_id],
            )
        if bad:
            qtbl = pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA)  # noqa: F841
            con.execute(
                "insert into raw.spend_quarantine select ?, ?, ?, source_line, record_index, "
                "reject_reason, raw_record, ? from qtbl",
                [council.id, path.name, sf.sha256, run_id],
            )
    stats = sf.stats
    totals = con.execute(
        "select sum(amount_gbp), min(payment_date), max(payment_date) from raw.spend_lines "
        "where council_id = ? and source_file = ?",
        [council.id, path.name],
    ).fetchall()[0]
    con.execute(
        "insert into raw.spend_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            council.id,
            path.name,
            str(path),
            sf.sha256,
            sf.compression,
            sf.encoding,
            sf.delimiter,
            sf.header_line,
            json.dumps(sf.column_map, sort_keys=True),
            stats["records"],
            stats["accepted"],
            stats["rejected"],
            stats["blank_lines_skipped"],
            totals[0],
            totals[1],
            totals[2],
            run_id,
            loaded_at,
        ],
    )
    status = "replaced" if previous else "loaded"
    log.info(
        "%s %s: %d records, %d accepted, %d rejected (quarantined)",
        status,
        path.name,
        stats["records"],
        stats["accepted"],
        stats["rejected"],
    )
    return FileLoad(path.name, status, stats["records"], stats["accepted"], stats["rejected"])


def load_council_spend(
    council: Council, run_id: str, loaded_at: datetime, warehouse: Path | None = None
) -> list[FileLoad]:
    """Load every new or changed file in the council's drop folder, all-or-nothing."""
    files = spend_files(council)
    if not files:
        raise FileNotFoundError(
            f"council {council.id!r}: no files matching {council.spend_glob!r} in {council.spend_dir}"
        )
    with transaction(warehouse) as con:
        register_council(con, council)
        return [load_spend_file(con, council, p, run_id, loaded_at) for p in files]
