"""The advice stage on the small hand-built world of the report tests (real marts)."""

from __future__ import annotations

import pytest

from tests.reports.conftest import D

pytestmark = pytest.mark.integration


def test_stage_on_small_world(world):
    from review_pipeline.advice.api import advice_for
    from review_pipeline.advice.pipeline import build_advice
    from review_pipeline.reports.pipeline import build_weekly_reports
    from review_pipeline.reports.scope import Scope

    build_weekly_reports(world, D)
    result = build_advice(world, D)
    print(result)
    items = advice_for(world, D, Scope.company(), language="en")
    for i in items:
        print(i.rule_id, i.severity, i.stake_cny, i.subject_key, i.action)
    assert result["rows_out"] == len(items)
