"""Build the advice items of a review date: the ``build_advice`` stage.

One build per review date covers the whole company and every business unit:
the date's items are deleted, every rule's ``insert ... select`` runs, the
date is recorded in ``mart.advice_run`` and the memory (``since_date``) of
this date's items and of every later date's is recomputed, all in ONE
transaction under the step lock ``advice.build`` (one build at a time: the
memory of a date depends on the dates before it, so builds of different
dates are serialised too). A failed build leaves the previous items; a
rebuild gives the same items; dates may be (re)built in any order. Scopes
and "resolved" are applied when reading
(:func:`review_pipeline.advice.api.advice_for`).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from review_pipeline.advice.rules import RULES, rule_params
from review_pipeline.db import (
    build_transaction,
    sql_clauses,
    step_lock,
    warehouse_engine,
)
from review_pipeline.errors import UserError
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

# The marts the rules read (rows_in counts their rows of the review date).
SOURCE_TABLES: tuple[str, ...] = (
    "rpt_region_month_attainment",
    "rpt_reservoir",
    "rpt_top_lead",
    "rpt_lead_ledger",
    "rpt_authenticity_scorecard",
    "rpt_receivable",
    "rpt_plan_accuracy",
)


def _statements(file: str) -> tuple[sa.TextClause, ...]:
    return sql_clauses(f"advice/{file}.sql")


def _source_counts(conn: sa.Connection, review_date: date) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in SOURCE_TABLES:
        counts[table] = conn.execute(
            sa.text(f"select count(*) from mart.{table} where review_date = :d"),
            {"d": review_date},
        ).scalar_one()
    return counts


def _thresholds(settings: Settings) -> dict[str, Any]:
    return json.loads(settings.advice.model_dump_json())


def _update_memory(conn: sa.Connection, review_date: date) -> int:
    """Set ``since_date`` of ``review_date``'s items, then of later built dates as needed.

    An item's since_date depends only on the previous built date's items, so
    after this date the cascade goes on to the next built date (whose
    previous date is now this one) and further only while a date's values
    changed. Returns how many dates were updated.
    """
    (clause,) = _statements("memory")
    dates = list(
        conn.execute(
            sa.text("select review_date from mart.advice_run where review_date >= :d order by 1"),
            {"d": review_date},
        ).scalars()
    )
    prev = conn.execute(
        sa.text("select max(review_date) from mart.advice_run where review_date < :d"),
        {"d": review_date},
    ).scalar_one()
    updated = 0
    for n, day in enumerate(dates):
        changed = conn.execute(clause, {"review_date": day, "prev_date": prev}).rowcount
        updated += 1
        if n >= 1 and changed == 0:
            break
        prev = day
    return updated


def build_advice_date(
    settings: Settings,
    review_date: date,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Replace the advice items of ``review_date`` in one transaction; returns counts.

    Raises:
        UserError: the report marts of ``review_date`` have not been built.
        StepLocked: another advice build is running (longer than ``lock_timeout_seconds``).
    """
    params = rule_params(settings, review_date)
    counts: dict[str, int] = {}
    timings: dict[str, int] = {}
    engine = warehouse_engine(settings)
    with engine.connect() as conn:
        with build_transaction(conn, dry_run=dry_run):
            conn.execute(sa.text("set local jit = off"))
            with step_lock(conn, "advice.build", wait_seconds=float(settings.lock_timeout_seconds)):
                sources = _source_counts(conn, review_date)
                built = conn.execute(
                    sa.text(
                        "select exists (select 1 from mart.rpt_team_month_attainment"
                        " where review_date = :d)"
                        " or exists (select 1 from mart.rpt_region_month_attainment"
                        " where review_date = :d)"
                    ),
                    {"d": review_date},
                ).scalar_one()
                if not built:
                    raise UserError(
                        f"no report marts for {review_date}: build them first "
                        f"(review-pipeline report build --date {review_date})"
                    )
                if sources["rpt_lead_ledger"] == 0:
                    log.warning(
                        "no lead ledger (R6) for %s: advice evidence names no leads "
                        "(build the weekly reports for that date)",
                        review_date,
                    )
                # statistics that know the date just built (the reports do not
                # analyze their marts; stale estimates turn the joins into loops)
                for table in SOURCE_TABLES:
                    conn.execute(sa.text(f"analyze mart.{table}"))
                conn.execute(
                    sa.text("delete from mart.advice_item where review_date = :d"),
                    {"d": review_date},
                )
                for rule in RULES:
                    started = time.monotonic()
                    for clause in _statements(rule.file):
                        wanted = {k: v for k, v in params.items() if k in clause._bindparams}
                        conn.execute(clause, wanted)
                    counts[rule.rule_id] = conn.execute(
                        sa.text(
                            "select count(*) from mart.advice_item"
                            " where review_date = :d and rule_id = :r"
                        ),
                        {"d": review_date, "r": rule.rule_id},
                    ).scalar_one()
                    timings[rule.rule_id] = int((time.monotonic() - started) * 1000)
                total = sum(counts.values())
                conn.execute(
                    sa.text(
                        "insert into mart.advice_run (review_date, items, rule_counts, thresholds)"
                        " values (:d, :items, cast(:counts as jsonb), cast(:thresholds as jsonb))"
                        " on conflict (review_date) do update set items = excluded.items,"
                        " rule_counts = excluded.rule_counts, thresholds = excluded.thresholds,"
                        " built_at = clock_timestamp()"
                    ),
                    {
                        "d": review_date,
                        "items": total,
                        "counts": json.dumps(counts),
                        "thresholds": json.dumps(_thresholds(settings)),
                    },
                )
                started = time.monotonic()
                memory_dates = _update_memory(conn, review_date)
                timings["memory"] = int((time.monotonic() - started) * 1000)
    log.info(
        "advice for %s: %s%s", review_date, counts, " (dry run, rolled back)" if dry_run else ""
    )
    return {
        "review_date": review_date.isoformat(),
        "rows_in": sum(sources.values()),
        "rows_out": total,
        "rules": counts,
        "sources": sources,
        "milliseconds": timings,
        "memory_dates": memory_dates,
        "dry_run": dry_run,
    }


def build_advice(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """The advice items of the review date ``business_date`` (stage of the weekly/monthly DAGs).

    Runs after the report marts of that date are built and before the packs.
    ``scope`` is recorded only: the build covers the whole org; scopes are
    applied when the items are read.

    Returns:
        ``rows_in`` (mart rows of the date read by the rules), ``rows_out``
        (items stored), per-rule counts and milliseconds.
    """
    if scope not in ("all", "", None):
        log.info("advice builds cover the whole org; scope %r is applied when reading", scope)
    return build_advice_date(settings, business_date, dry_run=dry_run)
