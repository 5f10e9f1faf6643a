"""Built world -> weekly reports -> build_packs -> send_packs -> a real SMTP server.

Every message's attachment must hold, sheet by sheet, exactly the rows the
reports give for that manager's scope (``report_rows`` with
``Scope("manager", id)``): an independent read of the marts.
"""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from tests.delivery.conftest import SmtpServer
from tests.reports.conftest import D, load_world, rpt_url, rs  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def _email_advice_is_the_sheets_top(msg: Any, workbook: Any, top_n: int) -> int:
    """The e-mail's action items are the first open items of the pack's 行动建议 sheet,
    in the same order, and no others; returns how many were compared."""
    import html

    sheet = workbook["行动建议"]
    header_at = next(r for r in range(1, 10) if sheet.cell(row=r, column=4).value == "建议行动")
    actions: list[str] = []
    for row in sheet.iter_rows(min_row=header_at + 1, values_only=True):
        if not any(row):
            break  # the blank row before the resolved section
        actions.append(str(row[3]))
    expected = actions[:top_n]
    body = msg.get_body(preferencelist=("html",)).get_content()
    positions = [body.find(html.escape(a)) for a in expected]
    assert all(p >= 0 for p in positions), "an item of the sheet's top is missing from the e-mail"
    assert positions == sorted(positions), "the e-mail lists the items in another order"
    shown = body.count('<span class="sev-')
    assert shown == len(expected), (shown, len(expected))
    return len(expected)


def test_built_packs_arrive_with_exactly_each_managers_rows(
    rs: Any,  # noqa: F811 - the fixture imported above
    smtp_server: SmtpServer,
) -> None:
    import openpyxl
    import pandas as pd

    from review_pipeline.advice.pipeline import build_advice
    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery.pipeline import send_packs, summarise_delivery
    from review_pipeline.packs.naming import sheet_name
    from review_pipeline.packs.pipeline import build_packs
    from review_pipeline.reports.catalog import reports_for
    from review_pipeline.reports.labels import column_label, title
    from review_pipeline.reports.pipeline import build_weekly_reports
    from review_pipeline.reports.scope import Scope, report_rows
    from review_pipeline.settings import SmtpSettings

    load_world(rs)
    with warehouse_engine(rs).begin() as conn:
        conn.execute(sa.text("delete from ops.outbox"))
        conn.execute(sa.text("delete from ops.pack"))
        conn.execute(sa.text("delete from ops.pack_skip"))
        conn.execute(
            sa.text("update dw.dim_employee set email = lower(employee_id) || '@example.com'")
        )
    build_weekly_reports(rs, D)
    build_advice(rs, D)
    settings = rs.model_copy(
        update={"smtp": SmtpSettings(transport="smtp", host=smtp_server.host,
                                     port=smtp_server.port, wait_for_retries_seconds=0)}
    )  # fmt: skip
    built = build_packs(settings, D)
    sent = send_packs(settings, D)
    with warehouse_engine(settings).connect() as conn:
        queued = conn.execute(
            sa.text("select manager_id, recipient from ops.outbox order by manager_id")
        ).all()
    assert queued, f"no pack was queued: {built}"
    assert sent["rows_out"] == len(queued)
    received = smtp_server.handler.received
    assert Counter(tuple(r.rcpt_tos) for r in received) == Counter(
        (recipient,) for _, recipient in queued
    ), "one message per queued pack, to its manager"

    reports = reports_for("weekly")
    checked = keys = advised = 0
    for item in received:
        msg = item.message
        manager = msg["X-Review-Pack"].split()[2]
        assert item.rcpt_tos == [f"{manager.lower()}@example.com"]
        [attachment] = list(msg.iter_attachments())
        data = attachment.get_content()
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        advised += _email_advice_is_the_sheets_top(msg, workbook, settings.advice.top_n)
        scope = Scope("manager", manager)
        for report in reports:
            sheet = sheet_name(f"{report.number} {title(report.name, 'zh-CN')}")
            assert sheet in workbook.sheetnames, (manager, sheet, workbook.sheetnames)
            expected = report_rows(settings, report, D, scope=scope)
            frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, header=3)
            if not expected:
                # an empty sheet says so in its first data row, or has none
                assert len(frame.dropna(how="all")) <= 1, (manager, sheet)
                continue
            assert len(frame) == len(expected), (manager, sheet)
            for column in ("lead_id", "owner_id", "invoice_id", "team_id"):
                label = column_label(column, "zh-CN")
                # an id beside its name column is labelled "...（编号）"
                label = f"{label}（编号）" if f"{label}（编号）" in frame.columns else label
                if column in expected[0] and label in frame.columns:
                    assert Counter(frame[label].dropna().astype(str)) == Counter(
                        str(r[column]) for r in expected if r[column] is not None
                    ), (manager, sheet, column)
                    keys += 1
            for column in expected[0]:
                label = column_label(column, "zh-CN")
                if not column.endswith("_cny") or label not in frame.columns:
                    continue
                total = sum(_number(r[column]) for r in expected)
                assert frame[label].fillna(0).astype(float).sum() == pytest.approx(total), (
                    manager, sheet, column,
                )  # fmt: skip
            checked += 1
    assert checked > 10 and keys > 5, (checked, keys)
    assert advised > 0, "no manager's pack carried advice: the comparison checked nothing"
    result = summarise_delivery(settings, D)
    assert result["rows_out"] == len(queued)
