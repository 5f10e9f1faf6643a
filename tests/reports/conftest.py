"""Fixtures for the report tests: a migrated warehouse and a small hand-built world.

The world is loaded through staging and ``build_day`` (plus a few ``dq`` rows
written directly, as the checks would); every expected figure in the tests is
worked out by hand from the rows below.

Review date D = Sunday 2026-03-15 (M = March 2026, D-7 = 2026-03-08).

Org (direct managers): X <- M1 (team T1, EAST), M2 (team T2, WEST).
E1, E2 in T1 under M1 throughout. E3 in T1 (EAST) until 2026-03-01, then T2
(WEST) under M2. Business unit INFO; product lines SRV and STO.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import insert, reset_warehouse

D = date(2026, 3, 15)


@pytest.fixture(scope="session")
def rpt_url(make_database: Any) -> Iterator[str]:
    from review_pipeline.db import make_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse import build
    from review_pipeline.warehouse.steps import STEPS

    url = make_database("rpt")
    settings = load_settings(warehouse_url=url)
    engine = make_engine(url, settings)
    upgrade(engine)
    build._run_step(engine, settings, STEPS[0], D, False)
    yield url


@pytest.fixture
def rs(review_home: Path, rpt_url: str) -> Any:
    """Settings of the emptied report test warehouse."""
    from review_pipeline.settings import load_settings

    settings = load_settings(warehouse_url=rpt_url, crm_url=rpt_url, lock_timeout_seconds=2)
    reset_all(settings)
    return settings


def reset_all(settings: Any) -> None:
    """Empty staging, dq, dw (but the calendar) and the marts."""
    from review_pipeline.db import warehouse_engine

    engine = warehouse_engine(settings)
    reset_warehouse(engine)
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "select format('%I.%I', table_schema, table_name) from information_schema.tables"
                " where table_type = 'BASE TABLE' and table_schema = 'mart'"
            )
        ).scalars()
        for table in tables:
            conn.execute(sa.text(f"delete from {table}"))


def engine_of(settings: Any) -> sa.Engine:
    from review_pipeline.db import warehouse_engine

    return warehouse_engine(settings)


def load_org(conn: sa.Connection) -> None:
    insert(conn, "business_unit", [{"business_unit": "INFO", "name": "Hardware"}])
    insert(
        conn,
        "region",
        [
            {"region_code": "EAST", "name": "East", "business_unit": "INFO"},
            {"region_code": "WEST", "name": "West", "business_unit": "INFO"},
        ],
    )
    insert(
        conn,
        "product_line",
        [
            {"product_line_code": "SRV", "name": "Servers", "business_unit": "INFO"},
            {"product_line_code": "STO", "name": "Storage", "business_unit": "INFO"},
        ],
    )
    insert(
        conn,
        "team",
        [
            {"team_id": "T0", "name": "HQ", "business_unit": "INFO", "region_code": None},
            {"team_id": "T1", "name": "East", "business_unit": "INFO", "region_code": "EAST"},
            {"team_id": "T2", "name": "West", "business_unit": "INFO", "region_code": "WEST"},
        ],
    )
    insert(
        conn,
        "employee",
        [
            {"employee_id": e, "name": f"Name {e}", "hired_on": date(2020, 1, 1)}
            for e in ("X", "M1", "M2", "E1", "E2", "E3")
        ],
    )

    def asg(emp: str, start: date, end: date | None, role: str, team: str, mgr: str | None):
        return {
            "employee_id": emp,
            "valid_from": start,
            "valid_to": end,
            "role": role,
            "team_id": team,
            "manager_id": mgr,
        }

    insert(
        conn,
        "employee_assignment",
        [
            asg("X", date(2020, 1, 1), None, "EXECUTIVE", "T0", None),
            asg("M1", date(2020, 1, 1), None, "TEAM_MANAGER", "T1", "X"),
            asg("M2", date(2020, 1, 1), None, "TEAM_MANAGER", "T2", "X"),
            asg("E1", date(2025, 1, 1), None, "SALESPERSON", "T1", "M1"),
            asg("E2", date(2025, 1, 1), None, "SALESPERSON", "T1", "M1"),
            asg("E3", date(2025, 1, 1), date(2026, 3, 1), "SALESPERSON", "T1", "M1"),
            asg("E3", date(2026, 3, 1), None, "SALESPERSON", "T2", "M2"),
        ],
    )
    insert(
        conn,
        "customer",
        [
            {
                "customer_id": c,
                "valid_from": "2020-01-01 00:00+08",
                "name": f"Customer {c}",
                "account_tier": "TOP",
                "region_code": "EAST",
            }
            for c in ("C1", "C2")
        ],
    )


def _lead(
    lead_id: str,
    owner: str,
    pl: str,
    created: str,
    history: list[dict[str, Any]],
    **current: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A lead row (its current state = the last history row) and its history."""
    last = {**history[-1]}
    last.pop("changed_at")
    row = {
        "lead_id": lead_id,
        "product_line_code": pl,
        "customer_id": "C1",
        "owner_id": owner,
        "created_at": f"{created} 09:00+08",
        "updated_at": f"{history[-1]['changed_at']}",
        **last,
        **current,
    }
    hist = [
        {"lead_id": lead_id, "seq": 0, "owner_id": owner, **h, "changed_at": h["changed_at"]}
        for h in history
    ]
    return row, hist


