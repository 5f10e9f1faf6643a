"""Packs built from the hand-built world: scope, ledger, rebuilds, skips, locks."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from tests.packs.conftest import MANAGERS
from tests.reports.conftest import D, engine_of

pytestmark = pytest.mark.integration

ROW_KEYS = {"lead_id", "invoice_id", "list_code", "level", "owner_id", "region_code", "team_id"}


def _under(settings: Any, manager: str) -> set[str]:
    """Everyone under ``manager`` on D, walked down the direct-manager links of
    the employee versions valid on D: a second formulation, not the closure table."""
    with engine_of(settings).connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "with recursive under (employee_id) as ("
                    "  select cast(:m as text)"
                    "  union"
                    "  select e.employee_id from dw.dim_employee as e"
                    "  join under as u on e.manager_id = u.employee_id"
                    "  where e.valid_from <= :d and (e.valid_to is null or e.valid_to > :d)"
                    ") select employee_id from under"
                ),
                {"m": manager, "d": D},
            ).scalars()
        )


def _outbox(settings: Any) -> list[dict[str, Any]]:
    with engine_of(settings).connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "select o.manager_id, o.status, o.pack_sha256, o.recipient, p.superseded_at"
                    " from ops.outbox as o join ops.pack as p using (pack_id)"
                    " order by o.outbox_id"
                )
            ).mappings()
        ]


def test_partitioned_read_equals_report_rows_for_every_manager_and_report(pack_world):
    """The one-query-per-report partition gives, for every manager, exactly the rows
    (values and order) of ``report_rows(Scope("manager", M))``, and every row's
    owner is under the manager by an independent walk of the hierarchy."""
    from review_pipeline.packs.source import COUNT_COLUMN, MANAGER_COLUMN, partition_query
    from review_pipeline.reports.catalog import REPORTS
    from review_pipeline.reports.scope import Scope, report_rows

    everyone = ["E1", "E2", "E3", *MANAGERS]  # a salesperson's scope is themselves
    checked = 0
    with engine_of(pack_world).connect() as conn:
        for report in REPORTS:
            clause = partition_query(report)
            params = {"review_date": D, "manager_ids": everyone, "top_n": 20}
            rows = [
                dict(r)
                for r in conn.execute(
                    clause, {k: v for k, v in params.items() if k in clause._bindparams}
                ).mappings()
            ]
            for manager in everyone:
                mine = [r for r in rows if r[MANAGER_COLUMN] == manager]
                assert all(r[COUNT_COLUMN] == len(mine) for r in mine)
                got = [
                    {k: v for k, v in r.items() if k not in (MANAGER_COLUMN, COUNT_COLUMN)}
                    for r in mine
                ]
                expected = report_rows(pack_world, report, D, scope=Scope("manager", manager))
                assert got == expected, (report.name, manager)
                under = _under(pack_world, manager)
                for row in got:
                    if report.grain != "level" or row["level"] == "PERSON":
                        assert row["owner_id"] in under, (report.name, manager, row)
                checked += len(got)
    assert checked > 200  # the world is small but not empty


def test_every_managers_pack_holds_exactly_their_rows(pack_world):
    """Open every pack with pandas: each report sheet has the mart rows of the
    manager's scope (keys, order and amounts), and nothing from outside it."""
    import pandas as pd

    from review_pipeline.packs.pipeline import build_packs, sheet_order
    from review_pipeline.packs.workbook import HEADER_ROW
    from review_pipeline.reports.catalog import reports_for
    from review_pipeline.reports.labels import column_label, title
    from review_pipeline.reports.scope import Scope, report_rows

    result = build_packs(pack_world, D)
    assert result["packs_built"] == 3 and result["packs_new"] == 3
    with engine_of(pack_world).connect() as conn:
        packs = {
            r.manager_id: r
            for r in conn.execute(
                sa.text("select manager_id, path, sha256, summary, sheets from ops.pack")
            )
        }
    assert set(packs) == set(MANAGERS)
    for manager, pack in packs.items():
        under = _under(pack_world, manager)
        sheets = pd.read_excel(pack.path, sheet_name=None, header=HEADER_ROW - 1)
        for report in sheet_order(reports_for("weekly")):
            name = f"{report.number} {title(report.name)}"
            frame = sheets[name]
            expected = report_rows(pack_world, report, D, scope=Scope("manager", manager))
            assert len(frame) == len(expected) == pack.sheets[name]["rows"], (manager, name)
            if report.grain != "level":
                key = "lead_id" if report.grain == "lead" else "invoice_id"
                assert list(frame[column_label(key)]) == [r[key] for r in expected]
                amount = "amount_cny" if key == "lead_id" else "balance_cny"
                assert list(frame[column_label(amount)]) == pytest.approx(
                    [float(r[amount]) for r in expected]
                )
                owners = frame.iloc[
                    :, list(frame.columns).index(column_label("owner_id") + "（编号）")
                ]
                assert set(owners) <= under
            else:
                levels = {"公司": "COMPANY", "省区": "REGION", "团队": "TEAM", "个人": "PERSON"}
                assert [levels[v] for v in frame[column_label("level")]] == [
                    r["level"] for r in expected
                ]
        summary = pack.summary
        assert summary["period"] == "2026-W11" and summary["kind"] == "weekly"
        assert summary["review_date"] == "2026-03-15"


