"""The quality stage as the orchestration layer runs it (``run_checks`` task).

Checks the business day (findings, quarantine, scores), then the gates: a
failed gate raises :class:`review_pipeline.errors.GateFailed` and the DAG stops
before the warehouse is built.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from review_pipeline.settings import Settings


def run_checks(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """Run every rule for the day, then the gates. Returns a small JSON summary."""
    from review_pipeline.quality.gates import run_gates
    from review_pipeline.quality.run import run_checks as check_days

    if dry_run:
        return {"business_date": business_date.isoformat(), "dry_run": True, "checked": False}
    checked = check_days(settings, business_date)
    gates = run_gates(settings, business_date)
    return {
        "rows_in": checked["lead_days"],
        "rows_out": checked["findings"],
        "rows_quarantined": checked["quarantined"],
        "check_run_id": checked["run_id"],
        "findings_by_rule": checked["findings_by_rule"],
        "gates": gates["gates"],
        "data_docs": checked["data_docs"],
    }
