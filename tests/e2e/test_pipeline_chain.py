"""The whole DAG chain through real Airflow ``dag.test()``, DuckDB, dbt and GX, checked against the input files.

One module-scoped warehouse/publish folder is shared by the tests below, which run in file
order: the chain (and its checks against the sample CSVs, read here with the stdlib only),
a re-run that must change nothing, and a broken warehouse that must stop publishing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import stat
import time
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pendulum
import pytest
from conftest import ROOT, write_config

pytestmark = [
    pytest.mark.slow,
    # Airflow's dag.test() replacing an earlier run of the same DAG and logical date; harmless
    pytest.mark.filterwarnings("ignore:Multiple rows returned with uselist=False:sqlalchemy.exc.SAWarning"),
]

log = logging.getLogger(__name__)

COUNCIL = "norwich"
LOGICAL_DATE = pendulum.datetime(2025, 4, 5, tz="UTC")
CHAIN = (
    "ingest_finance_spend",
    "ingest_contract_register",
    "ingest_procurement_notices",
    "build_warehouse",
    "quality_gate",
    "publish_board_pack",
    "publish_strategy_review",
)
# Inline SVG charts must declare their namespace; it is an identifier, never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

TIMINGS: dict[str, list[float]] = defaultdict(list)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chain_env(tmp_path_factory, sample_dir, airflow_db) -> dict[str, Path]:
    """Module-wide variant of ``isolated_env``: own warehouse, publish folder, config and dbt target."""
    base = tmp_path_factory.mktemp("chain")
    paths = {
        "warehouse": base / "warehouse" / "procurement.duckdb",
        "publish": base / "publish",
        "config": write_config(base / "councils.yml", sample_dir),
        "sample": sample_dir,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCURE_WAREHOUSE", str(paths["warehouse"]))
        mp.setenv("PROCURE_PUBLISH_DIR", str(paths["publish"]))
        mp.setenv("PROCURE_CONFIG", str(paths["config"]))
        mp.setenv("PROCURE_LANDING_DIR", str(base / "landing"))
        # keep dbt's manifest/logs out of the shared dbt_project/target other runs use
        mp.setenv("DBT_TARGET_PATH", str(base / "dbt_target"))
        mp.setenv("DBT_LOG_PATH", str(base / "dbt_logs"))
        yield paths
    log.warning("dag.test timings (s): %s", {k: [round(t, 1) for t in v] for k, v in TIMINGS.items()})


def load_dag(dag_id: str):
    """The DAG object parsed from dags/<dag_id>.py, as the DAG processor would see it."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=ROOT / "dags" / f"{dag_id}.py", safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    assert dag is not None, f"{dag_id} not found in dags/{dag_id}.py"
    return dag


def run_dag(dag_id: str) -> str:
    """``dag.test()`` one DAG for the demo's logical date; return the run's final state."""
    dag = load_dag(dag_id)
    started = time.perf_counter()
    dag_run = dag.test(logical_date=LOGICAL_DATE)
    TIMINGS[dag_id].append(time.perf_counter() - started)
    return str(getattr(dag_run.state, "value", dag_run.state))


@pytest.fixture(scope="module")
def chain(chain_env) -> dict[str, str]:
    """Run the seven DAGs in order once for the module; dag_id -> run state."""
    return {dag_id: run_dag(dag_id) for dag_id in CHAIN}


@pytest.fixture
def good_chain(chain, chain_env) -> dict[str, Path]:
    not_ok = {d: s for d, s in chain.items() if s != "success"}
    if not_ok:
        pytest.fail(f"the DAG chain did not succeed: {not_ok}")
    return chain_env


# ----------------------------------------------------------------------- independent input


