"""Each gate fires on a deliberately broken batch and passes on a good one."""

from __future__ import annotations

from datetime import date

import pytest

from tests.quality.conftest import World

D = "2026-03-10"  # a Tuesday, a working day
DAY = date(2026, 3, 10)


def _history(w: World, rows_in: int = 100, days: int = 10) -> None:
    from review_pipeline.workdays import previous_working_day

    day = DAY
    for _ in range(days):
        day = previous_working_day(day)
        w.batch(day.isoformat(), rows_in=rows_in, rows_raw=rows_in, rows_staged=rows_in)


def _checked(w: World, leads: int = 100, quarantined: int = 0) -> None:
    """What run_checks leaves behind, written directly: a validation run and quarantine rows."""
    w.sql(
        "insert into staging.lead (lead_id, owner_id, created_at, source)"
        " select 'L' || i, 'E1', timestamptz '2026-01-05 10:00+08', 't' from generate_series(1, :n) as i",
        n=leads,
    )
    w.sql(
        "insert into dq.lead_quarantine (lead_id, business_date, rule_ids)"
        " select 'L' || i, :d, array['LQ01'] from generate_series(1, :n) as i",
        d=DAY,
        n=quarantined,
    )
    w.sql(
        "insert into dq.validation_run (run_id, start_date, end_date, started_at) values (1, :d, :d, now())",
        d=DAY,
    )


def _targets(w: World, person_split: tuple[str, str] = ("100", "200")) -> None:
    w.region("R1")
    w.region("R2")
    w.team("T1", "R1")
    w.employee("E1", "T1")
    w.employee("E2", "T1")
    w.employee("M1", "T1", role="TEAM_MANAGER")
    w.target("COMPANY", "", "1000")
    w.target("COMPANY", "", "1000", month=None)  # the year row = its only month
    w.target("REGION", "R1", "600")
    w.target("REGION", "R2", "400")
    w.target("TEAM", "T1", "600")
    w.target("PERSON", "E1", "300")
    w.target("PERSON", "E1", person_split[0], product_line="SRV")
    w.target("PERSON", "E1", person_split[1], product_line="STO")
    w.target("PERSON", "E2", "300")


# ------------------------------------------------------------------ integration
@pytest.mark.integration
def test_all_gates_pass_on_a_good_day(world, dq_settings):
    from review_pipeline.quality.gates import run_gates

    _history(world)
    world.batch(D)
    _checked(world, quarantined=5)
    _targets(world, ("100", "201"))  # 301 vs 300: 0.33 % apart, within 0.5 %
    result = run_gates(dq_settings, DAY)
    assert result["gates"] == {
        "freshness": "pass",
        "volume": "pass",
        "reconciliation": "pass",
        "quarantine_rate": "pass",
        "target_decomposition": "pass",
    }
    stored = world.sql("select gate, status from dq.gate_result where business_date = :d", d=DAY)
    assert len(stored) == 5 and {s for _, s in stored} == {"pass"}


@pytest.mark.integration
def test_a_broken_day_stops_with_gate_failed_and_stores_every_verdict(world, dq_settings):
    from review_pipeline.errors import GateFailed
    from review_pipeline.quality.gates import run_gates

    _history(world)
    # 100 rows in, 97 staged + 2 quarantined: 1 row lost between raw and staging
    world.batch(D, rows_staged=97, rows_quarantined=2)
    _checked(world, quarantined=20)  # 20 % of the leads quarantined
    _targets(world, ("100", "210"))  # 310 vs 300: 3.3 % apart
    with pytest.raises(GateFailed) as failure:
        run_gates(dq_settings, DAY)
    message = str(failure.value)
    assert "[reconciliation]" in message and "97 staged + 2 quarantined" in message
    assert "[quarantine_rate]" in message and "20 of 100 leads" in message
    assert "[target_decomposition]" in message and "owner E1" in message
    assert "[freshness]" not in message and "[volume]" not in message
    stored = dict(
        world.sql("select gate, status from dq.gate_result where business_date = :d", d=DAY)
    )
    assert stored == {
        "freshness": "pass",
        "volume": "pass",
        "reconciliation": "fail",
        "quarantine_rate": "fail",
        "target_decomposition": "fail",
    }
    step = world.sql("select status from ops.step_run where step = 'gates'")
    assert step[0][0] == "failed"


@pytest.mark.integration
def test_target_decomposition_names_the_owner_of_the_parent(world, dq_settings):
    from review_pipeline.quality.config import QualitySettings
    from review_pipeline.quality.gates import evaluate_gates

    _targets(world)
    world.target("TEAM", "T1", "650", month=4)  # April: team 650, people nothing -> no check
    world.target("PERSON", "E1", "300", month=4)
    world.target("PERSON", "E2", "300", month=4)  # 600 vs 650: 7.7 % off
    world.target("COMPANY", "", "1000", month=4)
    # a person's year: 12 months of 100 vs a year row of 1250 (4 % off); the
    # company's year row above is not compared while its months are incomplete
    for month in range(1, 13):
        world.target("PERSON", "E2", "100", month=month, measure="COLLECTION")
    world.target("PERSON", "E2", "1250", month=None, measure="COLLECTION")
    with world.engine.connect() as conn:
        gates = {g.gate: g for g in evaluate_gates(conn, dq_settings, DAY, QualitySettings())}
    target = gates["target_decomposition"]
    assert target.failed
    found = {
        (m["kind"], m["level"], m["org_key"], m["month"], m["owner_id"])
        for m in target.details["mismatches"]
    }
    # April: T1 (650) vs E1 + E2 (600) -> the team manager M1. April has no region
    # rows, so the April company row has no children to compare with.
    assert found == {("level", "TEAM", "T1", 4, "M1"), ("month", "PERSON", "E2", None, "E2")}


