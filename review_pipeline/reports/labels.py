"""Display labels of the reports, in Chinese and English, kept in ONE place.

The packs, the CLI and the e-mail take titles, column headings and coded
values from here; identifiers stay English (``settings.language`` picks the
display language).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh-CN", "en"]

# report name -> (zh, en)
REPORT_TITLES: dict[str, tuple[str, str]] = {
    "region-ytd": ("省区累计达成", "Region YTD attainment"),
    "region-month": ("省区月度达成", "Region monthly attainment"),
    "product-month": ("月度产品达成", "Product monthly attainment"),
    "top-leads": ("重点项目清单", "TOP leads"),
    "team-month": ("月度团队达成", "Team monthly attainment"),
    "reservoir": ("后两月水库", "Two-month reservoir"),
    "lead-ledger": ("线索台账", "Lead ledger"),
    "receivables": ("应收账款明细", "Receivables by invoice"),
    "receivable-aging": ("应收账款账龄", "Receivables aging"),
    "plan-accuracy": ("计划达成精度", "Plan accuracy"),
    "scorecard": ("真实性记分卡", "Authenticity scorecard"),
}

# TOP list code -> (zh, en)
LIST_LABELS: dict[str, tuple[str, str]] = {
    "S5_ORDERED_IN_MONTH": ("S5-已下单", "S5 ordered this month"),
    "S5_PENDING_ORDER": ("S5-待下单", "S5 pending order"),
    "S4_COLLECTION_IN_MONTH": ("S4招标并回款", "S4 expecting collection this month"),
    "NEW_COLLECTION_IN_MONTH": ("新增本月回款", "Newly expecting collection this month"),
    "S4_TENDER_IN_MONTH": ("本月S4招标", "S4 tender this month"),
}

FLAG_LABELS: dict[str, tuple[str, str]] = {
    "RED": ("红", "RED"),
    "YELLOW": ("黄", "YELLOW"),
    "GREEN": ("绿", "GREEN"),
}

CHECK_REASON_LABELS: dict[str, tuple[str, str]] = {
    "EVENT_OVERDUE": ("已过预计日期未发生", "past its expected date"),
    "ERROR_FINDING": ("存在错误级检查问题", "error finding"),
    "NO_UPDATE": ("长期未更新", "no update"),
    "DATE_MOVED_LATER": ("预计日期推迟", "expected date moved later"),
    "NO_VISIT": ("长期未拜访", "no visit"),
    "STAGE_UNCHANGED": ("阶段长期未变", "stage unchanged"),
}

LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "COMPANY": ("公司", "Company"),
    "REGION": ("省区", "Region"),
    "TEAM": ("团队", "Team"),
    "PERSON": ("个人", "Salesperson"),
}

WOW_LABELS: dict[str, tuple[str, str]] = {
    "NEW": ("新增", "new"),
    "ADVANCED": ("推进", "advanced"),
    "SLIPPED": ("延迟", "slipped"),
    "LOST": ("丢单", "lost"),
    "WON": ("中标", "won"),
    "UNCHANGED": ("无变化", "unchanged"),
}

NOTE_LABELS: dict[str, tuple[str, str]] = {
    "no target": ("无目标", "no target"),
    "no plan": ("无计划", "no plan"),
    "no finance data": ("无财务数据", "no finance data"),
}

AGING_LABELS: dict[str, tuple[str, str]] = {
    "NOT_DUE": ("未到期", "not due"),
    "1-30": ("1-30天", "1-30 days"),
    "31-90": ("31-90天", "31-90 days"),
    "91-180": ("91-180天", "91-180 days"),
    "181-365": ("181-365天", "181-365 days"),
    ">365": ("365天以上", "> 365 days"),
}

# column -> (zh, en)
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "review_date": ("检视日期", "Review date"),
    "business_unit": ("事业部", "Business unit"),
    "level": ("层级", "Level"),
    "region_code": ("省区", "Region"),
    "team_id": ("团队", "Team"),
    "owner_id": ("销售人员", "Salesperson"),
    "owner_name": ("销售人员", "Salesperson"),
    "product_line_code": ("产品线", "Product line"),
    "month_start": ("月份", "Month"),
    "period_start": ("期间开始", "Period start"),
    "period_end": ("期间结束", "Period end"),
    "order_target_cny": ("订单目标（元）", "Order target (CNY)"),
    "order_actual_cny": ("累计订单（元）", "Orders YTD (CNY)"),
    "order_actual_mtd_cny": ("本月订单（元）", "Orders MTD (CNY)"),
    "order_attainment_ratio": ("订单达成率", "Order attainment"),
    "order_attainment_note": ("订单达成说明", "Order attainment note"),
    "order_actual_ly_cny": ("去年同期订单（元）", "Orders same period last year (CNY)"),
    "order_yoy_growth_ratio": ("订单同比增长", "Orders YoY growth"),
    "collection_target_cny": ("回款目标（元）", "Collection target (CNY)"),
    "collection_actual_cny": ("累计回款（元）", "Collections YTD (CNY)"),
    "collection_actual_mtd_cny": ("本月回款（元）", "Collections MTD (CNY)"),
    "collection_attainment_ratio": ("回款达成率", "Collection attainment"),
    "collection_attainment_note": ("回款达成说明", "Collection attainment note"),
    "collection_actual_ly_cny": ("去年同期回款（元）", "Collections same period last year (CNY)"),
    "collection_yoy_growth_ratio": ("回款同比增长", "Collections YoY growth"),
    "time_progress_ratio": ("时间进度", "Time progress"),
    "pending_order_cny": ("S5待下单（元）", "S5 pending order (CNY)"),
    "weighted_s3_s4_cny": ("S3/S4加权（元）", "Weighted S3/S4 (CNY)"),
    "order_forecast_cny": ("月底预计订单（元）", "Order forecast to month end (CNY)"),
    "order_forecast_attainment_ratio": ("预计达成率", "Forecast attainment"),
    "order_forecast_prev_cny": ("上周预计（元）", "Forecast a week earlier (CNY)"),
    "order_forecast_change_cny": ("较上周变化（元）", "Change since last week (CNY)"),
    "invoice_due_balance_cny": ("本月到期应收（元）", "Invoices due this month (CNY)"),
    "lead_expected_collection_cny": ("线索预计回款（元）", "Leads' expected collection (CNY)"),
    "collection_forecast_cny": ("回款预计（元）", "Collection forecast (CNY)"),
    "collection_forecast_attainment_ratio": ("回款预计达成率", "Collection forecast attainment"),
    "bid_win_s4_leads": ("本月招标线索数", "S4 leads tendering this month"),
    "bid_win_s4_cny": ("中标预计（元）", "Bid-win forecast (CNY)"),
    "bid_win_s4_weighted_cny": ("中标预计加权（元）", "Bid-win forecast weighted (CNY)"),
    "list_code": ("清单", "List"),
    "rank": ("排名", "Rank"),
    "company_rank": ("公司排名", "Company rank"),
    "lead_id": ("线索编号", "Lead"),
    "customer_id": ("客户编号", "Customer id"),
    "customer_name": ("客户", "Customer"),
    "stage_code": ("阶段", "Stage"),
    "status": ("状态", "Status"),
    "amount_cny": ("金额（元）", "Amount (CNY)"),
    "weighted_amount_cny": ("加权金额（元）", "Weighted amount (CNY)"),
    "expected_tender_date": ("预计招标日期", "Expected tender date"),
    "expected_order_date": ("预计下单日期", "Expected order date"),
    "expected_collection_date": ("预计回款日期", "Expected collection date"),
    "expected_collection_cny": ("预计回款（元）", "Expected collection (CNY)"),
    "check_flag": ("检查标识", "Check flag"),
    "check_reasons": ("标识原因", "Flag reasons"),
    "open_leads": ("在途线索数", "Open leads"),
    "open_pipeline_cny": ("在途金额（元）", "Open pipeline (CNY)"),
    "weighted_pipeline_cny": ("加权在途（元）", "Weighted pipeline (CNY)"),
    "order_plan_cny": ("订单计划（元）", "Order plan (CNY)"),
    "order_plan_accuracy_ratio": ("订单计划精度", "Order plan accuracy"),
    "collection_plan_cny": ("回款计划（元）", "Collection plan (CNY)"),
    "collection_plan_accuracy_ratio": ("回款计划精度", "Collection plan accuracy"),
    "plan_note": ("计划说明", "Plan note"),
    "scored_open_leads": ("计分线索数", "Scored open leads"),
    "finding_weight": ("问题权重", "Finding weight"),
    "authenticity_score": ("真实性得分", "Authenticity score"),
    "reports_required": ("应交日报", "Reports required"),
    "reports_on_time": ("按时日报", "Reports on time"),
    "filed_on_time_ratio": ("日报按时率", "Filed on time"),
    "approvals_due": ("应批复", "Approvals due"),
    "approvals_on_time": ("按时批复", "Approvals on time"),
    "approved_on_time_ratio": ("批复及时率", "Approved on time"),
    "target_month": ("目标月份", "Target month"),
    "s1_cny": ("S1（元）", "S1 (CNY)"),
    "s2_cny": ("S2（元）", "S2 (CNY)"),
    "s3_cny": ("S3（元）", "S3 (CNY)"),
    "s4_cny": ("S4（元）", "S4 (CNY)"),
    "s5_pending_order_cny": ("S5待下单（元）", "S5 pending order (CNY)"),
    "pipeline_cny": ("在途合计（元）", "Pipeline (CNY)"),
    "coverage_ratio": ("覆盖率", "Coverage"),
    "coverage_note": ("覆盖说明", "Coverage note"),
    "is_open": ("在途", "Open"),
    "created_on": ("创建日期", "Created"),
    "last_visit_date": ("最近拜访", "Last visit"),
    "days_since_update": ("未更新天数", "Days since update"),
    "finding_rule_ids": ("检查问题", "Findings"),
    "has_error_finding": ("错误级问题", "Error finding"),
    "is_gated": ("已隔离", "Quarantined"),
    "prev_stage_code": ("上周阶段", "Stage a week earlier"),
    "prev_amount_cny": ("上周金额（元）", "Amount a week earlier (CNY)"),
    "amount_change_cny": ("金额变化（元）", "Amount change (CNY)"),
    "wow_change": ("周变化", "Week-over-week change"),
    "invoice_id": ("发票编号", "Invoice"),
    "due_date": ("到期日", "Due date"),
    "invoiced_cny": ("开票金额（元）", "Invoiced (CNY)"),
    "collected_cny": ("已回款（元）", "Collected (CNY)"),
    "balance_cny": ("应收余额（元）", "Balance (CNY)"),
    "days_overdue": ("逾期天数", "Days overdue"),
    "aging_bucket": ("账龄", "Aging bucket"),
    "collected_in_month_cny": ("本月回款（元）", "Collected this month (CNY)"),
    "invoices": ("发票数", "Invoices"),
    "not_due_cny": ("未到期（元）", "Not due (CNY)"),
    "overdue_1_30_cny": ("逾期1-30天（元）", "1-30 days (CNY)"),
    "overdue_31_90_cny": ("逾期31-90天（元）", "31-90 days (CNY)"),
    "overdue_91_180_cny": ("逾期91-180天（元）", "91-180 days (CNY)"),
    "overdue_181_365_cny": ("逾期181-365天（元）", "181-365 days (CNY)"),
    "overdue_over_365_cny": ("逾期365天以上（元）", "> 365 days (CNY)"),
    "overdue_cny": ("逾期合计（元）", "Overdue (CNY)"),
    "collected_mtd_cny": ("本月回款（元）", "Collected MTD (CNY)"),
    "finance_note": ("财务说明", "Finance note"),
    "measure": ("指标", "Measure"),
    "accuracy_month": ("月份", "Month"),
    "plan_cny": ("计划（元）", "Plan (CNY)"),
    "actual_cny": ("实际（元）", "Actual (CNY)"),
    "accuracy_ratio": ("计划达成精度", "Plan accuracy"),
    "volatility_ratio": ("波动幅度", "Volatility"),
    "volatility_months": ("波动月数", "Months in volatility"),
    "plan_ly_cny": ("去年同期计划（元）", "Plan a year earlier (CNY)"),
    "actual_ly_cny": ("去年同期实际（元）", "Actual a year earlier (CNY)"),
    "accuracy_ly_ratio": ("去年同期精度", "Accuracy a year earlier"),
    "volatility_ly_ratio": ("去年同期波动", "Volatility a year earlier"),
    "accuracy_change_pts": ("精度变化（百分点）", "Accuracy change (points)"),
    "volatility_change_pts": ("波动变化（百分点）", "Volatility change (points)"),
    "accuracy_note": ("精度说明", "Accuracy note"),
    "error_findings": ("错误级问题", "Error findings"),
    "warn_findings": ("警告级问题", "Warning findings"),
    "findings_by_rule": ("各规则问题数", "Findings by rule"),
}

# coded values -> their label table
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "list_code": LIST_LABELS,
    "check_flag": FLAG_LABELS,
    "level": LEVEL_LABELS,
    "wow_change": WOW_LABELS,
    "aging_bucket": AGING_LABELS,
    "order_attainment_note": NOTE_LABELS,
    "collection_attainment_note": NOTE_LABELS,
    "coverage_note": NOTE_LABELS,
    "plan_note": NOTE_LABELS,
    "accuracy_note": NOTE_LABELS,
    "finance_note": NOTE_LABELS,
}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh-CN" else pair[1]


def title(report: str, language: str = "zh-CN") -> str:
    """The report's display title (the name itself when unknown)."""
    pair = REPORT_TITLES.get(report)
    return _pick(pair, language) if pair else report