def read_spend_inputs(spend_dir: Path) -> dict[str, dict]:
    """Every spend CSV read with the stdlib only: file name -> rows, total and totals by payment month."""
    out: dict[str, dict] = {}
    files = sorted(spend_dir.glob("*.csv"))
    assert files, f"no spend files in {spend_dir}"
    for path in files:
        with path.open(encoding="cp1252", newline="") as f:
            rows = list(csv.reader(f))
        header_at = next(i for i, r in enumerate(rows) if "Supplier Name" in r)
        header = rows[header_at]
        amount_col = header.index("Net Amount (£)" if "Net Amount (£)" in header else "Amount")
        date_col = header.index("Payment Date" if "Payment Date" in header else "Date Paid")
        n, total, by_month = 0, Decimal("0.00"), defaultdict(lambda: Decimal("0.00"))
        for r in rows[header_at + 1 :]:
            if not any(c.strip() for c in r):
                continue
            amount = Decimal(r[amount_col].strip().strip('"').replace(",", "").replace("£", ""))
            paid = datetime.strptime(r[date_col].strip(), "%d/%m/%Y").date()
            n += 1
            total += amount
            by_month[paid.replace(day=1)] += amount
        out[path.name] = {"rows": n, "total": total, "by_month": dict(by_month)}
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def column_sum(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(r[column]) for r in rows if r[column] != ""), start=Decimal(0))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_tree(publish: Path) -> dict[str, str]:
    """Every path under the board-pack and strategy-review folders (hidden ones too) -> sha256 or 'dir'."""
    tree = {}
    for kind in ("board_pack", "strategy_review"):
        for p in sorted((publish / kind).rglob("*")):
            tree[p.relative_to(publish).as_posix()] = "dir" if p.is_dir() else sha256(p)
    return tree


