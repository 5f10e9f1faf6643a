"""Authenticity scores on hand-computed cases, quarantine, and idempotent reruns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.quality.conftest import World

pytestmark = pytest.mark.integration

D = date(2026, 3, 10)
PAST = date(2026, 3, 1)


def _build(w: World) -> None:
    w.region("RS1")
    w.team("TS1", "RS1")
    w.team("TS2", "RS1")
    for emp, team in (("P1", "TS1"), ("P2", "TS1"), ("P3", "TS2"), ("P4", "TS2")):
        w.employee(emp, team)
    w.customer("CS_bad", tier=None)  # LQ08 warn, counted for each of its open leads
    # P1: A1 clean; A2 LQ05 (0.5); A3 LQ01 + LQ05 (1.5); A4 closed (not counted)
    # L = 3, W = 2.0 -> 1 - 2/3 = 0.333333
    w.lead("A1", owner_id="P1")
    w.lead("A2", owner_id="P1", expected_order_date=PAST)
    w.lead("A3", owner_id="P1", customer_id=None, expected_order_date=PAST)
    w.lead("A4", owner_id="P1", customer_id=None, stage="LOST", status="LOST")
    # P2: B1 LQ01 + LQ02 error + LQ05 (2.5); B2..B5 clean. L = 5, W = 2.5 -> 0.5
    w.lead(
        "B1", owner_id="P2", customer_id=None, amount_cny=Decimal("-1"), expected_order_date=PAST
    )
    for i in range(2, 6):
        w.lead(f"B{i}", owner_id="P2")
    # P3: C1 with customer CS_bad (LQ08 0.5) and LQ05 (0.5); C2 clean. L = 2, W = 1.0 -> 0.5
    w.lead("C1", owner_id="P3", customer_id="CS_bad", expected_order_date=PAST)
    w.lead("C2", owner_id="P3")
    # P4: D1 like B1 (2.5). L = 1 -> max(0, 1 - 2.5) = 0
    w.lead(
        "D1", owner_id="P4", customer_id=None, amount_cny=Decimal("-1"), expected_order_date=PAST
    )


@pytest.fixture
def scored(world, dq_settings):
    from review_pipeline.quality.run import run_checks

    _build(world)
    run_checks(dq_settings, D)
    return world


def _scores(w: World) -> dict[tuple[str, str], tuple[int, Decimal, Decimal | None]]:
    rows = w.sql(
        "select scope_type, scope_id, open_leads, weight, score from dq.authenticity_score"
        " where business_date = :d",
        d=D,
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def test_person_team_region_scores(scored):
    s = _scores(scored)
    assert s[("PERSON", "P1")] == (3, Decimal("2.0"), Decimal("0.333333"))
    assert s[("PERSON", "P2")] == (5, Decimal("2.5"), Decimal("0.5"))
    assert s[("PERSON", "P3")] == (2, Decimal("1.0"), Decimal("0.5"))
    assert s[("PERSON", "P4")] == (1, Decimal("2.5"), Decimal("0"))
    # teams and the region use all their open leads (not the mean of people's scores)
    assert s[("TEAM", "TS1")] == (8, Decimal("4.5"), Decimal("0.4375"))  # 1 - 4.5/8
    assert s[("TEAM", "TS2")] == (3, Decimal("3.5"), Decimal("0"))  # max(0, 1 - 3.5/3)
    assert s[("REGION", "RS1")] == (11, Decimal("8.0"), Decimal("0.272727"))  # 1 - 8/11


def test_error_leads_quarantined_including_closed_ones(scored):
    rows = dict(
        scored.sql("select lead_id, rule_ids from dq.lead_quarantine where business_date = :d", d=D)
    )
    assert rows == {"A3": ["LQ01"], "A4": ["LQ01"], "B1": ["LQ01", "LQ02"], "D1": ["LQ01", "LQ02"]}


def test_rerunning_a_day_gives_identical_findings(scored, dq_settings):
    from review_pipeline.quality.run import run_checks

    query = (
        "select business_date, rule_id, entity_type, entity_id, severity, owner_id, details::text"
        " from dq.finding order by 1, 2, 3, 4"
    )
    first = scored.sql(query)
    first_scores = _scores(scored)
    summary = run_checks(dq_settings, D)
    assert scored.sql(query) == first
    assert _scores(scored) == first_scores
    runs = scored.sql("select distinct run_id from dq.finding")
    assert [r[0] for r in runs] == [summary["run_id"]]
    assert scored.sql("select count(*) from dq.validation_run")[0][0] == 2
