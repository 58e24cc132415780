"""Project paths and council configuration.

Everything that differs between installations is read here, never in DAG files:
the warehouse path (``PROCURE_WAREHOUSE``), the council list (``PROCURE_CONFIG``),
the publish root (``PROCURE_PUBLISH_DIR``), the landing zone (``PROCURE_LANDING_DIR``,
default ``data/landing``) where every ingested file is kept unchanged by sha256, and the
warehouse the marts are built, checked and published from (``PROCURE_DBT_TARGET``:
``duckdb`` or ``postgres``, :func:`warehouse_target`).
Relative paths in ``councils.yml`` resolve against the project root.

The project root (``PROCURE_HOME``) holds what the installed package does not ship:
``config/``, ``dbt_project/``, ``expectations/`` and ``dags/``. Every path the package
opens comes from this module (``project_path`` and the named helpers below), so an
install that is not editable (the Docker image) works once ``PROCURE_HOME`` is set.

A council's files arrive in its drop folders (default ``data/drop/<id>/spend`` and
``data/drop/<id>/contracts``) and/or from URLs listed in ``spend_urls`` /
``contracts_urls``; the loaders copy each one into the landing zone before reading it,
so the drop folders can be cleared without losing what was loaded.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


def _default_home() -> Path:
    """The source checkout this module sits in (an editable install), else the working directory."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "dbt_project").is_dir() else Path.cwd()


PROJECT_ROOT = Path(os.environ.get("PROCURE_HOME") or _default_home())


class ConfigError(ValueError):
    """The council configuration is invalid; the message names the file and entry."""


#: a council id: ASCII lower-case letters, digits and '_', starting with a letter or digit, at most
#: 63 characters (it names folders, Airflow map indexes and PostgreSQL identifiers' parts)
COUNCIL_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,62}", re.ASCII)


def read_yaml(path: Path, what: str = "configuration", hint: str = "") -> dict[str, Any]:
    """A YAML file whose top level is a mapping (empty file: ``{}``); every problem a ``ConfigError``
    naming the file, and for a syntax error its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: {what} not found{hint}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, started = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and started is not None:
            problem += f" ({context} at line {started.line + 1}, column {started.column + 1})"
        raise ConfigError(f"{path}: {what} is not valid YAML{where}: {problem}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: {what} must be a YAML mapping at the top level, got a {type(doc).__name__}")
    return doc


def project_path(value: str | os.PathLike[str]) -> Path:
    """``value`` as a path: absolute stays as it is, relative is under the project root."""
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def path_from_env(var: str, default: str) -> Path:
    """The path in environment variable ``var`` (else ``default``), relative to the project root."""
    return project_path(os.environ.get(var) or default)


def warehouse_path() -> Path:
    return path_from_env("PROCURE_WAREHOUSE", "warehouse/procurement.duckdb")


#: DuckDB's memory for every warehouse connection (its buffer pool; beyond it DuckDB spills to
#: ``<warehouse>.tmp``): the one setting that keeps a process's RSS bounded at national size.
#: profiles.yml reads the same variable with the same default for dbt (a unit test keeps them equal).
DUCKDB_MEMORY_LIMIT_ENV = "PROCURE_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT_DEFAULT = "1536MB"
_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.I)


def duckdb_memory_limit() -> str:
    """``PROCURE_DUCKDB_MEMORY_LIMIT`` as DuckDB spells it (e.g. ``1536MB``, ``2GiB``); else the default."""
    value = os.environ.get(DUCKDB_MEMORY_LIMIT_ENV, "").strip()
    if not value:
        return DUCKDB_MEMORY_LIMIT_DEFAULT
    m = _MEMORY.fullmatch(value)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{DUCKDB_MEMORY_LIMIT_ENV}={value!r}: expected an amount of memory such as 1536MB or 2GB")
    return f"{m.group(1)}{m.group(2)}"


def config_path() -> Path:
    return path_from_env("PROCURE_CONFIG", "config/councils.yml")


def publish_dir() -> Path:
    return path_from_env("PROCURE_PUBLISH_DIR", "publish")


def landing_dir() -> Path:
    """Root of the landing zone: ``<root>/<source>/<council>/<sha256>/<original name>``."""
    return path_from_env("PROCURE_LANDING_DIR", "data/landing")


#: the variable naming the warehouse the marts live in; dbt_project/profiles.yml reads it too
WAREHOUSE_TARGET_ENV = "PROCURE_DBT_TARGET"
#: the warehouses the marts can be built in: DuckDB (the file the raw layer is loaded into) or PostgreSQL
#: (PROCURE_PG_* variables; the raw layer is mirrored there before dbt runs)
WAREHOUSE_TARGETS = ("duckdb", "postgres")


def warehouse_target() -> str:
    """Where dbt builds the marts, the quality gate checks them and publishing reads them: ``duckdb``
    (default) or ``postgres``, from ``PROCURE_DBT_TARGET``. The one place the choice is read: the tasks,
    the CLI's ``--target`` defaults and the DAGs all ask here. Ingest always writes the DuckDB raw layer."""
    value = os.environ.get(WAREHOUSE_TARGET_ENV) or "duckdb"
    if value not in WAREHOUSE_TARGETS:  # exactly as profiles.yml's target: no case or space folding
        raise ConfigError(
            f"{WAREHOUSE_TARGET_ENV}={value!r}: expected one of {', '.join(WAREHOUSE_TARGETS)} (unset means duckdb)"
        )
    return value


