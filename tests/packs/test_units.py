"""Pure helpers of the packs: formula safety, names, periods, summary figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from review_pipeline.errors import UserError
from review_pipeline.packs import naming
from review_pipeline.packs.safety import (
    MAX_CELL_CHARS,
    clean_text,
    make_cell,
    needs_text_guard,
    safe_value,
)

pytestmark = pytest.mark.unit

PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","click")',
    "+86 138 0000 0000",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "#N/A",  # an Excel error literal: must stay text, not become an error cell
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_become_guarded_text_cells(payload):
    from openpyxl import Workbook

    ws = Workbook(write_only=True).create_sheet("s")
    cell, cut = make_cell(ws, payload)
    assert cell.data_type == "s"
    assert cell.value == payload
    assert not cut
    if payload.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert cell.quotePrefix is True
        assert needs_text_guard(payload)


@pytest.mark.parametrize(
    ("value", "expected_type"),
    [
        (Decimal("-1234.56"), "n"),  # a negative number stays a number (no guard)
        (-5, "n"),
        (3.25, "n"),
        (0, "n"),
        (True, "b"),
        (date(2026, 11, 22), "d"),
        ("plain text", "s"),
        ("-", "s"),  # a lone minus is text, guarded
    ],
)
def test_numbers_stay_numbers_and_text_stays_text(value, expected_type):
    from openpyxl import Workbook

    ws = Workbook(write_only=True).create_sheet("s")
    cell, _ = make_cell(ws, value)
    assert cell.data_type == expected_type
    assert cell.value == value


def test_safe_value_edges():
    assert safe_value(None).value is None
    assert safe_value(float("nan")).value is None
    assert safe_value(float("inf")).value is None
    assert safe_value(Decimal("NaN")).value is None
    assert safe_value("  =x").as_text is False  # leading space: Excel does not evaluate it
    with pytest.raises(ValueError, match="time-zone-aware"):
        safe_value(datetime(2026, 1, 1, tzinfo=UTC))
    # control characters XML cannot carry are replaced, tab / CR / LF kept
    text, cut = clean_text("a\x00b\x1fc\td\re\nf")
    assert text == "a\ufffdb\ufffdc\td\re\nf" and not cut
    long = "x" * (MAX_CELL_CHARS + 10)
    safe = safe_value(long)
    assert safe.cut and len(safe.value) == MAX_CELL_CHARS
    safe = safe_value("=" + "y" * 100, max_chars=20)
    assert safe.cut and safe.as_text and len(safe.value) == 20


def test_file_names_are_ascii_and_distinct():
    sha = "3f9a1c2e" + "0" * 56
    assert (
        naming.file_name("weekly", "2026-W47", "M0012", sha)
        == "review-2026-W47-M0012-3f9a1c2e.xlsx"
    )
    assert naming.file_name("monthly", "2026-11", "M0012", sha).startswith("review-month-2026-11-")
    chinese = naming.file_name("weekly", "2026-W47", "张三/../x", sha)
    assert chinese.isascii() and "/" not in chinese and ".." not in chinese
    # two ids that fold to the same ASCII stay distinct
    assert naming.ascii_token("张三") != naming.ascii_token("李四")
    assert naming.ascii_token("a b") != naming.ascii_token("a_b")


def test_display_name_keeps_chinese_and_drops_forbidden_characters():
    name = naming.display_name("销售评审周报", "2026-W47", "华东区")
    assert name == "销售评审周报_2026-W47_华东区.xlsx"
    odd = naming.display_name("销售评审周报", "2026-W47", 'A/B:C*"D"<E>|F?\x01 G')
    assert odd.endswith(".xlsx")
    assert not any(ch in odd for ch in '/\\:*?"<>|\x01 ')
    assert naming.display_name(".", "", "").startswith("review")


def test_sheet_names_are_valid_and_unique():
    used: set[str] = set()
    first = naming.sheet_name("R7 应收账款[明细]/测试:一个很长很长很长很长很长很长的名字", used)
    assert len(first) <= 31 and not set("[]:*?/\\") & set(first)
    again = naming.sheet_name("R7 应收账款[明细]/测试:一个很长很长很长很长很长很长的名字", used)
    assert again != first and len(again) <= 31


def test_periods():
    assert naming.week_label(date(2026, 11, 22)) == "2026-W47"
    assert naming.week_end("2026-W47") == date(2026, 11, 22)
    assert naming.week_end("2026-W01") == date(2026, 1, 4)
    assert naming.week_label(date(2027, 1, 3)) == "2026-W53"
    assert naming.month_end("2026-11") == date(2026, 11, 30)
    assert naming.month_end("2026-12") == date(2026, 12, 31)
    assert naming.month_end("2028-02") == date(2028, 2, 29)
    for bad in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(UserError):
            naming.week_end(bad)
    with pytest.raises(UserError):
        naming.month_end("2026-13")


def test_summary_recomputes_ratios_from_person_rows():
    from review_pipeline.packs.summary import SummaryCollector

    c = SummaryCollector(language="en", names={("region", "E"): "East"})
    person = {"level": "PERSON", "business_unit": "INFO", "region_code": "E"}
    c.add(
        "region-month",
        {
            **person,
            "order_actual_mtd_cny": Decimal(30),
            "order_target_cny": Decimal(100),
            "order_forecast_cny": Decimal(50),
            "time_progress_ratio": Decimal("0.5"),
        },
    )
    c.add(
        "region-month",
        {
            **person,
            "order_actual_mtd_cny": Decimal(20),
            "order_target_cny": None,
            "order_forecast_cny": Decimal(0),
        },
    )
    # aggregate rows do not count twice
    c.add("region-month", {**person, "level": "REGION", "order_actual_mtd_cny": Decimal(50)})
    c.add(
        "top-leads",
        {
            "lead_id": "L2",
            "check_flag": "RED",
            "amount_cny": Decimal(5),
            "check_reasons": ["NO_UPDATE"],
            "list_code": "S5_PENDING_ORDER",
        },
    )
    c.add(
        "top-leads",
        {
            "lead_id": "L1",
            "check_flag": "RED",
            "amount_cny": Decimal(9),
            "check_reasons": ["EVENT_OVERDUE"],
            "list_code": "S4_TENDER_IN_MONTH",
        },
    )
    c.add(
        "top-leads",
        {
            "lead_id": "L1",
            "check_flag": "RED",
            "amount_cny": Decimal(9),
            "check_reasons": ["EVENT_OVERDUE"],
            "list_code": "S5_PENDING_ORDER",
        },
    )
    c.add("top-leads", {"lead_id": "L3", "check_flag": "GREEN", "amount_cny": Decimal(99)})
    kpis = {k["key"]: k["value"] for k in c.kpis()}
    assert kpis["orders_mtd"] == 50.0
    assert kpis["attainment"] == pytest.approx(0.5)
    assert kpis["forecast_attainment"] == pytest.approx(0.5)
    assert kpis["collection_attainment"] is None  # no target: null, never 0 % or infinite
    assert kpis["red"] == 2
    red = c.red_projects()
    assert [r["lead_id"] for r in red] == ["L1", "L2"]  # largest first, each lead once
    assert "S4 tender this month/S5 pending order" in red[0]["reason"]
    assert c.region_chart() == [("East", 100.0, 50.0, 50.0, 0.5)]  # fmt: skip
