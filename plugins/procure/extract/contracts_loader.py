"""Load a council's contract register into raw.contracts.

Columns are matched through config/contract_register_aliases.yml. A row whose
reference is missing, or whose date or value cannot be read, goes to
raw.contracts_quarantine with the file, line and field; the register is replaced as a
whole (it is a snapshot), and an unchanged file (same sha256) changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from procure.config import PROJECT_ROOT, Council
from procure.extract.parse import parse_amount, parse_date
from procure.extract.sniff import detect_compression, open_decompressed, scan_encoding, sha256_of

log = logging.getLogger(__name__)

ALIASES_PATH = PROJECT_ROOT / "config" / "contract_register_aliases.yml"
_KEY = re.compile(r"[^0-9a-z]+")


def _key(text: str) -> str:
    return _KEY.sub(" ", text.lower()).strip()


def _flag(value: str | None) -> bool | None:
    v = (value or "").strip().lower()
    if v in {"yes", "y", "true", "1", "sme", "vcse"}:
        return True
    if v in {"no", "n", "false", "0"}:
        return False
    return None


def _company(value: str | None) -> str | None:
    """Companies House numbers as 8 characters; 'gb/02165763' and '2165763' both -> '02165763'."""
    v = (value or "").strip().upper().removeprefix("GB/").removeprefix("GB-COH-")
    if not v:
        return None
    return v.zfill(8) if v.isdigit() else v


def read_register(
    path: Path, aliases_path: Path = ALIASES_PATH
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """Return (rows, rejects, sha256). Every data line ends up in exactly one of the lists."""
    aliases = {field: {_key(a) for a in names} for field, names in yaml.safe_load(aliases_path.read_text()).items()}
    compression = detect_compression(path)
    with open_decompressed(path, compression) as stream:
        encoding = scan_encoding(stream).encoding
    with open_decompressed(path, compression) as stream:
        text = io.TextIOWrapper(stream, encoding=encoding, newline="").read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path}: empty contract register")
    column_of: dict[str, int] = {}
    for i, cell in enumerate(header):
        for field, names in aliases.items():
            if _key(cell) in names and field not in column_of:
                column_of[field] = i
    for required in ("contract_ref", "supplier_name"):
        if required not in column_of:
            raise ValueError(
                f"{path}: no column for {required!r} in header {header!r}; add its spelling to {aliases_path}"
            )
    rows, rejects = [], []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        raw = json.dumps(dict(zip(header, cells, strict=False)), ensure_ascii=False)

        def cell(field: str, cells: list[str] = cells) -> str | None:
            i = column_of.get(field)
            v = cells[i].strip() if i is not None and i < len(cells) else ""
            return v or None

        row: dict[str, Any] = {f: cell(f) for f in aliases}
        problems = []
        if not row["contract_ref"]:
            problems.append("field 'contract_ref': missing contract reference")
        for field in ("start_date", "end_date"):
            if row[field]:
                value, problem = parse_date(row[field])
                row[field] = value
                if problem:
                    problems.append(f"field {header[column_of[field]]!r}: {problem}")
        for field in ("total_value_gbp", "annual_value_gbp"):
            if row[field]:
                value, problem = parse_amount(row[field])
                row[field] = value
                if problem:
                    problems.append(f"field {header[column_of[field]]!r}: {problem}")
        if problems:
            rejects.append(
                {
                    "source_line": line,
                    "reject_reason": f"{path.name} line {line}: " + "; ".join(problems),
                    "raw_record": raw,
                }
            )
            continue
        row["is_sme"], row["is_vcse"] = _flag(row["is_sme"]), _flag(row["is_vcse"])
        row["supplier_company_number"] = _company(row["supplier_company_number"])
        row["source_line"], row["raw_record"] = line, raw
        rows.append(row)
    seen: dict[str, int] = {}
    unique_rows = []
    for row in rows:
        if row["contract_ref"] in seen:
            rejects.append(
                {
                    "source_line": row["source_line"],
                    "reject_reason": f"{path.name} line {row['source_line']}: field 'contract_ref': "
                    f"{row['contract_ref']!r} already used on line {seen[row['contract_ref']]}",
                    "raw_record": row["raw_record"],
                }
            )
            continue
        seen[row["contract_ref"]] = row["source_line"]
        unique_rows.append(row)
    return unique_rows, rejects, sha256_of(path)


COLUMNS = [
    "contract_ref",
    "title",
    "description",
    "service_area",
    "procurement_category",
    "supplier_name",
    "supplier_company_number",
    "supplier_charity_number",
    "supplier_postcode",
    "is_sme",
    "is_vcse",
    "start_date",
    "end_date",
    "extension_options",
    "total_value_gbp",
    "annual_value_gbp",
    "procurement_route",
    "notice_id",
]


def load_register(con, council: Council, run_id: str) -> dict[str, int | str]:
    """Replace the council's register with the file's current contents (inside the caller's transaction)."""
    path = council.contracts_file
    if path is None:
        return {"status": "not configured"}
    rows, rejects, sha = read_register(path)
    current = con.execute(
        "select distinct file_sha256 from raw.contracts where council_id = ?", [council.id]
    ).fetchall()
    if current == [(sha,)]:
        return {"status": "unchanged", "rows": len(rows), "rejected": len(rejects)}
    if not rows:
        raise ValueError(f"{path}: no usable contracts ({len(rejects)} rows quarantined); register left as it was")
    con.execute("delete from raw.contracts where council_id = ?", [council.id])
    con.execute("delete from raw.contracts_quarantine where council_id = ?", [council.id])
    cols = ["council_id", "source_file", "file_sha256", "source_line", *COLUMNS, "raw_record", "run_id"]
    con.executemany(
        f"insert into raw.contracts ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
        [
            [council.id, path.name, sha, r["source_line"], *(r[c] for c in COLUMNS), r["raw_record"], run_id]
            for r in rows
        ],
    )
    if rejects:
        con.executemany(
            "insert into raw.contracts_quarantine values (?, ?, ?, ?, ?, ?, ?)",
            [
                [council.id, path.name, sha, r["source_line"], r["reject_reason"], r["raw_record"], run_id]
                for r in rejects
            ],
        )
    log.info("contract register %s: %d contracts, %d quarantined", path.name, len(rows), len(rejects))
    return {"status": "loaded", "rows": len(rows), "rejected": len(rejects)}
