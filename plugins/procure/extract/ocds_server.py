"""A local HTTP server shaped like the Contracts Finder and Find a Tender OCDS APIs.

Serves a folder of releases (packages or bare releases, as landed or as the sample data
writes them) on the two search endpoints the harvester uses:

- CF:  ``GET /Published/Notices/OCDS/Search?publishedFrom=..&publishedTo=..&limit=..&cursor=..``
- FTS: ``GET /api/1.0/ocdsReleasePackages?updatedFrom=..&updatedTo=..&limit=..&cursor=..``

Releases are filtered on their ``date`` (the latest edit) in the half-open window
``[from, to)``, ordered by date then id, and paged with an opaque cursor; the response is a
release package with ``links.next`` while more remain. Faults can be queued for the next
requests (429 with or without Retry-After, 403, 503, 504, a stall longer than the client's
timeout, a truncated body, an invalid ``1e9999`` number, a next link that disappears), so
tests and the demo exercise the harvester's real code path over a real socket. Hostile
answers too: a body dripped one byte at a time (``drip``), an oversized body (``huge``),
JSON that is not a release package (``not_ocds``), a redirect or a ``links.next`` to
another place (``redirect``, ``foreign_next``: ``location``).

Run it for the demo: ``python -m procure.extract.ocds_server --dir data/sample/norwich/notices --port 8765``.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import re
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

log = logging.getLogger(__name__)

CF_PATH = "/Published/Notices/OCDS/Search"
FTS_PATH = "/api/1.0/ocdsReleasePackages"
WINDOW_PARAMS = {CF_PATH: ("publishedFrom", "publishedTo"), FTS_PATH: ("updatedFrom", "updatedTo")}
FAULT_KINDS = {
    *("429", "403", "500", "502", "503", "504", "timeout", "truncated", "invalid_number", "drop_next"),
    *("drip", "huge", "not_ocds", "redirect", "foreign_next"),
}


def _parse_ts(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Fault:
    """One injected failure, applied to the next request that matches ``path`` (any when empty)."""

    kind: str
    retry_after: str | None = None  # for 429/503: the Retry-After header value, None = no header
    stall_s: float = 2.0  # for "timeout": how long the server sits on the request
    path: str = ""
    after: int = 0  # only once the server has answered this many requests
    drip_s: float = 2.0  # for "drip": seconds between bytes
    size: int = 0  # for "huge": body bytes (Content-Length sent unless declare=False)
    declare: bool = True
    location: str = ""  # for "redirect" (Location) and "foreign_next" (links.next)


@dataclass
class ReleaseStore:
    """The releases the server publishes; tests add or edit releases between harvests."""

    releases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_dir(cls, directory: Path) -> ReleaseStore:
        store = cls()
        for path in sorted(Path(directory).rglob("*.json")):
            doc = json.loads(path.read_bytes())
            for release in doc.get("releases", []) if "releases" in doc else [doc]:
                store.put(release)
        return store

    def put(self, release: dict[str, Any]) -> None:
        """Publish a release, replacing one with the same ocid and id (an edited notice)."""
        with self.lock:
            self.releases[(release["ocid"], release["id"])] = release

    def window(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.releases.values())
        chosen = [
            r
            for r in items
            if (start is None or _parse_ts(r["date"]) >= start) and (end is None or _parse_ts(r["date"]) < end)
        ]
        return sorted(chosen, key=lambda r: (_parse_ts(r["date"]), r["ocid"], r["id"]))


class OcdsServer:
    """``http.server`` in a thread; ``with OcdsServer(store) as srv: srv.base_url``."""

    def __init__(self, store: ReleaseStore, host: str = "127.0.0.1", port: int = 0, page_size: int = 100):
        self.store = store
        self.page_size = page_size
        self.faults: deque[Fault] = deque()
        self.requests: list[str] = []  # every request line, for assertions
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, kind: str, count: int = 1, **options: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._lock:
            self.faults.extend(Fault(kind, **options) for _ in range(count))

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in list(self.faults):
                if (not fault.path or fault.path == path) and len(self.requests) > fault.after:
                    self.faults.remove(fault)
                    return fault
        return None

    def start(self) -> OcdsServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="ocds-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(timeout=5)

    def __enter__(self) -> OcdsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ responses

    def page(self, path: str, query: dict[str, str]) -> tuple[dict[str, Any], bool]:
        """The release package for one request, and whether more releases remain."""
        from_key, to_key = WINDOW_PARAMS[path]
        start = _parse_ts(query[from_key]) if query.get(from_key) else None
        end = _parse_ts(query[to_key]) if query.get(to_key) else None
        limit = max(1, min(int(query.get("limit") or self.page_size), 100))
        offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
        releases = self.store.window(start, end)
        chunk = releases[offset : offset + limit]
        more = offset + limit < len(releases)
        package: dict[str, Any] = {
            "uri": f"{self.base_url}{path}?{urlencode(query)}",
            "version": "1.1",
            "publishedDate": chunk[-1]["date"] if chunk else (query.get(to_key) or "1970-01-01T00:00:00Z"),
            "publisher": {"name": "local OCDS replay server"},
            "releases": chunk,
        }
        if more:
            nxt = {k: v for k, v in query.items() if k != "cursor"}
            nxt["cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            package["links"] = {"next": f"{self.base_url}{path}?{urlencode(nxt)}"}
        return package, more

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("ocds server: " + fmt, *args)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: int | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                with server._lock:
                    server.requests.append(self.path)
                if split.path not in WINDOW_PARAMS:
                    self._send(404, b'{"error": "not found"}')
                    return
                query = {k: v[-1] for k, v in parse_qs(split.query).items()}
                fault = server._next_fault(split.path)
                if fault and fault.kind in {"429", "403", "500", "502", "503", "504"}:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    self._send(int(fault.kind), b'{"error": "injected"}', headers)
                    return
                if fault and fault.kind == "timeout":
                    time.sleep(fault.stall_s)
                if fault and fault.kind == "redirect":
                    self._send(302, b"", {"Location": fault.location})
                    return
                if fault and fault.kind == "not_ocds":
                    self._send(200, b'{"message": "Service temporarily unavailable: planned maintenance"}')
                    return
                if fault and fault.kind == "huge":
                    self._send_huge(fault)
                    return
                try:
                    package, _more = server.page(split.path, query)
                except (ValueError, KeyError) as exc:
                    self._send(400, json.dumps({"error": str(exc)}).encode())
                    return
                if fault and fault.kind == "drop_next":
                    package.pop("links", None)
                if fault and fault.kind == "foreign_next":
                    package["links"] = {"next": fault.location}
                body = json.dumps(package, ensure_ascii=False).encode("utf-8")
                if fault and fault.kind == "invalid_number" and package["releases"]:
                    # the first number in the first release becomes an overflowing literal
                    first = json.dumps(package["releases"][0], ensure_ascii=False)
                    broken = re.sub(r'"amount": -?[0-9.eE+-]+', '"amount": 1e9999', first, count=1)
                    body = body.replace(first.encode("utf-8"), broken.encode("utf-8"), 1)
                if fault and fault.kind == "truncated":
                    # promise the whole body, send half of it, close: the client sees a short read
                    self._send(200, body[: len(body) // 2], length=len(body))
                    self.close_connection = True
                    return
                if fault and fault.kind == "drip":
                    self._drip(body, fault.drip_s)
                    return
                self._send(200, body)

            def _drip(self, body: bytes, every_s: float) -> None:
                """The whole body, one byte every ``every_s`` seconds, until the client hangs up."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.close_connection = True
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(every_s)
                except OSError:
                    pass  # the client gave up: what the harvester's deadline does

            def _send_huge(self, fault: Fault) -> None:
                """``fault.size`` bytes of a JSON string, with or without a Content-Length."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if fault.declare:
                    self.send_header("Content-Length", str(fault.size))
                self.end_headers()
                self.close_connection = True
                block = b" " * (1 << 16)
                try:
                    sent = 0
                    while sent < fault.size:
                        part = block[: fault.size - sent]
                        self.wfile.write(part)
                        sent += len(part)
                except OSError:
                    pass  # the client stopped reading at its limit

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="folder of OCDS releases or release packages")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = ReleaseStore.from_dir(args.dir)
    server = OcdsServer(store, args.host, args.port, args.page_size).start()
    log.info("serving %d releases from %s at %s", len(store.releases), args.dir, server.base_url)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
