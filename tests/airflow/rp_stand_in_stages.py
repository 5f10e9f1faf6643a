"""Stand-in stage functions for whole-DAG tests.

The DAG tests check the orchestration (scheduling, business dates, pools,
records, Celery, the REST API), not the stages: those need a simulated world
and are tested by their own suites. ``REVIEW_STAGES`` points every stage here.
The stand-in touches the warehouse through the settings it is given, so a
task that cannot reach it still fails.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from review_pipeline.orchestration import STAGES


def stand_in(settings: Any, business_date: date, *, scope: str, dry_run: bool) -> dict[str, Any]:
    from review_pipeline.db import warehouse_engine

    with warehouse_engine(settings).connect() as conn:
        earlier = conn.execute(
            sa.text("select count(*) from ops.step_run where business_date = :d"),
            {"d": business_date},
        ).scalar_one()
    return {"rows_in": earlier, "rows_out": 0, "stand_in": True}


def stages_env() -> str:
    """The REVIEW_STAGES value sending every stage to :func:`stand_in`."""
    return json.dumps({step: f"{__name__}:stand_in" for step in STAGES})