def test_cover_figures_agree_with_the_marts(pack_world):
    """M1's headline figures against sums of the marts for E1 and E2 (M1's people on D)."""
    from review_pipeline.packs.pipeline import build_packs

    build_packs(pack_world, D)
    with engine_of(pack_world).connect() as conn:
        summary = conn.execute(
            sa.text("select summary from ops.pack where manager_id = 'M1'")
        ).scalar_one()
        sums = conn.execute(
            sa.text(
                "select sum(order_actual_mtd_cny), sum(order_target_cny), sum(order_forecast_cny)"
                " from mart.rpt_region_month_attainment"
                " where review_date = :d and level = 'PERSON' and owner_id in ('E1', 'E2', 'M1')"
            ),
            {"d": D},
        ).one()
        red = conn.execute(
            sa.text(
                "select count(distinct lead_id) from mart.rpt_top_lead"
                " where review_date = :d and check_flag = 'RED' and owner_id in ('E1', 'E2', 'M1')"
            ),
            {"d": D},
        ).scalar_one()
    kpis = {k["key"]: k["value"] for k in summary["kpis"]}
    assert kpis["orders_mtd"] == pytest.approx(float(sums[0]))
    assert kpis["order_target"] == pytest.approx(float(sums[1]))
    assert kpis["attainment"] == pytest.approx(float(sums[0] / sums[1]))
    assert kpis["forecast"] == pytest.approx(float(sums[2]))
    assert kpis["red"] == red == len(summary["red_projects"])
    assert summary["scope_label"] == "华东销售一部 (张三)"
    assert summary["title"] == "销售评审周报 2026-W11 · 华东销售一部 (张三)"
    assert summary["business_units"] == ["INFO"]
    assert summary["timezone"] == "Asia/Shanghai"
    # no extraction in this world: the end of the review date, said so
    assert summary["data_as_of"] == "2026-03-16T00:00:00+08:00"
    assert summary["data_as_of_known"] is False
    assert set(summary["chart"]) == {"title", "categories", "series"}
    assert summary["empty"] is False


def test_rebuild_is_a_no_op_and_changed_data_supersedes(pack_world):
    from review_pipeline.packs.pipeline import build_packs

    first = build_packs(pack_world, D)
    before = _outbox(pack_world)
    assert [o["status"] for o in before] == ["pending"] * 3
    assert {o["recipient"] for o in before} == {"m1@example.com", "m2@example.com", "x@example.com"}
    with engine_of(pack_world).connect() as conn:
        shas = dict(conn.execute(sa.text("select manager_id, sha256 from ops.pack")).all())

    # rebuilt by two worker processes sharing the build's snapshot: the same bytes
    from review_pipeline.packs.pipeline import build_period

    again = build_period(pack_world, "weekly", D, workers=2).as_dict()
    assert again["packs_new"] == 0 and again["packs_unchanged"] == 3
    assert _outbox(pack_world) == before  # same content: no new message
    with engine_of(pack_world).connect() as conn:
        assert dict(conn.execute(sa.text("select manager_id, sha256 from ops.pack")).all()) == shas

    # M2's pack was already sent; E3 (M2's) and E1 (M1's) ledger rows change
    with engine_of(pack_world).begin() as conn:
        conn.execute(sa.text("update ops.outbox set status = 'sent' where manager_id = 'M2'"))
        conn.execute(
            sa.text(
                "update mart.rpt_lead_ledger set amount_cny = amount_cny + 1"
                " where review_date = :d and owner_id in ('E1', 'E3')"
            ),
            {"d": D},
        )
    third = build_packs(pack_world, D)
    assert third["packs_new"] == 3  # X sees both changes, M1 and M2 one each
    rows = _outbox(pack_world)
    old = {o["manager_id"]: o["status"] for o in rows if o["pack_sha256"] in shas.values()}
    new = {o["manager_id"]: o["status"] for o in rows if o["pack_sha256"] not in shas.values()}
    assert old == {"M1": "skipped", "X": "skipped", "M2": "sent"}  # a sent one stays sent
    assert new == {"M1": "pending", "X": "pending", "M2": "pending"}
    with engine_of(pack_world).connect() as conn:
        current = conn.execute(
            sa.text("select count(*) from ops.pack where superseded_at is null")
        ).scalar_one()
    assert current == 3 and first["rows_in"] == third["rows_in"]


