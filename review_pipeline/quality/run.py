"""Run every rule for a business day or a range, inside PostgreSQL.

One pass per chunk of days (``chunk_days``, default 62):

1. ``dq.check_window`` gets the window and thresholds (bind parameters);
   ``dq.lead_day`` is rebuilt: every lead as it stood at the end of each day
   (sql/quality/lead_day.sql);
2. in ONE transaction the window's findings are replaced: every rule is
   evaluated once, set-based, by the SQL files the suite names (one scan per
   entity table) inserted straight into ``dq.finding``; error leads are
   quarantined, scores and report compliance recomputed;
3. Great Expectations validates those findings (suite ``expectations/``,
   batch = the window's findings, through a SQL data source): per rule the
   number of findings and a sample, plus integrity expectations on the
   findings; Data Docs are rebuilt under REVIEW_HOME;
4. the validation run is recorded, with GX's per-rule counts compared with
   the rows the SQL wrote (a difference or a failed integrity expectation
   marks the run unsuccessful).

A check run holds the step lock ``check``: the working tables are shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from review_pipeline.db import step_lock, warehouse_engine, warehouse_url
from review_pipeline.errors import UserError
from review_pipeline.ops import record_step
from review_pipeline.quality.calendar import fill_working_days
from review_pipeline.quality.config import QualitySettings, load_quality_settings
from review_pipeline.quality.gx import ValidationOutcome, get_context, prune_results, validate
from review_pipeline.quality.suites import Suite, load_suites, rule_sql, run_quality_sql
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

STEP = "check"
STAGING_READ = [
    "lead",
    "lead_history",
    "customer",
    "employee",
    "employee_assignment",
    "team",
    "visit",
    "daily_report",
    "sales_order",
]
# dq.lead_day columns whose statistics the rule and score statements' plans depend on
LEAD_DAY_PLANNED = (
    "business_date",
    "lead_id",
    "owner_id",
    "customer_id",
    "product_line_code",
    "is_open",
    "stage_rank",
)
WORK_MEM = "64MB"
"""``work_mem`` of the check statements (the history sorts spilled to disk with 4 MB)."""
CALENDAR_MARGIN_DAYS = 60  # back: working-day history for the gates
CALENDAR_AHEAD_DAYS = 21  # ahead: approval deadlines after the longest statutory break


def chunks(start: date, end: date, size: int) -> list[tuple[date, date]]:
    """Consecutive windows of at most ``size`` days covering ``start`` .. ``end``."""
    if size < 1:
        raise ValueError("chunk size must be at least 1 day")
    out = []
    current = start
    while current <= end:
        last = min(end, current + timedelta(days=size - 1))
        out.append((current, last))
        current = last + timedelta(days=1)
    return out


def _window_params(
    settings: Settings, q: QualitySettings, run_id: int, start: date, end: date
) -> dict[str, Any]:
    r = settings.rules
    return {
        "run_id": run_id,
        "start_date": start,
        "end_date": end,
        "tz": settings.timezone,
        "outlier_p99_multiple": r.outlier_p99_multiple,
        "stage_skip_steps": r.stage_skip_steps,
        "no_visit_days": r.no_visit_days,
        "duplicate_amount_tolerance": r.duplicate_amount_tolerance,
        "ordered_match_days": r.ordered_match_days,
        "ordered_amount_tolerance": r.ordered_amount_tolerance,
        "backfill_days": r.backfill_days,
        "approval_working_days": r.approval_working_days,
        "future_tolerance_hours": q.future_tolerance_hours,
        "error_weight": r.error_weight,
        "warn_weight": r.warn_weight,
    }


def _insert_rule_rows(conn: Connection, sql_file: str, run_id: int) -> int:
    """Evaluate one rule file (a select of finding rows) into dq.finding; returns the rows."""
    # The rule file is a plain select; composing two static texts, values stay bound.
    statement = (
        "insert into dq.finding (business_date, rule_id, entity_type, entity_id, severity,"
        " owner_id, details, run_id) select r.business_date, r.rule_id, r.entity_type,"
        " r.entity_id, r.severity, r.owner_id, r.details, :run_id from ("
        + rule_sql(sql_file)
        + "\n) as r"
    )
    return int(conn.execute(sa.text(statement), {"run_id": run_id}).rowcount or 0)


def _write_findings(
    conn: Connection, suites: list[Suite], params: dict[str, Any]
) -> dict[str, Any]:
    """Replace the window's findings (each rule file once), quarantine, scores, compliance."""
    run_id = params["run_id"]
    run_quality_sql(conn, "quality/finding_clear.sql", params)
    seconds: dict[str, float] = {}
    for suite in suites:
        for sql_file in suite.rule_files():
            started = time.monotonic()
            _insert_rule_rows(conn, sql_file, run_id)
            seconds[sql_file] = round(time.monotonic() - started, 3)
    # the findings just written are what the scores join: without statistics the planner
    # takes the window's findings for one row and nests a scan of dq.lead_day per customer
    # finding (medium, 30 days: authenticity_score ran over 8 minutes instead of seconds)
    conn.execute(sa.text("analyze dq.finding (entity_type, rule_id, business_date, entity_id)"))
    for name in ("lead_quarantine", "authenticity_score", "report_compliance"):
        started = time.monotonic()
        run_quality_sql(conn, f"quality/{name}.sql", params)
        seconds[name] = round(time.monotonic() - started, 3)
    counts = conn.execute(
        sa.text(
            "select rule_id, severity, count(*) as n from dq.finding"
            " where business_date between :start_date and :end_date"
            " group by rule_id, severity order by rule_id, severity"
        ),
        params,
    ).all()
    by_rule: dict[str, dict[str, int]] = {}
    for row in counts:
        by_rule.setdefault(row.rule_id, {"error": 0, "warn": 0})[row.severity] = int(row.n)
    quarantined = conn.execute(
        sa.text(
            "select count(*) from dq.lead_quarantine where business_date between :start_date and :end_date"
        ),
        params,
    ).scalar_one()
    lead_days = conn.execute(sa.text("select count(*) from dq.lead_day")).scalar_one()
    return {
        "findings_by_rule": by_rule,
        "findings": sum(v["error"] + v["warn"] for v in by_rule.values()),
        "quarantined": int(quarantined),
        "lead_days": int(lead_days),
        "statement_seconds": seconds,
    }


