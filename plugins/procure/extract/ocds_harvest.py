"""Incremental, fault-tolerant harvesting of Contracts Finder and Find a Tender OCDS notices.

One harvester for both APIs (their differences live in ``config/notice_sources.yml``):

- the range from the source's watermark (or ``since``) to ``until`` is walked in date
  windows (CF ~15 days, FTS 6 hours); each window is paged through with the API's cursor;
- a client-side rate limit per API, and retries with exponential backoff on 429, 5xx,
  timeouts, dropped connections and truncated bodies, honouring ``Retry-After``; CF's 403
  ("no further requests for 5 minutes") waits out its cool-down;
- nothing a server sends can hold the harvester or its memory: each request has a total
  deadline (``request_deadline_s``, however slowly the bytes come) besides the per-read
  ``timeout_s``, and a response larger than ``max_response_mb`` fails the window;
- only the configured API is trusted: redirects and ``links.next`` are followed only to the
  base URL's scheme, host and port, and a 200 whose JSON is not an OCDS release package
  (no ``releases`` list) is a failed attempt whose error shows the body's first bytes;
- windows end at the present: an ``until`` in the future is capped at now, so the watermark
  never claims notices not yet published;
- invalid JSON numbers (FTS's ``1e9999``) become null with a warning, not a crash;
- FTS sometimes drops ``links.next`` after a cursor: a full page without a next link
  resumes the window from the latest release date seen instead of ending it early;
- every page is landed unchanged (gzip, sha256) under ``<landing>/notices/<source>/`` and
  recorded in ``raw.notice_pages``; its releases go through the same flattening and
  upsert as landed files (``notices_loader``), so a release already held with the same
  content is not stored twice, and the touched ocids' records are recompiled;
- each window's rows and the watermark commit in one transaction, after all its pages were
  fetched: the watermark never passes a window that did not complete, and a harvest killed
  mid-window leaves the tables as they were before that window.

The functions take a ``base_url`` so the CLI and tests call them without Airflow; the DAG
task resolves it from an Airflow connection (see ``procure.tasks.ingest_notices``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from procure.config import ConfigError, landing_dir, notice_sources_path, read_yaml
from procure.orphans import scratch_prefix, sweep

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
USER_AGENT = "procure-ocds-harvester/0.1 (+https://github.com/; council procurement warehouse)"
MAX_PAGES_PER_WINDOW = 10_000
PART_PREFIX = ".part-"  # a page being landed: .part-<pid>-<sha256>.json.gz


class HarvestError(RuntimeError):
    """A window could not be harvested; the message names the source, window and URL."""

    result: HarvestResult | None = None


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Source:
    """One OCDS API, as configured in config/notice_sources.yml."""

    name: str
    conn_id: str
    base_url: str
    path: str
    from_param: str
    to_param: str
    window: timedelta
    start: datetime
    enabled: bool = False
    page_limit: int = 100
    min_interval_s: float = 1.0
    timeout_s: float = 60.0  # one socket read or connect
    request_deadline_s: float = 300.0  # one whole request: connect, headers and body
    max_response_mb: float = 50.0  # one response body
    max_retries: int = 6
    backoff_base_s: float = 2.0
    backoff_max_s: float = 120.0
    retry_after_max_s: float = 600.0
    cooldown_403_s: float = 300.0


def _utc(value: Any) -> datetime:
    """A naive UTC datetime (the warehouse's timestamps are naive UTC)."""
    if isinstance(value, datetime):
        ts = value
    else:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def load_sources(path: Path | None = None) -> dict[str, Source]:
    path = path or notice_sources_path()
    doc = read_yaml(path, "notice source configuration", " (set PROCURE_NOTICE_SOURCES)")
    out = {}
    known = set(Source.__dataclass_fields__) | {"window_hours"}
    for name, entry in (doc.get("sources") or {}).items():
        where = f"{path}: sources.{name}"
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("conn_id", "base_url", "path", "from_param", "to_param", "window_hours", "start"):
            if entry.get(key) in (None, ""):
                raise ConfigError(f"{where}: '{key}' is required")
        values = {k: v for k, v in entry.items() if k != "window_hours"}
        values["window"] = timedelta(hours=float(entry["window_hours"]))
        values["start"] = _utc(entry["start"])
        if not 1 <= int(values.get("page_limit", 100)) <= 100:
            raise ConfigError(f"{where}: page_limit must be 1..100 (the APIs' maximum)")
        for key in ("timeout_s", "request_deadline_s", "max_response_mb"):
            if key in values and not (isinstance(values[key], int | float) and values[key] > 0):
                raise ConfigError(f"{where}: {key} must be a positive number, got {values[key]!r}")
        out[name] = Source(name=name, **values)
    return out


# --------------------------------------------------------------------------- decoding


def decode_tolerant(raw: bytes) -> tuple[Any, list[str]]:
    """Parse JSON; invalid numbers (``1e9999``, ``NaN``) become null with a warning."""
    notes: list[str] = []

    def number(text: str) -> Decimal | None:
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or float(value) in (float("inf"), float("-inf")):
            notes.append(f"invalid JSON number {text[:40]} replaced by null")
            return None
        return value

    def constant(text: str) -> None:
        notes.append(f"invalid JSON constant {text} replaced by null")
        return None

    # integers as Decimal too, exactly as notices_loader.loads_tolerant: a release harvested from the
    # API and the same release read from a landed file must hash to the same content_sha256
    doc = json.loads(raw.decode("utf-8"), parse_float=number, parse_int=number, parse_constant=constant)
    return doc, notes


# --------------------------------------------------------------------------- client


@dataclass
class Page:
    url: str
    body: bytes
    doc: dict[str, Any]
    warnings: list[str]
    attempts: int


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit: what a followed link must share with the base URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _shown(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


class ResponseRefused(HarvestError):
    """A response the harvester will not take (too large, off the configured host): not retried."""


def _is_release_package(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("releases"), list)


@dataclass
class Client:
    """HTTP GET with a client-side rate limit, retries and hard bounds; ``sleep``/``clock`` injectable.

    Every request is bounded three ways: ``timeout_s`` per socket read (and connect),
    ``request_deadline_s`` for the whole request (a watchdog shuts the socket down, so a
    server that sends one byte every few seconds is cut off too) and ``max_response_mb`` for
    the body (checked against Content-Length, then while reading). Redirects are followed
    only to the origin (scheme, host, port) given to ``fetch`` (by default the URL's own).
    """

    source: Source
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    retries: list[str] = field(default_factory=list)  # one line per retried attempt
    _last_request: float | None = None

    def _throttle(self) -> None:
        if self._last_request is not None:
            wait = self.source.min_interval_s - (self.clock() - self._last_request)
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()

    def _backoff(self, attempt: int) -> float:
        return min(self.source.backoff_base_s * (2**attempt), self.source.backoff_max_s)

    def _retry_after(self, headers: Any, attempt: int) -> float:
        value = headers.get("Retry-After") if headers is not None else None
        if value:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    when = parsedate_to_datetime(value)
                    now = parsedate_to_datetime(headers["Date"]) if headers.get("Date") else None
                    seconds = (when - now).total_seconds() if now else self._backoff(attempt)
                except (TypeError, ValueError):
                    seconds = self._backoff(attempt)
            return max(0.0, min(seconds, self.source.retry_after_max_s))
        return self._backoff(attempt)

    def _get(self, url: str) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One GET (no redirect followed): status, headers and the whole body, within the bounds."""
        parts = urlsplit(url)
        limit = int(self.source.max_response_mb * 1024 * 1024)
        deadline = self.source.request_deadline_s
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.source.timeout_s
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.source.timeout_s)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once

        def too_slow() -> TimeoutError:
            return TimeoutError(f"no complete response within the {deadline:g} s request deadline")

        watchdog = threading.Timer(deadline, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", target, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
            response = conn.getresponse()
            declared = response.getheader("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > limit:
                raise ResponseRefused(
                    f"{url}: response of {int(declared):,} bytes is over the {self.source.max_response_mb:g} MB "
                    "limit (max_response_mb in config/notice_sources.yml)"
                )
            chunks, size = [], 0
            while chunk := response.read1(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise ResponseRefused(
                        f"{url}: response over the {self.source.max_response_mb:g} MB limit "
                        "(max_response_mb in config/notice_sources.yml); stopped reading"
                    )
                if expired.is_set():
                    raise too_slow()
                chunks.append(chunk)
            if expired.is_set():
                raise too_slow()
            if response.length:  # fewer bytes than Content-Length promised: the connection dropped
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return response.status, response.headers, b"".join(chunks)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise too_slow() from exc
            raise
        finally:
            watchdog.cancel()
            conn.close()

    def fetch(self, url: str, allowed: str | None = None) -> Page:
        """The page at ``url``, retried on transient failures; redirects only within ``allowed``'s origin."""
        home = origin(allowed or url)
        attempt = 0
        while True:
            self._throttle()
            target = url
            try:
                for _hop in range(MAX_REDIRECTS + 1):
                    if origin(target) != home or home[0] not in ("http", "https"):
                        raise ResponseRefused(
                            f"{target}: not the configured API ({_shown(allowed or url)}); "
                            "only its scheme, host and port are followed"
                        )
                    status, headers, body = self._get(target)
                    if status not in REDIRECT_STATUSES:
                        break
                    location = headers.get("Location")
                    if not location:
                        raise ResponseRefused(f"{target}: HTTP {status} redirect without a Location")
                    target = urljoin(target, location.strip())
                else:
                    raise ResponseRefused(f"{url}: more than {MAX_REDIRECTS} redirects")
                if 200 <= status < 300:
                    doc, notes = decode_tolerant(body)
                    if not _is_release_package(doc):
                        raise ValueError(
                            f"HTTP {status} but not an OCDS release package (no 'releases' list); "
                            f"body starts {body[:200]!r}"
                        )
                    return Page(target, body, doc, notes, attempt + 1)
                if status == 403:
                    wait, reason = self.source.cooldown_403_s, "HTTP 403 (cool-down)"
                elif status in RETRY_STATUSES:
                    wait = self._retry_after(headers, attempt)
                    reason = f"HTTP {status} (Retry-After {headers.get('Retry-After') or 'absent'})"
                else:
                    raise HarvestError(f"{target}: HTTP {status}, not retryable; body starts {body[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, refused, TLS, short reads
                wait, reason = self._backoff(attempt), f"{type(exc).__name__}: {exc}"
            except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
                wait, reason = self._backoff(attempt), f"unreadable body ({type(exc).__name__}: {exc})"
            attempt += 1
            if attempt > self.source.max_retries:
                raise HarvestError(f"{url}: gave up after {attempt} attempts; last: {reason}")
            self.retries.append(f"{url}: attempt {attempt} failed: {reason}; retrying in {wait:.2f} s")
            log.warning(self.retries[-1])
            self.sleep(wait)


# --------------------------------------------------------------------------- harvesting


@dataclass
class HarvestResult:
    source: str
    windows: int = 0
    pages: int = 0
    releases_fetched: int = 0
    releases_new: int = 0
    releases_changed: int = 0
    releases_duplicate: int = 0
    releases_stale: int = 0
    releases_rejected: int = 0
    records_changed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    watermark: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_watermark(con, source: str) -> datetime | None:
    rows = con.execute("select harvested_to from raw.notice_watermarks where source = ?", [source]).fetchall()
    return rows[0][0] if rows else None


def windows_between(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    out = []
    while start < end:
        out.append((start, min(start + size, end)))
        start = out[-1][1]
    return out


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_url(source: Source, base_url: str, start: datetime, end: datetime) -> str:
    query = {source.from_param: _iso(start), source.to_param: _iso(end), "limit": source.page_limit}
    return f"{base_url.rstrip('/')}{source.path}?{urlencode(query)}"


def fetch_window(client: Client, source: Source, base_url: str, start: datetime, end: datetime) -> list[Page]:
    """Every page of one window, following cursors; recovers from a next link that vanished."""
    url: str | None = window_url(source, base_url, start, end)
    pages: list[Page] = []
    seen: set[tuple[str, str]] = set()
    while url:
        if len(pages) >= MAX_PAGES_PER_WINDOW:
            raise HarvestError(f"{source.name} {_iso(start)}..{_iso(end)}: more than {MAX_PAGES_PER_WINDOW} pages")
        if not isinstance(url, str) or origin(url) != origin(base_url):
            raise ResponseRefused(
                f"{source.name} {_iso(start)}..{_iso(end)}: links.next {str(url)[:200]!r} is not on the configured "
                f"API ({_shown(base_url)}); not followed"
            )
        page = client.fetch(url, allowed=base_url)
        pages.append(page)
        releases = [r for r in page.doc.get("releases") or [] if isinstance(r, dict)]
        keys = {(str(r.get("ocid")), str(r.get("id"))) for r in releases}
        fresh = keys - seen
        seen |= keys
        links = page.doc.get("links")
        url = links.get("next") if isinstance(links, dict) else None
        if isinstance(url, str):
            url = urljoin(page.url, url.strip())  # checked against the base URL's origin above
        if url or len(releases) < source.page_limit:
            continue
        # A full page and no next link: FTS drops the link after some cursors. Resume the
        # window from the latest release date on this page (repeats are de-duplicated).
        dates = sorted(_utc(r["date"]) for r in releases if r.get("date"))
        if not fresh or not dates or dates[-1] < start:
            raise HarvestError(
                f"{source.name} {_iso(start)}..{_iso(end)}: page {page.url} is full, has no next link and "
                "nothing new; cannot page further (more releases share one date than fit a page?)"
            )
        page.warnings.append(f"full page without links.next; resuming from {_iso(dates[-1])}")
        url = window_url(source, base_url, dates[-1], end)
    return pages


def _land(root: Path, source: str, start: datetime, end: datetime, page: Page) -> tuple[str, str]:
    """Write the page body unchanged (gzip, content-addressed, atomic); return (sha256, relative path)."""
    sha = hashlib.sha256(page.body).hexdigest()
    rel = Path("notices") / source / f"{start:%Y%m%dT%H%M%S}_{end:%Y%m%dT%H%M%S}" / f"{sha}.json.gz"
    path = root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep(path.parent, PART_PREFIX)  # parts of pages a killed harvest was writing
        tmp = path.with_name(f"{scratch_prefix(PART_PREFIX)}{path.name}")
        tmp.write_bytes(gzip.compress(page.body, mtime=0))
        os.replace(tmp, path)
    return sha, rel.as_posix()


def _store_window(
    con,
    source: Source,
    start: datetime,
    end: datetime,
    pages: list[Page],
    root: Path,
    run_id: str,
    result: HarvestResult,
) -> None:
    from procure.extract.notices_loader import flatten_release, upsert_releases
    from procure.extract.ocds_records import refresh_records

    flattened = []
    for page_no, page in enumerate(pages, start=1):
        sha, rel = _land(root, source.name, start, end, page)
        releases = page.doc.get("releases") or []
        result.warnings.extend(f"{page.url}: {w}" for w in page.warnings)
        con.execute(
            "insert into raw.notice_pages (source, sha256, window_from, window_to, page_no, url, landed_path, bytes, "
            "releases, warnings, run_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
            [source.name, sha, start, end, page_no, page.url, rel, len(page.body), len(releases),
             "; ".join(page.warnings) or None, run_id],
        )  # fmt: skip
        for index, release in enumerate(releases):
            result.releases_fetched += 1
            try:
                if not isinstance(release, dict):
                    raise ValueError(f"release is a {type(release).__name__}, not an object")
                flattened.append(flatten_release(release, f"{rel}#{index}"))
            except ValueError as exc:
                result.releases_rejected += 1
                reason = f"{rel} release {index}: {exc}"
                result.errors.append(reason)
                con.execute(
                    "insert into raw.notice_harvest_rejects (source, page_sha256, release_index, reason, release_json, run_id) "
                    "values (?, ?, ?, ?, ?, ?) on conflict do nothing",
                    [source.name, sha, index, reason, json.dumps(release, default=str), run_id],
                )
    counts = upsert_releases(con, flattened, run_id)
    result.releases_new += counts["new"]
    result.releases_changed += counts["changed"]
    result.releases_stale += counts.get("stale", 0)
    result.releases_duplicate += len(flattened) - counts["new"] - counts["changed"] - counts.get("stale", 0)
    records = refresh_records(con, {f.release["ocid"] for f in flattened}, run_id)
    result.records_changed += records["new"] + records["changed"]
    held = get_watermark(con, source.name)
    if held is None or (start <= held < end):
        # contiguous with what was harvested: advance. A window beyond a gap (``since`` later
        # than the watermark) or one re-harvested behind it leaves the watermark where it is.
        con.execute(
            "insert into raw.notice_watermarks (source, harvested_to, run_id) values (?, ?, ?) "
            "on conflict (source) do update set "
            "harvested_to = excluded.harvested_to, run_id = excluded.run_id",
            [source.name, end, run_id],
        )


def harvest(
    source: Source,
    base_url: str,
    until: datetime,
    run_id: str,
    since: datetime | None = None,
    warehouse: Path | None = None,
    landing: Path | None = None,
    client: Client | None = None,
    now: datetime | None = None,
) -> HarvestResult:
    """Harvest ``source`` from ``since`` (default: its watermark, else its configured start) to ``until``.

    ``until`` later than ``now`` (default: the clock) is capped at ``now``: a window that ends
    in the future would move the watermark past notices not yet published. Raises
    HarvestError when a window cannot be completed; the windows before it stay committed
    and the watermark stops at the last of them.
    """
    from procure.warehouse import connect

    until = _utc(until)
    root = landing or landing_dir()
    client = client or Client(source)
    result = HarvestResult(source.name)
    present = _utc(now or datetime.now(UTC)).replace(microsecond=0)
    if until > present:
        result.warnings.append(f"until {_iso(until)} is in the future: harvesting to now ({_iso(present)})")
        log.warning(result.warnings[-1])
        until = present
    con = connect(warehouse)
    try:
        held = get_watermark(con, source.name)
        start = _utc(since) if since is not None else (held or source.start)
        for w_start, w_end in windows_between(start, until, source.window):
            retried = len(client.retries)
            try:
                pages = fetch_window(client, source, base_url, w_start, w_end)
            except HarvestError as exc:
                result.errors.extend(client.retries[retried:])
                result.errors.append(str(exc))
                mark = get_watermark(con, source.name)
                result.watermark = _iso(mark) if mark else None
                error = HarvestError(f"{source.name}: window {_iso(w_start)}..{_iso(w_end)} failed: {exc}")
                error.result = result  # the windows completed before it, for the CLI's --json account
                raise error from exc
            result.warnings.extend(client.retries[retried:])
            # one transaction per window: its pages, releases, records and the watermark, or nothing
            con.execute("begin transaction")
            try:
                _store_window(con, source, w_start, w_end, pages, root, run_id, result)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
            result.windows += 1
            result.pages += len(pages)
        mark = get_watermark(con, source.name)
    finally:
        con.close()
    result.watermark = _iso(mark) if mark else None
    log.info("harvest %s from %s: %s", source.name, base_url, result.as_dict())
    return result


def base_url_from_connection(conn: Any) -> str:
    """``http://host:port[/path]`` from an Airflow connection (``AIRFLOW_CONN_CONTRACTS_FINDER=http://127.0.0.1:8765``).

    Accepts both URI forms: the scheme as the connection type (``https://host``) and the
    HttpHook convention (type ``http``, scheme in ``schema``, or a full URL in ``host``).
    """
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host")
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else ("https" if conn.conn_type == "https" else "http")
        host = f"{scheme}://{host}"
    if conn.port:
        host = f"{host}:{conn.port}"
    path = (conn.extra_dejson or {}).get("path", "") if hasattr(conn, "extra_dejson") else ""
    return host + (("/" + path.strip("/")) if path else "")


def harvest_all(
    base_urls: dict[str, str], until: datetime, run_id: str, warehouse: Path | None = None, **kwargs: Any
) -> dict[str, dict[str, Any]]:
    """Harvest every source named in ``base_urls``; a failed source does not stop the others.

    Raises HarvestError at the end when any source failed, after the others were harvested
    (and their watermarks advanced), so the Airflow task fails and retries.
    """
    sources = load_sources()
    out: dict[str, dict[str, Any]] = {}
    failures = []
    for name, base_url in base_urls.items():
        try:
            out[name] = harvest(sources[name], base_url, until, run_id, warehouse=warehouse, **kwargs).as_dict()
        except HarvestError as exc:
            failures.append(str(exc))
            out[name] = {"failed": str(exc)}
    if failures:
        raise HarvestError("; ".join(failures))
    return out


def base_urls_from_airflow() -> dict[str, str]:
    """Base URL per source: its Airflow connection, else the configured public endpoint when enabled.

    Called inside the task, never at DAG parse time. A source with neither a connection nor
    ``enabled: true`` in config/notice_sources.yml is not harvested, so a fresh checkout (and
    the test suite) never calls the internet.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    urls = {}
    for name, source in load_sources().items():
        try:
            urls[name] = base_url_from_connection(BaseHook.get_connection(source.conn_id))
        except AirflowNotFoundException:
            if source.enabled:
                urls[name] = source.base_url
    return urls
