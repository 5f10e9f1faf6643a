"""The advice rules: ids, severities, the SQL file computing each, and the sheet it cites.

Each rule is one set-based ``insert ... select`` in ``sql/advice/<file>.sql``
over the report marts of one review date (values bound as parameters). The
thresholds are :class:`review_pipeline.settings.AdviceSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from review_pipeline.settings import Settings


@dataclass(frozen=True)
class Rule:
    """One advice rule.

    Attributes:
        rule_id: ``A01`` .. ``A07``.
        file: the SQL file under ``sql/advice`` (without ``.sql``).
        sheet: the report whose row an item cites (``R1`` .. ``R9``).
        title_zh / title_en: a short name for listings.
    """

    rule_id: str
    file: str
    sheet: str
    title_zh: str
    title_en: str


RULES: tuple[Rule, ...] = (
    Rule(
        "A01", "a01_attainment_gap", "R2", "预测达成落后时间进度", "Forecast behind time progress"
    ),
    Rule("A02", "a02_reservoir_coverage", "R5", "水库覆盖不足", "Reservoir coverage short"),
    Rule("A03", "a03_red_top_project", "R3", "红灯TOP项目", "RED TOP project"),
    Rule("A04", "a04_authenticity_score", "R9", "线索真实性得分低", "Low authenticity score"),
    Rule("A05", "a05_report_compliance", "R9", "日报合规不足", "Daily reports late or missing"),
    Rule("A06", "a06_overdue_receivable", "R7", "超期应收", "Receivables long overdue"),
    Rule("A07", "a07_plan_accuracy", "R8", "计划精度持续偏低", "Plan accuracy persistently low"),
)

RULE_IDS: tuple[str, ...] = tuple(r.rule_id for r in RULES)

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def get_rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id`` (KeyError when unknown)."""
    for rule in RULES:
        if rule.rule_id == rule_id:
            return rule
    raise KeyError(f"unknown advice rule {rule_id!r}; known: {', '.join(RULE_IDS)}")


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after the month starting ``first``."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def accuracy_month(day: date) -> date:
    """The month R8 reports on ``day``: that month on its last day, else the month before."""
    first = day.replace(day=1)
    if add_months(first, 1).toordinal() - 1 == day.toordinal():
        return first
    return add_months(first, -1)


def rule_params(settings: Settings, review_date: date) -> dict[str, Any]:
    """Every bind parameter the rule SQL uses, from the settings and the review date."""
    a = settings.advice
    last = accuracy_month(review_date)
    return {
        "review_date": review_date,
        "prev_date": date.fromordinal(review_date.toordinal() - 7),
        "attainment_gap": a.attainment_gap,
        "coverage_floor": a.coverage_floor,
        "score_floor": a.score_floor,
        "score_drop_points": a.score_drop_points,
        "compliance_floor": a.compliance_floor,
        "receivable_days": a.receivable_days,
        "plan_accuracy_floor": a.plan_accuracy_floor,
        "plan_accuracy_months": a.plan_accuracy_months,
        "accuracy_month": last,
        "first_accuracy_month": add_months(last, -(a.plan_accuracy_months - 1)),
        "evidence_leads": a.evidence_leads,
    }
