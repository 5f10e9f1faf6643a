"""Operations records: every run of every step, with counts, timings and errors.

The record is written on its own connection, so a step whose transaction
rolls back still leaves a ``failed`` row that says why.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


@dataclass
class StepRun:
    """What a running step reports about itself; filled in by the step."""

    run_id: int
    step: str
    business_date: date | None
    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A small JSON-able summary (what an Airflow task returns)."""
        out: dict[str, Any] = {"run_id": self.run_id, "step": self.step}
        if self.business_date:
            out["business_date"] = self.business_date.isoformat()
        for name in ("rows_in", "rows_out", "rows_quarantined"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.details)
        return out


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


@contextmanager
def record_step(
    engine: Engine,
    step: str,
    business_date: date | None = None,
    *,
    window: tuple[datetime, datetime] | None = None,
) -> Generator[StepRun, None, None]:
    """Record a run of ``step`` in ``ops.step_run`` around the ``with`` body."""
    airflow_run_id = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
    with engine.begin() as conn:
        run_id = conn.execute(
            sa.text(
                "insert into ops.step_run (step, business_date, window_start, window_end, host, pid,"
                " airflow_run_id) values (:step, :d, :ws, :we, :host, :pid, :arid) returning run_id"
            ),
            {
                "step": step,
                "d": business_date,
                "ws": window[0] if window else None,
                "we": window[1] if window else None,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "arid": airflow_run_id,
            },
        ).scalar_one()
    run = StepRun(run_id=run_id, step=step, business_date=business_date)
    log.info(
        "step %s started (run %s%s)",
        step,
        run_id,
        f", date {business_date}" if business_date else "",
    )
    try:
        yield run
    except BaseException as exc:
        _finish(engine, run, "failed", f"{type(exc).__name__}: {exc}")
        log.error("step %s failed (run %s): %s", step, run_id, exc)
        raise
    _finish(engine, run, "success", None)
    log.info("step %s succeeded (run %s): %s", step, run_id, run.summary())


def _finish(engine: Engine, run: StepRun, status: str, error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update ops.step_run set status = :status, finished_at = clock_timestamp(),"
                " rows_in = :rin, rows_out = :rout, rows_quarantined = :rq,"
                " details = cast(:details as jsonb), error_text = :err where run_id = :id"
            ),
            {
                "status": status,
                "rin": run.rows_in,
                "rout": run.rows_out,
                "rq": run.rows_quarantined,
                "details": json.dumps(run.details, default=_json_default, ensure_ascii=False),
                "err": error,
                "id": run.run_id,
            },
        )
