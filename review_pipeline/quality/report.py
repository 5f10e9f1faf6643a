"""The data the ``dq report`` command prints: rule hits and worst offenders of a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from review_pipeline.db import read_sql, warehouse_engine
from review_pipeline.errors import UserError
from review_pipeline.settings import Settings

SCOPE_TYPES = ("region", "team", "person")


@dataclass(frozen=True)
class Scope:
    type: str  # all / region / team / person
    id: str

    @property
    def label(self) -> str:
        return "whole company" if self.type == "all" else f"{self.type} {self.id}"


def parse_scope(text: str | None) -> Scope:
    """``region:NAME``, ``team:ID``, ``person:ID`` or nothing (the whole company)."""
    if not text:
        return Scope("all", "")
    kind, sep, value = text.partition(":")
    if not sep or kind not in SCOPE_TYPES or not value.strip():
        raise UserError(f"--scope must be region:NAME, team:ID or person:ID, got {text!r}")
    return Scope(kind, value.strip())


def day_report(
    settings: Settings, business_date: date, scope: Scope, top_n: int = 10
) -> dict[str, Any]:
    """Findings per rule and the worst offenders of ``business_date`` in ``scope``."""
    params = {
        "business_date": business_date,
        "scope_type": scope.type,
        "scope_id": scope.id,
        "error_weight": settings.rules.error_weight,
        "warn_weight": settings.rules.warn_weight,
        "top_n": top_n,
    }
    engine = warehouse_engine(settings)
    with engine.connect() as conn:
        checked = conn.execute(
            sa.text(
                "select max(run_id) from dq.validation_run where :d between start_date and end_date"
            ),
            {"d": business_date},
        ).scalar_one()
        rules = [
            dict(r._mapping)
            for r in conn.execute(sa.text(read_sql("quality/report_rules.sql")), params)
        ]
        offenders = [
            dict(r._mapping)
            for r in conn.execute(sa.text(read_sql("quality/report_offenders.sql")), params)
        ]
    return {"checked_run_id": checked, "rules": rules, "offenders": offenders}