def _h(day: str, stage: str, status: str, amount: int, **dates: Any) -> dict[str, Any]:
    return {
        "changed_at": f"{day} 10:00+08",
        "stage": stage,
        "status": status,
        "amount_cny": amount,
        **dates,
    }


LEADS = [
    # L1 ordered on 03-05 (S5_ORDERED in M); visited 03-10
    _lead(
        "L1",
        "E1",
        "SRV",
        "2026-01-10",
        [
            _h("2026-01-10", "S3", "OPEN", 300, expected_order_date=date(2026, 3, 5)),
            _h("2026-03-05", "S5", "ORDERED", 300, expected_order_date=date(2026, 3, 5)),
        ],
    ),
    # L2 S4 (order April, collection 04-15) -> 03-10 S5 pending (order 03-25, collection 03-30 400)
    _lead(
        "L2",
        "E1",
        "SRV",
        "2026-02-01",
        [
            _h(
                "2026-02-01",
                "S4",
                "OPEN",
                500,
                expected_order_date=date(2026, 4, 10),
                expected_collection_date=date(2026, 4, 15),
                expected_collection_cny=400,
            ),
            _h(
                "2026-03-10",
                "S5",
                "PENDING_ORDER",
                500,
                expected_order_date=date(2026, 3, 25),
                expected_collection_date=date(2026, 3, 30),
                expected_collection_cny=400,
            ),
        ],
    ),
    # L3 S3 1000, expected order 03-20, slipped to 03-28 on 03-12; visited 03-14
    _lead(
        "L3",
        "E2",
        "SRV",
        "2026-02-15",
        [
            _h("2026-02-15", "S3", "OPEN", 1000, expected_order_date=date(2026, 3, 20)),
            _h("2026-03-12", "S3", "OPEN", 1000, expected_order_date=date(2026, 3, 28)),
        ],
    ),
    # L4 E3 S4 200, order 03-31, tender 03-20, collection 03-31 200; visited 03-14
    _lead(
        "L4",
        "E3",
        "SRV",
        "2026-03-01",
        [
            _h(
                "2026-03-01",
                "S4",
                "OPEN",
                200,
                expected_order_date=date(2026, 3, 31),
                expected_tender_date=date(2026, 3, 20),
                expected_collection_date=date(2026, 3, 31),
                expected_collection_cny=200,
            )
        ],
        tender_date=None,
    ),
    # L5 STO S1 800 order 04-20 -> S2 on 03-13
    _lead(
        "L5",
        "E1",
        "STO",
        "2026-02-20",
        [
            _h("2026-02-20", "S1", "OPEN", 800, expected_order_date=date(2026, 4, 20)),
            _h("2026-03-13", "S2", "OPEN", 800, expected_order_date=date(2026, 4, 20)),
        ],
    ),
    # L6 new on 03-12: S3 600, order 05-10
    _lead(
        "L6",
        "E1",
        "SRV",
        "2026-03-12",
        [_h("2026-03-12", "S3", "OPEN", 600, expected_order_date=date(2026, 5, 10))],
    ),
    # L7 S2 300 (order 03-20) lost on 03-11
    _lead(
        "L7",
        "E2",
        "SRV",
        "2026-01-05",
        [
            _h("2026-01-05", "S2", "OPEN", 300, expected_order_date=date(2026, 3, 20)),
            _h("2026-03-11", "LOST", "LOST", 300, expected_order_date=date(2026, 3, 20)),
        ],
    ),
    # L8 S4 100, order 03-01 and tender 03-02 both past, never updated since 02-10
    _lead(
        "L8",
        "E1",
        "SRV",
        "2026-02-10",
        [
            _h(
                "2026-02-10",
                "S4",
                "OPEN",
                100,
                expected_order_date=date(2026, 3, 1),
                expected_tender_date=date(2026, 3, 2),
            )
        ],
    ),
]


