"""Data behind the "Sales Review" page of the Airflow UI plugin.

Plain functions returning plain data, so the page stays a thin renderer and
the queries are testable without a web server. Later stages add sections
(check results, quarantine counts, delivery status, the Data Docs link) to
:func:`review_status`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from review_pipeline.settings import Settings

STEP_RUN_COLUMNS = (
    "run_id",
    "step",
    "business_date",
    "status",
    "rows_in",
    "rows_out",
    "rows_quarantined",
    "started_at",
    "finished_at",
    "duration_ms",
    "error_text",
    "airflow_run_id",
)

MAX_ROWS = 500


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def latest_step_runs(settings: Settings | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest rows of ``ops.step_run``, newest first (empty before the first migration)."""
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.settings import load_settings

    limit = max(1, min(int(limit), MAX_ROWS))
    engine = warehouse_engine(settings or load_settings(from_airflow=True))
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass('ops.step_run')")).scalar() is None:
            return []
        rows = conn.execute(
            sa.text(
                f"select {', '.join(STEP_RUN_COLUMNS)} from ops.step_run"
                " order by started_at desc, run_id desc limit :limit"
            ),
            {"limit": limit},
        ).mappings()
        return [{k: _jsonable(v) for k, v in row.items()} for row in rows]


def review_status(settings: Settings | None = None, *, limit: int = 50) -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict."""
    from review_pipeline.settings import load_settings

    resolved = settings or load_settings(from_airflow=True)
    return {"step_runs": latest_step_runs(resolved, limit=limit)}
