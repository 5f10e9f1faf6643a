"""Row caps of the per-row sheets (packs.caps): the most important rows, chosen in SQL,
in importance order, with the true total on the sheet, the cover and the summary."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.packs.conftest import MANAGERS
from tests.reports.conftest import D, engine_of

pytestmark = pytest.mark.integration

_FLAG_ORDER = {"RED": 0, "YELLOW": 1}


def _ledger_importance(row: dict[str, Any]) -> tuple[Any, ...]:
    """The ledger's importance order restated in Python (a second formulation)."""
    amount = row["amount_cny"]
    return (
        not row["is_open"],
        _FLAG_ORDER.get(row["check_flag"], 2),
        amount is None,
        -(amount or Decimal(0)),
        row["lead_id"],
    )


def _receivable_importance(row: dict[str, Any]) -> tuple[Any, ...]:
    overdue = row["days_overdue"]
    return (
        not (overdue or 0) > 0,
        -row["balance_cny"],
        overdue is None,
        -(overdue or 0),
        row["invoice_id"],
    )


_IMPORTANCE = {"lead-ledger": _ledger_importance, "receivables": _receivable_importance}


def _expected(settings: Any, report: Any, manager: str, cap: int) -> tuple[list[Any], int]:
    """(the rows a capped sheet shows, the scope's total) from ``report_rows``."""
    from review_pipeline.reports.scope import Scope, report_rows

    rows = report_rows(settings, report, D, scope=Scope("manager", manager))
    if len(rows) <= cap:
        return rows, len(rows)
    return sorted(rows, key=_IMPORTANCE[report.name])[:cap], len(rows)


def _capped(settings: Any, ledger: int, receivables: int) -> Any:
    from review_pipeline.settings import PackSettings

    return settings.model_copy(
        update={"packs": PackSettings(ledger_max_rows=ledger, receivables_max_rows=receivables)}
    )


def test_capped_read_returns_the_most_important_rows_in_order(pack_world):
    """For every manager and every cap from 1 up: the capped partition returns exactly
    the rows a second formulation (report_rows sorted by importance in Python) keeps,
    in that order; within the cap, the report's own order; the count is the true total."""
    from review_pipeline.packs.source import (
        COUNT_COLUMN,
        MANAGER_COLUMN,
        RANK_COLUMN,
        partition_query,
    )
    from review_pipeline.reports.catalog import get_report

    everyone = ["E1", "E2", "E3", *MANAGERS]
    capped_somewhere = 0
    with engine_of(pack_world).connect() as conn:
        for name in ("lead-ledger", "receivables"):
            report = get_report(name)
            clause = partition_query(report, capped=True)
            largest = 0
            for cap in (1, 2, 3, 5, 8):
                rows = [
                    dict(r)
                    for r in conn.execute(
                        clause, {"review_date": D, "manager_ids": everyone, "row_cap": cap}
                    ).mappings()
                ]
                for manager in everyone:
                    mine = [r for r in rows if r[MANAGER_COLUMN] == manager]
                    expected, total = _expected(pack_world, report, manager, cap)
                    largest = max(largest, total)
                    assert all(r[COUNT_COLUMN] == total for r in mine), (name, manager)
                    got = [
                        {
                            k: v
                            for k, v in r.items()
                            if k not in (MANAGER_COLUMN, COUNT_COLUMN, RANK_COLUMN)
                        }
                        for r in mine
                    ]
                    assert got == expected, (name, manager, cap)
                    capped_somewhere += total > cap
            assert largest >= 3, name  # the world has scopes the small caps cut
    assert capped_somewhere > 10


def test_the_ledger_cap_puts_open_flagged_and_large_leads_first(pack_world):
    """The kept ledger rows are open before closed, RED/YELLOW before GREEN, larger first."""
    from review_pipeline.packs.source import MANAGER_COLUMN, partition_query
    from review_pipeline.reports.catalog import get_report

    with engine_of(pack_world).connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                partition_query(get_report("lead-ledger"), capped=True),
                {"review_date": D, "manager_ids": ["X"], "row_cap": 10_000},
            ).mappings()
        ]
        assert {r[MANAGER_COLUMN] for r in rows} == {"X"}
        flags = {r["check_flag"] for r in rows}
        opens = {r["is_open"] for r in rows}
    assert len(flags) > 1 and opens == {True, False}, (flags, opens)  # the order is exercised
    ranked = sorted(rows, key=_ledger_importance)
    first_closed = next(i for i, r in enumerate(ranked) if not r["is_open"])
    assert all(r["is_open"] for r in ranked[:first_closed])