def dbt_project_dir() -> Path:
    return PROJECT_ROOT / "dbt_project"


def dbt_var(name: str) -> Any:
    """A var of dbt_project/dbt_project.yml (e.g. ``redacted_supplier_id``): where a rule both sides use is
    written once, the dbt models reading it with ``var()`` and Python with this."""
    path = dbt_project_dir() / "dbt_project.yml"
    values = read_yaml(path, "dbt project file").get("vars") or {}
    if name not in values:
        raise ConfigError(f"{path}: no var {name!r} under vars:")
    return values[name]


def placeholder_supplier_ids() -> tuple[str, str]:
    """The supplier_id of redacted payees and of payments with no payee stated (dbt vars
    redacted_supplier_id, unknown_supplier_id; dim_supplier.is_placeholder marks both)."""
    return str(dbt_var("redacted_supplier_id")), str(dbt_var("unknown_supplier_id"))


def cosmos_manifest_path() -> Path:
    """The dbt manifest the build_warehouse DAG renders its tasks from (one per model), written at set-up
    time by ``procure build --manifest-only``."""
    return dbt_project_dir() / "target" / "cosmos" / "manifest.json"


def dbt_target_dir() -> Path:
    """Where dbt writes manifest.json and run_results.json (``DBT_TARGET_PATH``, relative to dbt_project/)."""
    value = os.environ.get("DBT_TARGET_PATH")
    return dbt_project_dir() / value if value else dbt_project_dir() / "target"


def spend_aliases_path() -> Path:
    """The spend column alias table (header names, redaction patterns)."""
    return PROJECT_ROOT / "config" / "spend_column_aliases.yml"


def contract_aliases_path() -> Path:
    """The contract-register column alias table."""
    return PROJECT_ROOT / "config" / "contract_register_aliases.yml"


def notice_sources_path() -> Path:
    """The OCDS APIs to harvest (``PROCURE_NOTICE_SOURCES``)."""
    return path_from_env("PROCURE_NOTICE_SOURCES", "config/notice_sources.yml")


@dataclass(frozen=True)
class Council:
    """One council. Only ``id`` and ``name`` are required; see config/councils.yml."""

    id: str
    name: str
    spend_dir: Path
    spend_glob: str = "*"
    spend_urls: tuple[str, ...] = ()
    contracts_file: Path | None = None
    contracts_dir: Path | None = None
    contracts_glob: str = "*"
    contracts_urls: tuple[str, ...] = ()
    notices_dir: Path | None = None
    buyer_names: tuple[str, ...] = ()  # OCDS buyer names that are this council (load_councils: default its name)
    buyer_ids: tuple[str, ...] = ()  # OCDS buyer ids (GB-CFS-*, GB-PPON-*) that are this council
    ons_code: str | None = None
    local_postcode_prefixes: tuple[str, ...] = ()
    fiscal_year_start_month: int = 4
    publication_threshold_gbp: Decimal = Decimal("500")
    spend_overrides: dict[str, Any] = field(default_factory=dict)
    spend_file_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    board_name: str | None = None  # the board the monthly pack reports to (shown on its cover)
    #: globs of file names the council re-issues under the same name: a file matching one, named
    #: exactly like a loaded file of this council, replaces it (see procure.extract.spend_loader)
    spend_reissue_same_name: tuple[str, ...] = ()

    def overrides_for(self, file_name: str) -> dict[str, Any]:
        """Reader overrides for one file: the council's, then every matching per-file glob in order.

        A council's header-less month needs ``columns`` that its other months must not get,
        so ``spend_file_overrides`` maps a glob of file names (``*2025-03*.csv``) to overrides.
        """
        merged = dict(self.spend_overrides)
        for pattern, overrides in self.spend_file_overrides.items():
            if fnmatch.fnmatchcase(file_name, pattern):
                merged.update(overrides)
        return merged

    def reissues_under_same_name(self, file_name: str) -> bool:
        """A new version of ``file_name`` replaces the loaded one of that name (config, no evidence needed)."""
        return any(fnmatch.fnmatchcase(file_name, pattern) for pattern in self.spend_reissue_same_name)


def _resolve(value: str | None) -> Path | None:
    return None if value is None else project_path(value)


