"""Delivery stage functions for the DAGs (orchestration contract).

``send_packs`` sends the due outbox rows of the business date's periods (its
ISO week and its month: the weekly and the month-end packs).
``summarise_delivery`` counts the ledger for those periods and **raises**
:class:`DeliveryIncomplete` when any manager's pack is failed, unknown or
still queued: the DAG task goes red, the failure e-mail reaches the on-call,
and the message names the command that fixes each row. A warning flag in a
green task would be read by nobody on a Monday morning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from review_pipeline.errors import ReviewError, UserError

if TYPE_CHECKING:
    from review_pipeline.settings import Settings

log = logging.getLogger(__name__)


class DeliveryIncomplete(ReviewError):
    """Some packs of the period were not (surely) delivered; the message says which and why."""

    exit_code = 5


def scope_manager(scope: str | None) -> str | None:
    """``all`` (every manager) or ``manager:ID`` (one manager's packs)."""
    text = (scope or "all").strip()
    if text.lower() in ("all", "company", ""):
        return None
    kind, sep, key = text.partition(":")
    if sep and kind.strip().lower() == "manager" and key.strip():
        return key.strip()
    raise UserError(f"delivery scope must be 'all' or 'manager:ID', got {scope!r}")


def send_packs(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> Mapping[str, Any]:
    """Send the queued packs of ``business_date``'s week and month, each once.

    Returns rows_in (rows claimed), rows_out (rows sent) and the other
    outcomes. A dry run counts the due rows and sends nothing.

    Raises:
        DeliveryIncomplete: rows the server did not accept are still waiting
            for a retry after this run's wait budget (the task's own retry, or
            ``review-pipeline outbox send``, sends them later; never twice).
    """
    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox
    from review_pipeline.delivery.sender import send_due

    periods = outbox.periods_of(business_date)
    manager = scope_manager(scope)
    if dry_run:
        due = outbox.count_due(warehouse_engine(settings), periods=periods, manager=manager)
        log.info("dry run: %d outbox rows due for %s; nothing sent", due, ", ".join(periods))
        return {"rows_in": due, "rows_out": 0, "periods": periods, "due": due}
    report = send_due(settings, periods=periods, manager=manager)
    result: dict[str, Any] = {
        "rows_in": report.claimed,
        "rows_out": report.sent,
        "periods": periods,
        **{k: v for k, v in report.as_dict().items() if k not in ("claimed",)},
    }
    if report.retrying:
        wait = outbox.seconds_to_next_retry(
            warehouse_engine(settings), periods=periods, manager=manager
        )
        raise DeliveryIncomplete(
            f"{report.retrying} pack message(s) for {', '.join(periods)} were not accepted by "
            f"{report.transport} yet (next attempt in {wait or 0:.0f} s; "
            f"{report.sent} sent). They stay queued and are sent, once, by the next "
            "`review-pipeline outbox send` or a retry of this task; see `outbox status`"
        )
    return result


def _describe(row: Mapping[str, Any]) -> str:
    what = {
        "failed": "FAILED",
        "unknown": "UNKNOWN (may have arrived)",
        "pending": "still queued",
        "sending": "being sent",
    }[row["status"]]
    fix = ""
    if row["status"] in ("failed", "unknown") and "outbox resend" not in (row["last_error"] or ""):
        fix = (
            f" -> after fixing the cause: review-pipeline outbox resend --manager "
            f"{row['manager_id']} --week {row['period']}"
        )
    return (
        f"  outbox {row['outbox_id']} {row['kind']} {row['period']} manager {row['manager_id']}"
        f" <{row['recipient'] or '-'}>: {what}; {row['last_error'] or ''}{fix}"
    )


def summarise_delivery(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> Mapping[str, Any]:
    """The weekly DAG's judge: ledger counts of the business date's ISO week.

    Only the week: when the Sunday is also a month end, the month's packs
    belong to the monthly DAG, which may still be building or sending them
    (:func:`summarise_monthly_delivery` judges those).

    Returns rows_in (ledger rows), rows_out (sent) and ``status`` counts; also
    the managers the packs stage skipped (``ops.pack_skip``).

    Raises:
        DeliveryIncomplete: a row is failed or unknown (and no later row of the
            same manager and period was sent), or still pending / sending.
            Not raised in a dry run (nothing was sent, nothing to judge).
    """
    from review_pipeline.packs.naming import week_label

    return _summarise(settings, [week_label(business_date)], scope, dry_run)


def summarise_monthly_delivery(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> Mapping[str, Any]:
    """The monthly DAG's judge: :func:`summarise_delivery` for the business date's month."""
    from review_pipeline.packs.naming import month_label

    return _summarise(settings, [month_label(business_date)], scope, dry_run)


def _summarise(
    settings: Settings, periods: list[str], scope: str, dry_run: bool
) -> Mapping[str, Any]:
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox

    engine = warehouse_engine(settings)
    manager = scope_manager(scope)
    rows = outbox.status_rows(engine, periods=periods, manager=manager)
    counts = outbox.status_counts(rows)
    with engine.connect() as conn:
        skipped_managers = {
            str(r.reason): int(r.n)
            for r in conn.execute(
                sa.text(
                    "select reason, count(*) as n from ops.pack_skip"
                    " where period = any(cast(:p as text[])) group by reason"
                ),
                {"p": periods},
            )
        }
    result: dict[str, Any] = {
        "rows_in": len(rows),
        "rows_out": counts["sent"],
        "periods": periods,
        "status": counts,
        "packs_not_built": skipped_managers,
    }
    problems = outbox.open_problems(rows)
    log.info("delivery for %s: %s", ", ".join(periods), counts)
    if problems and not dry_run:
        listed = "\n".join(_describe(r) for r in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DeliveryIncomplete(
            f"{len(problems)} of {len(rows)} pack deliveries for {', '.join(periods)} need "
            f"attention ({', '.join(f'{k} {v}' for k, v in counts.items() if v)}):\n"
            f"{listed}{more}"
        )
    return result
