"""Build the report marts for a review date: the stage functions of the DAGs.

Every build of a review date replaces that date's rows of each table it
builds (``delete`` + ``insert``) in ONE transaction under the step lock
``reports.build`` for that date, so a failed build leaves the previous rows
and rebuilding a date gives the same rows. Nothing here reads the clock: the
review date is a parameter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from review_pipeline.db import (
    build_transaction,
    sql_clauses,
    step_lock,
    warehouse_engine,
)
from review_pipeline.reports.catalog import Cadence, Report, reports_for
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ calendar
def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after the month starting ``first``."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(month_start(day), 1) - timedelta(days=1)


def same_day_last_year(day: date) -> date:
    """The same calendar day a year earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def accuracy_month(day: date) -> date:
    """The month R8 reports: the review month on its last day, else the month before."""
    if day == month_end(day):
        return month_start(day)
    return add_months(month_start(day), -1)


def report_params(settings: Settings, review_date: date) -> dict[str, Any]:
    """Every bind parameter the report SQL uses, derived from the review date."""
    m = month_start(review_date)
    ly = same_day_last_year(review_date)
    flags = settings.check_flags
    return {
        "review_date": review_date,
        "prev_date": review_date - timedelta(days=7),
        "week_start": review_date - timedelta(days=6),
        "month_start": m,
        "month_end": month_end(review_date),
        "next_month_start": add_months(m, 1),
        "second_month_start": add_months(m, 2),
        "third_month_start": add_months(m, 3),
        "year_start": date(review_date.year, 1, 1),
        "ly_date": ly,
        "ly_year_start": date(ly.year, 1, 1),
        "accuracy_month": accuracy_month(review_date),
        "volatility_months": settings.reports.volatility_months,
        "volatility_min_months": settings.reports.volatility_min_months,
        "red_no_update_days": flags.red_no_update_days,
        "yellow_date_moved_days": flags.yellow_date_moved_days,
        "yellow_no_visit_days": flags.yellow_no_visit_days,
        "yellow_stage_unchanged_days": flags.yellow_stage_unchanged_days,
    }


# ---------------------------------------------------------------------- build
def _statements(table: str) -> tuple[sa.TextClause, ...]:
    return sql_clauses(f"reports/{table}.sql")


def build_reports(
    settings: Settings,
    review_date: date,
    reports: Iterable[Report],
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Rebuild ``reports`` for ``review_date`` in one transaction; returns row counts.

    A dry run builds inside the transaction, counts, and rolls back.
    """
    chosen = list(reports)
    params = report_params(settings, review_date)
    counts: dict[str, int] = {}
    timings: dict[str, int] = {}
    engine = warehouse_engine(settings)
    with engine.connect() as conn:
        with build_transaction(conn, dry_run=dry_run):
            conn.execute(sa.text("set local jit = off"))
            with step_lock(
                conn,
                "reports.build",
                review_date.isoformat(),
                wait_seconds=float(settings.lock_timeout_seconds),
            ):
                for report in chosen:
                    started = time.monotonic()
                    for clause in _statements(report.table):
                        wanted = {k: v for k, v in params.items() if k in clause._bindparams}
                        conn.execute(clause, wanted)
                    counts[report.table] = conn.execute(
                        sa.text(f"select count(*) from mart.{report.table} where review_date = :d"),
                        {"d": review_date},
                    ).scalar_one()
                    timings[report.table] = int((time.monotonic() - started) * 1000)
    log.info(
        "reports for %s: %s%s", review_date, counts, " (dry run, rolled back)" if dry_run else ""
    )
    return {
        "review_date": review_date.isoformat(),
        "rows_out": sum(counts.values()),
        "tables": counts,
        "milliseconds": timings,
        "dry_run": dry_run,
    }


def build_cadence(
    settings: Settings, review_date: date, cadence: Cadence, *, dry_run: bool = False
) -> dict[str, Any]:
    """Build every report refreshed by ``cadence`` (daily, weekly, monthly)."""
    result = build_reports(settings, review_date, reports_for(cadence), dry_run=dry_run)
    result["cadence"] = cadence
    return result


def _check_scope(scope: str) -> None:
    # The marts hold every business unit and the whole org; a scope is chosen
    # when the rows are read (review_pipeline.reports.scope), never at build time.
    if scope not in ("all", "", None):
        log.info(
            "report builds always cover the whole org; scope %r is applied when reading", scope
        )


# ------------------------------------------------------------- stage functions
def build_daily_marts(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """The daily marts as of ``business_date`` (all but R6 lead ledger and R8 plan accuracy)."""
    _check_scope(scope)
    return build_cadence(settings, business_date, "daily", dry_run=dry_run)


def build_weekly_reports(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """All nine reports for the review date (the Sunday ending the week)."""
    _check_scope(scope)
    if business_date.isoweekday() != 7:
        log.warning("weekly reports built for %s, which is not a Sunday", business_date)
    return build_cadence(settings, business_date, "weekly", dry_run=dry_run)


def close_month(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """Month-end review: all reports for the month's last day, R8 for the closed month."""
    _check_scope(scope)
    if business_date != month_end(business_date):
        log.warning(
            "close_month for %s, which is not a month end; R8 reports %s",
            business_date,
            accuracy_month(business_date).strftime("%Y-%m"),
        )
    return build_cadence(settings, business_date, "monthly", dry_run=dry_run)
