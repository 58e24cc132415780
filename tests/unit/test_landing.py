"""Landing zone: content-addressed, byte-identical copies; URLs fetched from a real local HTTP server."""

from __future__ import annotations

import hashlib
import shutil
import threading
from datetime import datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import shared_data

from procure.config import Council, landing_dir
from procure.extract.landing import LandingError, drop_folder_files, fetch_url, land_file
from procure.extract.spend_loader import ingest_spend_files, new_landed_files
from procure.warehouse import connect

HYNDBURN = "hyndburn_2017-01_spend-over-250.csv"
DEVON = "devon_2025-04_spend-over-500_new-erp.csv"


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        if self.path.startswith("/download"):
            self.send_header("Content-Disposition", 'attachment; filename="devon april 2025.csv"')
        super().end_headers()

    def translate_path(self, path: str) -> str:
        if path.startswith("/download"):
            path = "/" + DEVON
        return super().translate_path(path)

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder of real council files."""
    root = tmp_path / "www"
    root.mkdir()
    for name in (HYNDBURN, DEVON):
        shutil.copyfile(shared_data("spend", name), root / name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_landing_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "elsewhere"))
    assert landing_dir() == tmp_path / "elsewhere"
    monkeypatch.setenv("PROCURE_LANDING_DIR", "relative/landing")
    assert landing_dir().parts[-2:] == ("relative", "landing") and landing_dir().is_absolute()


def test_land_file_stores_an_identical_copy_under_its_sha256(tmp_path):
    source = shared_data("spend", HYNDBURN)
    root = tmp_path / "landing"

    landed = land_file(source, "spend", "hyndburn", root)

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert landed.path == root / "spend" / "hyndburn" / digest / HYNDBURN
    assert landed.path.read_bytes() == source.read_bytes()
    assert (landed.sha256, landed.size_bytes, landed.origin) == (digest, source.stat().st_size, str(source))
    # again: same place, nothing new (the temporary file is cleaned up)
    assert land_file(source, "spend", "hyndburn", root) == landed
    assert [p for p in (root / "spend" / "hyndburn").rglob("*") if p.is_file()] == [landed.path]


def test_two_versions_with_one_name_land_side_by_side(tmp_path):
    root = tmp_path / "landing"
    drop = tmp_path / "drop"
    drop.mkdir()
    path = drop / "spend.csv"
    path.write_bytes(b"a,b\n1,2\n")
    first = land_file(path, "spend", "x", root)
    path.write_bytes(b"a,b\n1,3\n")
    second = land_file(path, "spend", "x", root)

    assert first.path != second.path
    assert first.path.read_bytes() == b"a,b\n1,2\n"
    assert second.path.read_bytes() == b"a,b\n1,3\n"


def test_unreadable_source_names_the_file(tmp_path):
    with pytest.raises(LandingError, match=r"absent\.csv"):
        land_file(tmp_path / "absent.csv", "spend", "x", tmp_path / "landing")


def test_drop_folder_ignores_hidden_and_lock_files(tmp_path):
    for name in ("b.csv", "a.csv.gz", ".DS_Store", "~$a.xlsx", "a.csv~"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in drop_folder_files(tmp_path, "*")] == ["a.csv.gz", "b.csv"]
    assert drop_folder_files(tmp_path / "missing", "*") == []


def test_fetch_url_lands_the_served_bytes(server, tmp_path):
    base, www = server
    root = tmp_path / "landing"

    landed = fetch_url(f"{base}/{HYNDBURN}", "spend", "hyndburn", root)
    named = fetch_url(f"{base}/download?id=44201", "spend", "devon", root)

    assert landed.path.read_bytes() == (www / HYNDBURN).read_bytes()
    assert landed.path == root / "spend" / "hyndburn" / landed.sha256 / HYNDBURN
    assert landed.origin == f"{base}/{HYNDBURN}"
    assert named.original_name == "devon april 2025.csv"  # from Content-Disposition
    assert named.path.read_bytes() == (www / DEVON).read_bytes()
    assert not any((root / "spend" / "devon" / ".incoming").iterdir())


def test_failed_download_names_the_url_and_leaves_nothing(server, tmp_path):
    base, _ = server
    root = tmp_path / "landing"
    with pytest.raises(LandingError, match=r"/missing\.csv: download failed for council 'x'.*404"):
        fetch_url(f"{base}/missing.csv", "spend", "x", root)
    assert not any((root / "spend" / "x" / ".incoming").iterdir())
    with pytest.raises(LandingError, match="only http"):
        fetch_url("file:///etc/passwd", "spend", "x", root)


def test_council_spend_urls_are_fetched_landed_and_loaded(server, tmp_path, monkeypatch):
    base, www = server
    monkeypatch.setenv("PROCURE_LANDING_DIR", str(tmp_path / "landing"))
    db = tmp_path / "w.duckdb"
    council = Council(
        id="hyndburn",
        name="Hyndburn Borough Council",
        spend_dir=tmp_path / "no-drop-folder",
        spend_urls=(f"{base}/{HYNDBURN}", f"{base}/missing.csv"),
    )

    with pytest.raises(LandingError, match=r"missing\.csv"):  # the DAG's listing fails (and retries) on it
        new_landed_files(council, db)
    results = ingest_spend_files(council, None, "run-1", datetime(2025, 4, 1), db)

    ok, missing = results
    assert (ok.status, ok.path, ok.rows_loaded) == ("loaded", f"{base}/{HYNDBURN}", 180)
    assert (missing.status, missing.path) == ("rejected", f"{base}/missing.csv")
    assert "404" in missing.reason
    con = connect(db, read_only=True)
    try:
        source_path, landing_path = con.execute("select source_path, landing_path from raw.spend_manifest").fetchone()
    finally:
        con.close()
    assert source_path == f"{base}/{HYNDBURN}"
    assert Path(landing_path).read_bytes() == (www / HYNDBURN).read_bytes()

    # the next run downloads the same bytes again: nothing new
    again = ingest_spend_files(council, [Path(landing_path)], "run-2", datetime(2025, 5, 1), db)
    assert [r.status for r in again] == ["unchanged"]
