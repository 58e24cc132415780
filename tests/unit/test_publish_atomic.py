"""Publishing writes a whole folder or nothing, and only after a passed quality gate."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest

from procure.publish.atomic import GateNotPassed, atomic_dir, require_gate, sha256_file
from procure.warehouse import connect


def _tree(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes for every file under root (folders as empty markers)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


def _publish_previous(target: Path) -> dict[str, bytes]:
    with atomic_dir(target) as tmp:
        (tmp / "index.html").write_text("<h1>March</h1>", encoding="utf-8")
        (tmp / "charts").mkdir()
        (tmp / "charts" / "spend.svg").write_bytes(b"<svg/>")
    return _tree(target)


def test_atomic_dir_replaces_the_folder_on_success(tmp_path):
    target = tmp_path / "publish" / "norwich" / "2025-03"
    previous = _publish_previous(target)
    assert previous == {"charts": b"<dir>", "charts/spend.svg": b"<svg/>", "index.html": b"<h1>March</h1>"}

    with atomic_dir(target) as tmp:
        assert tmp != target
        assert tmp.parent == target.parent
        assert not (tmp / "index.html").exists()  # builds in a fresh folder
        (tmp / "index.html").write_text("<h1>April</h1>", encoding="utf-8")
        assert (target / "index.html").read_text(encoding="utf-8") == "<h1>March</h1>"  # not yet swapped

    assert _tree(target) == {"index.html": b"<h1>April</h1>"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["2025-03"]  # no temp or .old folders
    assert target.stat().st_mode & 0o755 == 0o755


def test_atomic_dir_creates_a_new_target(tmp_path):
    target = tmp_path / "a" / "b" / "out"

    with atomic_dir(target) as tmp:
        (tmp / "x.txt").write_text("x", encoding="utf-8")

    assert _tree(target) == {"x.txt": b"x"}


def test_exception_inside_block_leaves_previous_folder_byte_identical(tmp_path):
    target = tmp_path / "publish" / "2025-03"
    previous = _publish_previous(target)

    with pytest.raises(RuntimeError, match="render failed"), atomic_dir(target) as tmp:
        (tmp / "index.html").write_text("<h1>half-written</h1>", encoding="utf-8")
        (tmp / "charts").mkdir()
        raise RuntimeError("render failed")

    assert _tree(target) == previous
    assert sorted(p.name for p in target.parent.iterdir()) == ["2025-03"]


def test_exception_without_previous_folder_leaves_nothing(tmp_path):
    target = tmp_path / "publish" / "first"

    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "index.html").write_text("partial", encoding="utf-8")
        raise KeyboardInterrupt

    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_sha256_file(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)

    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def _record_gate(con, passed: bool, recorded_at: datetime) -> None:
    con.execute(
        "insert into ops.quality_runs (run_id, checked_at, passed, critical_failures, warnings, summary, recorded_at)"
        " values (?, ?, ?, ?, 0, '', ?)",
        [f"run-{recorded_at:%H%M}", recorded_at, passed, 0 if passed else 2, recorded_at],
    )


def test_require_gate_refuses_without_a_quality_run(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    try:
        with pytest.raises(GateNotPassed, match="procure check"):
            require_gate(con)
    finally:
        con.close()


def test_require_gate_follows_the_latest_run(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    try:
        _record_gate(con, passed=False, recorded_at=datetime(2025, 4, 1, 6, 0))
        with pytest.raises(GateNotPassed):
            require_gate(con)

        _record_gate(con, passed=True, recorded_at=datetime(2025, 4, 1, 7, 0))
        require_gate(con)  # passes: no exception

        _record_gate(con, passed=False, recorded_at=datetime(2025, 4, 1, 8, 0))
        with pytest.raises(GateNotPassed):
            require_gate(con)
    finally:
        con.close()
