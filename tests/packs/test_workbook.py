"""Workbooks written from hand-made rows: formula safety read back with openpyxl
and pandas, Excel's limits, deterministic bytes, LibreOffice opens them."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from review_pipeline.packs.source import Manager
from review_pipeline.packs.workbook import (
    HEADER_ROW,
    Limits,
    PackMeta,
    SheetInput,
    sha256_of,
    write_pack,
)
from review_pipeline.reports.catalog import get_report

pytestmark = pytest.mark.unit

PAYLOADS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=2", "\r=3", '=HYPERLINK("x")', "#DIV/0!"]
COLUMNS = [
    "review_date",
    "lead_id",
    "customer_name",
    "owner_id",
    "owner_name",
    "amount_cny",
    "days_since_update",
    "expected_order_date",
    "check_flag",
    "check_reasons",
]
AS_OF = datetime(2026, 11, 23, 2, 14, tzinfo=ZoneInfo("Asia/Shanghai"))


def _meta(language: str = "zh-CN", as_of: datetime = AS_OF) -> PackMeta:
    manager = Manager("M1", "张三", "m1@example.com", True, "TEAM_MANAGER", 2, "team", "华东一部")
    return PackMeta(
        kind="weekly",
        period="2026-W47",
        review_date=date(2026, 11, 22),
        language=language,
        timezone="Asia/Shanghai",
        data_as_of=as_of,
        as_of_known=True,
        manager=manager,
        title="销售评审周报 2026-W47 · 华东一部 (张三)",
        scope_label="华东一部 (张三)",
    )


def _rows(n: int = len(PAYLOADS)) -> list[dict[str, Any]]:
    return [
        {
            "review_date": date(2026, 11, 22),
            "lead_id": f"L{i:03d}",
            "customer_name": PAYLOADS[i % len(PAYLOADS)],
            "owner_id": "E1",
            "owner_name": "李四",
            "amount_cny": Decimal("-1234.56") if i == 0 else Decimal(1000 + i),
            "days_since_update": i,
            "expected_order_date": date(2026, 12, 1),
            "check_flag": ("RED", "YELLOW", "GREEN")[i % 3],
            "check_reasons": ["NO_UPDATE"] if i % 3 == 0 else [],
        }
        for i in range(n)
    ]


def _write(path: Path, rows: list[dict[str, Any]], **kwargs: Any) -> Any:
    report = get_report("lead-ledger")
    sheets = iter([SheetInput(report=report, columns=COLUMNS, count=len(rows), rows=iter(rows))])
    return write_pack(
        path,
        kwargs.pop("meta", _meta()),
        sheets,
        names={("employee", "E1"): "李四"},
        region_names=False,
        advice=kwargs.pop("advice", None),
        **kwargs,
    )


def _sheet(path: Path, name: str = "R6 线索台账") -> Any:
    import openpyxl

    return openpyxl.load_workbook(path)[name]


def test_formula_payloads_read_back_as_text_and_numbers_as_numbers(tmp_path):
    import pandas as pd

    path = tmp_path / "p.xlsx"
    _write(path, _rows())
    ws = _sheet(path)
    header = [c.value for c in ws[HEADER_ROW]]
    col = header.index("客户") + 1
    amount = header.index("金额（元）") + 1
    days = header.index("未更新天数") + 1
    for i, payload in enumerate(PAYLOADS):
        cell = ws.cell(row=HEADER_ROW + 1 + i, column=col)
        assert cell.data_type == "s", payload
        # a CR is normalised to LF by any XML reader; the rest is the text itself
        assert cell.value == payload.replace("\r", "\n")
        if payload[0] in "=+-@\t\r":
            assert cell.quotePrefix, payload
    first = ws.cell(row=HEADER_ROW + 1, column=amount)
    assert first.data_type == "n" and first.value == pytest.approx(-1234.56)
    assert first.number_format == "#,##0.00"
    assert ws.cell(row=HEADER_ROW + 2, column=days).data_type == "n"
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    assert ws.auto_filter.ref == f"A{HEADER_ROW}:I{HEADER_ROW + len(PAYLOADS)}"
    # the check flags are coloured by conditional formatting, one rule per flag
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert {tuple(r.formula) for r in rules} >= {('"红"',), ('"黄"',), ('"绿"',)}

    frame = pd.read_excel(path, sheet_name="R6 线索台账", header=HEADER_ROW - 1)
    assert list(frame["客户"]) == [p.replace("\r", "\n") for p in PAYLOADS]
    assert pd.api.types.is_numeric_dtype(frame["金额（元）"])
    assert frame["金额（元）"].iloc[0] == pytest.approx(-1234.56)
    assert pd.api.types.is_integer_dtype(frame["未更新天数"])
    assert pd.api.types.is_datetime64_any_dtype(frame["预计下单日期"])


def test_sheet_cut_at_the_row_limit_says_so(tmp_path):
    path = tmp_path / "cut.xlsx"
    limits = Limits(max_rows=HEADER_ROW + 3, max_chars=40)
    rows = _rows(10)
    rows[1]["customer_name"] = "=" + "长" * 100  # over the (lowered) cell limit
    written = _write(path, rows, limits=limits)
    record = written.sheets["R6 线索台账"]
    assert record == {
        "rows": 10,
        "shown": 3,
        "total": 10,
        "cut": True,
        "capped": False,
        "cells_cut": 1,
    }
    ws = _sheet(path)
    assert "仅显示前 3 行（共 10 行）" in ws.cell(row=3, column=1).value
    assert "行数: 10" in ws.cell(row=2, column=1).value
    data = [r for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert len(data) == 3
    header = [c.value for c in ws[HEADER_ROW]]
    cut_cell = ws.cell(row=HEADER_ROW + 2, column=header.index("客户") + 1)
    assert len(cut_cell.value) == 40 and cut_cell.value.endswith("（已截断）")
    assert cut_cell.data_type == "s"
    cover = [c for row in _sheet(path, "概览").iter_rows(values_only=True) for c in row if c]
    assert any("超出 Excel 行数上限" in str(c) for c in cover)
    assert any("1 个单元格超出" in str(c) for c in cover)


def test_same_input_same_bytes_other_as_of_other_bytes(tmp_path):
    a, b, c = tmp_path / "a.xlsx", tmp_path / "b.xlsx", tmp_path / "c.xlsx"
    _write(a, _rows())
    _write(b, _rows())
    assert sha256_of(a) == sha256_of(b)
    later = datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    _write(c, _rows(), meta=_meta(as_of=later))
    assert sha256_of(c) != sha256_of(a)
    import openpyxl

    props = openpyxl.load_workbook(a).properties
    assert props.created == props.modified == datetime(2026, 11, 22, 18, 14)  # as-of in UTC
    assert props.title.startswith("销售评审周报") and props.creator == "review-pipeline"
    assert "2026-W47" in props.keywords


def test_english_labels(tmp_path):
    path = tmp_path / "en.xlsx"
    _write(path, _rows(), meta=_meta(language="en"))
    import openpyxl

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Overview", "R6 Lead ledger"]
    header = [c.value for c in wb["R6 Lead ledger"][HEADER_ROW]]
    assert "Customer" in header and "Amount (CNY)" in header
    assert (
        wb["R6 Lead ledger"].cell(row=HEADER_ROW + 1, column=header.index("Check flag") + 1).value
        == "RED"
    )


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_opens_the_workbook_without_repair(tmp_path):
    """LibreOffice converts every sheet to CSV; formula payloads arrive as their text.

    Runs when LibreOffice is installed; with REVIEW_REQUIRE_LIBREOFFICE=1 a
    missing LibreOffice is a failure, not a skip (CI sets it where it installs it).
    """
    binary = _soffice()
    if binary is None:
        if os.environ.get("REVIEW_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(
                "REVIEW_REQUIRE_LIBREOFFICE=1 but neither soffice nor libreoffice is on PATH"
            )
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    path = tmp_path / "lo.xlsx"
    _write(path, _rows())
    out = tmp_path / "csv"
    profile = tmp_path / "profile"
    # 44 = comma, 34 = quote, 76 = UTF-8, -1 = every sheet to its own file
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.csv"))
    assert len(files) == 2, (done.stdout, done.stderr)
    ledger = next(f for f in files if "R6" in f.name).read_text(encoding="utf-8")
    for payload in ("=1+1", "@SUM(A1)", '=HYPERLINK(""x"")', "#DIV/0!"):
        assert payload in ledger  # shown as typed, never evaluated
    assert "-1234.56" in ledger.replace(",", "") or "-1,234.56" in ledger
    cover = next(f for f in files if "R6" not in f.name).read_text(encoding="utf-8")
    assert "销售评审周报 2026-W47" in cover and "Asia/Shanghai" in cover


def test_fast_rows_write_the_same_cells_as_openpyxl(tmp_path):
    """The XML fast path and openpyxl's cells give the same values, types and styles."""
    import openpyxl

    rows = _rows(12)
    rows[3]["customer_name"] = '  spaced <b>&amp; "quoted"  '
    rows[4]["customer_name"] = "=" + "长" * 60
    rows[5]["expected_order_date"] = None
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    limits = Limits(max_chars=40)
    a = _write(fast, [dict(r) for r in rows], limits=limits)
    b = _write(slow, [dict(r) for r in rows], limits=limits, raw_rows=False)
    assert a.sheets == b.sheets and a.sheets["R6 线索台账"]["cells_cut"] == 1
    wa, wb = openpyxl.load_workbook(fast), openpyxl.load_workbook(slow)
    assert wa.sheetnames == wb.sheetnames
    compared = 0
    for name in wa.sheetnames:
        for ra, rb in zip(wa[name].iter_rows(), wb[name].iter_rows(), strict=True):
            for ca, cb in zip(ra, rb, strict=True):
                assert (
                    ca.value,
                    ca.data_type,
                    ca.number_format,
                    ca.quotePrefix,
                    ca.font.b,
                    ca.font.color and ca.font.color.rgb,
                    ca.fill.fgColor.rgb,
                    ca.alignment.wrap_text,
                ) == (
                    cb.value,
                    cb.data_type,
                    cb.number_format,
                    cb.quotePrefix,
                    cb.font.b,
                    cb.font.color and cb.font.color.rgb,
                    cb.fill.fgColor.rgb,
                    cb.alignment.wrap_text,
                ), (name, ca.coordinate)
                compared += 1
    assert compared > 150
