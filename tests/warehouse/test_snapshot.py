"""The lead snapshot against a second formulation computed here in Python."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import engine_of, insert, load_world

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBABILITY = {
    "S1": Decimal("0.10"),
    "S2": Decimal("0.25"),
    "S3": Decimal("0.50"),
    "S4": Decimal("0.70"),
    "S5": Decimal("0.90"),  # only PENDING_ORDER S5 leads are open
}
STATES = [
    ("S1", "OPEN"),
    ("S2", "OPEN"),
    ("S3", "OPEN"),
    ("S4", "OPEN"),
    ("S5", "PENDING_ORDER"),
    ("S5", "ORDERED"),
    ("LOST", "LOST"),
    ("S3", "CANCELLED"),
]


@dataclass
class Event:
    changed_at: datetime
    seq: int
    stage: str
    status: str
    amount: Decimal
    owner: str


@dataclass
class Lead:
    lead_id: str
    created_at: datetime
    deleted_at: datetime | None
    events: list[Event]
    row_state: Event  # the staging.lead row's current state


def _day(ts: datetime) -> date:
    return ts.astimezone(SHANGHAI).date()


def _make_leads(rng: random.Random) -> list[Lead]:
    leads = []
    start = datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI)
    for n in range(40):
        created = start + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
        events = []
        at = created
        for _ in range(rng.randint(0 if n % 7 == 0 else 1, 6)):
            # near-midnight times test the business-day boundary; repeats test same-day changes
            at = at + rng.choice([timedelta(minutes=20), timedelta(hours=rng.randint(1, 90))])
            at = at.replace(minute=rng.choice([0, 29, 59]), hour=rng.choice([0, 9, 23]))
            if events and at <= events[-1].changed_at:
                at = events[-1].changed_at + timedelta(minutes=1)
            stage, status = rng.choice(STATES)
            amount = Decimal(rng.randint(1, 500_000)) / 100 + Decimal("0.05")
            events.append(
                Event(at, rng.randint(0, 2), stage, status, amount, rng.choice(["E1", "E2"]))
            )
        stage, status = rng.choice(STATES)
        row_state = (
            events[-1] if events else Event(created, 0, stage, status, Decimal("123.45"), "E1")
        )
        deleted = created + timedelta(days=rng.randint(5, 40)) if n % 9 == 4 else None
        leads.append(Lead(f"L{n:03d}", created, deleted, events, row_state))
    return leads


def _expected_on(
    lead: Lead, day: date, quarantined: set[tuple[str, date]]
) -> tuple[Any, ...] | None:
    """The lead's open state on ``day`` as DOMAIN.md defines it, or None."""
    if (lead.lead_id, day) in quarantined:
        return None
    if lead.deleted_at is not None and day >= _day(lead.deleted_at):
        return None
    events = sorted(lead.events, key=lambda e: (e.changed_at, e.seq)) or [lead.row_state]
    past = [e for e in events if _day(e.changed_at) <= day]
    if past:
        state = past[-1]
    elif day >= _day(lead.created_at):
        state = events[0]  # created, first recorded change still to come that day or later
    else:
        return None
    is_open = (state.stage in ("S1", "S2", "S3", "S4") and state.status == "OPEN") or (
        state.stage == "S5" and state.status == "PENDING_ORDER"
    )
    if not is_open:
        return None
    weighted = (state.amount * PROBABILITY[state.stage]).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return (lead.lead_id, state.stage, state.status, state.amount, weighted, state.owner)


def _load(engine: sa.Engine, leads: list[Lead], quarantined: set[tuple[str, date]]) -> None:
    with engine.begin() as conn:
        for lead in leads:
            s = lead.row_state
            insert(
                conn,
                "lead",
                [
                    {
                        "lead_id": lead.lead_id,
                        "business_unit": "INFO",
                        "product_line_code": "SRV",
                        "customer_id": "C1",
                        "owner_id": s.owner,
                        "created_at": lead.created_at,
                        "updated_at": s.changed_at,
                        "stage": s.stage,
                        "status": s.status,
                        "amount_cny": s.amount,
                        "deleted_at": lead.deleted_at,
                    }
                ],
            )
            insert(
                conn,
                "lead_history",
                [
                    {
                        "lead_id": lead.lead_id,
                        "changed_at": e.changed_at,
                        "seq": e.seq,
                        "stage": e.stage,
                        "status": e.status,
                        "amount_cny": e.amount,
                        "owner_id": e.owner,
                    }
                    for e in lead.events
                ],
            )
        for lead_id, day in quarantined:
            conn.execute(
                sa.text(
                    "insert into dq.lead_quarantine (lead_id, business_date, rule_ids)"
                    " values (:l, :d, array['LQ01'])"
                ),
                {"l": lead_id, "d": day},
            )


def test_snapshot_matches_python_formulation_on_sampled_days(wh):
    from review_pipeline.warehouse.build import backfill

    rng = random.Random(20260310)
    leads = _make_leads(rng)
    days = [date(2026, 2, 27) + timedelta(days=3 * i) for i in range(22)]
    quarantined = {(rng.choice(leads).lead_id, rng.choice(days)) for _ in range(25)}

    engine = engine_of(wh)
    load_world(engine)
    _load(engine, leads, quarantined)
    backfill(wh, days[0], days[-1])

    checked = 0
    with engine.connect() as conn:
        for day in days:
            expected = sorted(
                row for lead in leads if (row := _expected_on(lead, day, quarantined)) is not None
            )
            got = [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "select lead_id, stage, status, amount_cny, weighted_amount_cny, owner_id"
                        " from dw.lead_state_on(:d) order by lead_id"
                    ),
                    {"d": day},
                )
            ]
            assert got == expected, day
            view = conn.execute(
                sa.text("select count(*) from dw.fct_lead_snapshot where snapshot_date = :d"),
                {"d": day},
            ).scalar_one()
            assert view == len(expected)
            checked += len(expected)
    assert checked > 100  # the sample really exercised open leads


def test_quarantined_lead_never_reaches_that_days_snapshot(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    with engine.begin() as conn:
        insert(
            conn,
            "lead",
            [
                {
                    "lead_id": "LQ",
                    "product_line_code": "SRV",
                    "customer_id": "C1",
                    "owner_id": "E1",
                    "created_at": "2026-03-01 09:00+08",
                    "stage": "S3",
                    "status": "OPEN",
                    "amount_cny": 1000,
                }
            ],
        )
        conn.execute(
            sa.text(
                "insert into dq.lead_quarantine (lead_id, business_date, rule_ids)"
                " values ('LQ', date '2026-03-05', array['LQ12'])"
            )
        )
    for d in (4, 5, 6):
        build_day(wh, date(2026, 3, d))
    with engine.connect() as conn:

        def present(day: str) -> bool:
            return bool(
                conn.execute(
                    sa.text("select count(*) from dw.lead_state_on(cast(:d as date))"), {"d": day}
                ).scalar_one()
            )

        assert present("2026-03-04") and not present("2026-03-05") and present("2026-03-06")
        # S3 = 0.50: weighted 500.00 on the days it is in
        assert conn.execute(
            sa.text("select weighted_amount_cny from dw.lead_state_on(date '2026-03-06')")
        ).scalar_one() == Decimal("500.00")
        assert conn.execute(
            sa.text(
                "select rule_ids from dw.fct_lead_gate where lead_id = 'LQ'"
                " and business_date = date '2026-03-05'"
            )
        ).scalar_one() == ["LQ12"]
