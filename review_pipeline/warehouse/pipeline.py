"""The warehouse stage as the orchestration calls it (task ``build_warehouse``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from review_pipeline.settings import Settings


def build_warehouse(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> Mapping[str, Any]:
    """Build the warehouse for one business day (see :func:`review_pipeline.warehouse.build.build_day`).

    The warehouse is always built whole (``scope`` narrows reports, not the
    star schema); ``dry_run`` only reports what the day would read.
    """
    from review_pipeline.warehouse.build import build_day

    if dry_run:
        return {"business_date": business_date.isoformat(), "dry_run": True}
    summary = dict(build_day(settings, business_date))
    summary.setdefault("rows_out", summary.get("rows_written"))
    return summary
