"""Builders of landing files for the file-layer tests (all generated here, nothing shipped)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

ORDER_HEADER = [
    "订单编号",
    "订单日期",
    "客户编码",
    "客户名称",
    "线索编号",
    "销售员工号",
    "产品线编码",
    "订单金额(元)",
]
INVOICE_HEADER = [
    "发票号码",
    "订单编号",
    "开票日期",
    "到期日期",
    "客户编码",
    "客户名称",
    "销售员工号",
    "发票金额(元)",
]
COLLECTION_HEADER = [
    "收款单号",
    "发票号码",
    "收款日期",
    "客户编码",
    "客户名称",
    "收款金额(元)",
    "销售员工号",
]

LOAD_TIME = datetime(2026, 11, 27, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def write_csv(
    path: Path,
    header: Sequence[str] | None,
    rows: Sequence[Sequence[Any]],
    *,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def order_rows(n: int, start: int = 1) -> list[list[str]]:
    return [
        [
            f"SO{i:06d}",
            f"2026-11-{1 + i % 26:02d}",
            f"C{i % 7:04d}",
            f"客户{i}有限公司",
            "" if i % 3 else f"L{i:05d}",
            f"E{i % 5:03d}",
            "SRV",
            f"{1000 + i}.50",
        ]
        for i in range(start, start + n)
    ]


def collections_workbook(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    sheet: str = "回款明细",
    title_block: bool = True,
    total: Any = None,
    date_format: str | None = None,
) -> Path:
    """A collections export as the simulated ERP writes it: title block, header, rows, 合计."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    if title_block:
        ws.append(["浪潮示例科技股份有限公司"])
        ws.merge_cells("A1:G1")
        ws.append(["回款明细表"])
        ws.merge_cells("A2:G2")
        ws.append(["日期范围：2026-11-01 至 2026-11-26"])
        ws.append([None])
    ws.append(COLLECTION_HEADER)
    for row in rows:
        ws.append(list(row))
        if date_format:
            ws.cell(row=ws.max_row, column=3).number_format = date_format
    if total is not None:
        ws.append(["合计", None, None, None, None, total, None])
    wb.save(path)
    return path


@pytest.fixture
def finance_mapping():
    from review_pipeline.sources.mapping import bundled_mapping

    return bundled_mapping("sim_finance")


@pytest.fixture
def crm_mapping():
    from review_pipeline.sources.mapping import bundled_mapping

    return bundled_mapping("generic_crm_export")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing" / "finance"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture(scope="session")
def _files_engine(make_database):
    """One migrated warehouse for the file-layer tests of a session (set up once: ~2 s)."""
    from review_pipeline.db import make_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import Settings

    url = make_database("files")
    engine = make_engine(url, Settings(warehouse_url=url))
    upgrade(engine)
    return engine


@pytest.fixture
def file_wh(_files_engine):
    """The shared warehouse with the file layer's tables emptied."""
    import sqlalchemy as sa

    from review_pipeline.sources.canonical import CANONICAL, raw_file_table

    # delete, not truncate: on a handful of rows it is far cheaper than new relfilenodes
    tables = [f"raw.{raw_file_table(name)}" for name in CANONICAL] + [
        "quarantine.file",
        "quarantine.file_row",
        "ops.file_manifest",
    ]
    with _files_engine.begin() as conn:
        for table in tables:
            conn.execute(sa.text(f"delete from {table}"))
    return _files_engine
