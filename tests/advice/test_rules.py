"""Each advice rule on hand-built marts: items that must appear, near misses that must not.

Every expected figure is worked out by hand in the comments from the rows
inserted here (thresholds are the defaults of AdviceSettings: gap 10 points,
coverage floor 1.0, score floor 0.80 / drop 10 points, compliance 0.90,
receivables over 90 days, plan accuracy under 0.70 for 3 months).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from tests.advice.conftest import D1, D2, engine_of, mart_row, person_org

pytestmark = pytest.mark.integration


def _build(settings: Any, day: date = D2) -> dict[str, Any]:
    from review_pipeline.advice.pipeline import build_advice

    return build_advice(settings, day)


def _items(settings: Any, rule: str, day: date = D2) -> dict[str, dict[str, Any]]:
    """The stored items of ``rule`` on ``day`` by subject key."""
    with engine_of(settings).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select * from mart.advice_item where review_date = :d and rule_id = :r"
                " order by subject_key"
            ),
            {"d": day, "r": rule},
        ).mappings()
        return {r["subject_key"]: dict(r) for r in rows}


def _r4_people(conn: sa.Connection, day: date = D2) -> None:
    """R4 PERSON rows of everyone (the marts list every active salesperson)."""
    for owner in ("E1", "E2", "E3", "E4"):
        mart_row(
            conn,
            "rpt_team_month_attainment",
            review_date=day,
            business_unit="INFO",
            month_start=day.replace(day=1),
            **person_org(owner),
        )


def _ledger(conn: sa.Connection, lead: str, owner: str, stage: str, amount: int, **kw: Any) -> None:
    org = person_org(owner)
    mart_row(
        conn,
        "rpt_lead_ledger",
        review_date=kw.pop("review_date", D2),
        lead_id=lead,
        business_unit="INFO",
        owner_id=owner,
        owner_name=f"Name {owner}",
        customer_name=f"Customer of {lead}",
        team_id=org["team_id"],
        region_code=org["region_code"],
        stage_code=stage,
        is_open=kw.pop("is_open", True),
        amount_cny=amount,
        check_flag="GREEN",
        wow_change="UNCHANGED",
        **kw,
    )


# ---------------------------------------------------------------------- A01
def _r2(conn: sa.Connection, org: dict[str, Any], target: Any, forecast: Any, att: Any, tp: Any):
    mart_row(
        conn,
        "rpt_region_month_attainment",
        review_date=D2,
        business_unit="INFO",
        month_start=date(2026, 3, 1),
        order_target_cny=target,
        order_forecast_cny=forecast,
        order_forecast_attainment_ratio=att,
        time_progress_ratio=tp,
        **org,
    )


def test_a01_forecast_behind_time_progress(org):
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        # E1: 50 % vs 70 % -> 20 points behind (> 10): gap 1000 x 0.7 - 500 = 200;
        # exactly 2 x the threshold is not "more than" -> medium
        _r2(conn, person_org("E1"), 1000, 500, Decimal("0.5000"), Decimal("0.7000"))
        # E2: exactly 10 points behind -> no item (near miss)
        _r2(conn, person_org("E2"), 1000, 600, Decimal("0.6000"), Decimal("0.7000"))
        # E4: 10.01 points behind -> item, gap 700 - 599.90 = 100.10
        _r2(conn, person_org("E4"), 1000, Decimal("599.90"), Decimal("0.5999"), Decimal("0.7000"))
        # E3: no target -> attainment null -> no item
        _r2(conn, person_org("E3"), None, 300, None, Decimal("0.7000"))
        # team T1: 40 % vs 70 % -> 30 points (> 20): high, gap 2000 x 0.7 - 800 = 600
        team = {"level": "TEAM", "region_code": "EAST", "team_id": "T1", "owner_id": None}
        _r2(conn, team, 2000, 800, Decimal("0.4000"), Decimal("0.7000"))
        # candidate leads: open S4 / S5 pending, not gated
        _ledger(conn, "L1", "E1", "S4", 300)
        _ledger(conn, "L2", "E1", "S5_PENDING_ORDER", 500)
        _ledger(conn, "L3", "E1", "S3", 900)  # S3: not a candidate
        _ledger(conn, "L4", "E1", "S4", 400, is_gated=True)  # quarantined: not a candidate
        _ledger(conn, "L5", "E1", "S4", 999, is_open=False)  # closed: not a candidate
        _ledger(conn, "L6", "E2", "S4", 700)
    _build(org)
    items = _items(org, "A01")
    assert set(items) == {
        "INFO|PERSON|EAST|T1|E1",
        "INFO|PERSON|EAST|T3|E4",
        "INFO|TEAM|EAST|T1|",
    }
    e1 = items["INFO|PERSON|EAST|T1|E1"]
    assert e1["stake_cny"] == Decimal("200.00") and e1["severity"] == "medium"
    assert e1["sheet"] == "R2" and e1["row_key"]["owner_id"] == "E1"
    assert e1["subject_kind"] == "person" and e1["subject_name"] == "Name E1"
    assert e1["evidence"]["behind_pts"] == 20.0
    assert [x["lead_id"] for x in e1["evidence"]["leads"]] == ["L2", "L1"]
    assert e1["evidence"]["candidate_leads_cny"] == 800
    assert items["INFO|PERSON|EAST|T3|E4"]["stake_cny"] == Decimal("100.10")
    team = items["INFO|TEAM|EAST|T1|"]
    assert team["severity"] == "high" and team["stake_cny"] == Decimal("600.00")
    # the team's candidates: E1's and E2's leads, largest first
    assert [x["lead_id"] for x in team["evidence"]["leads"]] == ["L6", "L2", "L1"]
    assert team["grain"] == "unit" and team["subject_kind"] == "team"


# ---------------------------------------------------------------------- A02
def _r5(conn: sa.Connection, region: str, team: str | None, pl: str, month: date, **kw: Any):
    mart_row(
        conn,
        "rpt_reservoir",
        review_date=D2,
        business_unit="INFO",
        product_line_code=pl,
        level="TEAM" if team else "REGION",
        region_code=region,
        team_id=team,
        target_month=month,
        **kw,
    )


def test_a02_reservoir_coverage(org):
    apr, may = date(2026, 4, 1), date(2026, 5, 1)
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        # EAST SRV April: 600 / 1000 = 0.6 -> missing 1000 x 1.0 - 600 = 400, medium (>= 0.5)
        _r5(conn, "EAST", None, "SRV", apr, order_target_cny=1000, weighted_pipeline_cny=600,
            coverage_ratio=Decimal("0.6000"), s3_cny=1200)  # fmt: skip
        # WEST SRV April: exactly covered -> no item
        _r5(conn, "WEST", None, "SRV", apr, order_target_cny=500, weighted_pipeline_cny=500,
            coverage_ratio=Decimal("1.0000"))  # fmt: skip
        # EAST STO May: 0.4 -> missing 600, high (< 0.5)
        _r5(conn, "EAST", None, "STO", may, order_target_cny=1000, weighted_pipeline_cny=400,
            coverage_ratio=Decimal("0.4000"))  # fmt: skip
        # WEST STO May: no target -> coverage null -> no item
        _r5(conn, "WEST", None, "STO", may, weighted_pipeline_cny=400, coverage_note="no target")
        # team T2 SRV April: 0.9999 -> missing 0.10
        _r5(conn, "WEST", "T2", "SRV", apr, order_target_cny=1000,
            weighted_pipeline_cny=Decimal("999.90"), coverage_ratio=Decimal("0.9999"))  # fmt: skip
    _build(org)
    items = _items(org, "A02")
    assert {k: (v["stake_cny"], v["severity"]) for k, v in items.items()} == {
        "INFO|REGION|EAST|||SRV|2026-04": (Decimal("400.00"), "medium"),
        "INFO|REGION|EAST|||STO|2026-05": (Decimal("600.00"), "high"),
        "INFO|TEAM|WEST|T2||SRV|2026-04": (Decimal("0.10"), "medium"),
    }
    east = items["INFO|REGION|EAST|||SRV|2026-04"]
    assert east["subject_kind"] == "product_line" and east["subject_name"] == "Servers"
    assert east["evidence"]["unit_name"] == "East" and east["evidence"]["s3_cny"] == 1200
    assert east["row_key"]["target_month"] == "2026-04-01" and east["sheet"] == "R5"


# ---------------------------------------------------------------------- A03
def _top(conn: sa.Connection, lead: str, owner: str, lst: str, flag: str, reasons: list[str], **kw):
    org = person_org(owner)
    mart_row(
        conn,
        "rpt_top_lead",
        review_date=kw.pop("review_date", D2),
        business_unit="INFO",
        list_code=lst,
        lead_id=lead,
        company_rank=kw.pop("company_rank", 1),
        owner_id=owner,
        owner_name=f"Name {owner}",
        team_id=org["team_id"],
        region_code=org["region_code"],
        customer_name=f"Customer of {lead}",
        check_flag=flag,
        check_reasons=reasons,
        **kw,
    )


def test_a03_red_top_projects(org):
    with engine_of(org).begin() as conn:
        # L1: RED in two lists: tender due 03-05 (10 days before 03-15), collection due 03-10 (5 days)
        _top(conn, "L1", "E1", "S4_TENDER_IN_MONTH", "RED", ["EVENT_OVERDUE", "NO_VISIT"],
             amount_cny=800, stage_code="S4", expected_tender_date=date(2026, 3, 5),
             expected_collection_date=date(2026, 3, 10))  # fmt: skip
        _top(conn, "L1", "E1", "S4_COLLECTION_IN_MONTH", "RED", ["EVENT_OVERDUE"],
             amount_cny=800, stage_code="S4", expected_tender_date=date(2026, 3, 5),
             expected_collection_date=date(2026, 3, 10))  # fmt: skip
        # L2: RED only for no update -> medium
        _top(conn, "L2", "E3", "S5_PENDING_ORDER", "RED", ["NO_UPDATE"], amount_cny=300,
             expected_order_date=date(2026, 4, 30))  # fmt: skip
        # L3 YELLOW, L4 GREEN: no items
        _top(conn, "L3", "E1", "S5_PENDING_ORDER", "YELLOW", ["NO_VISIT"], amount_cny=5000)
        _top(conn, "L4", "E2", "S5_PENDING_ORDER", "GREEN", [], amount_cny=9000)
        # last RED a week earlier does not count today
        _top(conn, "L4", "E2", "S5_PENDING_ORDER", "RED", ["NO_UPDATE"], review_date=D1)
        _ledger(conn, "L1", "E1", "S4", 800, last_visit_date=date(2026, 3, 1))
        _r4_people(conn)
    _build(org)
    items = _items(org, "A03")
    assert set(items) == {"INFO|L1", "INFO|L2"}
    l1 = items["INFO|L1"]
    assert l1["severity"] == "high" and l1["stake_cny"] == Decimal("800.00")
    assert l1["evidence"]["overdue"] == {"collection": 5, "tender": 10}
    assert l1["evidence"]["max_days_overdue"] == 10
    assert l1["evidence"]["reasons"] == ["EVENT_OVERDUE", "NO_VISIT"]
    assert l1["evidence"]["last_visit_date"] == "2026-03-01"
    assert sorted(l1["evidence"]["lists"]) == ["S4_COLLECTION_IN_MONTH", "S4_TENDER_IN_MONTH"]
    assert l1["row_key"]["list_code"] in l1["evidence"]["lists"] and l1["sheet"] == "R3"
    assert (l1["owner_id"], l1["team_id"], l1["region_code"]) == ("E1", "T1", "EAST")
    l2 = items["INFO|L2"]
    assert l2["severity"] == "medium" and l2["evidence"]["overdue"] == {}
    assert l2["evidence"]["last_visit_date"] is None


# ---------------------------------------------------------------------- A04 / A05
def _r9(conn: sa.Connection, owner: str, day: date, score: Any, **kw: Any) -> None:
    mart_row(
        conn,
        "rpt_authenticity_scorecard",
        review_date=day,
        business_unit="INFO",
        authenticity_score=score,
        **person_org(owner),
        **kw,
    )


def test_a04_authenticity_score(org):
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        # E1: 0.7999 < 0.80 -> high
        _r9(conn, "E1", D2, Decimal("0.7999"), open_leads=4, warn_findings=3,
            findings_by_rule='{"LQ05": 1, "LQ06": 1, "LQ09": 1}')  # fmt: skip
        _r9(conn, "E1", D1, Decimal("0.8500"))
        # E2: exactly at the floor, and fell exactly 10 points -> no item
        _r9(conn, "E2", D2, Decimal("0.8000"))
        _r9(conn, "E2", D1, Decimal("0.9000"))
        # E4: above the floor but fell 11 points (0.96 -> 0.85) -> medium
        _r9(conn, "E4", D2, Decimal("0.8500"))
        _r9(conn, "E4", D1, Decimal("0.9600"))
        # E3: no open leads (score null) -> no item
        _r9(conn, "E3", D2, None)
        # E1's open leads with findings: 500 + 300 = 800 at stake
        _ledger(conn, "L10", "E1", "S3", 500, finding_rule_ids=["LQ05"])
        _ledger(conn, "L11", "E1", "S2", 300, finding_rule_ids=["LQ06", "LQ09"])
        _ledger(conn, "L12", "E1", "S2", 700, finding_rule_ids=["LQ05"], is_open=False)
        _ledger(conn, "L13", "E1", "S2", 900)
    _build(org)
    items = _items(org, "A04")
    assert set(items) == {"INFO|E1", "INFO|E4"}
    e1 = items["INFO|E1"]
    assert e1["severity"] == "high" and e1["stake_cny"] == Decimal("800.00")
    assert e1["evidence"]["findings_by_rule"] == {"LQ05": 1, "LQ06": 1, "LQ09": 1}
    assert [x["lead_id"] for x in e1["evidence"]["leads"]] == ["L10", "L11"]
    assert e1["evidence"]["drop_pts"] == 5.0 and e1["evidence"]["below_floor"] is True
    e4 = items["INFO|E4"]
    assert e4["severity"] == "medium" and e4["evidence"]["drop_pts"] == 11.0
    assert e4["stake_cny"] == 0 and e4["sheet"] == "R9"


def test_a05_report_compliance(org):
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        _r9(conn, "E1", D2, None, reports_required=5, reports_on_time=4,
            filed_on_time_ratio=Decimal("0.8000"))  # fmt: skip  # < 0.90: low
        _r9(conn, "E2", D2, None, reports_required=5, reports_on_time=5,
            filed_on_time_ratio=Decimal("1.0000"))  # fmt: skip
        _r9(conn, "E4", D2, None, reports_required=10, reports_on_time=9,
            filed_on_time_ratio=Decimal("0.9000"))  # fmt: skip  # at the floor: no item
        _r9(conn, "E3", D2, None, reports_required=5, reports_on_time=2,
            filed_on_time_ratio=Decimal("0.4000"))  # fmt: skip  # < 0.45: medium
    _build(org)
    items = _items(org, "A05")
    assert {k: (v["severity"], v["evidence"]["late_or_missing"]) for k, v in items.items()} == {
        "INFO|E1": ("low", 1),
        "INFO|E3": ("medium", 3),
    }
    assert all(v["stake_cny"] == 0 for v in items.values())


# ---------------------------------------------------------------------- A06
def _r7(conn: sa.Connection, invoice: str, owner: str | None, balance: int, days: int) -> None:
    org = person_org(owner) if owner else {"team_id": None, "region_code": None}
    mart_row(
        conn,
        "rpt_receivable",
        review_date=D2,
        invoice_id=invoice,
        business_unit="INFO",
        owner_id=owner,
        owner_name=f"Name {owner}" if owner else None,
        customer_name=f"Customer of {invoice}",
        team_id=org["team_id"],
        region_code=org["region_code"],
        invoiced_cny=balance,
        balance_cny=balance,
        days_overdue=days,
        aging_bucket="91-180",
    )


def test_a06_overdue_receivables(org):
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        _r7(conn, "I1", "E1", 1000, 91)
        _r7(conn, "I2", "E1", 2000, 200)  # over 180 days: high
        _r7(conn, "I3", "E1", 5000, 90)  # exactly 90: not "more than 90"
        _r7(conn, "I4", "E2", 700, 120)
        _r7(conn, "I5", "E3", 0, 300)  # nothing left to collect
        _r7(conn, "I6", None, 50, 100)  # no owner: an item of its own
    _build(org)
    items = _items(org, "A06")
    assert {k: (v["stake_cny"], v["severity"]) for k, v in items.items()} == {
        "INFO|E1": (Decimal("3000.00"), "high"),  # 1000 + 2000
        "INFO|E2": (Decimal("700.00"), "medium"),
        "INFO|-": (Decimal("50.00"), "medium"),
    }
    e1 = items["INFO|E1"]
    assert [x["invoice_id"] for x in e1["evidence"]["invoices"]] == ["I2", "I1"]
    assert e1["row_key"] == {"invoice_id": "I2"} and e1["sheet"] == "R7"
    assert e1["evidence"]["max_days_overdue"] == 200 and e1["evidence"]["invoice_count"] == 2


# ---------------------------------------------------------------------- A07
def _r8(conn: sa.Connection, day: date, month: date, owner: str, plan: int, actual: int) -> None:
    mart_row(
        conn,
        "rpt_plan_accuracy",
        review_date=day,
        business_unit="INFO",
        measure="ORDER",
        product_line_code="ALL",
        accuracy_month=month,
        plan_cny=plan,
        actual_cny=actual,
        **person_org(owner),
    )


def test_a07_plan_accuracy_three_low_months(org):
    dec, jan, feb = date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)
    with engine_of(org).begin() as conn:
        # D2 = 2026-03-15: R8 reports February; the three months are Dec, Jan, Feb.
        # E1: 500/1000 (0.5), 600/1000 (0.6), 1500/1000 (0.5) -> all < 0.70.
        _r8(conn, date(2026, 1, 4), dec, "E1", 1000, 500)
        _r8(conn, date(2026, 1, 31), jan, "E1", 1000, 1000)  # superseded by the later review
        _r8(conn, date(2026, 2, 8), jan, "E1", 1000, 600)
        _r8(conn, D2, feb, "E1", 1000, 1500)
        _r8(conn, date(2026, 3, 22), feb, "E1", 1000, 1000)  # after D2: not read
        # E2: 0.5, 0.5, then exactly 0.70 -> no item
        _r8(conn, date(2026, 1, 4), dec, "E2", 1000, 500)
        _r8(conn, date(2026, 2, 8), jan, "E2", 1000, 500)
        _r8(conn, D2, feb, "E2", 1000, 700)
        # E4: only two months reported -> no item
        _r8(conn, date(2026, 2, 8), jan, "E4", 1000, 100)
        _r8(conn, D2, feb, "E4", 1000, 100)
        _r4_people(conn)
    _build(org)
    items = _items(org, "A07")
    assert set(items) == {"INFO|ORDER|E1"}
    e1 = items["INFO|ORDER|E1"]
    ev = e1["evidence"]
    # mean |actual - plan| = (500 + 400 + 500) / 3 = 466.67; mean (actual - plan) =
    # (-500 - 400 + 500) / 3 = -133.33: the plan ran above the result -> over-plans
    assert e1["stake_cny"] == Decimal("466.67")
    assert ev["mean_deviation_cny"] == -133.33 and ev["direction"] == "over"
    assert ev["mean_accuracy_ratio"] == 0.5333 and e1["severity"] == "medium"
    assert [m["accuracy_ratio"] for m in ev["by_month"]] == [0.5, 0.6, 0.5]
    assert (e1["region_code"], e1["team_id"]) == ("EAST", "T1") and e1["sheet"] == "R8"


def test_build_refuses_a_date_without_marts(org):
    from review_pipeline.errors import UserError

    with pytest.raises(UserError, match="report build --date 2026-03-15"):
        _build(org)
