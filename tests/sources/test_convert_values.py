"""The pure conversion of cells into canonical text, table-driven (expected values by hand)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from review_pipeline.sources.convert import (
    ConversionError,
    build_plan,
    convert_row,
    excel_serial_to_datetime,
    is_total_label,
    parse_date,
    parse_int,
    parse_money,
    parse_timestamp,
    row_hash,
)
from review_pipeline.sources.mapping import mapping_from_dict

pytestmark = pytest.mark.unit
SH = ZoneInfo("Asia/Shanghai")
LOAD = datetime(2026, 11, 27, 2, 0, tzinfo=SH)


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("1234.5", "yuan", "1234.50"),
        ("1,234,500.00", "yuan", "1234500.00"),
        ("１，２３４．５０", "yuan", "1234.50"),  # full-width digits and punctuation
        ("¥ 88", "yuan", "88.00"),
        ("￥1,000元", "yuan", "1000.00"),
        ("(1,000.00)", "yuan", "-1000.00"),
        ("-12.345", "yuan", "-12.35"),
        ("0.005", "yuan", "0.01"),  # half up, not banker's
        ("12.5", "wan", "125000.00"),
        ("3", "yi", "300000000.00"),
        (1234, "yuan", "1234.00"),
        (0.1, "yuan", "0.10"),
        (1e15, "yuan", "1000000000000000.00"),
        (Decimal("7.777"), "wan", "77770.00"),
    ],
)
def test_parse_money(raw, unit, expected):
    assert str(parse_money(raw, unit)) == expected


@pytest.mark.parametrize(
    "raw",
    ["12,34.5", "1.234,50", "abc", "1e5", "12 万", "--5", "", "#N/A", float("nan"), True, 1e17],
)
def test_parse_money_rejects(raw):
    with pytest.raises(ConversionError) as exc:
        parse_money(raw)
    assert exc.value.rule == "ROW_BAD_NUMBER"


@pytest.mark.parametrize(
    ("raw", "formats", "expected"),
    [
        ("2026-11-02", ["%Y-%m-%d"], date(2026, 11, 2)),
        ("2026/11/02", ["%Y-%m-%d", "%Y/%m/%d"], date(2026, 11, 2)),
        ("２０２６年１１月２日", ["%Y年%m月%d日"], date(2026, 11, 2)),
        ("2026-11-02 13:45:00", ["%Y-%m-%d"], date(2026, 11, 2)),  # timestamp fallback
        (datetime(2026, 1, 5, 9, 30), ["%Y"], date(2026, 1, 5)),
        (date(2026, 1, 5), ["%Y"], date(2026, 1, 5)),
    ],
)
def test_parse_date(raw, formats, expected):
    got = parse_date(raw, formats, fallback_formats=["%Y-%m-%d %H:%M:%S"])
    assert got == expected


@pytest.mark.parametrize(
    ("raw", "formats"),
    [
        ("2026/13/02", ["%Y/%m/%d"]),
        ("02/11/2026", ["%Y-%m-%d"]),
        ("0001-01-01", ["%Y-%m-%d"]),  # out of the sane range
        (46351, ["%Y-%m-%d"]),  # a number from a CSV-like source without an Excel epoch
    ],
)
def test_parse_date_rejects(raw, formats):
    with pytest.raises(ConversionError) as exc:
        parse_date(raw, formats)
    assert exc.value.rule == "ROW_BAD_DATE"
    assert repr(raw) in exc.value.reason


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, datetime(1900, 1, 1)),
        (59, datetime(1900, 2, 28)),
        (61, datetime(1900, 3, 1)),  # Excel's phantom 1900-02-29 is serial 60
        (45658, datetime(2025, 1, 1)),
        (46351, datetime(2026, 11, 25)),
        (46351.5, datetime(2026, 11, 25, 12, 0)),
    ],
)
def test_excel_serials(serial, expected):
    assert excel_serial_to_datetime(serial) == expected


def test_parse_date_from_excel_serial():
    assert parse_date(46351, ["%Y-%m-%d"], excel_epoch=datetime(1899, 12, 30)) == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-02 08:30:00", "2026-11-02T08:30:00+08:00"),
        ("2026-11-02", "2026-11-02T00:00:00+08:00"),
        (datetime(2026, 11, 2, 8, 30), "2026-11-02T08:30:00+08:00"),
        (datetime(2026, 11, 2, 0, 30, tzinfo=ZoneInfo("UTC")), "2026-11-02T00:30:00+00:00"),
    ],
)
def test_parse_timestamp_in_source_zone(raw, expected):
    got = parse_timestamp(raw, ["%Y-%m-%d %H:%M:%S"], SH, date_formats=["%Y-%m-%d"])
    assert got.isoformat() == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), ("1,200", 1200), ("３", 3), (12.0, 12), ("12.0", 12)],
)
def test_parse_int(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize("raw", ["12.5", 12.5, "x", True])
def test_parse_int_rejects(raw):
    with pytest.raises(ConversionError):
        parse_int(raw)


@pytest.mark.parametrize(
    ("cell", "is_total"),
    [
        ("合计", True),
        ("总计：", True),
        (" 小计 ", True),
        ("Total", True),
        ("TOTAL:", True),
        ("合计金额", False),
        ("SK001", False),
        (None, False),
        (12, False),
    ],
)
def test_total_labels(cell, is_total):
    assert is_total_label(cell) is is_total


LEAD_MAPPING = {
    "source": "t",
    "kind": "files",
    "value_maps": {
        "stage": {"招标": "S4", "中标-已下单": "S5", "丢单": "LOST"},
        "status": {"招标": "OPEN", "中标-已下单": "ORDERED", "丢单": "LOST"},
        "bu": {"浪潮信息": "INFO", "浪潮软件": "SOFT"},
    },
    "entities": {
        "lead": {
            "file": {"glob": "l*.csv", "format": "csv"},
            "deleted_flag": "是否删除",
            "columns": {
                "lead_id": "线索编号",
                "customer_id": "客户编码",
                "business_unit": {"source": "事业部", "value_map": "bu"},
                "stage": {"source": "阶段", "value_map": "stage"},
                "status": {"source": "阶段", "value_map": "status"},
                "amount_cny": {"source": "金额(万元)", "unit": "wan"},
                "expected_order_date": {"source": "预计下单", "date_formats": ["%Y.%m.%d"]},
                "updated_at": "更新时间",
            },
        }
    },
}
HEADERS = [
    "线索编号",
    "客户编码",
    "事业部",
    "阶段",
    "金额(万元)",
    "预计下单",
    "更新时间",
    "是否删除",
]


def _lead(**cells):
    base = dict(
        zip(HEADERS, ["L1", "C1", "浪潮信息", "招标", "12.5", "2026.12.01", "", "否"], strict=True)
    )
    base.update(cells)
    return base


@pytest.fixture
def plan():
    return build_plan(mapping_from_dict(LEAD_MAPPING), "lead", HEADERS, LOAD)


def test_convert_row_maps_every_field(plan):
    row, problems = convert_row(plan, _lead())
    assert problems == []
    assert row["lead_id"] == "L1" and row["business_unit"] == "INFO"
    assert (row["stage"], row["status"], row["stage_raw"], row["status_raw"]) == (
        "S4",
        "OPEN",
        "招标",
        "招标",
    )
    assert row["amount_cny"] == "125000.00"
    assert row["expected_order_date"] == "2026-12-01"
    assert row["updated_at"] is None and row["deleted_at"] is None
    assert row["owner_id"] is None  # not mapped
    assert len(row_hash(plan, row)) == 64


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"客户编码": "NA"}, ("customer_id", None)),
        ({"客户编码": "无"}, ("customer_id", None)),
        ({"客户编码": "999999"}, ("customer_id", None)),  # placeholder id
        ({"客户编码": " C9 "}, ("customer_id", "C9")),
        ({"事业部": "SOFT"}, ("business_unit", "SOFT")),  # already canonical
        ({"阶段": "赢单"}, ("stage", None)),  # unknown: null, raw kept for LQ03
        ({"阶段": "赢单"}, ("stage_raw", "赢单")),
        ({"是否删除": "是"}, ("deleted_at", "2026-11-27T02:00:00+08:00")),
        ({"金额(万元)": "-"}, ("amount_cny", None)),
    ],
)
def test_convert_row_values(plan, cells, expected):
    row, problems = convert_row(plan, _lead(**cells))
    assert problems == []
    assert row[expected[0]] == expected[1]


@pytest.mark.parametrize(
    ("cells", "column", "rule", "words"),
    [
        ({"线索编号": ""}, "线索编号", "ROW_MISSING_KEY", "key lead_id is empty"),
        ({"线索编号": "0"}, "线索编号", "ROW_MISSING_KEY", "key lead_id is empty"),
        ({"金额(万元)": "12..5"}, "金额(万元)", "ROW_BAD_NUMBER", "'12..5'"),
        ({"预计下单": "2026-12-01"}, "预计下单", "ROW_BAD_DATE", "expected %Y.%m.%d"),
        ({"更新时间": "yesterday"}, "更新时间", "ROW_BAD_TIMESTAMP", "'yesterday'"),
        ({"事业部": "浪潮云"}, "事业部", "ROW_BAD_VALUE", "unknown value '浪潮云'"),
        ({"是否删除": "maybe"}, "是否删除", "ROW_BAD_BOOLEAN", "'maybe'"),
        ({"客户编码": "C\x001"}, "客户编码", "ROW_BAD_TEXT", "NUL"),
    ],
)
def test_convert_row_problems(plan, cells, column, rule, words):
    row, problems = convert_row(plan, _lead(**cells))
    assert row == {}
    assert [(p.column, p.rule) for p in problems] == [(column, rule)]
    assert words in problems[0].reason


def test_every_bad_column_is_reported(plan):
    _, problems = convert_row(plan, _lead(**{"线索编号": "", "金额(万元)": "x", "预计下单": "y"}))
    assert {p.column for p in problems} == {"线索编号", "金额(万元)", "预计下单"}


def test_constants_and_defaults():
    mapping = mapping_from_dict(
        {
            "source": "t",
            "kind": "files",
            "entities": {
                "employee_assignment": {
                    "file": {"glob": "org*.csv", "format": "csv"},
                    "columns": {
                        "employee_id": "工号",
                        "valid_from": {"constant": "@load_date"},
                        "role": {"constant": "SALESPERSON"},
                    },
                },
                "team": {
                    "file": {"glob": "team*.csv", "format": "csv"},
                    "columns": {"team_id": "编码", "name": "名称"},
                },
            },
        }
    )
    plan = build_plan(mapping, "employee_assignment", ["工号"], LOAD)
    row, problems = convert_row(plan, {"工号": "E1"})
    assert problems == [] and row["valid_from"] == "2026-11-27" and row["role"] == "SALESPERSON"
    team = build_plan(mapping, "team", ["编码", "名称"], LOAD)
    row, _ = convert_row(team, {"编码": "T1", "名称": "华东"})
    assert row["unit_level"] == "TEAM"  # the canonical default
