"""Benchmark the spend reader: rows/s and peak RSS per file, plus the DuckDB floor.

Not a test (timings depend on the machine). Each measurement runs in a forked child process
that reports its own peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

    .venv/bin/python bench/bench_ingest.py                 # real files + a generated ~1 GB file
    .venv/bin/python bench/bench_ingest.py --size-mb 200   # smaller generated file
    .venv/bin/python bench/bench_ingest.py --no-real

The generated file goes to /tmp (never the repository); results to bench/results_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("PROCURE_SHARED_DATA", REPO / "../shared/data/real")).resolve() / "spend"

HEADER = "Body Name,Service Area,Expense Type,Payment Date,Transaction Number,Supplier Name,Amount,Description\n"
SERVICES = ["Adult Social Care", "Highways", "Housing Revenue Account", "Waste & Recycling", "Parks", "Finance"]
EXPENSES = ["Agency Staff", "Building Repairs", "Consultancy", "Grants", "Equipment", "Vehicle Hire"]
SUPPLIERS = [f"Supplier {n:04d} Ltd" for n in range(2000)] + ["REDACTED", "Redactive Publishing Ltd"]


def generate(path: Path, size_mb: int, seed: int = 7) -> int:
    """A clean UTF-8 file of about ``size_mb`` MB (one header, LF, dd/mm/yyyy, plain amounts)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    target = size_mb * 1_000_000
    start = date(2024, 4, 1)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        written = len(HEADER)
        while written < target:
            lines = []
            for _ in range(10_000):
                d = start + timedelta(days=rng.randrange(365))
                amount = rng.randrange(-50_000, 5_000_000) / 100
                lines.append(
                    f"Norwich City Council,{rng.choice(SERVICES)},{rng.choice(EXPENSES)},{d:%d/%m/%Y},"
                    f"INV{rng.randrange(10**8):08d},{rng.choice(SUPPLIERS)},{amount:.2f},"
                    f'"Payment ref {rng.randrange(10**6)}, monthly"\n'
                )
            block = "".join(lines)
            out.write(block)
            written += len(block.encode("utf-8"))
            rows += len(lines)
    return rows


def _measure_reader(path: str, engine: str, queue: mp.Queue) -> None:
    import duckdb  # noqa: F401 - imports are not part of the measurement
    import pyarrow  # noqa: F401

    from procure.extract import spend_fast  # noqa: F401
    from procure.extract.spend_reader import read_spend_file

    t0 = time.perf_counter()
    sf = read_spend_file(Path(path))  # no overrides: a bare config, as a new user has
    sf.engine = engine
    n = 0
    for batch in sf.iter_batches():
        n += len(batch) if isinstance(batch, list) else batch.num_rows
    elapsed = time.perf_counter() - t0
    queue.put({"rows": n, "rows_read": sf.stats["rows_read"], "seconds": elapsed, "engine": sf.engine_used, **_peak()})


def _measure_floor(path: str, queue: mp.Queue) -> None:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    con.execute(f"create table t as select * from read_csv('{path}', all_varchar = true)")
    (n,) = con.execute("select count(*) from t").fetchall()[0]
    elapsed = time.perf_counter() - t0
    queue.put({"rows": n, "rows_read": n, "seconds": elapsed, "engine": "duckdb read_csv floor", **_peak()})


def _peak() -> dict:
    """Peak RSS of this (child) process, in MB (ru_maxrss is KiB on Linux)."""
    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run(target, *args) -> dict:
    queue: mp.Queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    result["rows_per_s"] = round(result["rows_read"] / result["seconds"]) if result["seconds"] else None
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench/results_ingest.json")
    args = ap.parse_args()
    results = []
    if not args.no_real:
        for path in sorted(REAL.glob("*.csv")):
            for engine in ("python", "duckdb"):  # 'duckdb': the fast path where the file qualifies
                r = run(_measure_reader, str(path), engine)
                results.append({"file": path.name, **r})
    gen = Path(tempfile.gettempdir()) / f"procure_bench_{os.getuid()}" / f"clean_{args.size_mb}mb.csv"
    gen.parent.mkdir(parents=True, exist_ok=True)
    if not gen.exists():
        print(f"generating {gen} ...", flush=True)
        generate(gen, args.size_mb)
    size = gen.stat().st_size
    for label, target, extra in (
        ("reader (auto: DuckDB fast path)", _measure_reader, ("auto",)),
        ("DuckDB read_csv into a table (floor)", _measure_floor, ()),
    ):
        r = run(target, str(gen), *extra)
        results.append({"file": f"{gen.name} ({size / 1e6:.0f} MB) {label}", **r})
    print(f"{'file':70} {'engine':26} {'rows':>9} {'rows/s':>10} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['file'][:70]:70} {r['engine']:26} {r['rows']:>9} {r['rows_per_s']:>10} {r['peak_rss_mb']:>12}")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
