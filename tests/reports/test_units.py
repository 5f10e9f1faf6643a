"""Pure helpers: periods, scope parsing, labels, the catalog."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 29), date(2023, 2, 28)),  # 29 February -> 28 February
        (date(2026, 3, 15), date(2025, 3, 15)),
        (date(2026, 12, 31), date(2025, 12, 31)),
    ],
)
def test_same_day_last_year(day, expected):
    from review_pipeline.reports.pipeline import same_day_last_year

    assert same_day_last_year(day) == expected


def test_month_arithmetic_and_accuracy_month():
    from review_pipeline.reports.pipeline import accuracy_month, add_months, month_end

    assert add_months(date(2026, 11, 1), 2) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert month_end(date(2028, 2, 10)) == date(2028, 2, 29)
    assert accuracy_month(date(2026, 3, 31)) == date(2026, 3, 1)  # month end: the month itself
    assert accuracy_month(date(2026, 3, 30)) == date(2026, 2, 1)  # running month: the one before
    assert accuracy_month(date(2026, 1, 5)) == date(2025, 12, 1)


def test_report_params_windows():
    from review_pipeline.reports.pipeline import report_params
    from review_pipeline.settings import Settings

    p = report_params(Settings(), date(2026, 12, 20))
    assert (p["prev_date"], p["week_start"]) == (date(2026, 12, 13), date(2026, 12, 14))
    assert (p["next_month_start"], p["second_month_start"], p["third_month_start"]) == (
        date(2027, 1, 1),
        date(2027, 2, 1),
        date(2027, 3, 1),
    )
    assert (p["ly_date"], p["ly_year_start"]) == (date(2025, 12, 20), date(2025, 1, 1))
    assert p["red_no_update_days"] == 30 and p["yellow_no_visit_days"] == 14


@pytest.mark.parametrize(
    ("text", "kind", "key", "valid"),
    [
        ("company", "company", None, True),
        ("all", "company", None, True),
        ("region:EAST", "region", "EAST", True),
        ("Team: T1 ", "team", "T1", True),
        ("person:E1", "person", "E1", True),
        ("manager:M1", "manager", "M1", True),
        ("region:", "region", "", False),
        ("city:SH", "none", "city:SH", False),
        ("company:X", "none", "company:X", False),
        ("", "none", "", False),
        (None, "none", None, False),
    ],
)
def test_scope_parse_denies_by_default(text, kind, key, valid):
    from review_pipeline.reports.scope import Scope

    scope = Scope.parse(text)
    assert (scope.kind, scope.key, scope.is_valid) == (kind, key, valid)


def test_catalog_and_labels_cover_every_report_and_column():
    from review_pipeline.reports.catalog import REPORTS, get_report, reports_for
    from review_pipeline.reports.labels import COLUMN_LABELS, REPORT_TITLES, title, value_label

    assert {r.name for r in REPORTS} == set(REPORT_TITLES)
    for report in REPORTS:
        missing = [c for c in report.display if c not in COLUMN_LABELS]
        assert not missing, (report.name, missing)
    assert get_report("R5").table == "rpt_reservoir"
    assert get_report("rpt_lead_ledger").name == "lead-ledger"
    with pytest.raises(KeyError):
        get_report("R7")  # two tables: ambiguous
    # R2 sums R3, the aging totals read the invoice rows: the build order says so
    order = [r.table for r in reports_for("weekly")]
    assert order.index("rpt_product_month_attainment") < order.index("rpt_region_month_attainment")
    assert order.index("rpt_receivable") < order.index("rpt_receivable_aging")
    assert len(order) == 11 and "rpt_plan_accuracy" not in [r.table for r in reports_for("daily")]
    assert (
        title("region-ytd") == "省区累计达成"
        and title("region-ytd", "en") == "Region YTD attainment"
    )
    assert value_label("check_flag", "RED") == "红" and value_label("check_flag", "?") == "?"
