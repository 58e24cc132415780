"""Helpers shared by the suites: severity tags."""

from __future__ import annotations

from typing import Any


def critical(expectation_cls: type, **kwargs: Any):
    """An expectation whose failure blocks publishing."""
    return expectation_cls(meta={"severity": "critical"}, **kwargs)


def warning(expectation_cls: type, **kwargs: Any):
    """An expectation whose failure is reported in the board pack's data-quality panel."""
    return expectation_cls(meta={"severity": "warning"}, **kwargs)
