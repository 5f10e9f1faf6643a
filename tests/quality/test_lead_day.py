"""dq.lead_day: a lead's state on a day does not depend on the window it is checked in.

The fill reads, per lead, only its last change before the window and the
changes from the window's first day on (sql/quality/lead_day.sql); these tests
check that a one-day window gives exactly the rows a longer window gives for
that day, over leads whose history starts before, inside and after the window,
changes twice in a day, or keeps the lead's other fields only in older rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.quality.conftest import World

pytestmark = pytest.mark.integration


def _fill(settings, start: date, end: date) -> list[tuple]:
    from review_pipeline.db import warehouse_engine
    from review_pipeline.quality.config import load_quality_settings
    from review_pipeline.quality.run import _window_params
    from review_pipeline.quality.suites import run_quality_sql

    params = _window_params(settings, load_quality_settings(), 1, start, end)
    with warehouse_engine(settings).begin() as conn:
        run_quality_sql(conn, "quality/check_window.sql", params)
        run_quality_sql(conn, "quality/lead_day.sql", params)
        rows = conn.execute(
            sa.text("select * from dq.lead_day order by business_date, lead_id")
        ).all()
    return [tuple(r) for r in rows]


def test_one_day_windows_equal_the_same_days_of_a_longer_window(world: World, dq_settings):
    w = world
    # two changes on 03-09 (the later wins), another on 03-12
    w.lead(
        "L1",
        history=[
            ("2026-01-05 10:00", "S1", "OPEN"),
            ("2026-03-09 09:00", "S2", "OPEN"),
            ("2026-03-09 15:00", "S3", "OPEN"),
            ("2026-03-12 10:00", "S4", "OPEN"),
        ],
    )
    # created inside the window: its first change stands for the days before it
    w.lead("L2", created="2026-03-10 08:00", history=[("2026-03-11 09:00", "S2", "OPEN")])
    w.lead("L3", history=[])  # no history: the lead row on every day
    # the customer and product line are kept by an older history row only: the
    # history then speaks for them (its later row knows no customer), not the lead row
    w.lead(
        "L4",
        history=[("2026-01-05 10:00", "S1", "OPEN"), ("2026-02-01 10:00", "S2", "OPEN")],
    )
    w.sql(
        "update staging.lead_history set customer_id = 'C-OLD', product_line_code = 'ERP'"
        " where lead_id = 'L4' and seq = 0"
    )
    # ... but a row that is not the last change of its day does not count
    w.lead(
        "L5",
        history=[("2026-01-05 10:00", "S1", "OPEN"), ("2026-01-05 11:00", "S2", "OPEN")],
    )
    w.sql("update staging.lead_history set customer_id = 'C-GONE' where lead_id = 'L5' and seq = 0")
    w.lead("L6", deleted_at=w.ts("2026-03-01 10:00"))  # deleted: never a lead-day

    start, end = date(2026, 3, 8), date(2026, 3, 13)
    longer = _fill(dq_settings, start - timedelta(days=40), end + timedelta(days=3))
    day = start
    while day <= end:
        alone = _fill(dq_settings, day, day)
        assert alone == [r for r in longer if r[0] == day], day
        assert {r[1] for r in alone} == (
            {"L1", "L3", "L4", "L5"} | ({"L2"} if day >= date(2026, 3, 10) else set())
        )
        day += timedelta(days=1)

    by_day = {(r[0], r[1]): r for r in longer}
    stage = {k: r[6] for k, r in by_day.items()}
    assert stage[(date(2026, 3, 8), "L1")] == "S1"
    assert stage[(date(2026, 3, 9), "L1")] == "S3"
    assert stage[(date(2026, 3, 12), "L1")] == "S4"
    assert stage[(date(2026, 3, 10), "L2")] == "S2"  # before its first change
    customer = {k: r[3] for k, r in by_day.items()}
    assert customer[(date(2026, 3, 9), "L4")] is None
    assert customer[(date(2026, 3, 9), "L5")] == "C-L5"
