"""Assets the DAGs hand over through (data-aware scheduling, no sensors).

Task defaults (owner, retries, timeouts, priorities, the writer pool, callbacks) are in
``procure.dag_defaults``.
"""

from __future__ import annotations

from airflow.sdk import Asset

RAW_SPEND = Asset("warehouse://raw/spend_lines")
RAW_CONTRACTS = Asset("warehouse://raw/contracts")
RAW_NOTICES = Asset("warehouse://raw/notice_releases")
MARTS = Asset("warehouse://marts")
GATED_MARTS = Asset("warehouse://marts/quality_gated")
