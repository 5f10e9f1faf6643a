"""Quality tests share one migrated warehouse and one REVIEW_HOME per session.

Great Expectations needs seconds to build its context; it is built once per
process and root, so every test here uses the same settings object and a
fixture that empties the tables the checks read and write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

TZ = "+08"

VALID_CODE = "91350100M000100Y43"  # a published example, check character 3
INVALID_CODE = "91350100M000100Y42"


@pytest.fixture(scope="session")
def dq_settings(make_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory):
    """Settings on a migrated warehouse shared by the quality tests."""
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings

    home = Path(tmp_path_factory.mktemp("dq-home"))
    url = make_database("dq")
    os.environ["REVIEW_QUALITY__DATA_DOCS"] = "false"
    settings = load_settings(warehouse_url=url, crm_url=url, home=home)
    upgrade(warehouse_engine(settings))
    return settings


_TABLES = [
    "staging.lead",
    "staging.lead_history",
    "staging.customer",
    "staging.employee",
    "staging.employee_assignment",
    "staging.team",
    "staging.region",
    "staging.visit",
    "staging.daily_report",
    "staging.sales_order",
    "staging.target",
    "dq.finding",
    "dq.lead_quarantine",
    "dq.validation_run",
    "dq.gate_result",
    "dq.authenticity_score",
    "dq.report_compliance",
    "ops.extract_batch",
]


class World:
    """Hand-built staging rows. Timestamps are given as 'YYYY-MM-DD HH:MM' Shanghai time."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"insert into {table} ({cols}) values ({marks})"), row)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []

    @staticmethod
    def ts(text: str | None) -> datetime | None:
        if text is None:
            return None
        return datetime.fromisoformat(text + TZ)

    def region(self, code: str, name: str | None = None) -> None:
        self._insert("staging.region", {"region_code": code, "name": name or code, "source": "t"})

    def team(self, team_id: str, region: str, bu: str = "INFO") -> None:
        self._insert(
            "staging.team",
            {
                "team_id": team_id,
                "name": team_id,
                "region_code": region,
                "business_unit": bu,
                "source": "t",
            },
        )

    def employee(
        self,
        emp: str,
        team: str | None = None,
        role: str = "SALESPERSON",
        hired: str = "2020-01-01",
        left: str | None = None,
        valid_to: str | None = None,
    ) -> None:
        self._insert(
            "staging.employee",
            {
                "employee_id": emp,
                "name": f"Name {emp}",
                "hired_on": date.fromisoformat(hired),
                "left_on": date.fromisoformat(left) if left else None,
                "source": "t",
            },
        )
        if team is not None:
            self._insert(
                "staging.employee_assignment",
                {
                    "employee_id": emp,
                    "valid_from": date.fromisoformat(hired),
                    "valid_to": date.fromisoformat(valid_to) if valid_to else None,
                    "role": role,
                    "team_id": team,
                    "source": "t",
                },
            )

    def customer(
        self,
        cid: str,
        tier: str | None = "TOP",
        industry: str | None = "GOV",
        city: str | None = "370100",
        code: str | None = VALID_CODE,
        valid_from: str = "2026-01-01 00:00",
    ) -> None:
        self._insert(
            "staging.customer",
            {
                "customer_id": cid,
                "valid_from": self.ts(valid_from),
                "name": cid,
                "credit_code": code,
                "industry_code": industry,
                "city_code": city,
                "account_tier": tier,
                "source": "t",
            },
        )

    def lead(
        self,
        lead_id: str,
        *,
        history: list[tuple[str, str | None, str | None]] | None = None,
        created: str = "2026-01-05 10:00",
        updated: str | None = None,
        **fields: Any,
    ) -> None:
        """A lead and its history. ``history`` = [(changed_at, stage, status), ...];
        by default one row at creation with the lead's stage and status."""
        row: dict[str, Any] = {
            "lead_id": lead_id,
            "business_unit": "INFO",
            "product_line_code": "SRV",
            "customer_id": f"C-{lead_id}",
            "owner_id": "E1",
            "created_at": self.ts(created),
            "updated_at": self.ts(updated or created),
            "stage": "S1",
            "status": "OPEN",
            "amount_cny": Decimal("100000"),
            "expected_order_date": date(2026, 12, 31),
            "source": "t",
        }
        row.update(fields)
        self._insert("staging.lead", row)
        steps = history if history is not None else [(created, row["stage"], row["status"])]
        for i, (at, stage, status) in enumerate(steps):
            self._insert(
                "staging.lead_history",
                {
                    "lead_id": lead_id,
                    "changed_at": self.ts(at),
                    "seq": i,
                    "stage": stage,
                    "status": status,
                    "stage_raw": row.get("stage_raw") if stage is None else stage,
                    "status_raw": row.get("status_raw") if status is None else status,
                    "amount_cny": row["amount_cny"],
                    "owner_id": row["owner_id"],
                    "expected_order_date": row["expected_order_date"],
                    "source": "t",
                },
            )

    def visit(self, visit_id: str, lead_id: str, at: str, employee: str = "E1") -> None:
        self._insert(
            "staging.visit",
            {
                "visit_id": visit_id,
                "employee_id": employee,
                "lead_id": lead_id,
                "visited_at": self.ts(at),
                "source": "t",
            },
        )

    def report(
        self, emp: str, day: str, submitted: str | None, approved: str | None = None
    ) -> None:
        self._insert(
            "staging.daily_report",
            {
                "employee_id": emp,
                "report_date": date.fromisoformat(day),
                "submitted_at": self.ts(submitted),
                "approved_at": self.ts(approved),
                "source": "t",
            },
        )

    def order(self, order_id: str, lead_id: str, day: str, amount: str) -> None:
        self._insert(
            "staging.sales_order",
            {
                "order_id": order_id,
                "order_date": date.fromisoformat(day),
                "lead_id": lead_id,
                "amount_cny": Decimal(amount),
                "source": "t",
            },
        )

    def target(
        self,
        level: str,
        org_key: str,
        amount: str,
        month: int | None = 3,
        product_line: str | None = None,
        tier: str | None = None,
        year: int = 2026,
        bu: str = "INFO",
        measure: str = "ORDER",
    ) -> None:
        self._insert(
            "staging.target",
            {
                "level": level,
                "org_key": org_key,
                "year": year,
                "month": month,
                "business_unit": bu,
                "product_line_code": product_line,
                "account_tier": tier,
                "measure": measure,
                "amount_cny": Decimal(amount),
                "source": "t",
            },
        )

    def batch(self, business_date: str, entity: str = "lead", **fields: Any) -> None:
        row: dict[str, Any] = {
            "source": "crm",
            "entity": entity,
            "source_object": f"crm.{entity}",
            "business_date": date.fromisoformat(business_date),
            "rows_in": 100,
            "rows_raw": 100,
            "rows_staged": 100,
            "rows_quarantined": 0,
            "status": "success",
            "max_source_updated_at": self.ts(f"{business_date} 18:00"),
            "window_end": self.ts(f"{business_date} 23:59"),
        }
        row.update(fields)
        self._insert("ops.extract_batch", row)

    # results ---------------------------------------------------------------
    def findings(self, rule: str, day: str | None = None) -> set[Any]:
        """Entity ids with a finding of ``rule`` on ``day``, or (entity, day) pairs over all days."""
        if day is not None:
            rows = self.sql(
                "select entity_id from dq.finding where rule_id = :r and business_date = :d",
                r=rule,
                d=date.fromisoformat(day),
            )
            return {r[0] for r in rows}
        rows = self.sql(
            "select entity_id, business_date from dq.finding where rule_id = :r", r=rule
        )
        return {(r[0], r[1].isoformat()) for r in rows}


@pytest.fixture
def world(dq_settings) -> Iterator[World]:
    """An empty set of staging and dq tables on the shared warehouse."""
    from review_pipeline.db import warehouse_engine

    engine = warehouse_engine(dq_settings)
    with engine.begin() as conn:
        conn.execute(sa.text("truncate " + ", ".join(_TABLES) + " restart identity"))
    yield World(engine)
