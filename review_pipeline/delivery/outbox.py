"""The delivery ledger, ``ops.outbox``: claim, record, reap, resend, report.

Every state change is its own short transaction, committed before the next
network step, so the table always says what the sender knows:

    pending --claim--> sending --accepted--> sent
                          |--not accepted--> pending (back-off) or failed (attempts used up)
                          |--5xx-----------> failed
                          |--no reply after the data--> unknown (never retried by itself)
                          '--claim older than claim_timeout (sender died)--> unknown

A message split into parts records each accepted part's Message-ID as it
goes (space-separated in ``message_id``); a retry skips the parts already
accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from review_pipeline.db import read_sql, step_lock
from review_pipeline.errors import UserError
from review_pipeline.packs.naming import month_label, week_label

STATUSES = ("pending", "sending", "sent", "failed", "unknown", "skipped")

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Period:
    """A pack period: ``weekly`` "2026-W47" or ``monthly`` "2026-11"."""

    kind: str
    text: str


def parse_period(text: str) -> Period:
    """Read ``2026-W47`` (a week), ``2026-11`` (a month) or a date (its ISO week).

    Raises:
        UserError: none of those.
    """
    raw = (text or "").strip()
    if m := _WEEK.match(raw):
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise UserError(f"{raw!r}: {year} has no ISO week {week}") from exc
        return Period("weekly", f"{year}-W{week:02d}")
    if m := _MONTH.match(raw):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise UserError(f"{raw!r}: no month {month}")
        return Period("monthly", f"{year}-{month:02d}")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise UserError(
            f"a period is an ISO week (2026-W47), a month (2026-11) or a date, got {raw!r}"
        ) from None
    return Period("weekly", week_label(day))


def periods_of(day: date) -> list[str]:
    """The periods a business date closes: its ISO week and its month (the packs' labels)."""
    return [week_label(day), month_label(day)]


def _filters(periods: list[str] | None, manager: str | None) -> dict[str, Any]:
    return {
        "any_period": not periods,
        "periods": list(periods or [""]),
        "any_manager": not manager,
        "manager": manager or "",
    }


_FILTER = (
    "(:any_period or o.period = any(cast(:periods as text[])))"
    " and (:any_manager or o.manager_id = :manager)"
)


# --------------------------------------------------------------------- claiming
def claim_due(
    engine: Engine,
    worker: str,
    *,
    periods: list[str] | None = None,
    manager: str | None = None,
    batch: int = 20,
    exclude: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Claim up to ``batch`` due rows for ``worker`` (status ``sending``); with their packs.

    ``exclude``: outbox ids not to claim (rows this run already tried).
    """
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(read_sql("delivery/claim_due.sql")),
            {
                "worker": worker,
                "batch": batch,
                "exclude": list(exclude or []),
                **_filters(periods, manager),
            },  # fmt: skip
        ).mappings()
        return sorted((dict(r) for r in rows), key=lambda r: r["outbox_id"])


def count_due(engine: Engine, *, periods: list[str] | None, manager: str | None) -> int:
    """How many rows a sender would claim now (for dry runs)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "select count(*) from ops.outbox as o where o.status = 'pending'"
                    f" and o.next_attempt_at <= clock_timestamp() and {_FILTER}"
                ),
                _filters(periods, manager),
            ).scalar_one()
        )


