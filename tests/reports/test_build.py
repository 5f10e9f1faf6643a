"""Rebuilds, dry runs and missing domains."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.conftest import D, engine_of, load_world

pytestmark = pytest.mark.integration


def _checksums(settings: Any) -> dict[str, tuple[int, str]]:
    from review_pipeline.reports.catalog import REPORTS

    out = {}
    with engine_of(settings).connect() as conn:
        for report in REPORTS:
            out[report.table] = tuple(
                conn.execute(
                    sa.text(
                        f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                        f" from mart.{report.table} as t where review_date = :d"
                    ),
                    {"d": D},
                ).one()
            )
    return out


def test_rebuilding_a_date_gives_identical_rows_and_dry_run_writes_nothing(rs):
    from review_pipeline.reports.pipeline import (
        build_daily_marts,
        build_weekly_reports,
        close_month,
    )

    load_world(rs)
    dry = build_weekly_reports(rs, D, dry_run=True)
    assert dry["dry_run"] and dry["rows_out"] > 50
    assert all(count == 0 for count, _ in _checksums(rs).values())

    first = build_weekly_reports(rs, D)
    assert first["tables"] == dry["tables"]
    sums = _checksums(rs)
    build_daily_marts(rs, D)  # the daily build rewrites its tables with the same rows
    build_weekly_reports(rs, D)
    assert _checksums(rs) == sums
    # another review date leaves D's rows alone (history of reviews)
    close_month(rs, D.replace(day=31))
    assert _checksums(rs) == sums


def test_missing_targets_and_finance_degrade_to_notes(rs):
    from review_pipeline.reports.pipeline import build_weekly_reports
    from review_pipeline.reports.scope import report_rows

    load_world(rs, targets=False, finance=False)
    build_weekly_reports(rs, D)
    ytd = report_rows(rs, "region-ytd", D)
    assert ytd and all(
        r["order_attainment_ratio"] is None
        and r["order_attainment_note"] == "no target"
        and r["order_actual_cny"] == 0
        for r in ytd
    )
    month = report_rows(rs, "product-month", D)
    srv = next(r for r in month if r["level"] == "COMPANY" and r["product_line_code"] == "SRV")
    # without orders the forecast is the pipeline alone: 500 + 710
    assert (srv["order_forecast_cny"], srv["order_forecast_attainment_ratio"]) == (1210, None)
    reservoir = report_rows(rs, "reservoir", D)
    assert reservoir and all(r["coverage_note"] == "no target" for r in reservoir)
    assert report_rows(rs, "receivables", D) == []
    assert report_rows(rs, "plan-accuracy", D) == []


def test_targets_without_finance_say_no_finance_data(rs):
    from review_pipeline.reports.pipeline import build_daily_marts
    from review_pipeline.reports.scope import report_rows

    load_world(rs, finance=False)
    build_daily_marts(rs, D)
    east = next(
        r
        for r in report_rows(rs, "region-ytd", D)
        if r["level"] == "REGION" and r["region_code"] == "EAST"
    )
    assert (
        east["order_actual_cny"],
        east["order_attainment_ratio"],
        east["order_attainment_note"],
    ) == (
        0,
        None,
        "no finance data",
    )


def test_an_empty_warehouse_builds_empty_reports(rs):
    from review_pipeline.orchestration import run_stage

    # through the orchestration adapter, as the DAG task runs it
    summary = run_stage("build_daily_marts", D, settings=rs)
    assert summary["rows_out"] == 0 and summary["step"] == "build_daily_marts"
    assert set(summary["tables"]) >= {"rpt_region_ytd_attainment", "rpt_receivable"}


def test_lead_state_on_is_the_snapshot_view_of_that_day_without_the_gated_leads(world):
    """Migration 0012 reads dw.fct_lead_state directly; it must stay the view's day."""
    from datetime import timedelta

    with engine_of(world).begin() as conn:
        open_on_d = conn.execute(
            sa.text("select lead_id from dw.lead_state_on(:d) order by lead_id"), {"d": D}
        ).scalars()
        gated = list(open_on_d)[0]
        conn.execute(
            sa.text(
                "insert into dw.fct_lead_gate (business_date, lead_id, rule_ids)"
                " values (:d, :l, array['LQ12']) on conflict do nothing"
            ),
            {"d": D, "l": gated},
        )
        for day in (D, D - timedelta(days=7), D - timedelta(days=40), D.replace(day=1)):
            by_function = conn.execute(
                sa.text("select s.* from dw.lead_state_on(:d) as s order by s.lead_id"),
                {"d": day},
            ).all()
            by_view = conn.execute(
                sa.text(
                    "select s.* from dw.fct_lead_snapshot as s"
                    " where s.snapshot_date = :d order by s.lead_id"
                ),
                {"d": day},
            ).all()
            assert by_function == by_view, day
        on_d = {
            r.lead_id for r in conn.execute(sa.text("select * from dw.lead_state_on(:d)"), {"d": D})
        }
        assert gated not in on_d and len(on_d) >= 3


def test_lead_check_for_gives_lead_check_on_rows_of_the_chosen_leads_only(world):
    """The TOP lists flag only their leads; the flags must be those of lead_check_on."""
    args = "cast(:d as date), 30, 30, 14, 45"
    with engine_of(world).connect() as conn:
        every = {
            r.lead_id: tuple(r)
            for r in conn.execute(sa.text(f"select * from mart.lead_check_on({args})"), {"d": D})
        }
        assert len(every) >= 3
        chosen = sorted(every)[:2] + ["NO_SUCH_LEAD"]
        some = conn.execute(
            sa.text(
                "select * from mart.lead_check_for(cast(:d as date), cast(:ids as text[]), 30, 30, 14, 45)"
            ),
            {"d": D, "ids": chosen},
        ).all()
        assert {r.lead_id: tuple(r) for r in some} == {k: every[k] for k in chosen[:2]}
        none = conn.execute(
            sa.text(
                "select count(*) from mart.lead_check_for(cast(:d as date), '{}', 30, 30, 14, 45)"
            ),
            {"d": D},
        ).scalar_one()
        assert none == 0