def test_manager_without_scope_gets_no_pack_and_a_reason(pack_world):
    from review_pipeline.packs.pipeline import build_packs, build_period

    # E2 managed E1 for three days of the week, not on D: a manager of the
    # period with nobody under them on the review date
    with engine_of(pack_world).begin() as conn:
        conn.execute(
            sa.text(
                "insert into dw.dim_employee_org_closure values"
                " ('E2', 'E1', 1, '2026-03-10', '2026-03-13')"
            )
        )
    result = build_packs(pack_world, D)
    assert result["packs_built"] == 3 and result["skipped"] == {"no scope": 1}
    single = build_period(pack_world, "weekly", D, manager_id="E1")  # a salesperson
    assert single.built == 0 and "nobody is under E1" in single.skipped["E1"]
    with engine_of(pack_world).connect() as conn:
        skips = dict(conn.execute(sa.text("select manager_id, reason from ops.pack_skip")).all())
        packs = set(conn.execute(sa.text("select manager_id from ops.pack")).scalars())
    assert set(skips) == {"E1", "E2"} and all(r.startswith("no scope") for r in skips.values())
    assert packs == set(MANAGERS)


def test_manager_without_address_is_skipped_and_a_later_pack_clears_the_skip(pack_world):
    from review_pipeline.packs.pipeline import build_packs

    with engine_of(pack_world).begin() as conn:
        conn.execute(sa.text("update dw.dim_employee set email = null where employee_id = 'M2'"))
    assert build_packs(pack_world, D)["skipped"] == {"no address": 1}
    with engine_of(pack_world).begin() as conn:
        conn.execute(
            sa.text("update dw.dim_employee set email = 'm2@example.com' where employee_id = 'M2'")
        )
    assert build_packs(pack_world, D, scope="manager:M2")["packs_new"] == 1
    with engine_of(pack_world).connect() as conn:
        assert conn.execute(sa.text("select count(*) from ops.pack_skip")).scalar_one() == 0


def test_names_files_and_advice_sheet(pack_world):
    import openpyxl

    from review_pipeline.packs.pipeline import build_packs

    build_packs(pack_world, D)
    with engine_of(pack_world).connect() as conn:
        row = conn.execute(
            sa.text(
                "select file_name, display_name, path, summary, bytes from ops.pack where manager_id = 'M1'"
            )
        ).one()
    assert row.display_name == "销售评审周报_2026-W11_华东销售一部.xlsx"
    assert row.file_name.isascii() and row.file_name.startswith("review-2026-W11-M1-")
    assert row.path.endswith(row.file_name) and "/packs/weekly/2026-W11/" in row.path
    wb = openpyxl.load_workbook(row.path)
    assert wb.sheetnames[:3] == ["行动建议", "概览", "R1 省区累计达成"]
    assert wb.sheetnames[-1] == "R9 真实性记分卡"
    advice = row.summary["advice"]
    assert 0 < len(advice) <= 5 and row.summary["advice_total"] >= len(advice)
    ws = wb["行动建议"]
    for item in advice:
        assert item["sheet"] == "行动建议"
        assert ws.cell(row=item["row"], column=4).value == item["action"]
        link = ws.cell(row=item["row"], column=8).hyperlink
        # the cited row, in the cited sheet: a data row below the header
        target_sheet, target_cell = link.location.rsplit("!", 1)
        cited = wb[target_sheet.strip("'")][target_cell]
        assert cited.row > 4 and cited.value is not None
        if item["rule_id"] == "A03":  # a RED TOP project: the row of that lead
            lead = item["action"].split()[1].split("（")[0]
            assert lead in [c.value for c in cited.parent[cited.row]]


def test_a_second_build_of_the_same_week_is_refused_while_one_runs(pack_world):
    from review_pipeline.db import step_lock
    from review_pipeline.errors import StepLocked
    from review_pipeline.packs.pipeline import build_packs

    with engine_of(pack_world).connect() as conn, conn.begin():
        with step_lock(conn, "packs.weekly", "2026-W11"):
            with pytest.raises(StepLocked, match="packs.weekly' for 2026-W11 is already running"):
                build_packs(pack_world, D)
    assert build_packs(pack_world, D)["packs_built"] == 3


