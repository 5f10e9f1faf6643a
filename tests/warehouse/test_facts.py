"""Finance facts, attribution, receivables and the weekly target allocation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import engine_of, insert, load_world

pytestmark = pytest.mark.integration


def _load_finance(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        insert(
            conn,
            "lead",
            [
                {
                    "lead_id": "L1",
                    "product_line_code": "SRV",
                    "customer_id": "C1",
                    "owner_id": "E1",
                    "created_at": "2026-01-05 09:00+08",
                    "stage": "S5",
                    "status": "ORDERED",
                    "amount_cny": 1000,
                    "tender_date": date(2026, 2, 10),
                    "bid_price_cny": 990,
                    "competitors": "A;B",
                }
            ],
        )
        # no owner on the finance record: the lead's owner (E1) takes it
        insert(
            conn,
            "sales_order",
            [
                {
                    "order_id": "O1",
                    "order_date": date(2026, 2, 15),
                    "lead_id": "L1",
                    "amount_cny": 1000,
                }
            ],
        )
        insert(
            conn,
            "invoice",
            [
                {
                    "invoice_id": "I1",
                    "order_id": "O1",
                    "invoice_date": date(2026, 2, 20),
                    "due_date": date(2026, 3, 10),
                    "amount_cny": 1000,
                }
            ],
        )
        insert(
            conn,
            "collection",
            [
                {
                    "collection_id": "K1",
                    "invoice_id": "I1",
                    "collection_date": date(2026, 3, 5),
                    "amount_cny": 300,
                },
                {
                    "collection_id": "K2",
                    "invoice_id": "I1",
                    "collection_date": date(2026, 4, 2),
                    "amount_cny": 200,
                },
            ],
        )
        conn.execute(
            sa.text(
                "insert into staging.target (level, org_key, year, month, business_unit,"
                " product_line_code, account_tier, measure, amount_cny, source)"
                " values ('PERSON', 'E1', 2026, 2, 'INFO', 'SRV', 'TOP', 'ORDER', 1000.01, 'test')"
            )
        )


def test_order_attributed_to_owner_org_on_order_date(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _load_finance(engine)
    build_day(wh, date(2026, 3, 31))
    with engine.connect() as conn:
        # 15 Feb: E1 was in T2 under M2 (WEST); business unit from the product line
        assert tuple(
            conn.execute(
                sa.text(
                    "select owner_id, owner_team_id, owner_region_code, owner_manager_id, business_unit"
                    " from dw.fct_order_attributed where order_id = 'O1'"
                )
            ).one()
        ) == ("E1", "T2", "WEST", "M2", "INFO")
        # collection on 5 March: E1 back in T1 (EAST); product line via invoice -> order
        assert tuple(
            conn.execute(
                sa.text(
                    "select owner_id, owner_region_code, product_line_code from dw.fct_collection_attributed"
                    " where collection_id = 'K1'"
                )
            ).one()
        ) == ("E1", "EAST", "SRV")
        assert tuple(
            conn.execute(
                sa.text("select tender_date, bid_price_cny, competitors from dw.fct_bid")
            ).one()
        ) == (date(2026, 2, 10), Decimal("990.00"), "A;B")


def test_receivable_balances_and_month_end_snapshot(wh):
    from review_pipeline.warehouse.build import backfill

    engine = engine_of(wh)
    load_world(engine)
    _load_finance(engine)
    backfill(wh, date(2026, 3, 30), date(2026, 4, 30))
    with engine.connect() as conn:
        # 31 March: 1000 - 300 = 700 open, due 10 March -> 21 days overdue
        assert tuple(
            conn.execute(
                sa.text(
                    "select balance_cny, days_overdue, aging_bucket from dw.fct_receivable_month_end"
                    " where month_end = date '2026-03-31'"
                )
            ).one()
        ) == (Decimal("700.00"), 21, "1-30")
        # 30 April: 1000 - 300 - 200 = 500, 51 days overdue
        assert tuple(
            conn.execute(
                sa.text(
                    "select balance_cny, days_overdue, aging_bucket from dw.fct_receivable_month_end"
                    " where month_end = date '2026-04-30'"
                )
            ).one()
        ) == (Decimal("500.00"), 51, "31-90")
        # only month ends are stored; any day comes from the function
        assert (
            conn.execute(
                sa.text("select count(distinct month_end) from dw.fct_receivable_month_end")
            ).scalar_one()
            == 2
        )
        assert tuple(
            conn.execute(
                sa.text("select balance_cny, aging_bucket from dw.receivable_on(date '2026-03-09')")
            ).one()
        ) == (Decimal("700.00"), "NOT_DUE")


def test_target_weekly_allocation_over_working_days(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _load_finance(engine)
    build_day(wh, date(2026, 3, 1))
    # February 2026 working days per ISO week (Spring Festival 15-23 Feb off,
    # Saturdays 14 and 28 Feb worked): W05 (1 Feb, Sun) 0, W06 5, W07 6 (incl.
    # Sat 14), W08 0, W09 5 (24-27 + Sat 28) = 16. 1000.01 x 5/16 = 312.50,
    # x 6/16 = 375.00, the last week takes 1000.01 - 687.50 = 312.51.
    with engine.connect() as conn:
        weeks = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "select w.week_start, w.working_days, w.month_working_days, w.amount_cny"
                    " from dw.fct_target_week as w join dw.fct_target as t using (target_key)"
                    " where t.salesperson_id = 'E1' order by w.week_start"
                )
            )
        ]
    assert weeks == [
        (date(2026, 2, 2), 5, 16, Decimal("312.50")),
        (date(2026, 2, 9), 6, 16, Decimal("375.00")),
        (date(2026, 2, 23), 5, 16, Decimal("312.51")),
    ]
