"""Supplier resolution at national size: time ``write_matches`` on the benchmark's supplier names.

    .venv/bin/python bench/bench_match.py                   # 300 councils: ~183,000 distinct names
    .venv/bin/python bench/bench_match.py --councils 20 --out /tmp/match.json

The names are those the generated spend files carry -- every spelling of every payee of
``bench/generate.py`` (the same per-council seeds as ``make bench``, so the same population),
with the council's supplier reference and company number -- written as ``raw.spend_lines`` of a
scratch DuckDB file (no CSV is generated; redacted payees are left out, as ``load_records``
leaves them out). ``procure.transform.supplier_match.write_matches`` (load the records, resolve,
write ``raw.supplier_name_matches``) then runs in a child process: ``seconds`` is its wall time,
``cpu_s`` its user + system time and ``peak_rss_gb`` its max RSS (from ``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import _payees, council_ids  # bench/ is not a package


def write_names(warehouse: Path, n_councils: int, seed: int = 20240401) -> dict:
    """``raw.spend_lines`` (one row per council, payee and spelling) of the first ``n_councils``."""
    cols: dict[str, list] = {"council_id": [], "supplier_name": [], "supplier_ref": [], "company_number": []}
    for council_id, _ in council_ids(n_councils):
        payees, _ = _payees(random.Random(f"{seed}:{council_id}"))  # noqa: S311 - generate_council's seeding
        for p in payees:
            if p.kind == "redacted":
                continue
            for name in p.names:
                cols["council_id"].append(council_id)
                cols["supplier_name"].append(name)
                cols["supplier_ref"].append(p.supplier_id or None)
                cols["company_number"].append(p.company_number or None)
    table = pa.table({**cols, "is_redacted": pa.array([False] * len(cols["council_id"]))})
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        con.register("names_table", table)
        con.execute("create or replace table raw.spend_lines as select * from names_table")
        rows, names = con.execute("select count(*), count(distinct supplier_name) from raw.spend_lines").fetchone()
    finally:
        con.close()
    return {"councils": n_councils, "records": rows, "distinct_names": names}


def _child(warehouse: str) -> None:
    from procure.transform.supplier_match import write_matches

    start = time.perf_counter()
    counts = write_matches(Path(warehouse))
    print(json.dumps({**counts, "seconds_in_call": round(time.perf_counter() - start, 2)}))


def measure(warehouse: Path) -> dict:
    """Run write_matches on ``warehouse`` in a child process; its time, CPU and peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "_child", str(warehouse)], stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise RuntimeError(f"bench_match child failed with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    result |= {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 3),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        _child(argv[1])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--councils", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    a = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_match_") as tmp:
        warehouse = Path(tmp) / "names.duckdb"
        result = {"population": write_names(warehouse, a.councils, a.seed), "write_matches": measure(warehouse)}
    result["machine"] = {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    print(json.dumps(result, indent=1))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
