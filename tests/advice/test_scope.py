"""Scopes (a manager never sees an item about someone outside their scope) and ranking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from review_pipeline.reports.scope import Scope
from tests.advice.conftest import D2, PEOPLE, engine_of, person_org
from tests.advice.test_rules import _r2, _r4_people, _r5, _r7, _r9, _top

pytestmark = pytest.mark.integration

SLOW, TP = Decimal("0.3000"), Decimal("0.7000")  # 40 points behind: gap 1000 x 0.7 - 300 = 400


def _world(settings: Any) -> None:
    """A01 items at every level, A06 items of every salesperson, A03 RED leads."""
    from review_pipeline.advice.pipeline import build_advice

    with engine_of(settings).begin() as conn:
        _r4_people(conn)
        for region in ("EAST", "WEST"):
            _r2(conn, {"level": "REGION", "region_code": region, "team_id": None, "owner_id": None},
                1000, 300, SLOW, TP)  # fmt: skip
        for team, region in (("T1", "EAST"), ("T3", "EAST"), ("T2", "WEST")):
            _r2(conn, {"level": "TEAM", "region_code": region, "team_id": team, "owner_id": None},
                1000, 300, SLOW, TP)  # fmt: skip
        for owner in ("E1", "E2", "E3", "E4"):
            _r2(conn, person_org(owner), 1000, 300, SLOW, TP)
            _r7(conn, f"I-{owner}", owner, 100, 120)
        _top(conn, "L1", "E1", "S5_PENDING_ORDER", "RED", ["NO_UPDATE"], amount_cny=800)
        _top(conn, "L9", "E1", "S5_PENDING_ORDER", "GREEN", [], amount_cny=900)
        _top(conn, "L7", "E2", "S5_PENDING_ORDER", "RED", ["NO_UPDATE"], amount_cny=100)
    build_advice(settings, D2)


def _seen(settings: Any, scope: Scope) -> set[tuple[str, str]]:
    from review_pipeline.advice.api import advice_for

    return {(i.rule_id, i.subject_key) for i in advice_for(settings, D2, scope)}


def _a01(level: str, region: str = "", team: str = "", owner: str = "") -> tuple[str, str]:
    return ("A01", f"INFO|{level}|{region}|{team}|{owner}")


def _a06(*owners: str) -> set[tuple[str, str]]:
    return {("A06", f"INFO|{o}") for o in owners}


EAST, WEST = _a01("REGION", "EAST"), _a01("REGION", "WEST")
T1, T2, T3 = _a01("TEAM", "EAST", "T1"), _a01("TEAM", "WEST", "T2"), _a01("TEAM", "EAST", "T3")
RED = {("A03", "INFO|L1"), ("A03", "INFO|L7")}


def test_scopes_show_their_own_items_only(org):
    _world(org)
    assert _seen(org, Scope.company()) == {EAST, WEST} | _a06("E1", "E2", "E3", "E4") | RED
    assert _seen(org, Scope("region", "EAST")) == {EAST} | _a06("E1", "E2", "E4") | RED
    assert _seen(org, Scope("region", "East")) == _seen(org, Scope("region", "EAST"))
    assert _seen(org, Scope("team", "T1")) == {T1} | _a06("E1", "E2") | RED
    assert _seen(org, Scope("person", "E1")) == {
        _a01("PERSON", "EAST", "T1", "E1"),
        ("A03", "INFO|L1"),
    } | _a06("E1")
    # managers: the top-most unit wholly under them, and their people's items
    assert _seen(org, Scope("manager", "X")) == _seen(org, Scope.company())
    assert _seen(org, Scope("manager", "RM_E")) == {EAST} | _a06("E1", "E2", "E4") | RED
    assert _seen(org, Scope("manager", "M1")) == {T1} | _a06("E1", "E2") | RED
    assert _seen(org, Scope("manager", "M3")) == {T3} | _a06("E4")
    assert _seen(org, Scope("manager", "M2")) == {WEST} | _a06("E3")
    # a salesperson as "manager": only themselves (their team is not wholly theirs)
    assert _seen(org, Scope("manager", "E1")) == _seen(org, Scope("person", "E1"))
    # default deny
    for scope in (Scope("manager", "NOBODY"), Scope("team", ""), Scope("galaxy", "x"),
                  Scope.parse("region"), Scope("region", "NORTH")):  # fmt: skip
        assert _seen(org, scope) == set(), scope


def _under(settings: Any, manager: str) -> set[str]:
    with engine_of(settings).connect() as conn:
        return set(
            conn.execute(
                sa.text("select employee_id from dw.org_scope(:m, :d)"), {"m": manager, "d": D2}
            ).scalars()
        )


@pytest.mark.parametrize("manager", sorted(PEOPLE))
def test_no_manager_sees_anyone_outside_their_scope(org, manager):
    from review_pipeline.advice.api import advice_for

    _world(org)
    people = _under(org, manager)
    members: dict[tuple[str, str], set[str]] = {}
    for owner, (team, _, role) in PEOPLE.items():
        if role == "SALESPERSON":
            members.setdefault(("TEAM", team or ""), set()).add(owner)
            members.setdefault(("REGION", person_org(owner)["region_code"]), set()).add(owner)
    items = advice_for(org, D2, Scope("manager", manager))
    for item in items:
        if item.level == "REGION" and item.subject_kind == "region":
            assert members[("REGION", item.region_code or "")] <= people, item
        elif item.level == "TEAM" and item.subject_kind == "team":
            assert members[("TEAM", item.team_id or "")] <= people, item
        else:
            assert item.owner_id in people, item
    if manager in ("X", "RM_E", "M1"):
        assert items  # the check above is not vacuous


def test_red_projects_only_from_the_scopes_top_lists(org):
    from review_pipeline.advice.api import advice_for
    from review_pipeline.settings import ReportSettings

    _world(org)
    top1 = org.model_copy(update={"reports": ReportSettings(top_n=1)})

    def red(scope: Scope) -> set[str]:
        return {i.subject_id for i in advice_for(top1, D2, scope) if i.rule_id == "A03"}

    # the company's and E1's TOP 1 is L9 (900, GREEN): L1 (800, RED) is not in the pack
    assert red(Scope.company()) == set()
    assert red(Scope("person", "E1")) == set()
    # E2's TOP 1 is L7 (RED)
    assert red(Scope("person", "E2")) == {"L7"}
    assert red(Scope("manager", "M1")) == set()


def test_ranking_by_money_then_severity(org):
    """Stakes by hand: A06 E1 1000 + 2000 = 3000 (high, 200 days); A03 L1 800 (high: the
    order is overdue); A06 E2 400 (high, 200 days) ties A02 EAST SRV 1000 - 600 = 400
    (medium, coverage 0.6) and wins on severity; A03 L7 100 (medium: no update only);
    A05 E4 and E3 have no money at stake: E4 (0.40 on time, medium) before E3 (0.80, low)."""
    from review_pipeline.advice.api import advice_for

    with engine_of(org).begin() as conn:
        _r4_people(conn)
        _r7(conn, "I1", "E1", 1000, 91)
        _r7(conn, "I2", "E1", 2000, 200)
        _r7(conn, "I4", "E2", 400, 200)
        _r5(conn, "EAST", None, "SRV", date(2026, 4, 1), order_target_cny=1000,
            weighted_pipeline_cny=600, coverage_ratio=Decimal("0.6000"))  # fmt: skip
        _top(conn, "L1", "E1", "S5_PENDING_ORDER", "RED", ["EVENT_OVERDUE"], amount_cny=800,
             expected_order_date=date(2026, 3, 1))  # fmt: skip
        _top(conn, "L7", "E2", "S5_PENDING_ORDER", "RED", ["NO_UPDATE"], amount_cny=100)
        _r9(conn, "E4", D2, None, reports_required=5, reports_on_time=2,
            filed_on_time_ratio=Decimal("0.4000"))  # fmt: skip
        _r9(conn, "E3", D2, None, reports_required=5, reports_on_time=4,
            filed_on_time_ratio=Decimal("0.8000"))  # fmt: skip
    from review_pipeline.advice.pipeline import build_advice

    build_advice(org, D2)
    ranked = [
        (i.rule_id, i.subject_id, i.stake_cny, i.severity)
        for i in advice_for(org, D2, Scope.company())
    ]
    assert ranked == [
        ("A06", "E1", 3000.0, "high"),
        ("A03", "L1", 800.0, "high"),
        ("A06", "E2", 400.0, "high"),
        ("A02", "SRV", 400.0, "medium"),
        ("A03", "L7", 100.0, "medium"),
        ("A05", "E4", 0.0, "medium"),
        ("A05", "E3", 0.0, "low"),
    ]
