"""Daily reports, weekly plans and general customer visits, one stream per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.clock import at, is_working_day, next_working_day
from review_pipeline.simulator.org import Org
from review_pipeline.simulator.rng import ri, stream
from review_pipeline.simulator.truth import Truth

EPOCH = date(2000, 1, 1)


def next_working(day: date, n: int = 1) -> date:
    """The n-th working day after ``day``."""
    current = day
    while n:
        current += timedelta(days=1)
        if is_working_day(current):
            n -= 1
    return current


@dataclass(frozen=True)
class DailyReport:
    report_id: int
    user_id: str
    report_date: date
    content: str
    submitted_at: datetime
    approver_id: str | None
    approved_at: datetime | None
    comment: str | None

    def row(self, as_of: date) -> tuple[object, ...] | None:
        if self.submitted_at.date() > as_of:
            return None
        approved = self.approved_at is not None and self.approved_at.date() <= as_of
        approved_at = self.approved_at if approved else None
        return (
            self.report_id, self.user_id, self.report_date, self.content, self.submitted_at,
            self.approver_id if approved else None, approved_at,
            self.comment if approved else None, self.submitted_at,
            approved_at or self.submitted_at,
        )  # fmt: skip


def daily_reports(
    seed: int, org: Org, day: date, dr01: float, dr02: float
) -> tuple[list[DailyReport], list[Truth]]:
    """Every salesperson's report for working day ``day`` (missing ones have none)."""
    if not is_working_day(day):
        return [], []
    reports: list[DailyReport] = []
    truths: list[Truth] = []
    deadline = next_working(day)
    base = (day - EPOCH).days * 100000
    r = stream(seed, "dr", day)  # one stream per day, positions in a fixed order
    for pos in org.positions:
        if pos.kind != "SALES":
            continue
        person = pos.holder_on(day)
        uid = org.user_id(person)
        late = r.random() < dr01
        if late:
            truths.append(
                Truth(
                    "DR01",
                    "employee",
                    uid,
                    day,
                    "daily report not submitted on the day",
                    day,
                    f"dr:{day}",
                )
            )
            if r.random() < 0.5:
                continue  # never filed
            sub_day = next_working(day, ri(r, 1, 3))
            submitted = at(sub_day, ri(r, 8 * 60 + 30, 12 * 60))
        else:
            submitted = at(day, ri(r, 17 * 60 + 30, 22 * 60 + 30))
        approved = _approval(r, submitted, dr02)
        approver = None
        if approved is not None:
            approver = org.user_id(org.manager_of_sales(pos.pos_id, approved.date()))
        if approved is None or approved.date() > deadline:
            known = max(deadline, submitted.date())
            truths.append(
                Truth(
                    "DR02",
                    "employee",
                    uid,
                    day,
                    f"daily report not approved by {deadline}",
                    known,
                    f"dr:{day}",
                )
            )
        reports.append(
            DailyReport(
                base + person, uid, day, r.choice(ref.REPORT_CONTENTS), submitted, approver,
                approved, r.choice(ref.APPROVAL_COMMENTS) if approved else None,
            )
        )  # fmt: skip
    return reports, truths


def _approval(r: object, submitted: datetime, dr02: float) -> datetime | None:
    import random

    assert isinstance(r, random.Random)
    sub_day = submitted.date()
    if r.random() < dr02:
        if r.random() < 0.3:
            return None
        return at(next_working(sub_day, ri(r, 2, 5)), ri(r, 9 * 60, 18 * 60))
    if r.random() < 0.5 and submitted.hour < 22:
        return submitted + timedelta(minutes=ri(r, 10, 90))
    return at(next_working(sub_day), ri(r, 8 * 60 + 30, 18 * 60))


def weekly_plans(seed: int, org: Org, monday: date) -> list[tuple[object, ...]]:
    """Rows of ``crm.weekly_plan`` for the ISO week starting ``monday``."""
    first = next_working_day(monday)
    if first > monday + timedelta(days=6):
        return []
    rows: list[tuple[object, ...]] = []
    base = (monday - EPOCH).days * 100000
    r = stream(seed, "weekly", monday)
    for pos in org.positions:
        if pos.kind != "SALES":
            continue
        person = pos.holder_on(first)
        submitted = at(first, ri(r, 8 * 60, 10 * 60 + 30))
        rows.append(
            (base + person, org.user_id(person), monday, r.choice(ref.WEEKLY_CONTENTS),
             ri(r, 3, 12), submitted, submitted, submitted)
        )  # fmt: skip
    return rows


def general_visits(seed: int, day: date, per_day: float, pick: object) -> list[tuple[object, ...]]:
    """Visits not tied to a lead (relationship visits), rows of ``crm.visit_record``."""
    if not is_working_day(day):
        return []
    r = stream(seed, "gvisit", day)
    n = sum(1 for _ in range(int(per_day * 2)) if r.random() < 0.5)
    rows: list[tuple[object, ...]] = []
    for k in range(n):
        assert callable(pick)
        customer_id, _, user_id, _, _ = pick(r, day)
        created = at(day, ri(r, 17 * 60, 21 * 60))
        rows.append(
            (10**12 + (day - EPOCH).days * 1000 + k, user_id, customer_id, None, day,
             r.choice(ref.VISIT_TYPES), "例行客户关系维护拜访。", created, created)
        )  # fmt: skip
    return rows