def load_leads(conn: sa.Connection) -> None:
    insert(conn, "lead", [row for row, _ in LEADS])
    insert(conn, "lead_history", [h for _, hist in LEADS for h in hist])
    insert(
        conn,
        "visit",
        [
            {"visit_id": "V1", "employee_id": "E1", "customer_id": "C1", "lead_id": "L1",
             "visited_at": "2026-03-10 10:00+08"},
            {"visit_id": "V3", "employee_id": "E2", "customer_id": "C1", "lead_id": "L3",
             "visited_at": "2026-03-14 10:00+08"},
            {"visit_id": "V4", "employee_id": "E3", "customer_id": "C1", "lead_id": "L4",
             "visited_at": "2026-03-14 10:00+08"},
        ],
    )  # fmt: skip


def _target(owner: str, year: int, month: int, pl: str, measure: str, amount: int) -> dict:
    return {
        "level": "PERSON",
        "org_key": owner,
        "year": year,
        "month": month,
        "business_unit": "INFO",
        "product_line_code": pl,
        "account_tier": "TOP",
        "measure": measure,
        "amount_cny": amount,
    }


def load_targets(conn: sa.Connection) -> None:
    insert(
        conn,
        "target",
        [
            _target("E1", 2026, 1, "SRV", "ORDER", 300),
            _target("E1", 2026, 2, "SRV", "ORDER", 200),
            _target("E1", 2026, 3, "SRV", "ORDER", 1000),
            _target("E1", 2026, 3, "STO", "ORDER", 500),
            _target("E2", 2026, 3, "SRV", "ORDER", 400),
            _target("E3", 2026, 2, "SRV", "ORDER", 100),
            _target("E3", 2026, 3, "SRV", "ORDER", 600),
            _target("E1", 2026, 3, "SRV", "COLLECTION", 800),
            _target("E1", 2026, 4, "SRV", "ORDER", 2000),
            # a REGION row: the reports count PERSON rows only
            {**_target("EAST", 2026, 3, "SRV", "ORDER", 99999), "level": "REGION"},
        ],
    )
    plans = [
        ("E3", "2025-02-01", "2025-02-03", 100),
        ("E3", "2025-12-01", "2025-12-01", 100),
        ("E3", "2026-01-01", "2026-01-05", 100),
        ("E3", "2026-02-01", "2026-02-02", 200),
        ("E1", "2026-02-01", "2026-02-02", 200),
        ("E1", "2026-02-01", "2026-02-09", 300),  # a re-statement: not the plan
        ("E1", "2026-03-01", "2026-03-02", 1200),
    ]
    insert(
        conn,
        "monthly_plan",
        [
            {
                "employee_id": e,
                "plan_month": date.fromisoformat(m),
                "product_line_code": "SRV",
                "measure": "ORDER",
                "stated_at": f"{s} 09:00+08",
                "amount_cny": a,
            }
            for e, m, s, a in plans
        ],
    )


