"""The report marts: which table holds which report, how it is built and read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cadence = Literal["daily", "weekly", "monthly"]
Grain = Literal["level", "lead", "invoice"]


@dataclass(frozen=True)
class Report:
    """One mart table.

    Attributes:
        name: the CLI name (``review-pipeline report NAME``).
        number: the report's number in DOMAIN.md ("R3c-g" for the TOP lists).
        table: the table in schema ``mart`` (and ``sql/reports/<table>.sql``).
        grain: ``level`` = one row per org level (COMPANY/REGION/TEAM/PERSON)
            with the level's keys; ``lead`` / ``invoice`` = one row per lead or
            invoice with the owner's org on the review date.
        cadences: the builds that refresh it.
        order_by: the display order.
        display: the columns the CLI table shows (all columns go to csv/json).
    """

    name: str
    number: str
    table: str
    grain: Grain
    cadences: tuple[Cadence, ...]
    order_by: tuple[str, ...]
    display: tuple[str, ...]
    top_list: bool = False


_LEVEL_ORDER = "case level when 'COMPANY' then 0 when 'REGION' then 1 when 'TEAM' then 2 else 3 end"
_ALL: tuple[Cadence, ...] = ("daily", "weekly", "monthly")
_ORG = ("business_unit", "level", "region_code", "team_id", "owner_id")

# Build order matters: R2 sums R3, the aging totals read the invoice rows.
REPORTS: tuple[Report, ...] = (
    Report(
        "region-ytd",
        "R1",
        "rpt_region_ytd_attainment",
        "level",
        _ALL,
        ("business_unit", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            *_ORG,
            "order_target_cny",
            "order_actual_cny",
            "order_attainment_ratio",
            "order_yoy_growth_ratio",
            "collection_target_cny",
            "collection_actual_cny",
            "collection_attainment_ratio",
            "time_progress_ratio",
            "order_attainment_note",
        ),
    ),
    Report(
        "product-month",
        "R3",
        "rpt_product_month_attainment",
        "level",
        _ALL,
        ("business_unit", "product_line_code", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            "business_unit",
            "product_line_code",
            "level",
            "region_code",
            "team_id",
            "owner_id",
            "order_target_cny",
            "order_actual_mtd_cny",
            "order_attainment_ratio",
            "order_forecast_cny",
            "order_forecast_change_cny",
            "collection_actual_mtd_cny",
            "collection_forecast_cny",
            "collection_forecast_attainment_ratio",
            "bid_win_s4_cny",
            "bid_win_s4_weighted_cny",
        ),
    ),
    Report(
        "region-month",
        "R2",
        "rpt_region_month_attainment",
        "level",
        _ALL,
        ("business_unit", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            *_ORG,
            "order_target_cny",
            "order_actual_mtd_cny",
            "order_attainment_ratio",
            "order_forecast_cny",
            "order_forecast_attainment_ratio",
            "order_forecast_change_cny",
            "collection_target_cny",
            "collection_actual_mtd_cny",
            "collection_attainment_ratio",
            "time_progress_ratio",
        ),
    ),
    Report(
        "top-leads",
        "R3c-g",
        "rpt_top_lead",
        "lead",
        _ALL,
        ("business_unit", "list_code", "amount_cny desc nulls last", "lead_id"),
        (
            "business_unit",
            "list_code",
            "rank",
            "lead_id",
            "customer_name",
            "owner_name",
            "region_code",
            "stage_code",
            "amount_cny",
            "expected_order_date",
            "expected_collection_date",
            "check_flag",
        ),
        top_list=True,
    ),
    Report(
        "team-month",
        "R4",
        "rpt_team_month_attainment",
        "level",
        _ALL,
        ("business_unit", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            *_ORG,
            "order_target_cny",
            "order_actual_mtd_cny",
            "order_attainment_ratio",
            "weighted_pipeline_cny",
            "order_plan_accuracy_ratio",
            "authenticity_score",
            "filed_on_time_ratio",
            "approved_on_time_ratio",
        ),
    ),
    Report(
        "reservoir",
        "R5",
        "rpt_reservoir",
        "level",
        _ALL,
        (
            "business_unit",
            "target_month",
            "product_line_code",
            _LEVEL_ORDER,
            "region_code",
            "team_id",
            "owner_id",
        ),
        (
            "business_unit",
            "target_month",
            "product_line_code",
            "level",
            "region_code",
            "team_id",
            "owner_id",
            "pipeline_cny",
            "weighted_pipeline_cny",
            "order_target_cny",
            "coverage_ratio",
        ),
    ),
    Report(
        "lead-ledger",
        "R6",
        "rpt_lead_ledger",
        "lead",
        # one row per open lead: weekly (its week-over-week change) and month end only
        ("weekly", "monthly"),
        (
            "business_unit",
            "region_code",
            "team_id",
            "owner_id",
            "amount_cny desc nulls last",
            "lead_id",
        ),
        (
            "lead_id",
            "customer_name",
            "owner_name",
            "region_code",
            "stage_code",
            "amount_cny",
            "expected_order_date",
            "days_since_update",
            "finding_rule_ids",
            "check_flag",
            "wow_change",
        ),
    ),
    Report(
        "receivables",
        "R7",
        "rpt_receivable",
        "invoice",
        _ALL,
        ("business_unit", "region_code", "days_overdue desc nulls last", "invoice_id"),
        (
            "invoice_id",
            "customer_name",
            "owner_name",
            "region_code",
            "due_date",
            "balance_cny",
            "days_overdue",
            "aging_bucket",
            "collected_in_month_cny",
        ),
    ),
    Report(
        "receivable-aging",
        "R7",
        "rpt_receivable_aging",
        "level",
        _ALL,
        ("business_unit", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            *_ORG,
            "not_due_cny",
            "overdue_1_30_cny",
            "overdue_31_90_cny",
            "overdue_91_180_cny",
            "overdue_181_365_cny",
            "overdue_over_365_cny",
            "balance_cny",
            "collected_mtd_cny",
        ),
    ),
    Report(
        "plan-accuracy",
        "R8",
        "rpt_plan_accuracy",
        "level",
        ("weekly", "monthly"),
        (
            "business_unit",
            "measure desc",
            "product_line_code",
            _LEVEL_ORDER,
            "region_code",
            "team_id",
            "owner_id",
        ),
        (
            "business_unit",
            "measure",
            "product_line_code",
            "level",
            "region_code",
            "team_id",
            "owner_id",
            "plan_cny",
            "actual_cny",
            "accuracy_ratio",
            "volatility_ratio",
            "accuracy_ly_ratio",
            "accuracy_change_pts",
        ),
    ),
    Report(
        "scorecard",
        "R9",
        "rpt_authenticity_scorecard",
        "level",
        _ALL,
        ("business_unit", _LEVEL_ORDER, "region_code", "team_id", "owner_id"),
        (
            *_ORG,
            "open_leads",
            "error_findings",
            "warn_findings",
            "authenticity_score",
            "findings_by_rule",
            "filed_on_time_ratio",
            "approved_on_time_ratio",
        ),
    ),
)

BY_NAME: dict[str, Report] = {r.name: r for r in REPORTS}
BY_TABLE: dict[str, Report] = {r.table: r for r in REPORTS}


def get_report(name: str) -> Report:
    """A report by its CLI name, table name or number (``R1`` .. ``R9``)."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name in BY_TABLE:
        return BY_TABLE[name]
    matches = [r for r in REPORTS if r.number.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(r.name for r in REPORTS)
    raise KeyError(f"unknown report {name!r}; known: {known}")


def reports_for(cadence: Cadence) -> tuple[Report, ...]:
    return tuple(r for r in REPORTS if cadence in r.cadences)
