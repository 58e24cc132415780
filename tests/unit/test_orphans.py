"""What a killed run leaves behind is cleaned up by the next run (issue 16 item 11).

Real processes are SIGKILLed in the middle of a publish swap and of landing a file; the
next run in this process must leave no temp folder, no part file and no ``.old`` folder,
and the last good output must survive throughout.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from procure.extract import landing
from procure.orphans import scratch_prefix, sweep
from procure.publish.atomic import TMP_PREFIX, atomic_dir

BUILD_THEN_HANG = """
import sys, time
from pathlib import Path
from procure.publish.atomic import atomic_dir
with atomic_dir(Path(sys.argv[1])) as tmp:
    (tmp / "board_pack.html").write_text("half written")
    print("building", flush=True)
    time.sleep(60)
"""

HANG_MID_SWAP = """
import pathlib, sys, time
from procure.publish.atomic import atomic_dir
real_rename = pathlib.Path.rename
def rename(self, target):
    if self.name.startswith(".tmp-"):  # the second rename: the last good folder is already .old
        print("swapping", flush=True)
        time.sleep(60)
    return real_rename(self, target)
pathlib.Path.rename = rename
with atomic_dir(pathlib.Path(sys.argv[1])) as tmp:
    (tmp / "board_pack.html").write_text("new")
"""

LAND_THEN_HANG = """
import sys, time
from pathlib import Path
from procure.extract import landing
def copy(src, dst):
    dst.write(src.read(10)); dst.flush()
    print("copying", flush=True)
    time.sleep(60)
landing._copy_hashing = copy
landing.land_file(Path(sys.argv[1]), "spend", "norwich", root=Path(sys.argv[2]))
"""


def _kill_when(script: str, said: str, *args: object) -> int:
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == said
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


def _good(target: Path, text: str = "last good") -> None:
    target.mkdir(parents=True)
    (target / "board_pack.html").write_text(text)


def test_publish_killed_while_building_leaves_a_temp_folder_the_next_run_removes(tmp_path):
    target = tmp_path / "board_pack" / "norwich" / "2025-03"
    _good(target)
    pid = _kill_when(BUILD_THEN_HANG, "building", target)
    [orphan] = [p.name for p in target.parent.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert orphan.startswith(f"{TMP_PREFIX}{pid}-2025-03-")
    other = _kill_when(BUILD_THEN_HANG, "building", target.with_name("2025-02"))  # another month, killed too
    [orphan] = [p.name for p in target.parent.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert orphan.startswith(f"{TMP_PREFIX}{other}-2025-02-")  # it removed the first run's orphan on its way in
    assert (target / "board_pack.html").read_text() == "last good"  # untouched by the killed run

    with atomic_dir(target) as tmp:
        (tmp / "board_pack.html").write_text("next run")
    assert sorted(p.name for p in target.parent.iterdir()) == ["2025-03"]
    assert (target / "board_pack.html").read_text() == "next run"


def test_publish_killed_mid_swap_gets_the_last_good_folder_back(tmp_path):
    target = tmp_path / "strategy_review" / "norwich" / "2024-25"
    _good(target)
    _kill_when(HANG_MID_SWAP, "swapping", target)
    assert not target.exists()  # killed between the renames
    assert (target.with_name(".2024-25.old") / "board_pack.html").read_text() == "last good"

    with pytest.raises(RuntimeError, match="next run fails"), atomic_dir(target):
        raise RuntimeError("next run fails")
    assert sorted(p.name for p in target.parent.iterdir()) == ["2024-25"]
    assert (target / "board_pack.html").read_text() == "last good"


def test_landing_killed_mid_copy_leaves_a_part_file_the_next_landing_removes(tmp_path):
    source = tmp_path / "spend-2025-03.csv"
    source.write_bytes(b"Date,Supplier,Amount\n2025-03-01,Acme Ltd,100.00\n" * 100)
    root = tmp_path / "landing"
    pid = _kill_when(LAND_THEN_HANG, "copying", source, root)
    incoming = root / "spend" / "norwich" / ".incoming"
    [part] = list(incoming.iterdir())
    assert part.name.startswith(f"part-{pid}-")

    landed = landing.land_file(source, "spend", "norwich", root=root)
    assert landed.path.read_bytes() == source.read_bytes()
    assert list(incoming.iterdir()) == []


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_harvested_page_parts_of_a_killed_harvest_are_removed(tmp_path):
    from procure.extract.ocds_harvest import PART_PREFIX, Page, _land

    start, end = datetime(2025, 1, 1), datetime(2025, 1, 16)
    folder = tmp_path / "notices" / "contracts_finder" / "20250101T000000_20250116T000000"
    folder.mkdir(parents=True)
    dead = folder / f"{PART_PREFIX}{_dead_pid()}-abc.json.gz"
    live = folder / f"{PART_PREFIX}{os.getppid()}-def.json.gz"  # a harvest still running next door
    dead.write_bytes(b"half")
    live.write_bytes(b"half")
    sha, rel = _land(tmp_path, "contracts_finder", start, end, Page("u", b'{"releases": []}', {}, [], 1))
    assert gzip.decompress((tmp_path / rel).read_bytes()) == b'{"releases": []}'
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{sha}.json.gz", live.name])


def test_sweep_only_takes_dead_processes_entries(tmp_path):
    mine = tmp_path / f"{scratch_prefix('.tmp-')}x"
    dead = tmp_path / f".tmp-{_dead_pid()}-y"
    unrelated = tmp_path / ".tmp-notapid-z"
    for p in (mine, dead, unrelated):
        p.mkdir()
    assert sweep(tmp_path, ".tmp-") == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, unrelated.name])
    assert sweep(tmp_path / "missing", ".tmp-") == []