def seconds_to_next_retry(
    engine: Engine, *, periods: list[str] | None, manager: str | None
) -> float | None:
    """Seconds until the earliest pending row falls due (0 when one is due); None if none."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.text(
                "select extract(epoch from min(o.next_attempt_at) - clock_timestamp())"
                f" from ops.outbox as o where o.status = 'pending' and {_FILTER}"
            ),
            _filters(periods, manager),
        ).scalar_one()
    return None if value is None else max(0.0, float(value))


# -------------------------------------------------------------------- recording
_MINE = "outbox_id = :id and claimed_by = :worker"


def touch_claim(engine: Engine, outbox_id: int, worker: str) -> bool:
    """Renew the claim just before sending (the claim timeout counts from here).

    False when the row is no longer this sender's to send: a reaper judged the
    claim dead meanwhile (and an operator may already have resent it).
    """
    with engine.begin() as conn:
        result = conn.execute(
            sa.text(
                f"update ops.outbox set claimed_at = clock_timestamp() where {_MINE}"
                " and status = 'sending'"
            ),
            {"id": outbox_id, "worker": worker},
        )
        return bool(result.rowcount)


def record_accepted(
    engine: Engine, outbox_id: int, worker: str, message_id: str, *, final: bool
) -> None:
    """The server accepted one message (one part): keep its Message-ID; ``sent`` when final.

    Also corrects a row a reaper marked ``unknown`` while this sender was
    still at work: the server's acceptance is the better knowledge.
    """
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update ops.outbox set message_id = concat_ws(' ', message_id, cast(:mid as text)),"
                " status = case when :final then 'sent' else status end,"
                " sent_at = case when :final then clock_timestamp() else sent_at end,"
                " last_error = case when :final then null else last_error end"
                f" where {_MINE} and status in ('sending', 'unknown')"
            ),
            {"id": outbox_id, "worker": worker, "mid": message_id, "final": final},
        )


def record_retry(
    engine: Engine,
    outbox_id: int,
    worker: str,
    error: str,
    *,
    attempts: int,
    max_attempts: int,
    delay_seconds: float,
) -> str:
    """Not accepted: back to ``pending`` after ``delay_seconds``, or ``failed`` when out of tries.

    Returns the new status.
    """
    give_up = attempts >= max_attempts
    status = "failed" if give_up else "pending"
    text = f"gave up after {attempts} attempts: {error}" if give_up else error
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update ops.outbox set status = :status, last_error = :err,"
                " next_attempt_at = clock_timestamp() + make_interval(secs => :delay)"
                f" where {_MINE} and status = 'sending'"
            ),
            {"id": outbox_id, "worker": worker, "status": status, "err": text[:2000],
             "delay": float(delay_seconds)},
        )  # fmt: skip
    return status


def record_outcome(engine: Engine, outbox_id: int, worker: str, status: str, error: str) -> None:
    """A final outcome other than sent: ``failed``, ``unknown`` or ``skipped``, with why."""
    if status not in ("failed", "unknown", "skipped"):
        raise ValueError(f"not a final status: {status}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update ops.outbox set status = :status, last_error = :err"
                f" where {_MINE} and status = 'sending'"
            ),
            {"id": outbox_id, "worker": worker, "status": status, "err": error[:2000]},
        )


def release_unattempted(engine: Engine, worker: str, outbox_ids: list[int]) -> int:
    """Give back claimed rows this sender never tried (it is stopping on an error)."""
    if not outbox_ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            sa.text(
                "update ops.outbox set status = 'pending', attempts = greatest(attempts - 1, 0)"
                " where claimed_by = :worker and status = 'sending'"
                " and outbox_id = any(cast(:ids as bigint[]))"
            ),
            {"worker": worker, "ids": list(outbox_ids)},
        )
        return int(result.rowcount or 0)


def backoff_seconds(attempts: int, base: float, ceiling: float) -> float:
    """Exponential back-off after ``attempts`` tries: base, 2 base, 4 base ... capped."""
    return float(min(ceiling, base * 2 ** max(0, attempts - 1)))


def reap_stale(engine: Engine, timeout_seconds: float) -> list[dict[str, Any]]:
    """Rows claimed longer ago than ``timeout_seconds``: their sender died.

    Whether it died before or after handing the message to the server cannot
    be known, so the row becomes ``unknown`` (never re-sent by itself).
    """
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "update ops.outbox set status = 'unknown', last_error = format("
                "'claimed by %s at %s and never finished (the sender stopped); it may have been"
                " sent', claimed_by, to_char(claimed_at, 'YYYY-MM-DD HH24:MI:SS TZ'))"
                " where status = 'sending'"
                " and claimed_at < clock_timestamp() - make_interval(secs => :t)"
                " returning outbox_id, kind, period, manager_id, claimed_by"
            ),
            {"t": float(timeout_seconds)},
        ).mappings()
        return [dict(r) for r in rows]


# ----------------------------------------------------------------------- reading
def status_rows(
    engine: Engine, *, periods: list[str] | None = None, manager: str | None = None
) -> list[dict[str, Any]]:
    """Every outbox row of the periods / manager, newest period first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select o.outbox_id, o.pack_id, o.kind, o.period, o.manager_id, p.manager_name,"
                " o.recipient, o.status, o.attempts, o.next_attempt_at, o.claimed_by,"
                " o.claimed_at, o.message_id, o.sent_at, o.last_error, o.resend_no,"
                " p.superseded_at, exists (select 1 from ops.outbox as later"
                "   where later.kind = o.kind and later.period = o.period"
                "   and later.manager_id = o.manager_id and later.outbox_id > o.outbox_id"
                "   and later.status = 'sent') as resolved_by_later"
                " from ops.outbox as o join ops.pack as p on p.pack_id = o.pack_id"
                f" where {_FILTER}"
                " order by o.period desc, o.kind, o.manager_id, o.outbox_id"
            ),
            _filters(periods, manager),
        ).mappings()
        return [dict(r) for r in rows]