def test_monthly_and_dry_run(pack_world):
    from review_pipeline.packs.pipeline import build_monthly_packs

    dry = build_monthly_packs(pack_world, D, dry_run=True)
    assert dry["packs_built"] == 3 and dry["packs_new"] == 0
    with engine_of(pack_world).connect() as conn:
        assert conn.execute(sa.text("select count(*) from ops.pack")).scalar_one() == 0
    assert not (pack_world.home / "packs").exists()
    result = build_monthly_packs(pack_world, D)
    assert result["period"] == "2026-03" and result["packs_new"] == 3
    with engine_of(pack_world).connect() as conn:
        rows = conn.execute(sa.text("select kind, display_name, summary from ops.pack")).all()
    assert {r.kind for r in rows} == {"monthly"}
    assert all(r.display_name.startswith("销售评审月报_2026-03_") for r in rows)
    assert all(json.dumps(r.summary, ensure_ascii=False).count("销售评审月报") >= 1 for r in rows)


def test_reports_missing_is_a_clear_error(rs):
    from review_pipeline.errors import UserError
    from review_pipeline.packs.pipeline import build_packs

    with pytest.raises(UserError, match="build the reports first"):
        build_packs(rs, D)


def test_a_manager_whose_people_have_no_rows_gets_an_empty_pack(pack_world):
    """Z manages a new hire with no data yet: the pack is built, every sheet says it
    has no rows, and the summary is marked empty (delivery's skip-if-empty reads it)."""
    import openpyxl

    from review_pipeline.packs.pipeline import build_period

    with engine_of(pack_world).begin() as conn:
        conn.execute(
            sa.text(
                "insert into dw.dim_employee (employee_id, valid_from, name, email, is_active, role)"
                " values ('Z', '2020-01-01', '新经理', 'z@example.com', true, 'TEAM_MANAGER'),"
                " ('NEW', '2026-03-14', '新人', null, true, 'SALESPERSON')"
            )
        )
        conn.execute(
            sa.text(
                "insert into dw.dim_employee_org_closure values"
                " ('Z', 'Z', 0, '2020-01-01', 'infinity'), ('Z', 'NEW', 1, '2026-03-14', 'infinity')"
            )
        )
    result = build_period(pack_world, "weekly", D, manager_id="Z")
    assert result.built == 1
    summary = result.packs[0]["summary"]
    assert summary["empty"] is True and summary["red_projects"] == []
    assert all(s["rows"] == 0 for s in summary["sheets"].values())
    wb = openpyxl.load_workbook(result.packs[0]["path"])
    assert wb["R6 线索台账"].cell(row=3, column=1).value == "本范围内无数据"
    kpis = {k["key"]: k["value"] for k in summary["kpis"]}
    assert kpis["orders_mtd"] == 0 and kpis["attainment"] is None


def test_the_orchestration_step_runs_and_records_the_build(pack_world):
    from review_pipeline.orchestration import run_stage

    summary = run_stage("build_packs", D, settings=pack_world)
    assert summary["rows_out"] == 3 and summary["packs_built"] == 3
    with engine_of(pack_world).connect() as conn:
        step = conn.execute(
            sa.text(
                "select status, rows_in, rows_out, details from ops.step_run where step = 'build_packs'"
            )
        ).one()
    assert step.status == "success" and step.rows_out == 3 and step.rows_in > 0
    assert step.details["period"] == "2026-W11"


def test_cover_charts_point_at_their_data(pack_world):
    import openpyxl
    from openpyxl.utils import range_boundaries

    from review_pipeline.packs.pipeline import build_packs

    build_packs(pack_world, D)
    with engine_of(pack_world).connect() as conn:
        path, summary = conn.execute(
            sa.text("select path, summary from ops.pack where manager_id = 'X'")
        ).one()
    ws = openpyxl.load_workbook(path)["概览"]
    charts = ws._charts
    assert len(charts) == 3  # orders by region, by product line, reservoir coverage

    def cells(ref: str) -> list:
        _, rng = ref.rsplit("!", 1)
        min_col, min_row, max_col, max_row = range_boundaries(rng.replace("$", ""))
        return [ws.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]

    region = charts[0]
    categories = region.series[0].cat
    ref = (categories.numRef or categories.strRef).f
    assert cells(ref) == summary["chart"]["categories"] == ["East", "West"]
    target = next(s for s in summary["chart"]["series"] if s["name"] == "目标")
    assert cells(region.series[0].val.numRef.f) == pytest.approx(target["values"])
