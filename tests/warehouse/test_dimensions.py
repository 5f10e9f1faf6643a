"""SCD type 2 dimensions, the org closure and the calendar, against hand-worked expectations."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import WORLD_DATE, engine_of, insert, load_world

pytestmark = pytest.mark.integration


def _rows(engine: sa.Engine, query: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


def test_employee_scd2_transfer_revert_leave_and_rejoin(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    build_day(wh, WORLD_DATE)

    got = _rows(
        engine,
        "select valid_from, valid_to, is_active, team_id, manager_id, region_code"
        " from dw.dim_employee where employee_id = 'E1' order by valid_from",
    )
    assert got == [
        (date(2025, 1, 1), date(2026, 2, 1), True, "T1", "M1", "EAST"),  # start
        (date(2026, 2, 1), date(2026, 3, 1), True, "T2", "M2", "WEST"),  # transfer
        (date(2026, 3, 1), date(2026, 4, 1), True, "T1", "M1", "EAST"),  # revert
        (date(2026, 4, 1), date(2026, 5, 1), False, None, None, None),  # on leave
        (date(2026, 5, 1), None, True, "T1", "M1", "EAST"),  # rejoined, current
    ]
    # E2 left on 2026-03-15 although the assignment row stays open: cut there.
    assert _rows(
        engine,
        "select valid_from, valid_to, is_active from dw.dim_employee"
        " where employee_id = 'E2' order by valid_from",
    ) == [(date(2025, 1, 1), date(2026, 3, 15), True), (date(2026, 3, 15), None, False)]

    # Exactly one current row per employee, and the index refuses a second one.
    assert (
        _rows(
            engine,
            "select employee_id, count(*) from dw.dim_employee where valid_to is null"
            " group by employee_id having count(*) <> 1",
        )
        == []
    )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into dw.dim_employee (employee_id, valid_from, is_active)"
                " values ('E1', date '2027-01-01', true)"
            )
        )


def test_customer_scd2_two_changes_in_one_day_and_timezone(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    build_day(wh, WORLD_DATE)
    assert _rows(
        engine,
        "select valid_from, valid_to, account_tier, is_inferred from dw.dim_customer"
        " where customer_id = 'C1' order by valid_from",
    ) == [
        # the first version reaches back so earlier facts find one
        (date(1900, 1, 1), date(2026, 3, 10), "GENERAL", False),
        # TOP at 10:00 and STRATEGIC at 15:00 on 10 March: the day ends STRATEGIC
        (date(2026, 3, 10), date(2026, 4, 1), "STRATEGIC", False),
        # 00:30 Shanghai time on 1 April
        (date(2026, 4, 1), None, "GENERAL", False),
    ]
    assert _rows(engine, "select account_tier from dw.customer_on(date '2026-03-31')") == [
        ("STRATEGIC",)
    ]


def test_late_arriving_customer_is_inferred_then_corrected(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    with engine.begin() as conn:
        insert(
            conn,
            "lead",
            [
                {
                    "lead_id": "L9",
                    "product_line_code": "SRV",
                    "customer_id": "C9",
                    "owner_id": "E1",
                    "created_at": "2026-03-02 09:00+08",
                    "stage": "S2",
                    "status": "OPEN",
                    "amount_cny": 100,
                }
            ],
        )
    build_day(wh, date(2026, 3, 5))
    assert _rows(
        engine,
        "select valid_from, valid_to, account_tier, is_inferred from dw.dim_customer"
        " where customer_id = 'C9'",
    ) == [(date(1900, 1, 1), None, None, True)]
    assert _rows(engine, "select customer_id from dw.lead_state_on(date '2026-03-05')") == [("C9",)]

    with engine.begin() as conn:
        insert(
            conn,
            "customer",
            [
                {
                    "customer_id": "C9",
                    "valid_from": "2026-03-06 08:00+08",
                    "name": "Late Co",
                    "account_tier": "TOP",
                }
            ],
        )
    build_day(wh, date(2026, 3, 6))
    # the inferred row itself is corrected in place: still one row, now real
    assert _rows(
        engine,
        "select valid_from, valid_to, name, account_tier, is_inferred from dw.dim_customer"
        " where customer_id = 'C9'",
    ) == [(date(1900, 1, 1), None, "Late Co", "TOP", False)]


def test_unknown_owner_gets_inferred_employee(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    with engine.begin() as conn:
        insert(
            conn,
            "sales_order",
            [
                {
                    "order_id": "O9",
                    "order_date": date(2026, 3, 3),
                    "owner_id": "NEW1",
                    "amount_cny": 5,
                }
            ],
        )
    build_day(wh, WORLD_DATE)
    assert _rows(
        engine, "select is_active, is_inferred from dw.dim_employee where employee_id = 'NEW1'"
    ) == [(False, True)]

    # An incremental build that reads no staging row again keeps the inferred member.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update dw.build_watermark set loaded_through = loaded_through + interval '1 day'"
            )
        )
    summary = build_day(wh, WORLD_DATE)
    assert summary["steps"]["fct_order"]["rows"] == 0
    assert _rows(
        engine, "select is_active, is_inferred from dw.dim_employee where employee_id = 'NEW1'"
    ) == [(False, True)]


def test_org_scope_point_in_time(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    build_day(wh, WORLD_DATE)

    def scope(manager: str, day: str) -> set[tuple[object, ...]]:
        return set(
            _rows(engine, "select * from dw.org_scope(:m, cast(:d as date))", m=manager, d=day)
        )

    # January: E1 and E2 under M1
    assert scope("M1", "2026-01-15") == {("M1", 0), ("E1", 1), ("E2", 1)}
    # February: E1 moved to M2
    assert scope("M1", "2026-02-15") == {("M1", 0), ("E2", 1)}
    assert scope("M2", "2026-02-15") == {("M2", 0), ("E1", 1)}
    # the executive sees everyone, E1 two levels down (through M2 in February)
    assert scope("X", "2026-02-15") == {("X", 0), ("M1", 1), ("M2", 1), ("E1", 2), ("E2", 2)}
    # 15 March E2 left; April E1 on leave: nobody under M1 then
    assert scope("M1", "2026-03-20") == {("M1", 0), ("E1", 1)}
    assert scope("M1", "2026-04-15") == {("M1", 0)}
    assert scope("M1", "2026-05-02") == {("M1", 0), ("E1", 1)}

    # "everyone under X on D" is one index scan on the closure
    with engine.connect() as conn:
        plan = "\n".join(
            conn.execute(
                sa.text("explain select * from dw.org_scope('X', date '2026-02-15')")
            ).scalars()
        )
    assert "org_closure_scope_ix" in plan or "dim_employee_org_closure_pkey" in plan


def test_dim_date_working_days_with_makeup_days(wh):
    engine = engine_of(wh)
    # Spring Festival 2026: 15-23 Feb off, Saturdays 14 and 28 Feb worked (调休)
    got = _rows(
        engine,
        "select date_key, is_working_day, is_makeup_working_day, iso_week_label, weekday_label_zh,"
        " month_label_zh, quarter_label_zh from dw.dim_date"
        " where date_key in (date '2026-02-13', date '2026-02-14', date '2026-02-16', date '2026-02-28')"
        " order by 1",
    )
    assert got == [
        (date(2026, 2, 13), True, False, "2026-W07", "星期五", "2026年2月", "2026年第1季度"),
        (date(2026, 2, 14), True, True, "2026-W07", "星期六", "2026年2月", "2026年第1季度"),
        (date(2026, 2, 16), False, False, "2026-W08", "星期一", "2026年2月", "2026年第1季度"),
        (date(2026, 2, 28), True, True, "2026-W09", "星期六", "2026年2月", "2026年第1季度"),
    ]
    # 1 January 2027 belongs to ISO week 53 of 2026
    assert _rows(
        engine, "select iso_week_label from dw.dim_date where date_key = date '2027-01-01'"
    ) == [("2026-W53",)]
