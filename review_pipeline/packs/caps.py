"""Row caps of the per-row sheets: which rows a capped sheet keeps, and what it says.

A manager high up the org has hundreds of thousands of leads (and tens of
thousands of invoices) under them. Nobody reviews that in a spreadsheet, the
workbook would not fit the 15 MB mail limit, and writing it costs minutes of
CPU. So the per-lead / per-invoice sheets show the scope's most important rows,
at most ``settings.packs.<setting>`` of them, chosen in SQL (a window over the
partitioned read, :func:`review_pipeline.packs.source.partition_query`): the
rows past the cap are never fetched. The sheet's note gives the true total
and the command that prints the full list; the cover and ``summary.sheets``
record rows shown and total.

Importance, most important first:

* R6 lead ledger: open leads before closed ones (the week's wins and losses
  stay in the ledger but come last), RED then YELLOW check flags before
  GREEN, then the largest amounts, then the lead id (a total order: the same
  data keeps the same rows, so the bytes stay deterministic);
* R7 invoices: overdue invoices first, then the largest open balances, the
  longest overdue, the invoice id.

A scope within the cap keeps every row in the report's usual order; a capped
sheet lists its rows in importance order (the first row is the one to look at
first), which the note says.

The aggregated reports (one row per person, team, region) are never capped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from review_pipeline.reports.catalog import Report


@dataclass(frozen=True)
class RowCap:
    """How one per-row report is capped."""

    report: str  # catalog name
    setting: str  # field of ``settings.packs``
    relevance: tuple[str, ...]  # SQL order terms over the mart's columns, most important first
    noun: tuple[str, str]  # (zh, en): what a row is
    order: tuple[str, str]  # (zh, en): the importance order, in words


ROW_CAPS: dict[str, RowCap] = {
    "lead-ledger": RowCap(
        report="lead-ledger",
        setting="ledger_max_rows",
        relevance=(
            "is_open desc",
            "case check_flag when 'RED' then 0 when 'YELLOW' then 1 else 2 end",
            "amount_cny desc nulls last",
            "lead_id",
        ),
        noun=("条线索", "leads"),
        order=(
            "未关闭的在前，红灯、黄灯优先，再按金额从大到小",
            "open leads first, RED then YELLOW flags first, then by amount",
        ),
    ),
    "receivables": RowCap(
        report="receivables",
        setting="receivables_max_rows",
        relevance=(
            "(coalesce(days_overdue, 0) > 0) desc",
            "balance_cny desc",
            "days_overdue desc nulls last",
            "invoice_id",
        ),
        noun=("张发票", "invoices"),
        order=(
            "已逾期的在前，再按余额从大到小",
            "overdue first, then by open balance",
        ),
    ),
}


def row_caps(settings: Any) -> dict[str, int]:
    """Report name -> cap (> 0) from ``settings.packs``; uncapped reports are absent."""
    packs = getattr(settings, "packs", None)
    caps: dict[str, int] = {}
    for name, cap in ROW_CAPS.items():
        value = int(getattr(packs, cap.setting, 0) or 0)
        if value > 0:
            caps[name] = value
    return caps


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh-CN" else pair[1]


def full_list_command(report: Report, review_date: date, manager_id: str) -> str:
    """The command that prints a manager's full list of ``report`` (``review-pipeline report``)."""
    return (
        f"review-pipeline report {report.name} --date {review_date.isoformat()}"
        f" --scope manager:{manager_id} --format csv"
    )


def cap_note(
    report: Report,
    *,
    shown: int,
    total: int,
    review_date: date,
    manager_id: str,
    language: str,
) -> str:
    """Row 3 of a capped sheet: rows shown, the true total, the order, the full list."""
    cap = ROW_CAPS[report.name]
    command = full_list_command(report, review_date, manager_id)
    if language == "zh-CN":
        return (
            f"注意：本表仅显示本范围 {total:,} {cap.noun[0]}中最重要的 {shown:,} 条"
            f"（{cap.order[0]}）；完整清单：{command}（数据表 mart.{report.table}）"
        )
    return (
        f"Showing the {shown:,} most important of {total:,} {cap.noun[1]} in your scope"
        f" ({cap.order[1]}); full list: {command} (table mart.{report.table})"
    )


def cap_short(shown: int, total: int, language: str) -> str:
    """The cover's contents note of a capped sheet."""
    if language == "zh-CN":
        return f"仅显示最重要的 {shown:,} 条（共 {total:,} 条）"
    return f"the {shown:,} most important of {total:,} shown"


def cap_of(caps: Mapping[str, int], report: Report) -> int:
    """The cap of ``report`` (0 = none)."""
    return int(caps.get(report.name, 0))