def column_label(column: str, language: str = "zh-CN") -> str:
    """A column heading (the column name itself when unknown)."""
    pair = COLUMN_LABELS.get(column)
    return _pick(pair, language) if pair else column


def value_label(column: str, value: str, language: str = "zh-CN") -> str:
    """The display text of a coded value (the value itself when unknown)."""
    pair = VALUE_LABELS.get(column, {}).get(value)
    return _pick(pair, language) if pair else value


def is_ratio(column: str) -> bool:
    """Ratios are stored as fractions (1.0 = 100 %) and shown as percentages."""
    return column.endswith("_ratio") or column == "authenticity_score"


# ----------------------------------------------------------------- review packs
# Name columns the packs add next to a report's codes, and the texts of a
# pack's cover sheet (docs/packs.md). key -> (zh, en)
COLUMN_LABELS.update(
    {
        "region_name": ("省区名称", "Region name"),
        "team_name": ("团队名称", "Team name"),
    }
)

PACK_LABELS: dict[str, tuple[str, str]] = {
    "weekly_title": ("销售评审周报", "Sales review weekly pack"),
    "monthly_title": ("销售评审月报", "Sales review monthly pack"),
    "cover_sheet": ("概览", "Overview"),
    "advice_sheet": ("行动建议", "Action items"),
    "scope": ("范围", "Scope"),
    "manager": ("经理", "Manager"),
    "business_units": ("事业部", "Business units"),
    "review_date": ("检视日期", "Review date"),
    "period": ("期间", "Period"),
    "data_as_of": ("数据截至", "Data as of"),
    "data_as_of_unknown": (
        "检视日结束（无抽取记录）",
        "end of the review date (no extraction recorded)",
    ),
    "rows": ("行数", "Rows"),
    "sheet": ("工作表", "Sheet"),
    "contents": ("目录", "Contents"),
    "kpis": ("关键指标", "Headline figures"),
    "red_projects": ("红色项目", "RED projects"),
    "no_red_projects": ("无红色项目", "No RED projects"),
    "reason": ("原因", "Reason"),
    "value": ("数值", "Value"),
    "figure": ("指标", "Figure"),
    "company": ("全公司", "Company"),
    "empty_sheet": ("本范围内无数据", "No rows in this scope"),
    "rows_cut": (
        "注意：本表超出 Excel 行数上限，仅显示前 {shown:,} 行（共 {total:,} 行）",
        "Note: this sheet exceeds Excel's row limit; the first {shown:,} of {total:,} rows are shown",
    ),
    "cells_cut": (
        "注意：{count:,} 个单元格超出 Excel 单元格字符上限（32,767），已截断",
        "Note: {count:,} cells exceeded Excel's limit of 32,767 characters and were cut",
    ),
    "cut_marker": ("…（已截断）", "… (cut)"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "chart_region": ("各省区本月订单达成", "Orders this month by region"),
    "chart_product": ("各产品线本月订单达成", "Orders this month by product line"),
    "chart_reservoir": ("后两月水库覆盖率", "Two-month reservoir coverage"),
    "target": ("目标", "Target"),
    "actual": ("实际", "Actual"),
    "forecast": ("预测", "Forecast"),
    "attainment": ("达成率", "Attainment"),
    "weighted_pipeline": ("加权在途", "Weighted pipeline"),
    "coverage": ("覆盖率", "Coverage"),
    "region": ("省区", "Region"),
    "product_line": ("产品线", "Product line"),
    "target_month": ("目标月份", "Target month"),
    "kpi_orders_mtd": ("本月订单", "Orders this month"),
    "kpi_order_target": ("本月订单目标", "Order target this month"),
    "kpi_attainment": ("本月订单达成率", "Order attainment this month"),
    "kpi_forecast": ("月底预计订单", "Order forecast to month end"),
    "kpi_forecast_attainment": ("预测达成率", "Forecast attainment"),
    "kpi_forecast_change": ("预计较上周变化", "Forecast change since last week"),
    "kpi_time_progress": ("时间进度", "Time progress"),
    "kpi_orders_ytd": ("累计订单", "Orders YTD"),
    "kpi_ytd_attainment": ("累计订单达成率", "Order attainment YTD"),
    "kpi_collections_mtd": ("本月回款", "Collections this month"),
    "kpi_collection_attainment": ("本月回款达成率", "Collection attainment this month"),
    "kpi_overdue": ("逾期应收", "Overdue receivables"),
    "kpi_reservoir": ("后两月加权水库", "Weighted reservoir, next two months"),
    "kpi_reservoir_coverage": ("水库覆盖率", "Reservoir coverage"),
    "kpi_open_leads": ("在途线索数", "Open leads"),
    "kpi_red": ("红色项目数", "RED projects"),
    "kpi_authenticity": ("真实性得分", "Authenticity score"),
    "advice_rule": ("规则", "Rule"),
    "advice_severity": ("严重度", "Severity"),
    "advice_subject": ("对象", "Subject"),
    "advice_action": ("建议行动", "Action"),
    "advice_stake": ("涉及金额（元）", "At stake (CNY)"),
    "advice_since": ("首次出现", "Since"),
    "advice_status": ("状态", "Status"),
    "advice_source": ("依据", "Evidence"),
    "advice_resolved": ("已解决", "Resolved"),
    "row_ref": ("{sheet} 第 {row} 行", "{sheet} row {row}"),
    "severity_high": ("高", "high"),
    "severity_medium": ("中", "medium"),
    "severity_low": ("低", "low"),
    "status_new": ("新", "new"),
    "status_open": ("持续", "open"),
    "status_resolved": ("已解决", "resolved"),
}


def pack_label(key: str, language: str = "zh-CN") -> str:
    """A text of the review packs (the key itself when unknown)."""
    pair = PACK_LABELS.get(key)
    return _pick(pair, language) if pair else key
