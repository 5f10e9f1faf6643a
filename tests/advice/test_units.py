"""Pure helpers of the advice: weeks, months, ranking key, action text."""

from __future__ import annotations

from datetime import date

import pytest

from review_pipeline.advice.actions import action_text, money, pct
from review_pipeline.advice.api import AdviceItem, rank_key
from review_pipeline.advice.rules import RULE_IDS, accuracy_month, rule_params
from review_pipeline.packs.naming import week_label as iso_week

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 3, 15), "2026-W11"),  # a Sunday ends its ISO week
        (date(2026, 3, 16), "2026-W12"),
        (date(2027, 1, 3), "2026-W53"),  # early January in the last week of the year before
        (date(2025, 12, 29), "2026-W01"),
    ],
)
def test_iso_week(day, week):
    assert iso_week(day) == week


@pytest.mark.parametrize(
    ("day", "month"),
    [
        (date(2026, 3, 15), date(2026, 2, 1)),
        (date(2026, 3, 31), date(2026, 3, 1)),  # month end reports its own month
        (date(2026, 1, 4), date(2025, 12, 1)),
        (date(2024, 2, 29), date(2024, 2, 1)),
    ],
)
def test_accuracy_month(day, month):
    assert accuracy_month(day) == month


def test_rule_params_window():
    from review_pipeline.settings import load_settings

    params = rule_params(load_settings(), date(2026, 3, 15))
    assert params["prev_date"] == date(2026, 3, 8)
    assert (params["first_accuracy_month"], params["accuracy_month"]) == (
        date(2025, 12, 1),
        date(2026, 2, 1),
    )
    assert RULE_IDS == ("A01", "A02", "A03", "A04", "A05", "A06", "A07")


def _item(rule: str, stake: float, severity: str, key: str = "k") -> AdviceItem:
    return AdviceItem(rule, severity, "person", "E1", "E1", "", {}, stake, "R7", {}, "", "new",
                      subject_key=key)  # fmt: skip


def test_rank_key_money_then_severity_then_rule():
    items = [
        _item("A05", 0.0, "medium"),
        _item("A02", 400.0, "medium"),
        _item("A06", 400.0, "high"),
        _item("A01", 400.0, "high"),
        _item("A03", 800.0, "low"),
    ]
    ranked = [(i.rule_id, i.stake_cny) for i in sorted(items, key=rank_key)]
    assert ranked == [("A03", 800.0), ("A01", 400.0), ("A06", 400.0), ("A02", 400.0), ("A05", 0.0)]


def test_action_texts_carry_the_figures():
    assert money(1234567.4, "en") == "¥1,234,567" and pct(0.834) == "83.4%" and pct(None) == "-"
    ev = {"balance_cny": 3000, "invoice_count": 2, "max_days_overdue": 200, "days_threshold": 90,
          "invoices": [{"customer": "ACME", "balance_cny": 2000}]}  # fmt: skip
    en = action_text("A06", "Zhang San", "E1", ev, "en")
    assert en == (
        "Zhang San (E1): ¥3,000 receivable over 90 days (2 invoices, oldest 200 days); "
        "chase ACME ¥2,000 first"
    )
    zh = action_text("A06", "张三", "E1", ev, "zh-CN")
    assert zh == "张三 (E1)：超90天应收 ¥3,000（2 张发票，最久 200 天）；先催 ACME ¥2,000"
    a07 = {"measure": "ORDER", "months": 3, "floor": 0.7, "mean_accuracy_ratio": 0.5333,
           "mean_abs_deviation_cny": 466.67, "direction": "over"}  # fmt: skip
    assert "over-plans by ¥467 a month" in action_text("A07", "Li", "E2", a07, "en")
    assert "计划偏高" in action_text("A07", "Li", "E2", a07, "zh-CN")
    # every rule has a text in both languages, none empty, even with no evidence
    for rule in RULE_IDS:
        for language in ("zh-CN", "en"):
            assert action_text(rule, "N", "E1", {}, language)


def test_red_project_text_names_overdue_events_and_red_reasons():
    ev = {"amount_cny": 800, "owner": "Wang", "overdue": {"collection": 5, "tender": 10},
          "reasons": ["EVENT_OVERDUE", "ERROR_FINDING", "NO_VISIT"], "last_visit_date": None}  # fmt: skip
    assert action_text("A03", "ACME", "L1", ev, "en") == (
        "RED project L1 (ACME, ¥800, Wang): collection overdue 5 days, tender overdue 10 days, "
        "error finding; never visited"
    )
    zh = action_text("A03", "ACME", "L1", {**ev, "last_visit_date": "2026-03-01"}, "zh-CN")
    assert zh == (
        "红灯项目 L1（ACME，¥800，Wang）：回款逾期5天、招标逾期10天、存在错误级检查问题，"
        "最近拜访 2026-03-01"
    )
