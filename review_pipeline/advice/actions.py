"""One-line actions of advice items, in Chinese or English, from the stored evidence.

The text is made when items are read, so the same stored item reads in
either language. Figures come from the item's evidence only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def money(value: Any, language: str) -> str:
    """``1,234,567`` CNY as ``¥1,234,567`` (whole yuan)."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"¥{amount:,.0f}"


def pct(value: Any) -> str:
    """A fraction as a percentage with one decimal (0.834 -> ``83.4%``)."""
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "-"


def _leads(items: list[Mapping[str, Any]], language: str, limit: int = 3) -> str:
    sep = "、" if language == "zh-CN" else ", "
    return sep.join(
        f"{x.get('lead_id')} {money(x.get('amount_cny'), language)}" for x in items[:limit]
    )


def _unit(name: str | None, sid: str) -> str:
    return f"{name} ({sid})" if name and name != sid else sid


def _a01(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    leads = ev.get("leads") or []
    if zh:
        tail = f"；优先推动 {_leads(leads, language)}" if leads else "；无可推动的S4/待下单线索"
        return (
            f"{who}：本月预测达成 {pct(ev.get('forecast_attainment_ratio'))}，落后时间进度 "
            f"{pct(ev.get('time_progress_ratio'))}，缺口 {money(ev.get('gap_cny'), language)}"
            + tail
        )
    tail = f"; push {_leads(leads, language)}" if leads else "; no S4 / pending-order lead to push"
    return (
        f"{who}: month forecast {pct(ev.get('forecast_attainment_ratio'))} of target, behind "
        f"time progress {pct(ev.get('time_progress_ratio'))}; gap "
        f"{money(ev.get('gap_cny'), language)}" + tail
    )


def _a02(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    unit = _unit(ev.get("unit_name"), str(ev.get("unit_id") or "-"))
    if zh:
        return (
            f"{unit} · {who} · {ev.get('target_month')} 水库覆盖 {pct(ev.get('coverage_ratio'))}："
            f"加权储备缺 {money(ev.get('missing_cny'), language)}"
            f"（目标 {money(ev.get('order_target_cny'), language)}），补充线索"
        )
    return (
        f"{unit} · {who} · {ev.get('target_month')}: reservoir coverage "
        f"{pct(ev.get('coverage_ratio'))}, {money(ev.get('missing_cny'), language)} weighted "
        f"pipeline missing (target {money(ev.get('order_target_cny'), language)}): add leads"
    )


def _red_reasons(ev: Mapping[str, Any], language: str) -> list[str]:
    """The RED reasons other than the overdue events, as labels (error finding, no update)."""
    from review_pipeline.reports.labels import CHECK_REASON_LABELS

    out = []
    for reason in ev.get("reasons") or []:
        if reason in ("ERROR_FINDING", "NO_UPDATE"):
            zh, en = CHECK_REASON_LABELS[reason]
            out.append(zh if language == "zh-CN" else en)
    return out


def _a03(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    overdue = ev.get("overdue") or {}
    names_zh = {"tender": "招标", "order": "下单", "collection": "回款"}
    visit = ev.get("last_visit_date")
    others = _red_reasons(ev, language)
    if zh:
        parts = [f"{names_zh.get(k, k)}逾期{v}天" for k, v in overdue.items()] + others
        seen = f"，最近拜访 {visit}" if visit else "，无拜访记录"
        return (
            f"红灯项目 {subject_id}（{subject_name or '-'}，"
            f"{money(ev.get('amount_cny'), language)}，{ev.get('owner') or '-'}）："
            f"{'、'.join(parts) or '-'}{seen}"
        )
    parts = [f"{k} overdue {v} days" for k, v in overdue.items()] + others
    seen = f"; last visit {visit}" if visit else "; never visited"
    return (
        f"RED project {subject_id} ({subject_name or '-'}, {money(ev.get('amount_cny'), language)},"
        f" {ev.get('owner') or '-'}): {', '.join(parts) or '-'}{seen}"
    )


def _a04(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    findings = ev.get("findings_by_rule") or {}
    found = ", ".join(f"{k}×{v}" for k, v in findings.items())
    drop = ev.get("drop_pts")
    if zh:
        change = f"，周降 {drop} 分" if drop is not None and float(drop) > 0 else ""
        return (
            f"{who}：线索真实性得分 {pct(ev.get('score'))}{change}；核查 {found or '-'}"
            f"（涉及 {money(ev.get('flagged_cny'), language)}）"
        )
    change = f", down {drop} pts week over week" if drop is not None and float(drop) > 0 else ""
    return (
        f"{who}: lead authenticity score {pct(ev.get('score'))}{change}; check {found or '-'}"
        f" ({money(ev.get('flagged_cny'), language)} of leads)"
    )


def _a05(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    if zh:
        return (
            f"{who}：近7天日报按时 {ev.get('reports_on_time')}/{ev.get('reports_required')}"
            f"（{pct(ev.get('filed_on_time_ratio'))}），{ev.get('late_or_missing')} 份迟交或缺失"
        )
    return (
        f"{who}: daily reports on time {ev.get('reports_on_time')}/{ev.get('reports_required')}"
        f" ({pct(ev.get('filed_on_time_ratio'))}) in 7 days; {ev.get('late_or_missing')} late "
        "or missing"
    )


def _a06(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    invoices = ev.get("invoices") or []
    top = invoices[0] if invoices else {}
    if zh:
        return (
            f"{who}：超{ev.get('days_threshold')}天应收 {money(ev.get('balance_cny'), language)}"
            f"（{ev.get('invoice_count')} 张发票，最久 {ev.get('max_days_overdue')} 天）；"
            f"先催 {top.get('customer') or '-'} {money(top.get('balance_cny'), language)}"
        )
    return (
        f"{who}: {money(ev.get('balance_cny'), language)} receivable over "
        f"{ev.get('days_threshold')} days ({ev.get('invoice_count')} invoices, oldest "
        f"{ev.get('max_days_overdue')} days); chase {top.get('customer') or '-'} "
        f"{money(top.get('balance_cny'), language)} first"
    )


def _a07(
    who: str, subject_id: str, subject_name: str | None, ev: Mapping[str, Any], language: str
) -> str:
    zh = language == "zh-CN"
    over = ev.get("direction") == "over"
    measure = ev.get("measure")
    if zh:
        what = "订单" if measure == "ORDER" else "回款"
        way = "计划偏高" if over else "计划偏低"
        return (
            f"{who}：{what}计划精度连续{ev.get('months')}个月低于 {pct(ev.get('floor'))}"
            f"（平均 {pct(ev.get('mean_accuracy_ratio'))}），{way}，月均偏差 "
            f"{money(ev.get('mean_abs_deviation_cny'), language)}"
        )
    what = "order" if measure == "ORDER" else "collection"
    way = "over-plans" if over else "under-plans"
    return (
        f"{who}: {what} plan accuracy under {pct(ev.get('floor'))} for {ev.get('months')} months"
        f" (mean {pct(ev.get('mean_accuracy_ratio'))}); {way} by "
        f"{money(ev.get('mean_abs_deviation_cny'), language)} a month"
    )


_TEXTS: dict[str, Callable[[str, str, str | None, Mapping[str, Any], str], str]] = {
    "A01": _a01,
    "A02": _a02,
    "A03": _a03,
    "A04": _a04,
    "A05": _a05,
    "A06": _a06,
    "A07": _a07,
}


def action_text(
    rule_id: str,
    subject_name: str | None,
    subject_id: str,
    evidence: Mapping[str, Any],
    language: str,
) -> str:
    """The one-line action of an item of ``rule_id`` in ``language`` (``zh-CN`` or ``en``)."""
    who = _unit(subject_name, subject_id)
    text = _TEXTS.get(rule_id)
    if text is None:
        return f"{rule_id} {who}"
    return text(who, subject_id, subject_name, evidence, language)
