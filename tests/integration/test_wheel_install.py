"""The wheel, installed NOT editable into a fresh venv (as the Docker image installs it), loads a
spend file once PROCURE_HOME names the project folder: nothing in the package finds config/,
dbt_project/ or the GX suites from where its own source files happen to sit.

Marked ``packaging``: builds the wheel (~1 s) and installs the locked dependencies into a new
venv from the uv cache (hard links, ~1-3 s warm; falls back to the index when the cache is cold).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.packaging

SPEND_CSV = (
    "Body Name,Payment Date,Transaction Number,Supplier Name,Expense Type,Service Area,Amount\n"
    "Test Council,05/03/2025,T1,ACME SUPPLIES LTD,Stationery,Resources,1250.00\n"
    'Test Council,12/03/2025,T2,Norfolk Care Ltd,Residential care,Adult Social Care,"32,410.55"\n'
    "Test Council,19/03/2025,T3,REDACTED,Personal care,Adult Social Care,-640.00\n"
)


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding the locked runtime dependencies and the procure wheel, not editable."""
    work = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    _run([*_uv(), "build", "--wheel", "--offline", "-q", "-o", str(work / "dist"), str(ROOT)], env=env)
    [wheel] = (work / "dist").glob("procure-*.whl")
    lock = work / "pylock.toml"
    exported = _run(
        [*_uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "pylock.toml", "-q"],
        cwd=ROOT,
        env=env,
    )
    lock.write_text(exported.stdout, encoding="utf-8")
    venv = work / "venv"
    _run([*_uv(), "venv", "-q", "--offline", "-p", sys.executable, str(venv)], env=env)
    pip = [*_uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    offline = subprocess.run([*pip, "--offline", "-r", str(lock)], capture_output=True, text=True, env=env, check=False)
    if offline.returncode != 0:  # cold uv cache: fetch from the index
        _run([*pip, "-r", str(lock)], env=env)
    _run([*pip, "--offline", "--no-deps", str(wheel)], env=env)  # the dependencies are the lock's
    return venv


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder holding only config/ (the alias tables), far from the source checkout."""
    home = tmp_path / "home"
    shutil.copytree(ROOT / "config", home / "config")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "test_2025-03_spend.csv").write_text(SPEND_CSV, encoding="utf-8")
    (home / "config" / "councils.yml").write_text(
        f"councils:\n  - id: testshire\n    name: Test Council\n    spend_dir: {drop}\n", encoding="utf-8"
    )
    return home


def _procure(venv: Path, home: Path | None, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCURE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PROCURE_WAREHOUSE"] = str(cwd / "w.duckdb")
    env["PROCURE_LANDING_DIR"] = str(cwd / "landing")
    if home is not None:
        env["PROCURE_HOME"] = str(home)
    return subprocess.run(
        [str(venv / "bin" / "procure"), *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_the_installed_wheel_is_not_the_source_tree(installed, tmp_path):
    probe = _run(
        [
            str(installed / "bin" / "python"),
            "-c",
            # find_spec, not import: importing a suite imports Great Expectations (~30 s uncompiled)
            "import importlib.util, json, procure; from procure import config; "
            "s = importlib.util.find_spec('expectations.fct_spend'); "
            "print(json.dumps([procure.__file__, s.origin, str(config.dbt_project_dir())]))",
        ],
        cwd=tmp_path,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PROCURE_HOME": "/opt/procure"},
    )
    package, suite, dbt_dir = json.loads(probe.stdout)
    site = str(installed / "lib")
    assert package.startswith(site) and suite.startswith(site), (package, suite)
    assert dbt_dir == "/opt/procure/dbt_project"


def test_the_installed_wheel_loads_a_spend_file_with_procure_home_set(installed, project, tmp_path):
    result = _procure(installed, project, tmp_path, "ingest", "spend", "--council", "testshire", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    [account] = json.loads(result.stdout)["files"]
    assert account["status"] == "loaded", account
    assert account["rows_read"] == 3
    assert account["rows_loaded"] + account["rows_quarantined"] == 3
    assert account["rows_loaded"] >= 2


def test_without_procure_home_the_installed_wheel_says_what_to_set(installed, tmp_path):
    """No PROCURE_HOME and no checkout beside the package: the working directory is the project
    folder; here it has no config/, and the error says which variable to set."""
    result = _procure(installed, None, tmp_path, "ingest", "spend", "--council", "testshire", "--json")

    assert result.returncode != 0
    assert f"{tmp_path}/config/councils.yml: council configuration not found" in result.stderr
    assert "PROCURE_HOME" in result.stderr
