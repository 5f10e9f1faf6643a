"""The checks' speed target, measured: all checks for one day vs one single-pass scan.

Issue 4's target: "all checks for one day take <= 2x one hand-written
single-pass SQL scan of the same tables". :func:`measure_checks` times, in
one run and on the same warehouse:

* ``scan_seconds`` - ``sql/quality/reference_scan.sql``: one query that reads
  every table the checks read exactly once and counts every rule's hits for
  the day (nothing written; best of ``scan_runs`` runs after a warm-up, so
  both sides read a warm cache);
* ``checks_seconds`` - :func:`review_pipeline.quality.run.run_checks` for the
  day: working tables, every rule into ``dq.finding``, quarantine, scores,
  compliance, Great Expectations validation of the findings (with Data Docs
  unless ``REVIEW_QUALITY__DATA_DOCS=false``) and the validation record.

The Great Expectations context is created before the clock starts and
reported on its own (``gx_setup_seconds``): it is a fixed cost per process,
not per day of checks. ``ratio`` = checks_seconds / scan_seconds.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from review_pipeline.db import read_sql, warehouse_engine
from review_pipeline.settings import Settings

TARGET_RATIO = 2.0


def reference_scan(settings: Settings, day: date) -> dict[str, Any]:
    """Run the single-pass reference scan for ``day``; returns its counts and seconds."""
    engine = warehouse_engine(settings)
    statement = sa.text(read_sql("quality/reference_scan.sql").strip().rstrip(";"))
    with engine.connect() as conn:
        conn.execute(sa.text("set jit = off"))
        conn.execute(sa.text("set work_mem = '64MB'"))
        started = time.perf_counter()
        row = conn.execute(statement, {"business_date": day, "tz": settings.timezone}).one()
        seconds = time.perf_counter() - started
        conn.rollback()
    return {"seconds": seconds, "counts": {k: int(v or 0) for k, v in row._mapping.items()}}


def measure_checks(settings: Settings, day: date, *, scan_runs: int = 3) -> dict[str, Any]:
    """Time all checks for ``day`` and the reference scan in one run; report the ratio.

    Returns ``checks_seconds``, ``scan_seconds``, ``ratio`` (checks / scan),
    ``target_ratio``, ``met``, ``gx_setup_seconds`` and the checks' own split
    (prepare / rules / validate) and counts.
    """
    from review_pipeline.quality.gx import get_context
    from review_pipeline.quality.run import run_checks

    started = time.perf_counter()
    get_context(settings.home)
    gx_setup = time.perf_counter() - started

    reference_scan(settings, day)  # warm-up: both sides read a warm cache
    scans = [reference_scan(settings, day) for _ in range(max(1, scan_runs))]
    scan_seconds = min(s["seconds"] for s in scans)

    started = time.perf_counter()
    summary = run_checks(settings, day)
    checks_seconds = time.perf_counter() - started

    engine = warehouse_engine(settings)
    with engine.connect() as conn:
        split = conn.execute(
            sa.text(
                "select statistics -> 'seconds' from dq.validation_run"
                " where run_id = :run_id order by start_date limit 1"
            ),
            {"run_id": summary["run_id"]},
        ).scalar_one_or_none()
    ratio = checks_seconds / scan_seconds if scan_seconds > 0 else None
    return {
        "day": day.isoformat(),
        "checks_seconds": round(checks_seconds, 4),
        "scan_seconds": round(scan_seconds, 4),
        "ratio": round(ratio, 2) if ratio is not None else None,
        "target_ratio": TARGET_RATIO,
        "met": ratio is not None and ratio <= TARGET_RATIO,
        "gx_setup_seconds": round(gx_setup, 3),
        "checks_split_seconds": split,
        "lead_days": summary["lead_days"],
        "findings": summary["findings"],
        "scan_counts": scans[0]["counts"],
    }
