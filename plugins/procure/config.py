"""Project paths and council configuration.

Everything that differs between installations is read here, never in DAG files:
the warehouse path (``PROCURE_WAREHOUSE``), the council list (``PROCURE_CONFIG``),
the publish root (``PROCURE_PUBLISH_DIR``) and the sample/landing data roots.
Relative paths in ``councils.yml`` resolve against the project root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(os.environ.get("PROCURE_HOME", Path(__file__).resolve().parents[2]))


class ConfigError(ValueError):
    """The council configuration is invalid; the message names the file and entry."""


def _path_from_env(var: str, default: str) -> Path:
    value = Path(os.environ.get(var, default))
    return value if value.is_absolute() else PROJECT_ROOT / value


def warehouse_path() -> Path:
    return _path_from_env("PROCURE_WAREHOUSE", "warehouse/procurement.duckdb")


def config_path() -> Path:
    return _path_from_env("PROCURE_CONFIG", "config/councils.yml")


def publish_dir() -> Path:
    return _path_from_env("PROCURE_PUBLISH_DIR", "publish")


def dbt_project_dir() -> Path:
    return PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class Council:
    """One council. Only ``id`` and ``name`` are required; see config/councils.yml."""

    id: str
    name: str
    spend_dir: Path
    spend_glob: str = "*.csv"
    contracts_file: Path | None = None
    notices_dir: Path | None = None
    local_postcode_prefixes: tuple[str, ...] = ()
    fiscal_year_start_month: int = 4
    spend_overrides: dict[str, Any] = field(default_factory=dict)


def _resolve(value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else PROJECT_ROOT / p


def load_councils(path: Path | None = None) -> list[Council]:
    """Read and validate ``councils.yml``; every problem names the file and entry."""
    path = path or config_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: council configuration not found (set PROCURE_CONFIG)") from exc
    entries = doc.get("councils")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list under 'councils:'")
    councils: list[Council] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: councils entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with at least 'id' and 'name'")
        for key in ("id", "name"):
            if not str(entry.get(key) or "").strip():
                raise ConfigError(f"{where}: '{key}' is required")
        cid = str(entry["id"]).strip()
        if not cid.replace("_", "").isalnum() or cid.lower() != cid:
            raise ConfigError(f"{where}: id {cid!r} must be lower-case letters, digits and '_'")
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
        prefixes = entry.get("local_postcode_prefixes") or []
        if isinstance(prefixes, str):
            prefixes = [p for p in prefixes.replace(",", " ").split() if p]
        councils.append(
            Council(
                id=cid,
                name=str(entry["name"]).strip(),
                spend_dir=_resolve(entry.get("spend_dir")) or PROJECT_ROOT / "data/landing" / cid / "spend",
                spend_glob=str(entry.get("spend_glob", "*.csv")),
                contracts_file=_resolve(entry.get("contracts_file")),
                notices_dir=_resolve(entry.get("notices_dir")),
                local_postcode_prefixes=tuple(str(p).upper().strip() for p in prefixes),
                fiscal_year_start_month=fy,
                spend_overrides=dict(entry.get("spend_overrides") or {}),
            )
        )
    return councils


def get_council(council_id: str, path: Path | None = None) -> Council:
    for council in load_councils(path):
        if council.id == council_id:
            return council
    raise ConfigError(f"{path or config_path()}: no council with id {council_id!r}")