def status_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Rows per status (every status present, zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    return counts


def open_problems(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows needing a person: failed or unknown (unless a later row of the same
    manager and period was sent), and rows not delivered yet (pending, sending)."""
    return [
        r
        for r in rows
        if (r["status"] in ("failed", "unknown") and not r["resolved_by_later"])
        or r["status"] in ("pending", "sending")
    ]


# ------------------------------------------------------------------------ resend
def queue_resend(engine: Engine, manager: str, period: Period) -> dict[str, Any]:
    """Queue a deliberate resend: a new outbox row (resend_no + 1) for the latest pack.

    Raises:
        UserError: no pack for that manager and period, or a row of it is
            already waiting or being sent.
    """
    with engine.begin() as conn:
        with step_lock(conn, "outbox_resend", f"{period.kind}:{period.text}:{manager}", 5):
            pack = (
                conn.execute(
                    sa.text(
                        "select pack_id, sha256, recipient, superseded_at from ops.pack"
                        " where kind = :kind and period = :period and manager_id = :m"
                        " order by (superseded_at is null) desc, built_at desc, pack_id desc"
                        " limit 1"
                    ),
                    {"kind": period.kind, "period": period.text, "m": manager},
                )
                .mappings()
                .first()
            )
            if pack is None:
                raise UserError(
                    f"no {period.kind} pack for manager {manager!r} in {period.text}: "
                    "nothing to resend (see `review-pipeline outbox status`)"
                )
            busy = (
                conn.execute(
                    sa.text(
                        "select outbox_id, status from ops.outbox where kind = :kind"
                        " and period = :period and manager_id = :m"
                        " and status in ('pending', 'sending') order by outbox_id limit 1"
                    ),
                    {"kind": period.kind, "period": period.text, "m": manager},
                )
                .mappings()
                .first()
            )
            if busy is not None:
                raise UserError(
                    f"outbox row {busy['outbox_id']} for {manager} {period.text} is already "
                    f"{busy['status']}; wait for it (`review-pipeline outbox send`) instead"
                )
            previous = conn.execute(
                sa.text(
                    "select recipient, coalesce(max(resend_no) over (), -1) as last_no"
                    " from ops.outbox where kind = :kind and period = :period"
                    " and manager_id = :m and pack_sha256 = :sha"
                    " order by outbox_id desc limit 1"
                ),
                {"kind": period.kind, "period": period.text, "m": manager, "sha": pack["sha256"]},
            ).first()
            resend_no = (int(previous.last_no) + 1) if previous is not None else 0
            recipient = pack["recipient"] or (previous.recipient if previous else None)
            row = (
                conn.execute(
                    sa.text(
                        "insert into ops.outbox (pack_id, kind, period, manager_id, pack_sha256,"
                        " recipient, resend_no) values (:pack, :kind, :period, :m, :sha, :rcpt,"
                        " :no) returning outbox_id, resend_no, recipient"
                    ),
                    {
                        "pack": pack["pack_id"],
                        "kind": period.kind,
                        "period": period.text,
                        "m": manager,
                        "sha": pack["sha256"],
                        "rcpt": recipient,
                        "no": resend_no,
                    },
                )  # fmt: skip
                .mappings()
                .one()
            )
            return {**dict(row), "pack_id": pack["pack_id"], "kind": period.kind,
                    "period": period.text, "manager_id": manager}  # fmt: skip
