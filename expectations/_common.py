"""Helpers shared by the suites: severity tags."""

from __future__ import annotations

from typing import Any


def _meta(severity: str, observed: str | None) -> dict[str, str]:
    """``observed="unexpected_values"``: the gate records the failing values themselves (e.g. the
    files a flag names), not the share of rows that failed."""
    return {"severity": severity, **({"observed": observed} if observed else {})}


def critical(expectation_cls: type, observed: str | None = None, **kwargs: Any):
    """An expectation whose failure blocks publishing."""
    return expectation_cls(meta=_meta("critical", observed), **kwargs)


def warning(expectation_cls: type, observed: str | None = None, **kwargs: Any):
    """An expectation whose failure is reported in the board pack's data-quality panel."""
    return expectation_cls(meta=_meta("warning", observed), **kwargs)
