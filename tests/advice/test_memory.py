"""Memory across review dates (since, new / open / resolved), rebuilds, dry runs and the lock.

Receivables over 90 days (A06) make items that are easy to switch on and off:
one R7 row per owner and date. D1 = 03-08 (ISO week 10), D2 = 03-15 (W11),
D3 = 03-22 (W12).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from review_pipeline.reports.scope import Scope
from tests.advice.conftest import D1, D2, D3, engine_of, mart_row, person_org

pytestmark = pytest.mark.integration


def _overdue(conn: sa.Connection, day: date, owner: str, balance: int = 100) -> None:
    org = person_org(owner)
    mart_row(
        conn,
        "rpt_receivable",
        review_date=day,
        invoice_id=f"I-{owner}",
        business_unit="INFO",
        owner_id=owner,
        owner_name=f"Name {owner}",
        team_id=org["team_id"],
        region_code=org["region_code"],
        invoiced_cny=balance,
        balance_cny=balance,
        days_overdue=120,
        aging_bucket="91-180",
    )


def _marts(settings: Any, day: date, owners: tuple[str, ...]) -> None:
    """The date's marts: R4 rows of everyone, an overdue invoice for each of ``owners``."""
    with engine_of(settings).begin() as conn:
        for table in ("rpt_receivable", "rpt_team_month_attainment"):
            conn.execute(sa.text(f"delete from mart.{table} where review_date = :d"), {"d": day})
        for owner in ("E1", "E2", "E3", "E4"):
            mart_row(
                conn,
                "rpt_team_month_attainment",
                review_date=day,
                business_unit="INFO",
                month_start=day.replace(day=1),
                **person_org(owner),
            )
        for owner in owners:
            _overdue(conn, day, owner)


def _memory(settings: Any, day: date) -> dict[str, tuple[str, str]]:
    from review_pipeline.advice.api import advice_for

    return {i.subject_id: (i.status, i.since) for i in advice_for(settings, day, Scope.company())}


def _build(settings: Any, day: date, **kw: Any) -> dict[str, Any]:
    from review_pipeline.advice.pipeline import build_advice

    return build_advice(settings, day, **kw)


def test_since_and_resolved_across_dates_built_out_of_order(org):
    _marts(org, D1, ("E1", "E2", "E3"))
    _marts(org, D2, ("E1", "E4", "E3"))
    _marts(org, D3, ("E3",))
    # D2 first: nothing earlier is built, so everything is new since D2
    _build(org, D2)
    assert _memory(org, D2) == {
        "E1": ("new", "2026-W11"),
        "E3": ("new", "2026-W11"),
        "E4": ("new", "2026-W11"),
    }
    # then D1 (out of order): D2's memory now reaches back to D1, E2 resolved at D2
    _build(org, D1)
    assert _memory(org, D1) == {
        "E1": ("new", "2026-W10"),
        "E2": ("new", "2026-W10"),
        "E3": ("new", "2026-W10"),
    }
    assert _memory(org, D2) == {
        "E1": ("open", "2026-W10"),
        "E3": ("open", "2026-W10"),
        "E4": ("new", "2026-W11"),
        "E2": ("resolved", "2026-W10"),
    }
    # D3: E1 and E4 resolved; E2 (resolved at D2) is not listed again
    _build(org, D3)
    assert _memory(org, D3) == {
        "E3": ("open", "2026-W10"),
        "E1": ("resolved", "2026-W10"),
        "E4": ("resolved", "2026-W11"),
    }
    # rebuilding D1 without E1 and E3 breaks their runs: at D2 they are new
    # again (since W11), and the change travels on to D3
    _marts(org, D1, ("E2",))
    result = _build(org, D1)
    assert result["memory_dates"] == 3  # D1, D2 (its previous date changed), D3 (D2 changed)
    assert _memory(org, D2)["E1"] == ("new", "2026-W11")
    assert _memory(org, D3)["E1"] == ("resolved", "2026-W11")
    assert _memory(org, D3)["E3"] == ("open", "2026-W11")
    # a rebuild with the same marts changes nothing after the next date
    assert _build(org, D1)["memory_dates"] == 2


def test_a_gap_restarts_the_run(org):
    # E3 overdue at D1 and D3, not at D2: at D3 it is new again (since W12), not since W10
    _marts(org, D1, ("E3",))
    _marts(org, D2, ())
    _marts(org, D3, ("E3",))
    for day in (D3, D1, D2):
        _build(org, day)
    assert _memory(org, D2) == {"E3": ("resolved", "2026-W10")}
    assert _memory(org, D3) == {"E3": ("new", "2026-W12")}


def _snapshot(settings: Any) -> list[tuple[Any, ...]]:
    with engine_of(settings).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "select review_date, rule_id, subject_key, severity, stake_cny,"
                    " evidence::text, row_key::text, region_code, team_id, owner_id"
                    " from mart.advice_item order by 1, 2, 3"
                )
            )
        ]


def test_rebuild_is_identical_and_dry_run_changes_nothing(org):
    _marts(org, D2, ("E1", "E4"))
    first = _build(org, D2)
    assert first["rows_out"] == 2 and first["rules"]["A06"] == 2
    # rows_in: the date's mart rows the rules read (2 receivables; R4 is not a rule input)
    assert first["rows_in"] == 2
    before = _snapshot(org)
    again = _build(org, D2)
    assert _snapshot(org) == before and again["rows_out"] == 2
    # a dry run of changed marts counts the new items and rolls back
    _marts(org, D2, ("E1", "E2", "E3", "E4"))
    dry = _build(org, D2, dry_run=True)
    assert dry["rows_out"] == 4 and dry["dry_run"] is True
    assert _snapshot(org) == before


def test_concurrent_builds_are_refused(org):
    """While a build holds the lock (another connection), no other build runs:
    not of the same date, nor of another (memory spans dates)."""
    from review_pipeline.db import step_lock
    from review_pipeline.errors import StepLocked

    _marts(org, D1, ("E1",))
    _marts(org, D2, ("E1",))
    with engine_of(org).connect() as conn, conn.begin():
        with step_lock(conn, "advice.build"):
            for day in (D2, D1):
                with pytest.raises(StepLocked, match="step 'advice.build' is already running"):
                    _build(org, day)
    with engine_of(org).connect() as conn:
        assert conn.execute(sa.text("select count(*) from mart.advice_item")).scalar_one() == 0
    # the lock is gone with the holder's transaction
    assert _build(org, D2)["rows_out"] == 1


def test_unbuilt_date_reads_nothing(org):
    from review_pipeline.advice.api import advice_for

    _marts(org, D2, ("E1",))
    assert advice_for(org, D2, Scope.company()) == []
