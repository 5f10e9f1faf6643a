"""The declared build order of the warehouse: which SQL files each step runs.

A step is one transaction: it takes its advisory lock, runs its files in order
and commits, so a crash leaves the previous state of everything the step
writes. Three kinds of step:

``sync``
    A function of the staging tables only, independent of the business date.
    Steps with ``sources`` are incremental: they reprocess the staging rows
    loaded since their watermark (``:since``) and keep the watermark in
    ``dw.build_watermark``; a full build (``:full``) reprocesses everything.
``day``
    Writes only the business day's rows (``:business_date``), so days may be
    built in any order and rebuilt any number of times.
``check``
    Read-only guards over whole tables, run by backfills and full builds (a
    daily build checks the rows it rebuilt inside the step instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StepKind = Literal["calendar", "sync", "day", "check"]


@dataclass(frozen=True)
class Step:
    name: str
    kind: StepKind
    files: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # staging tables whose loaded_at drives the watermark
    checks: tuple[str, ...] = ()  # run last inside the step: rows (check_name, orphans), all 0


def _dim(name: str) -> Step:
    return Step(name, "sync", (f"warehouse/{name}.sql",))


STEPS: tuple[Step, ...] = (
    Step("dim_date", "calendar"),
    _dim("dim_business_unit"),
    _dim("dim_region"),
    _dim("dim_city"),
    _dim("dim_industry"),
    Step(
        "dim_product_line",
        "sync",
        ("warehouse/dim_product_line.sql",),
        sources=("product_line", "lead", "sales_order", "monthly_plan", "target"),
    ),
    _dim("dim_channel_partner"),
    _dim("dim_team"),
    _dim("dim_stage"),
    Step(
        "dim_customer",
        "sync",
        ("warehouse/dim_customer.sql",),
        sources=("customer", "lead", "sales_order", "invoice", "collection", "visit"),
    ),
    Step(
        "dim_employee",
        "sync",
        ("warehouse/dim_employee.sql",),
        sources=(
            "employee",
            "employee_assignment",
            "team",
            "lead",
            "lead_history",
            "sales_order",
            "invoice",
            "collection",
            "visit",
            "daily_report",
            "monthly_plan",
            "target",
        ),
    ),
    _dim("dim_employee_org_closure"),
    Step(
        "fct_lead_state",
        "sync",
        (
            "warehouse/tmp_changed_leads.sql",
            "warehouse/fct_lead_state.sql",
            "warehouse/fct_lead_stage_change.sql",
            "warehouse/fct_bid.sql",
        ),
        sources=("lead", "lead_history"),
        checks=("warehouse/check_lead_keys.sql",),
    ),
    Step("fct_order", "sync", ("warehouse/fct_order.sql",), sources=("sales_order", "lead")),
    Step("fct_invoice", "sync", ("warehouse/fct_invoice.sql",), sources=("invoice", "sales_order")),
    Step(
        "fct_collection",
        "sync",
        ("warehouse/fct_collection.sql",),
        sources=("collection", "invoice"),
    ),
    Step("fct_visit", "sync", ("warehouse/fct_visit.sql",), sources=("visit",)),
    Step(
        "fct_daily_report", "sync", ("warehouse/fct_daily_report.sql",), sources=("daily_report",)
    ),
    Step(
        "fct_target",
        "sync",
        ("warehouse/fct_target.sql", "warehouse/fct_target_week.sql"),
        sources=("target",),
    ),
    Step(
        "fct_monthly_plan", "sync", ("warehouse/fct_monthly_plan.sql",), sources=("monthly_plan",)
    ),
    Step("fct_lead_gate", "day", ("warehouse/fct_lead_gate.sql",)),
    Step("fct_receivable_month_end", "day", ("warehouse/fct_receivable_month_end.sql",)),
    Step("check_dimension_keys", "check", ("warehouse/check_dimension_keys.sql",)),
)


def step_names() -> list[str]:
    return [s.name for s in STEPS]
