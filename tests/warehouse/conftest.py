"""Fixtures for the warehouse tests: a migrated template database and staging helpers.

Staging rows are written by hand here (the extraction is another stage); every
expected value in the tests is worked out from these rows, not from the code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

WORLD_DATE = date(2026, 3, 10)


@pytest.fixture(scope="session")
def wh_url(make_database: Callable[..., str]) -> Iterator[str]:
    """One migrated warehouse with dim_date filled; each test starts from it emptied.

    Emptying tables is far cheaper than a database per test (creating and
    dropping databases forces checkpoints).
    """
    from review_pipeline.db import make_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse import build
    from review_pipeline.warehouse.steps import STEPS

    url = make_database("wh")
    settings = load_settings(warehouse_url=url)
    engine = make_engine(url, settings)
    upgrade(engine)
    build._run_step(engine, settings, STEPS[0], WORLD_DATE, False)
    yield url


def reset_warehouse(engine: sa.Engine) -> None:
    """Empty staging, the checks' tables and the warehouse (the calendar stays).

    ``delete`` with foreign-key triggers off is much faster than ``truncate``
    on a few dozen tiny tables (truncate makes new files for each).
    """
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "select format('%I.%I', table_schema, table_name) from information_schema.tables"
                " where table_type = 'BASE TABLE'"
                " and table_schema in ('staging', 'dq', 'quarantine', 'dw', 'mart', 'ops')"
                " and not (table_schema = 'dw' and table_name = 'dim_date')"
                " and not (table_schema = 'ops' and table_name = 'alembic_version')"
            )
        ).scalars()
        conn.execute(sa.text("set local session_replication_role = replica"))
        for table in tables:
            conn.execute(sa.text(f"delete from {table}"))
        conn.execute(sa.text("alter table dw.fct_target alter column target_key restart"))


@pytest.fixture
def wh(review_home: Path, wh_url: str) -> Any:
    """Settings of the emptied test warehouse (lock waits short, so lock tests stay fast)."""
    from review_pipeline.settings import load_settings

    settings = load_settings(warehouse_url=wh_url, crm_url=wh_url, lock_timeout_seconds=2)
    reset_warehouse(engine_of(settings))
    return settings


def engine_of(settings: Any) -> sa.Engine:
    from review_pipeline.db import warehouse_engine

    return warehouse_engine(settings)


def insert(conn: sa.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows into staging.<table>; values are bound, never formatted."""
    for row in rows:
        values = {"source": "test", **row}
        columns = ", ".join(values)
        binds = ", ".join(f":{c}" for c in values)
        conn.execute(sa.text(f"insert into staging.{table} ({columns}) values ({binds})"), values)


def load_world(engine: sa.Engine) -> None:
    """A small organisation, customers and finance rows the tests reason about.

    Org (direct managers): X (executive) <- M1 (team T1, EAST), M2 (team T2, WEST).
    E1: T1/M1 from 2025-01-01, transferred to T2/M2 on 2026-02-01, back to
    T1/M1 on 2026-03-01, left on 2026-04-01, rejoined T1/M1 on 2026-05-01.
    E2: T1/M1 from 2025-01-01, left_on 2026-03-15 (assignment still open).
    """
    with engine.begin() as conn:
        insert(conn, "business_unit", [{"business_unit": "INFO", "name": "Hardware"}])
        insert(
            conn,
            "region",
            [{"region_code": "EAST", "name": "East"}, {"region_code": "WEST", "name": "West"}],
        )
        insert(conn, "city", [{"city_code": "SH", "name": "Shanghai", "region_code": "EAST"}])
        insert(conn, "industry", [{"industry_code": "GOV", "name": "Government"}])
        insert(
            conn,
            "product_line",
            [{"product_line_code": "SRV", "name": "Servers", "business_unit": "INFO"}],
        )
        insert(
            conn,
            "team",
            [
                {"team_id": "T0", "name": "HQ", "business_unit": "INFO", "region_code": None},
                {
                    "team_id": "T1",
                    "name": "East team",
                    "business_unit": "INFO",
                    "region_code": "EAST",
                    "parent_team_id": "T0",
                },
                {
                    "team_id": "T2",
                    "name": "West team",
                    "business_unit": "INFO",
                    "region_code": "WEST",
                    "parent_team_id": "T0",
                },
            ],
        )
        insert(
            conn,
            "employee",
            [
                {"employee_id": "X", "name": "Exec", "hired_on": date(2020, 1, 1)},
                {"employee_id": "M1", "name": "Manager 1", "hired_on": date(2020, 1, 1)},
                {"employee_id": "M2", "name": "Manager 2", "hired_on": date(2020, 1, 1)},
                {"employee_id": "E1", "name": "Ann", "hired_on": date(2025, 1, 1)},
                {
                    "employee_id": "E2",
                    "name": "Bo",
                    "hired_on": date(2025, 1, 1),
                    "left_on": date(2026, 3, 15),
                },
            ],
        )

        def asg(
            emp: str, start: date, end: date | None, role: str, team: str, mgr: str | None
        ) -> dict[str, Any]:
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
                asg("E1", date(2025, 1, 1), date(2026, 2, 1), "SALESPERSON", "T1", "M1"),
                asg("E1", date(2026, 2, 1), date(2026, 3, 1), "SALESPERSON", "T2", "M2"),
                asg("E1", date(2026, 3, 1), date(2026, 4, 1), "SALESPERSON", "T1", "M1"),
                asg("E1", date(2026, 5, 1), None, "SALESPERSON", "T1", "M1"),
                asg("E2", date(2025, 1, 1), None, "SALESPERSON", "T1", "M1"),
            ],
        )
        insert(
            conn,
            "customer",
            [
                {
                    "customer_id": "C1",
                    "valid_from": "2026-01-01 10:00+08",
                    "name": "Acme",
                    "industry_code": "GOV",
                    "city_code": "SH",
                    "region_code": "EAST",
                    "account_tier": "GENERAL",
                },
                # two changes on one day: the later one (STRATEGIC) is the day's state
                {
                    "customer_id": "C1",
                    "valid_from": "2026-03-10 10:00+08",
                    "name": "Acme",
                    "industry_code": "GOV",
                    "city_code": "SH",
                    "region_code": "EAST",
                    "account_tier": "TOP",
                },
                {
                    "customer_id": "C1",
                    "valid_from": "2026-03-10 15:00+08",
                    "name": "Acme",
                    "industry_code": "GOV",
                    "city_code": "SH",
                    "region_code": "EAST",
                    "account_tier": "STRATEGIC",
                },
                # 00:30 Shanghai on 1 April is still 31 March in UTC: the business day is 1 April
                {
                    "customer_id": "C1",
                    "valid_from": "2026-04-01 00:30+08",
                    "name": "Acme",
                    "industry_code": "GOV",
                    "city_code": "SH",
                    "region_code": "EAST",
                    "account_tier": "GENERAL",
                },
            ],
        )


def checksums(engine: sa.Engine, exclude: tuple[str, ...] = ("build_watermark",)) -> dict[str, str]:
    """An order-independent md5 of every dw table's content."""
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "select table_name from information_schema.tables"
                " where table_schema = 'dw' and table_type = 'BASE TABLE' order by 1"
            )
        ).scalars()
        out: dict[str, str] = {}
        for table in tables:
            if table in exclude:
                continue
            out[table] = conn.execute(
                sa.text(
                    f"select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                    f" from dw.{table} as t"
                )
            ).scalar_one()
        return out
