"""The working-day calendar as a table, so set-based SQL can count working days."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from review_pipeline.workdays import is_working_day


def calendar_rows(start: date, end: date) -> list[dict[str, object]]:
    """One row per day from ``start`` to ``end`` with the next working day after it."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows: list[dict[str, object]] = []
    following = end + timedelta(days=1)
    while not is_working_day(following):
        following += timedelta(days=1)
    for day in reversed(days):
        rows.append({"day": day, "w": is_working_day(day), "next": following})
        if is_working_day(day):
            following = day
    rows.reverse()
    return rows


def fill_working_days(conn: Connection, start: date, end: date) -> int:
    """Upsert ``dq.working_day`` for ``start`` .. ``end`` (review_pipeline.workdays)."""
    rows = calendar_rows(start, end)
    conn.execute(
        sa.text(
            "insert into dq.working_day (day, is_working_day, next_working_day)"
            " values (:day, :w, :next) on conflict (day) do update"
            " set is_working_day = excluded.is_working_day,"
            " next_working_day = excluded.next_working_day"
        ),
        rows,
    )
    return len(rows)