def test_capped_pack_says_what_it_shows_and_the_full_list_command_prints_it(
    pack_world, monkeypatch, capsys
):
    """A lowered cap: the ledger and invoice sheets hold the expected rows in order,
    row 3 names the true total and a command that prints the full list (run here),
    the cover's contents and summary.sheets record shown and total; uncapped
    sheets are untouched; a rebuild gives the same bytes."""
    import csv
    import io

    from openpyxl import load_workbook

    from review_pipeline.cli.app import main
    from review_pipeline.packs.caps import cap_note, cap_short, full_list_command
    from review_pipeline.packs.pipeline import build_period
    from review_pipeline.packs.workbook import FIRST_DATA_ROW
    from review_pipeline.reports.catalog import get_report
    from review_pipeline.reports.labels import title

    settings = _capped(pack_world, ledger=3, receivables=2)
    result = build_period(settings, "weekly", D)
    assert result.built == 3
    by_manager = {p["manager_id"]: p for p in result.packs}
    capped_sheets = 0
    for manager, pack in by_manager.items():
        wb = load_workbook(pack["path"], read_only=True)
        sheets = pack["summary"]["sheets"]
        for name, cap in (("lead-ledger", 3), ("receivables", 2)):
            report = get_report(name)
            sheet = f"{report.number} {title(report.name)}"
            key = "lead_id" if name == "lead-ledger" else "invoice_id"
            expected, total = _expected(pack_world, report, manager, cap)
            rows = list(wb[sheet].iter_rows(values_only=True))
            header = rows[FIRST_DATA_ROW - 2]
            got = [r[header.index(_label(key))] for r in rows[FIRST_DATA_ROW - 1 :]]
            assert got == [r[key] for r in expected], (manager, name)
            record = sheets[sheet]
            assert record["total"] == record["rows"] == total
            assert record["shown"] == len(expected)
            assert record["cut"] is False
            note = rows[2][0] if rows[2] else None
            if total > cap:
                capped_sheets += 1
                assert record["capped"] is True
                assert note == cap_note(
                    report,
                    shown=cap,
                    total=total,
                    review_date=D,
                    manager_id=manager,
                    language="zh-CN",
                )
                assert f"{total:,}" in note and full_list_command(report, D, manager) in note
                assert f"mart.{report.table}" in note
                cover = [r for r in wb["概览"].iter_rows(values_only=True) if r and r[0] == sheet]
                assert cover and cover[0][1] == total
                assert cover[0][2] == cap_short(cap, total, "zh-CN")
            else:
                assert record["capped"] is False and note != cap_note(
                    report, shown=cap, total=total, review_date=D, manager_id=manager,
                    language="zh-CN",
                )  # fmt: skip
        # the level reports are never capped
        for sheet, record in sheets.items():
            if not sheet.startswith(("R6", "R7 应收")):
                assert record["capped"] is False and record["shown"] == record["total"]
        wb.close()
    assert capped_sheets >= 3

    # the note's command exists and prints every row of the scope
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", pack_world.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_HOME", str(pack_world.home))
    ledger = get_report("lead-ledger")
    command = full_list_command(ledger, D, "X").split()[1:]
    capsys.readouterr()
    try:
        main(command)
    except SystemExit as exc:
        assert not exc.code
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    total = by_manager["X"]["summary"]["sheets"][f"R6 {title('lead-ledger')}"]["total"]
    assert len(printed) == total > 3

    # deterministic: the same data and caps give the same bytes
    again = build_period(settings, "weekly", D)
    assert again.new == 0 and again.unchanged == 3
    assert {p["sha256"] for p in again.packs} == {p["sha256"] for p in result.packs}


def _label(column: str) -> str:
    from review_pipeline.reports.labels import column_label

    return column_label(column, "zh-CN")


def test_caps_come_from_the_environment_and_zero_means_no_cap(monkeypatch):
    """REVIEW_PACKS__LEDGER_MAX_ROWS sets the cap; 0 turns it off; defaults are 5,000."""
    from review_pipeline.packs.caps import row_caps
    from review_pipeline.settings import load_settings

    assert row_caps(load_settings()) == {"lead-ledger": 5000, "receivables": 5000}
    monkeypatch.setenv("REVIEW_PACKS__LEDGER_MAX_ROWS", "250")
    monkeypatch.setenv("REVIEW_PACKS__RECEIVABLES_MAX_ROWS", "0")
    assert row_caps(load_settings()) == {"lead-ledger": 250}


def test_english_note_names_the_total_and_the_command():
    from review_pipeline.packs.caps import cap_note
    from review_pipeline.reports.catalog import get_report

    note = cap_note(
        get_report("lead-ledger"),
        shown=5000,
        total=83412,
        review_date=D,
        manager_id="E10003",
        language="en",
    )
    assert note == (
        "Showing the 5,000 most important of 83,412 leads in your scope (open leads first,"
        " RED then YELLOW flags first, then by amount); full list: review-pipeline report"
        " lead-ledger --date 2026-03-15 --scope manager:E10003 --format csv"
        " (table mart.rpt_lead_ledger)"
    )


def test_pack_build_lists_capped_sheets_and_the_largest_pack(pack_world, monkeypatch, capsys):
    """`pack build` says which sheets were capped (shown/total) and the largest pack's size."""
    from review_pipeline.cli.app import main

    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", pack_world.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_HOME", str(pack_world.home))
    monkeypatch.setenv("REVIEW_PACKS__LEDGER_MAX_ROWS", "3")
    monkeypatch.setenv("REVIEW_PACKS__RECEIVABLES_MAX_ROWS", "0")
    try:
        main(["pack", "build", "--date", D.isoformat(), "--dry-run"])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    _, total = _expected(pack_world, _report("lead-ledger"), "X", 3)
    assert f"capped: R6 3/{total:,}" in out
    assert "R7" not in out.split("capped:")[1].splitlines()[0]  # receivables uncapped
    assert re.search(r"largest \d+ KB", out), out


def _report(name: str) -> Any:
    from review_pipeline.reports.catalog import get_report

    return get_report(name)
