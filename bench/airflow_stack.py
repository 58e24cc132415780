"""A real Airflow 3 deployment in child processes: api-server, scheduler and dag-processor.

What a data engineer runs in production, scaled down: its own ``AIRFLOW_HOME`` (SQLite
metadata DB, the LocalExecutor with a small ``parallelism``), the project's ``dags/`` folder,
the one-slot ``duckdb_writer`` pool, and the REST API (simple auth manager, every user an
admin, on loopback) to unpause DAGs, trigger runs and read their states. Used by the
real-scheduler end-to-end test (``tests/e2e/test_scheduler_chain.py``) and by the benchmark
(``bench/run_bench.py``: the Airflow ingest path beside the in-process one).

    with AirflowStack(home, port=18380, env=procure_env) as stack:
        stack.unpause("ingest_finance_spend", ...)
        run = stack.trigger("ingest_finance_spend")
        stack.wait_for(lambda: ...)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).parent / "airflow"
WRITER_POOL = "duckdb_writer"


class StackError(RuntimeError):
    """The deployment did not come up, or a wait timed out (the message ends with the logs' tails)."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM when the process that started it dies, even by SIGKILL (which no
    ``finally`` or ``atexit`` sees), so a killed test or benchmark leaves no server holding its ports."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class AirflowStack:
    """Start with ``with AirflowStack(...) as stack``; every child is stopped (by its process group) on exit."""

    def __init__(self, home: Path, port: int, env: dict[str, str] | None = None, parallelism: int = 2):
        self.home = Path(home)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self._token: str | None = None
        self.env = {
            **os.environ,
            **(env or {}),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__WORKERS": "1",
            # the scheduler's log server (default 8793) on a port of this deployment's own
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port + 10),
            # a task's calls to the execution API wait longer than the default 5 s on a busy machine
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            # the api-server signs the tasks' tokens; every process must know the same secret
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # Cosmos keeps dbt's partial-parse file between tasks here (default /tmp/cosmos: shared by every
            # deployment on the machine, and a file parsed for another warehouse forces a full parse)
            "AIRFLOW__COSMOS__CACHE_DIR": str(self.home / "cosmos"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> AirflowStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 240) -> None:
        busy = [p for p in (self.port, self.port + 10) if _port_in_use(p)]
        if busy:
            raise StackError(
                f"port(s) {busy} on 127.0.0.1 are already in use: another Airflow deployment (or one left by a "
                "killed run: `ps -eo pid,args | grep -i airflow`) is listening; stop it or choose another port"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "plugins").mkdir(exist_ok=True)
        self._airflow("db", "migrate")
        self._airflow("pools", "set", WRITER_POOL, "1", "DuckDB allows one writer per file")
        for name, args in (
            ("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
        ):
            log = (self.home / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen(
                [str(AIRFLOW), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.wait_for(self._healthy, timeout, "api-server, scheduler and dag-processor healthy")

    def stop(self) -> None:
        """SIGTERM each child's process group (the executor's workers and task processes too), then SIGKILL."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def _airflow(self, *args: str) -> None:
        subprocess.run([str(AIRFLOW), *args], env=self.env, check=True, capture_output=True, timeout=300)

    def _healthy(self) -> bool:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with {proc.returncode}{self.log_tails()}")
        try:
            health = self._request("GET", "/api/v2/monitor/health", auth=False)
        except (OSError, urllib.error.URLError):
            return False
        return all(
            (health.get(part) or {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "dag_processor")
        )

    def log_tails(self, lines: int = 25) -> str:
        out = []
        for name in self.procs or ("api-server", "scheduler", "dag-processor"):
            path = self.home / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"\n--- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "".join(out)

    # ------------------------------------------------------------------ REST API

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            if self._token is None:
                self._token = self._request("GET", "/auth/token", auth=False)["access_token"]
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        # always http://127.0.0.1:<port>: the URL is built here, never taken from input
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310
        with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
            text = resp.read().decode()
        return json.loads(text) if text else None

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self._request("GET", "/api/v2/dags?limit=100")["dags"]}

    def unpause(self, *dag_ids: str, timeout: float = 240) -> None:
        """Wait until the dag-processor has parsed the DAGs, then unpause them."""
        self.wait_for(lambda: set(dag_ids) <= self.dag_ids(), timeout, f"DAGs {sorted(dag_ids)} parsed")
        for dag_id in dag_ids:
            self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str | None = None, conf: dict | None = None) -> str:
        """A manual run (``logical_date`` ISO 8601 or None); its run id."""
        run = self._request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf or {}}
        )
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG, oldest first: run_id, run_type, state, start/end dates."""
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after")["dag_runs"]

    def all_runs(self) -> dict[str, list[dict[str, Any]]]:
        """dag_id -> its runs, oldest first (one request for every DAG)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for run in self._request("GET", "/api/v2/dags/~/dagRuns?limit=200&order_by=run_after")["dag_runs"]:
            out.setdefault(run["dag_id"], []).append(run)
        return out

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=200")["task_instances"]

    def wait_for(self, done: Callable[[], Any], timeout: float, what: str, every: float = 2.0) -> Any:
        """Poll ``done`` until it returns something truthy; StackError with the logs after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = done()
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:  # a busy api-server: ask again
                result, last_error = None, exc
            else:
                last_error = None
            if result:
                return result
            if time.monotonic() > deadline:
                why = f" (last error: {last_error!r})" if last_error else ""
                raise StackError(f"timed out after {timeout:.0f} s waiting for {what}{why}{self.log_tails()}")
            time.sleep(every)