def open_warehouse(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """Read-only when possible; dbt-duckdb, run in-process by dag.test(), may still hold the file read-write."""
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise
        return duckdb.connect(str(warehouse))


def marts_snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with open_warehouse(warehouse) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        snap = {f"marts.{t}": con.execute(f'select * from marts."{t}" order by all').fetchall() for t in tables}
        snap["raw.spend_files"] = con.execute("select * from raw.spend_files order by all").fetchall()
        snap["count(raw.spend_lines)"] = con.execute("select count(*) from raw.spend_lines").fetchall()
    return snap


# -------------------------------------------------------------------------------- tests


def test_chain_publishes_totals_that_match_the_input_files(chain, chain_env):
    assert chain == dict.fromkeys(CHAIN, "success")

    inputs = read_spend_inputs(chain_env["sample"] / COUNCIL / "spend")
    input_total = sum((f["total"] for f in inputs.values()), start=Decimal("0.00"))
    input_rows = sum(f["rows"] for f in inputs.values())
    input_by_month: dict[date, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for f in inputs.values():
        for month, amount in f["by_month"].items():
            input_by_month[month] += amount
    assert len(inputs) == 12 and input_rows > 20_000

    # strategy review: manifest, CSVs and the input files agree to the penny
    review = chain_env["publish"] / "strategy_review" / COUNCIL / "2024-25"
    manifest = json.loads((review / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["path"]: e for e in manifest["files"]}
    assert sorted(p.name for p in review.iterdir()) == sorted([*entries, "manifest.json"])
    for name, entry in entries.items():
        assert sha256(review / name) == entry["sha256"], name
        if entry["format"] == "csv":
            assert len(read_csv(review / name)) == entry["rows"], name

    by_category = read_csv(review / "spend_by_category.csv")
    kpi = read_csv(review / "procurement_kpis.csv")
    assert Decimal(entries["spend_by_category.csv"]["amount_totals"]["total_spend_gbp"]) == input_total
    assert column_sum(by_category, "total_spend_gbp") == input_total
    assert column_sum(kpi, "total_spend_gbp") == input_total
    assert column_sum(kpi, "line_count") == input_rows
    assert column_sum(by_category, "line_count") == input_rows
    assert column_sum(read_csv(review / "spend_by_service_area.csv"), "total_spend_gbp") == input_total
    kpi_by_month = {date.fromisoformat(r["month"][:10]): Decimal(r["total_spend_gbp"]) for r in kpi}
    assert kpi_by_month == dict(input_by_month)

    # board pack for March 2025: both files, self-contained HTML, the month's spend as the pack formats it
    pack = chain_env["publish"] / "board_pack" / COUNCIL / "2025-03"
    html_path, pdf_path = pack / "board_pack.html", pack / "board_pack.pdf"
    assert html_path.is_file() and pdf_path.is_file()
    assert stat.S_IMODE(pack.stat().st_mode) == stat.S_IMODE(review.stat().st_mode) == 0o755  # readable by all
    assert pdf_path.read_bytes()[:4] == b"%PDF"
    html = html_path.read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>)]*", html)) <= {SVG_NAMESPACE}
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#)[^"'\s>]""", html, re.I), "external src/href"
    assert not re.search(r"url\(|@import", html, re.I), "CSS fetches a resource"

    march = inputs[f"{COUNCIL}_spend_2025-03.csv"]
    assert set(march["by_month"]) == {date(2025, 3, 1)}
    shown = re.search(r"Spend this month<b[^>]*>([^<]+)</b><span[^>]*>([\d,]+)</span> payment lines", html)
    assert shown, "headline 'Spend this month' not found in the board pack"
    assert shown.group(1) == f"£{float(march['total']):,.0f}"  # board_pack.gbp()
    assert int(shown.group(2).replace(",", "")) == march["rows"]


def test_backfill_of_a_past_month_reproduces_the_same_outputs(good_chain):
    """Re-running the chain — here a past month's DAGs (July 2024), after the whole year is loaded — changes
    nothing: the ingest finds every file already loaded and the build gives the same marts, row for row.
    (One re-run covers both a second run of the same period and a backfill: each is a full ingest and build.)"""
    before = marts_snapshot(good_chain["warehouse"])
    assert before["marts.fct_spend"], "no marts to compare"
    past = pendulum.datetime(2024, 7, 5, tz="UTC")
    for dag_id in ("ingest_finance_spend", "build_warehouse", "quality_gate"):
        run = load_dag(dag_id).test(logical_date=past)
        assert str(getattr(run.state, "value", run.state)) == "success", dag_id
    after = marts_snapshot(good_chain["warehouse"])
    assert list(after) == list(before)
    changed = [name for name in before if after[name] != before[name]]
    assert not changed, f"a re-run changed {changed}"

    pack = load_dag("publish_board_pack")
    pages = []
    for attempt in range(2):
        run = pack.test(logical_date=past.add(minutes=attempt), run_conf={"month": "2024-07"})
        assert str(getattr(run.state, "value", run.state)) == "success"
        html = good_chain["publish"] / "board_pack" / "norwich" / "2024-07" / "board_pack.html"
        pages.append(html.read_bytes())
    assert pages[0] == pages[1], "re-publishing the same month must give the same page"
    assert b"July 2024" in pages[0]


def test_failed_gate_blocks_publishing_and_keeps_last_outputs(good_chain):
    from procure.publish.atomic import GateNotPassed
    from procure.tasks import publish_board_packs, publish_strategy_reviews

    publish = good_chain["publish"]
    before = published_tree(publish)
    assert any(k.endswith("board_pack.pdf") for k in before)
    assert any(k.endswith("manifest.json") for k in before)

    # one amount no longer reconciles to raw.spend_lines: a critical expectation
    with duckdb.connect(str(good_chain["warehouse"])) as con:
        con.execute(
            "update marts.fct_spend set amount_gbp = amount_gbp + 1000 "
            "where spend_line_id = (select min(spend_line_id) from marts.fct_spend)"
        )

    assert run_dag("quality_gate") == "failed"
    with open_warehouse(good_chain["warehouse"]) as con:
        passed, critical, summary = con.execute(
            "select passed, critical_failures, summary from ops.quality_runs order by recorded_at desc limit 1"
        ).fetchall()[0]
    assert passed is False and critical >= 1
    assert "fct_spend.amount_gbp: expect_column_sum_to_be_between failed" in summary, summary

    with pytest.raises(GateNotPassed):
        publish_board_packs()
    with pytest.raises(GateNotPassed):
        publish_strategy_reviews()
    assert run_dag("publish_board_pack") == "failed"

    assert published_tree(publish) == before
