"""The spreadsheet-only CRM mapping end to end: leads XLSX (English headers), org CSV, customers."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.sources.conftest import LOAD_TIME, write_csv

pytestmark = pytest.mark.integration


def test_generic_crm_export(file_wh, crm_mapping, tmp_path):
    import openpyxl

    from review_pipeline.sources.files import load_landing

    landing = tmp_path / "landing" / "crm_export"
    landing.mkdir(parents=True)
    archive = tmp_path / "archive"

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Lead export 2026-11-26"])
    ws.append([])
    ws.append(
        [
            "Lead ID",
            "Business Unit",
            "Product Line",
            "Customer ID",
            "Owner ID",
            "Stage",
            "Amount (10k CNY)",
            "Expected Order Date",
            "Created At",
            "Updated At",
            "Deleted",
        ]
    )
    ws.append(
        [
            "L1",
            "Hardware",
            "SRV",
            "C1",
            "E1",
            "Won - pending order",
            12.5,
            datetime(2026, 12, 1),
            "2026-10-01 09:00:00",
            "2026-11-20 10:00:00",
            "No",
        ]
    )
    ws.append(
        [
            "L2",
            "浪潮软件",
            "ERP",
            "C2",
            "E2",
            "赢单?",
            "３",
            "2026/12/15",
            "2026-10-02 09:00",
            "2026-11-21 10:00",
            "是",
        ]
    )
    ws.append(
        [
            "L3",
            "Software",
            "ERP",
            "C2",
            "E2",
            "Lost",
            "abc",
            "2026-12-15",
            "2026-10-02 09:00",
            "2026-11-21 10:00",
            "N",
        ]
    )
    wb.save(landing / "leads_20261126.xlsx")

    write_csv(
        landing / "org_20261126.csv",
        ["工号", "姓名", "邮箱", "角色", "团队编码", "直属上级工号", "入职日期"],
        [
            ["E1", "张三", "zs@example.com", "销售", "T1", "M1", "2020-03-01"],
            ["M1", "李四", "", "团队经理", "T1", "", "2018年5月6日"],
            ["E2", "王五", "ww@example.com", "实习生", "T1", "M1", ""],
        ],
        encoding="gbk",
    )
    write_csv(
        landing / "customers_20261126.csv",
        ["Customer ID", "Customer Name", "Credit Code", "Account Tier", "Region", "Updated At"],
        [["C1", "𠀀科技", "91110000000000000X", "Strategic", "BJ", "2026-11-01 08:00"]],
        delimiter=";",
    )
    with file_wh.connect() as conn:
        results = load_landing(
            conn, crm_mapping, landing_dir=landing, archive_dir=archive, load_time=LOAD_TIME
        )
        conn.commit()
    got = {(r.entity, r.file_name): (r.status, r.rows_loaded, r.rows_quarantined) for r in results}
    assert got == {
        ("lead", "leads_20261126.xlsx"): ("loaded", 2, 1),
        ("employee", "org_20261126.csv"): ("loaded", 3, 0),
        ("employee_assignment", "org_20261126.csv"): ("loaded", 2, 1),
        ("customer", "customers_20261126.csv"): ("loaded", 1, 0),
    }
    # the org file fed two entities and was archived once, after the second
    assert [r.archived_path is not None for r in results if r.file_name.startswith("org")] == [
        False,
        True,
    ]
    assert not any(landing.iterdir())
    with file_wh.connect() as conn:
        leads = conn.execute(
            sa.text(
                "select lead_id, business_unit, stage, status, stage_raw, amount_cny,"
                " expected_order_date, updated_at, deleted_at from raw.file_lead order by lead_id"
            )
        ).all()
        assignments = conn.execute(
            sa.text(
                "select employee_id, valid_from, role, manager_id from raw.file_employee_assignment"
                " order by employee_id"
            )
        ).all()
        hired = conn.execute(
            sa.text("select employee_id, hired_on from raw.file_employee order by employee_id")
        ).all()
        customer = conn.execute(sa.text("select name, account_tier from raw.file_customer")).one()
        bad = conn.execute(
            sa.text(
                "select file_name, line_no, column_name, rule from quarantine.file_row"
                " order by file_name"
            )
        ).all()
    assert [tuple(r) for r in leads] == [
        (
            "L1",
            "INFO",
            "S5",
            "PENDING_ORDER",
            "Won - pending order",
            "125000.00",
            "2026-12-01",
            "2026-11-20T10:00:00+08:00",
            None,
        ),
        (
            "L2",
            "SOFT",
            None,
            None,
            "赢单?",
            "30000.00",
            "2026-12-15",
            "2026-11-21T10:00:00+08:00",
            "2026-11-27T02:00:00+08:00",
        ),
    ]
    assert [tuple(r) for r in assignments] == [
        ("E1", "2026-11-27", "SALESPERSON", "M1"),
        ("M1", "2026-11-27", "TEAM_MANAGER", None),
    ]
    assert [tuple(r) for r in hired] == [("E1", "2020-03-01"), ("E2", None), ("M1", "2018-05-06")]
    assert tuple(customer) == ("𠀀科技", "STRATEGIC")
    assert [tuple(r) for r in bad] == [
        ("leads_20261126.xlsx", 6, "Amount (10k CNY)", "ROW_BAD_NUMBER"),
        ("org_20261126.csv", 4, "角色", "ROW_BAD_VALUE"),
    ]
