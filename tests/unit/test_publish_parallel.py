"""Publishing councils in worker processes (procure.publish.parallel) on a real gate-passed warehouse.

Two councils: norwich (the sample data) and "ghost" (configured, but with no spend loaded), so one
council publishes and one fails in the same run. The worker-process outputs must equal the
in-process ones byte for byte, the failure must name its council, and a failed gate must stop
everything before any worker starts.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import gated_warehouse

from procure import tasks
from procure.publish.atomic import GateNotPassed
from procure.publish.parallel import WORKERS_ENV, publish_each, workers_for


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def two_councils(tmp_path_factory, sample_dir, tmp_path, monkeypatch) -> Path:
    built = gated_warehouse(tmp_path_factory, sample_dir)
    copy = tmp_path / "w.duckdb"
    shutil.copy(built, copy)
    (tmp_path / "ghost_spend").mkdir()
    config = tmp_path / "councils.yml"
    config.write_text(
        (built.parent / "councils.yml").read_text(encoding="utf-8")
        + f"  - id: ghost\n    name: Ghost Borough Council\n    spend_dir: {tmp_path / 'ghost_spend'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(copy))
    monkeypatch.setenv("PROCURE_CONFIG", str(config))
    monkeypatch.setenv("DBT_TARGET_PATH", str(built.parent / "dbt_target"))
    return copy


def test_workers_for(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert workers_for(1) == 1  # one council: no pool
    assert workers_for(300) == min(2, __import__("os").cpu_count() or 1)
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert workers_for(300) == 3
    assert workers_for(2) == 2
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=WORKERS_ENV):
            workers_for(5)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_council_is_attempted_and_the_failure_names_its_council(two_councils, tmp_path, monkeypatch, workers):
    monkeypatch.setenv(WORKERS_ENV, workers)
    jobs = [("a", (1, 2)), ("b", (1, 0)), ("c", (3, 1))]
    with pytest.raises(ZeroDivisionError) as failed:
        publish_each("ratio", "operator:truediv", jobs)
    notes = "\n".join(failed.value.__notes__)
    assert "ratio for council 'b' failed" in notes
    assert "published for 2 of 3 councils: a, c" in notes
    assert publish_each("ratio", "operator:truediv", [("a", (1, 2)), ("c", (3, 1))]) == {"a": 0.5, "c": 3.0}


def test_worker_processes_publish_the_same_bytes_as_this_process(two_councils, tmp_path, monkeypatch):
    outputs = {}
    for workers in ("2", "1"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        publish = tmp_path / f"publish{workers}"
        monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(publish))
        with pytest.raises(LookupError, match="'ghost'") as failed:
            tasks.publish_board_packs(date(2025, 3, 1))
        assert "board pack for council 'ghost' failed" in "\n".join(failed.value.__notes__)
        with pytest.raises(LookupError, match="'ghost'") as failed:
            tasks.publish_strategy_reviews(2024)
        assert "published for 1 of 2 councils: norwich" in "\n".join(failed.value.__notes__)
        outputs[workers] = _tree(publish)
    assert any(k.endswith("board_pack.pdf") for k in outputs["2"])
    assert any(k.endswith("manifest.json") for k in outputs["2"])
    assert not any("ghost" in k for k in outputs["2"])
    assert outputs["2"] == outputs["1"]


def test_failed_gate_stops_before_any_council(two_councils, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(tmp_path / "publish"))
    with duckdb.connect(str(two_councils)) as con:
        con.execute(
            "insert into ops.quality_runs (run_id, checked_at, passed, critical_failures, warnings, summary, recorded_at)"
            " values ('broken', timestamp '2099-01-01', false, 3, 0, 'broken', timestamp '2099-01-01')"
        )
    marker = tmp_path / "ran"
    with pytest.raises(GateNotPassed):
        publish_each("marker", "os:mkdir", [("a", (str(marker),)), ("b", (str(marker) + "2",))])
    assert not marker.exists()
    with pytest.raises(GateNotPassed):
        tasks.publish_board_packs(date(2025, 3, 1))
    assert not (tmp_path / "publish").exists()


def test_cli_publish_publishes_every_council_with_data_and_reports_the_others(two_councils, tmp_path, monkeypatch):
    """issue 16 item 8: a configured council with no data no longer stops the others (nor tracebacks)."""
    import json

    from click.testing import CliRunner

    from procure.cli import main

    monkeypatch.setenv(WORKERS_ENV, "1")
    publish = tmp_path / "publish"
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(publish))
    result = CliRunner().invoke(main, ["publish"])  # latest month and fiscal year: ghost has neither
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert json.loads(result.stdout) == {
        "board_pack": {"norwich": str(publish / "board_pack/norwich/2025-03/board_pack.html")},
        "strategy_review": {"norwich": str(publish / "strategy_review/norwich/2024-25/manifest.json")},
    }
    assert result.stderr.splitlines() == [
        "not published: board pack for council ghost: LookupError: council 'ghost': no spend in the warehouse "
        f"{two_councils}",
        "not published: strategy review for council ghost: LookupError: council 'ghost': no spend in the "
        f"warehouse {two_councils}",
        "2 output(s) not published; the others were",
    ]
    assert (publish / "strategy_review/norwich/2024-25/manifest.json").exists()
    assert not (publish / "board_pack/ghost").exists()
