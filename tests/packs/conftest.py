"""Fixtures of the pack tests: the reports' hand-built world (tests/reports/conftest.py)
with its weekly reports built for D, e-mail addresses and Chinese names.

Org on D = 2026-03-15: X <- M1 (T1: E1, E2), X <- M2 (T2: E3, who moved from
T1 on 2026-03-01). Managers: X, M1, M2.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.conftest import D, engine_of, load_world, rpt_url, rs  # noqa: F401 (fixtures)

MANAGERS = ("M1", "M2", "X")


def decorate(settings: Any) -> None:
    """Addresses for everyone, Chinese team and manager names (as a Chinese CRM has)."""
    with engine_of(settings).begin() as conn:
        conn.execute(
            sa.text("update dw.dim_employee set email = lower(employee_id) || '@example.com'")
        )
        for team, name in (("T0", "总部"), ("T1", "华东销售一部"), ("T2", "华西销售一部")):
            conn.execute(
                sa.text("update dw.dim_team set name = :n where team_id = :t"),
                {"n": name, "t": team},
            )
        conn.execute(sa.text("update dw.dim_employee set name = '张三' where employee_id = 'M1'"))


@pytest.fixture
def pack_world(rs: Any) -> Any:  # noqa: F811 - the fixture imported above
    """Settings of the world with weekly reports (and advice) built for D."""
    from review_pipeline.advice.pipeline import build_advice
    from review_pipeline.reports.pipeline import build_weekly_reports

    load_world(rs)
    build_weekly_reports(rs, D)
    decorate(rs)
    build_advice(rs, D)
    return rs