def load_finance(conn: sa.Connection) -> None:
    orders = [
        ("O1", "E1", "2026-03-05", 300, "L1"),
        ("O2", "E2", "2026-03-10", 100, None),
        ("O3", "E3", "2026-02-20", 250, None),
        ("O4", "E1", "2026-01-15", 150, None),
        ("O5", "E1", "2025-03-10", 200, None),
        ("O6", "E1", "2025-03-20", 999, None),
        ("O7", "E3", "2026-03-12", 50, None),
        ("O8", "E3", "2025-12-10", 100, None),
        ("O9", "E3", "2026-01-20", 50, None),
        ("O10", "E3", "2025-02-15", 80, None),
    ]
    insert(
        conn,
        "sales_order",
        [
            {
                "order_id": o,
                "owner_id": e,
                "order_date": date.fromisoformat(d),
                "amount_cny": a,
                "lead_id": lead,
                "customer_id": "C1",
                "product_line_code": "SRV",
            }
            for o, e, d, a, lead in orders
        ],
    )
    insert(
        conn,
        "invoice",
        [
            {"invoice_id": "I1", "order_id": "O1", "owner_id": "E1", "customer_id": "C1",
             "invoice_date": date(2026, 3, 6), "due_date": date(2026, 3, 20), "amount_cny": 300},
            {"invoice_id": "I2", "order_id": "O3", "owner_id": "E3", "customer_id": "C1",
             "invoice_date": date(2026, 2, 21), "due_date": date(2026, 2, 28), "amount_cny": 250},
            {"invoice_id": "I3", "order_id": "O4", "owner_id": "E1", "customer_id": "C1",
             "invoice_date": date(2026, 1, 16), "due_date": date(2026, 1, 20), "amount_cny": 150},
        ],
    )  # fmt: skip
    insert(
        conn,
        "collection",
        [
            {"collection_id": "K1", "invoice_id": "I1", "owner_id": "E1", "customer_id": "C1",
             "collection_date": date(2026, 3, 12), "amount_cny": 100},
            {"collection_id": "K2", "invoice_id": "I3", "owner_id": "E1", "customer_id": "C1",
             "collection_date": date(2026, 2, 10), "amount_cny": 50},
        ],
    )  # fmt: skip


def load_dq(conn: sa.Connection) -> None:
    """Findings, scores and compliance as the checks would have written them for D."""

    def finding(rule: str, lead: str, severity: str, owner: str) -> None:
        conn.execute(
            sa.text(
                "insert into dq.finding (business_date, rule_id, entity_type, entity_id, severity,"
                " owner_id, run_id) values (:d, :r, 'lead', :l, :s, :o, 1)"
            ),
            {"d": D, "r": rule, "l": lead, "s": severity, "o": owner},
        )

    finding("LQ05", "L8", "warn", "E1")
    finding("LQ05", "L3", "warn", "E2")
    finding("LQ12", "L4", "error", "E3")
    for person, leads, errors, warns, weight in (
        ("E1", 4, 0, 1, "0.5"),
        ("E2", 1, 0, 1, "0.5"),
        ("E3", 1, 1, 0, "1.0"),
    ):
        conn.execute(
            sa.text(
                "insert into dq.authenticity_score (business_date, scope_type, scope_id, open_leads,"
                " error_findings, warn_findings, weight, score, run_id)"
                " values (:d, 'PERSON', :p, :l, :e, :w, :wt, null, 1)"
            ),
            {"d": D, "p": person, "l": leads, "e": errors, "w": warns, "wt": weight},
        )
    for person, day, req, on_time, due, approved in (
        ("E1", date(2026, 3, 2), 1, 1, 1, 0),
        ("E1", date(2026, 3, 3), 1, 0, 0, 0),
        ("E2", date(2026, 3, 10), 1, 1, 0, 0),
    ):
        conn.execute(
            sa.text(
                "insert into dq.report_compliance (business_date, scope_type, scope_id,"
                " reports_required, reports_on_time, approvals_due, approvals_on_time, run_id)"
                " values (:d, 'PERSON', :p, :r, :o, :a, :ao, 1)"
            ),
            {"d": day, "p": person, "r": req, "o": on_time, "a": due, "ao": approved},
        )


def load_world(settings: Any, *, targets: bool = True, finance: bool = True) -> None:
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(settings)
    with engine.begin() as conn:
        load_org(conn)
        load_leads(conn)
        if targets:
            load_targets(conn)
        if finance:
            load_finance(conn)
    build_day(settings, D)
    with engine.begin() as conn:
        load_dq(conn)


@pytest.fixture
def world(rs: Any) -> Any:
    """The hand-built world, warehouse built for D, reports not built yet."""
    load_world(rs)
    return rs