def _buyer_list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``buyer_names`` / ``buyer_ids``: a string or a list of strings; '|' is reserved (raw.councils joins on it)."""
    raw = entry.get(key) or []
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() and "|" not in v for v in values):
        raise ConfigError(f"{where}: {key} must be a list of non-empty names without '|', got {raw!r}")
    return tuple(" ".join(v.split()) for v in values)


def load_councils(path: Path | None = None) -> list[Council]:
    """Read and validate ``councils.yml``; every problem names the file and entry."""
    path = path or config_path()
    doc = read_yaml(path, "council configuration", " (set PROCURE_CONFIG, or PROCURE_HOME to the project folder)")
    entries = doc.get("councils")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list under 'councils:'")
    councils: list[Council] = []
    seen: set[str] = set()
    claimed: dict[tuple[str, str], str] = {}  # (buyer_names|buyer_ids, normalised value) -> council id
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: councils entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with at least 'id' and 'name'")
        for key in ("id", "name"):
            if not str(entry.get(key) or "").strip():
                raise ConfigError(f"{where}: '{key}' is required")
        cid = str(entry["id"]).strip()
        if not COUNCIL_ID.fullmatch(cid):
            shown = cid if len(cid) <= 70 else f"{cid[:60]}... ({len(cid)} characters)"
            raise ConfigError(
                f"{where}: key 'id': {shown!r} must be 1 to 63 ASCII lower-case letters, digits and '_' "
                "(not starting with '_'), e.g. south_norfolk"
            )
        if cid in seen:
            raise ConfigError(f"{where}: duplicate council id {cid!r}")
        seen.add(cid)
        fy_raw = entry.get("fiscal_year_start_month", 4)
        try:
            fy = int(fy_raw)
        except (TypeError, ValueError):
            fy = 0
        if not 1 <= fy <= 12:
            raise ConfigError(f"{where}: fiscal_year_start_month must be 1..12, got {fy_raw!r}")
        prefixes = entry.get("local_postcode_prefixes") or entry.get("local_postcode_districts") or []
        if isinstance(prefixes, str):
            prefixes = [p for p in prefixes.replace(",", " ").split() if p]
        threshold_raw = entry.get("publication_threshold_gbp", 500)
        try:
            threshold = Decimal(str(threshold_raw))
        except InvalidOperation:
            threshold = Decimal(-1)
        if threshold < 0:
            raise ConfigError(
                f"{where}: publication_threshold_gbp must be a non-negative amount, got {threshold_raw!r}"
            )
        file_overrides = entry.get("spend_file_overrides") or {}
        if not isinstance(file_overrides, dict) or not all(isinstance(v, dict) for v in file_overrides.values()):
            raise ConfigError(
                f"{where}: spend_file_overrides must map a file-name glob to overrides, "
                "e.g. {'*2025-03*': {columns: [...]}}"
            )
        reissue = entry.get("spend_reissue_same_name") or []
        reissue = [reissue] if isinstance(reissue, str) else reissue
        if not isinstance(reissue, list) or not all(isinstance(g, str) and g.strip() for g in reissue):
            raise ConfigError(
                f"{where}: spend_reissue_same_name must be a list of file-name globs, e.g. ['payments-*.csv'], "
                f"got {entry.get('spend_reissue_same_name')!r}"
            )
        for key in ("spend_urls", "contracts_urls"):
            urls = entry.get(key) or []
            if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
                raise ConfigError(f"{where}: {key} must be a list of URLs, got {urls!r}")
        buyers = {key: _buyer_list(entry, key, where) for key in ("buyer_names", "buyer_ids")}
        buyers["buyer_names"] = buyers["buyer_names"] or (str(entry["name"]).strip(),)
        for key, values in buyers.items():
            for value in values:
                owner = claimed.setdefault((key, " ".join(value.upper().split())), cid)
                if owner != cid:
                    raise ConfigError(f"{where}: {key} {value!r} is already council {owner!r}'s")
        councils.append(
            Council(
                id=cid,
                name=str(entry["name"]).strip(),
                spend_dir=_resolve(entry.get("spend_dir")) or PROJECT_ROOT / "data/drop" / cid / "spend",
                spend_glob=str(entry.get("spend_glob", "*")),
                spend_urls=tuple(entry.get("spend_urls") or ()),
                contracts_file=_resolve(entry.get("contracts_file")),
                contracts_dir=_resolve(entry.get("contracts_dir")) or PROJECT_ROOT / "data/drop" / cid / "contracts",
                contracts_glob=str(entry.get("contracts_glob", "*")),
                contracts_urls=tuple(entry.get("contracts_urls") or ()),
                notices_dir=_resolve(entry.get("notices_dir")),
                buyer_names=buyers["buyer_names"],
                buyer_ids=buyers["buyer_ids"],
                ons_code=str(entry["ons_code"]).strip() if entry.get("ons_code") else None,
                local_postcode_prefixes=tuple(str(p).upper().strip() for p in prefixes),
                fiscal_year_start_month=fy,
                publication_threshold_gbp=threshold,
                spend_overrides=dict(entry.get("spend_overrides") or {}),
                spend_file_overrides={str(k): dict(v) for k, v in file_overrides.items()},
                board_name=str(entry["board_name"]).strip() if entry.get("board_name") else None,
                spend_reissue_same_name=tuple(g.strip() for g in reissue),
            )
        )
    return councils


def get_council(council_id: str, path: Path | None = None) -> Council:
    for council in load_councils(path):
        if council.id == council_id:
            return council
    raise ConfigError(f"{path or config_path()}: no council with id {council_id!r}")