# ----------------------------------------------------------------------- units
def _q():
    from review_pipeline.quality.config import QualitySettings

    return QualitySettings()


def _batch(**kw):
    row = {
        "batch_id": 1,
        "source": "crm",
        "entity": "lead",
        "status": "success",
        "rows_in": 100,
        "rows_staged": 100,
        "rows_quarantined": 0,
        "amount_in_cny": None,
        "amount_staged_cny": None,
    }
    row.update(kw)
    return row


@pytest.mark.unit
def test_freshness_gate():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from review_pipeline.quality.gates import freshness_gate

    tz = ZoneInfo("Asia/Shanghai")
    fresh = [{"entity": "lead", "newest_change_at": datetime(2026, 3, 10, 18, tzinfo=tz)}]
    stale = [{"entity": "lead", "newest_change_at": datetime(2026, 3, 6, 18, tzinfo=tz)}]
    assert freshness_gate(DAY, [_batch()], fresh, _q(), "Asia/Shanghai").status == "pass"
    assert freshness_gate(DAY, [], fresh, _q(), "Asia/Shanghai").failed
    assert freshness_gate(DAY, [_batch(status="failed")], fresh, _q(), "Asia/Shanghai").failed
    # 72 hours before the end of 03-10 is 03-08 00:00; a newest change on 03-06 is stale
    result = freshness_gate(DAY, [_batch()], stale, _q(), "Asia/Shanghai")
    assert result.failed and "stale" in result.message
    edge = [{"entity": "lead", "newest_change_at": datetime(2026, 3, 8, 0, 0, tzinfo=tz)}]
    assert freshness_gate(DAY, [_batch()], edge, _q(), "Asia/Shanghai").status == "pass"


@pytest.mark.unit
def test_volume_gate():
    from review_pipeline.quality.gates import volume_gate

    history = [{"source": "crm", "entity": "lead", "rows_in": 1000} for _ in range(10)]
    assert volume_gate(DAY, [_batch(rows_in=1000)], history, _q()).status == "pass"
    assert (
        volume_gate(DAY, [_batch(rows_in=200)], history, _q()).status == "pass"
    )  # x0.2 is allowed
    low = volume_gate(DAY, [_batch(rows_in=199)], history, _q())
    assert low.failed and "median 1000" in low.message
    assert volume_gate(DAY, [_batch(rows_in=5001)], history, _q()).failed
    assert (
        volume_gate(DAY, [_batch(rows_in=5)], history[:4], _q()).status == "skip"
    )  # too little history
    assert (
        volume_gate(date(2026, 2, 17), [_batch(rows_in=5)], history, _q()).status == "skip"
    )  # holiday


@pytest.mark.unit
def test_reconciliation_gate():
    from decimal import Decimal

    from review_pipeline.quality.gates import reconciliation_gate

    good = _batch(rows_in=100, rows_staged=98, rows_quarantined=2)
    assert reconciliation_gate(DAY, [good], _q()).status == "pass"
    assert reconciliation_gate(DAY, [_batch(rows_staged=99)], _q()).failed
    amounts = _batch(amount_in_cny=Decimal("1000.00"), amount_staged_cny=Decimal("999.98"))
    assert reconciliation_gate(DAY, [amounts], _q()).failed
    close = _batch(amount_in_cny=Decimal("1000.00"), amount_staged_cny=Decimal("999.99"))
    assert reconciliation_gate(DAY, [close], _q()).status == "pass"


@pytest.mark.unit
def test_quarantine_rate_gate():
    from review_pipeline.quality.gates import quarantine_rate_gate

    ok = {"leads": 100, "quarantined": 10, "validation_run_id": 1}
    assert quarantine_rate_gate(DAY, ok, [_batch()], _q()).status == "pass"  # 10 % is the limit
    high = {"leads": 100, "quarantined": 11, "validation_run_id": 1}
    assert quarantine_rate_gate(DAY, high, [_batch()], _q()).failed
    unchecked = {"leads": 100, "quarantined": 0, "validation_run_id": None}
    assert "have not run" in quarantine_rate_gate(DAY, unchecked, [], _q()).message
    casts = _batch(rows_in=100, rows_staged=80, rows_quarantined=20)
    assert quarantine_rate_gate(DAY, ok, [casts], _q()).failed
    small = {"leads": 10, "quarantined": 9, "validation_run_id": 1}  # too few to judge a rate
    assert quarantine_rate_gate(DAY, small, [], _q()).status == "pass"
