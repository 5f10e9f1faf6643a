"""The advice stage on the small hand-built world of the report tests (real marts).

The world (tests/reports/conftest.py, D = 2026-03-15) gives, among others:
E1's April SRV order target 2,000 with no weighted SRV pipeline expected in
April (coverage 0 -> A02), L8 (E1, 100) whose tender was due 03-02 and L4
(E3, 200) with an error finding (RED -> A03), E3 scored 0 (one error finding
on one open lead) and E2 0.5 (-> A04), and WEST forecast behind time
progress (-> A01).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.reports.conftest import D, engine_of

pytestmark = pytest.mark.integration


def test_stage_on_small_world(world):
    from review_pipeline import orchestration
    from review_pipeline.advice.api import advice_for
    from review_pipeline.advice.pipeline import build_advice
    from review_pipeline.reports.pipeline import build_weekly_reports
    from review_pipeline.reports.scope import Scope

    assert orchestration.STAGES["build_advice"] == "review_pipeline.advice.pipeline:build_advice"
    build_weekly_reports(world, D)
    # through the adapter the DAG task calls: the run is recorded in ops.step_run
    summary = orchestration.build_advice(D, settings=world)
    result = build_advice(world, D, scope="all")
    assert summary["rows_out"] == result["rows_out"] and summary["rows_in"] == result["rows_in"]
    with engine_of(world).connect() as conn:
        recorded = conn.execute(
            sa.text(
                "select status, rows_out from ops.step_run where step = 'build_advice'"
                " and business_date = :d"
            ),
            {"d": D},
        ).one()
    assert (recorded.status, recorded.rows_out) == ("success", result["rows_out"])
    assert result["rows_in"] > 0 and result["rows_out"] == sum(result["rules"].values())
    fired = {rule for rule, count in result["rules"].items() if count}
    assert {"A01", "A02", "A03", "A04"} <= fired

    items = advice_for(world, D, Scope.company(), language="en")
    by_key = {(i.rule_id, i.subject_id): i for i in items}
    # reservoir: EAST SRV April, target 2,000, nothing weighted -> 2,000 missing
    a02 = by_key[("A02", "SRV")]
    assert a02.stake_cny == 2000.0 and a02.evidence["coverage_ratio"] == 0
    assert a02.evidence["target_month"] == "2026-04" and a02.severity == "high"
    # RED: L8's tender was expected 03-02, 13 days before D; never visited
    l8 = by_key[("A03", "L8")]
    assert l8.evidence["overdue"] == {"tender": 13} and l8.evidence["last_visit_date"] is None
    assert l8.stake_cny == 100.0 and l8.owner_id == "E1"
    # L4 is RED for its error finding (LQ12); E3 scores 0 for it
    assert "ERROR_FINDING" in by_key[("A03", "L4")].evidence["reasons"]
    e3 = by_key[("A04", "E3")]
    assert e3.evidence["score"] == 0 and e3.evidence["findings_by_rule"] == {"LQ12": 1}
    assert e3.stake_cny == 200.0  # L4's amount
    for item in items:
        assert item.status == "new" and item.since == "2026-W11"
        assert item.action and item.sheet in {f"R{n}" for n in range(1, 10)}
        assert item.stake_cny >= 0
    ranked = [i.stake_cny for i in items]
    assert ranked == sorted(ranked, reverse=True)
    # the Chinese action names the same figures
    zh = advice_for(world, D, Scope("person", "E1"))
    assert any("招标逾期13天" in i.action for i in zh)
    # E1 sees nothing of E3's
    assert all(i.owner_id in ("E1", None) or i.subject_id == "E1" for i in zh)
    assert not any(i.owner_id == "E3" for i in zh)
