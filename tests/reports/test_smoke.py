from __future__ import annotations

import pytest

from tests.reports.conftest import D

pytestmark = pytest.mark.integration


def test_build_all(world):
    from review_pipeline.reports.pipeline import build_weekly_reports

    result = build_weekly_reports(world, D)
    print(result)