def _compare(
    outcome: ValidationOutcome, by_rule: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """Rules whose finding count seen by GX differs from the rows the SQL wrote."""
    mismatches = []
    seen: set[tuple[str, str]] = set()
    for o in outcome.expectations:
        if o.rule_id is None or o.severity is None:
            continue
        seen.add((o.rule_id, o.severity))
        written = by_rule.get(o.rule_id, {}).get(o.severity, 0)
        if o.unexpected_count != written:
            mismatches.append({"rule_id": o.rule_id, "gx": o.unexpected_count, "sql": written})
    for rule_id, counts in by_rule.items():
        for severity, n in counts.items():
            if n and (rule_id, severity) not in seen:
                mismatches.append({"rule_id": rule_id, "severity": severity, "gx": None, "sql": n})
    return mismatches


def _record_validation(
    conn: Connection,
    params: dict[str, Any],
    started: float,
    outcome: ValidationOutcome,
    stats: dict[str, Any],
) -> None:
    import json

    statistics = {
        "findings_by_rule": stats["findings_by_rule"],
        "lead_days": stats["lead_days"],
        "gx_sql_mismatches": stats["gx_sql_mismatches"],
        "integrity_failures": stats["integrity_failures"],
        "seconds": stats["seconds"],
        "statement_seconds": stats["statement_seconds"],
        "expectations": [
            {
                "suite": o.suite,
                "rule_id": o.rule_id,
                "severity": o.severity,
                "expectation": o.label,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
            }
            for o in outcome.expectations
        ],
        "duration_s": round(time.monotonic() - started, 3),
    }
    conn.execute(
        sa.text(
            "insert into dq.validation_run (run_id, start_date, end_date, started_at, finished_at,"
            " success, gx_success, findings, quarantined, statistics, data_docs_path)"
            " values (:run_id, :start_date, :end_date, now() - make_interval(secs => :elapsed),"
            " clock_timestamp(), :success, :gx_success, :findings, :quarantined,"
            " cast(:statistics as jsonb), :docs)"
            " on conflict (run_id, start_date) do update set end_date = excluded.end_date,"
            " finished_at = excluded.finished_at, success = excluded.success,"
            " gx_success = excluded.gx_success, findings = excluded.findings,"
            " quarantined = excluded.quarantined, statistics = excluded.statistics,"
            " data_docs_path = excluded.data_docs_path"
        ),
        {
            **params,
            "elapsed": time.monotonic() - started,
            "success": not stats["gx_sql_mismatches"] and not stats["integrity_failures"],
            "gx_success": outcome.success,
            "findings": stats["findings"],
            "quarantined": stats["quarantined"],
            "statistics": json.dumps(statistics, default=str),
            "docs": outcome.data_docs,
        },
    )


def refresh_statistics(engine: Engine) -> list[str]:
    """ANALYZE the staging tables whose statistics are missing or stale; returns their names."""
    from review_pipeline.db import read_sql

    with engine.connect() as conn:
        stale = [
            str(name)
            for name in conn.execute(
                sa.text(read_sql("quality/stale_statistics.sql")), {"tables": STAGING_READ}
            ).scalars()
        ]
        for name in stale:
            if name.split(".", 1)[1] not in STAGING_READ:  # never interpolate anything else
                continue
            conn.execute(sa.text(f"analyze {name}"))
        conn.commit()
    return stale


def _session_settings(conn: Connection) -> None:
    # JIT compilation (triggered by the planner's estimates on freshly filled
    # working tables) costs more than it saves on these short statements; the
    # history sorts spill to disk with the default 4 MB of work memory.
    conn.execute(sa.text("set local jit = off"))
    conn.execute(sa.text(f"set local work_mem = '{WORK_MEM}'"))


def gx_url(settings: Settings) -> str:
    """The warehouse URL for GX's own engine, with the same session settings as ours."""
    url = warehouse_url(settings)
    options = f"-c jit=off -c timezone={settings.timezone}"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def prepare_gx(home: Path) -> threading.Thread:
    """Create the Great Expectations context in a background thread; returns the thread.

    Importing GX and creating its context costs seconds of Python per process;
    started before the SQL of the checks, it runs while this process only waits
    for PostgreSQL, and the validation finds it made. A failure here is left
    to the validation, which creates the context itself and reports it.
    """

    def work() -> None:
        try:
            get_context(home)
        except Exception:  # noqa: BLE001 - validate() raises it again, with context
            log.debug("preparing the GX context in the background failed", exc_info=True)

    thread = threading.Thread(target=work, name="gx-context", daemon=True)
    thread.start()
    return thread


def check_window(
    engine: Engine,
    settings: Settings,
    q: QualitySettings,
    suites: list[Suite],
    run_id: int,
    start: date,
    end: date,
    *,
    gx_ready: threading.Thread | None = None,
) -> dict[str, Any]:
    """Check one window in one pass (see the module docstring).

    ``gx_ready``: the thread of :func:`prepare_gx`, waited for before the validation.
    """
    started = time.monotonic()
    params = _window_params(settings, q, run_id, start, end)
    with engine.begin() as conn:
        _session_settings(conn)
        run_quality_sql(conn, "quality/check_window.sql", params)
        # planner statistics of the working tables: without them the one-row window
        # is estimated at hundreds of rows and every join with it materialises
        conn.execute(sa.text("analyze dq.check_window"))
        run_quality_sql(conn, "quality/lead_day.sql", params)
        # only the columns the rules join, group and filter on (all 21: twice the time)
        conn.execute(sa.text(f"analyze dq.lead_day ({', '.join(LEAD_DAY_PLANNED)})"))
    prepared = time.monotonic()
    with engine.begin() as conn:
        _session_settings(conn)
        stats = _write_findings(conn, suites, params)
    written = time.monotonic()
    if gx_ready is not None:
        gx_ready.join()
    prune_results(settings.home, q.gx_keep_runs)
    outcome = validate(
        settings.home,
        gx_url(settings),
        suites,
        f"check-{run_id}-{start.isoformat()}",
        data_docs=q.data_docs,
    )
    validated = time.monotonic()
    stats["gx_sql_mismatches"] = _compare(outcome, stats["findings_by_rule"])
    stats["integrity_failures"] = [
        {"expectation": o.label, "unexpected_count": o.unexpected_count, "sample": o.sample}
        for o in outcome.integrity_failures
    ]
    stats["seconds"] = {
        "prepare": round(prepared - started, 2),
        "rules": round(written - prepared, 2),
        "validate": round(validated - written, 2),
    }
    with engine.begin() as conn:
        _record_validation(conn, params, started, outcome, stats)
    if stats["gx_sql_mismatches"]:
        log.warning("GX and SQL disagree on %s", stats["gx_sql_mismatches"])
    if stats["integrity_failures"]:
        log.warning("findings fail integrity expectations: %s", stats["integrity_failures"])
    log.info(
        "checked %s..%s: %s lead-days, %s findings, %s quarantined (%.1f s: %s)",
        start,
        end,
        stats["lead_days"],
        stats["findings"],
        stats["quarantined"],
        time.monotonic() - started,
        stats["seconds"],
    )
    return {**stats, "gx_success": outcome.success, "data_docs": outcome.data_docs}


def run_checks(settings: Settings, start: date, end: date | None = None) -> dict[str, Any]:
    """Check business days ``start`` .. ``end`` (one day when ``end`` is None).

    Returns a small JSON summary: run id, window, findings per rule,
    quarantined lead-days, Data Docs location.
    """
    end = end or start
    if end < start:
        raise UserError(f"--end {end} is before --date {start}")
    q = load_quality_settings()
    suites = load_suites()
    engine = warehouse_engine(settings)
    totals: Counter[str] = Counter()
    by_rule: dict[str, Counter[str]] = {}
    mismatches: list[dict[str, Any]] = []
    integrity: list[dict[str, Any]] = []
    docs = None
    gx_success = True
    started = time.monotonic()
    gx_ready = prepare_gx(settings.home)
    with record_step(engine, STEP, start) as step:
        with engine.connect() as lock_conn:
            with lock_conn.begin(), step_lock(lock_conn, STEP, wait_seconds=5):
                with engine.begin() as conn:
                    fill_working_days(
                        conn,
                        start - timedelta(days=CALENDAR_MARGIN_DAYS),
                        end
                        + timedelta(
                            days=CALENDAR_AHEAD_DAYS + settings.rules.approval_working_days
                        ),
                    )
                analyzed = refresh_statistics(engine)
                if analyzed:
                    log.info("analyzed %s (statistics were missing or stale)", ", ".join(analyzed))
                for chunk_start, chunk_end in chunks(start, end, q.chunk_days):
                    part = check_window(
                        engine,
                        settings,
                        q,
                        suites,
                        step.run_id,
                        chunk_start,
                        chunk_end,
                        gx_ready=gx_ready,
                    )
                    for key in ("findings", "quarantined", "lead_days"):
                        totals[key] += part[key]
                    for rule, counts in part["findings_by_rule"].items():
                        by_rule.setdefault(rule, Counter()).update(counts)
                    mismatches.extend(part["gx_sql_mismatches"])
                    integrity.extend(part["integrity_failures"])
                    docs = part["data_docs"]
                    gx_success = gx_success and bool(part["gx_success"])
        step.rows_in = totals["lead_days"]
        step.rows_out = totals["findings"]
        step.rows_quarantined = totals["quarantined"]
        summary = {
            "run_id": step.run_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": (end - start).days + 1,
            "lead_days": totals["lead_days"],
            "findings": totals["findings"],
            "quarantined": totals["quarantined"],
            "findings_by_rule": {k: dict(v) for k, v in sorted(by_rule.items())},
            "all_rules_passed": gx_success,
            "gx_sql_mismatches": mismatches,
            "integrity_failures": integrity,
            "data_docs": docs,
            "duration_s": round(time.monotonic() - started, 2),
        }
        step.details.update({k: v for k, v in summary.items() if k != "run_id"})
    return summary
