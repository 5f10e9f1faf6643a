"""Every report against the hand-built world of conftest.py (review date D = 2026-03-15).

Expected figures are worked out by hand from the fixture rows; the comments
show the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.reports.conftest import D, load_world, reset_all

pytestmark = pytest.mark.integration

Dec = Decimal


@pytest.fixture(scope="module")
def built(rpt_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The world built once for the whole module (the tests only read)."""
    from review_pipeline.reports.pipeline import build_weekly_reports
    from review_pipeline.settings import load_settings

    home: Path = tmp_path_factory.mktemp("rpt-home")
    settings = load_settings(warehouse_url=rpt_url, crm_url=rpt_url, home=home)
    reset_all(settings)
    load_world(settings)
    build_weekly_reports(settings, D)
    yield settings


def rows(settings: Any, report: str, scope: str = "company", **kw: Any) -> list[dict[str, Any]]:
    from review_pipeline.reports.scope import Scope, report_rows

    return report_rows(settings, report, D, scope=Scope.parse(scope), **kw)


def one(found: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    hits = [r for r in found if all(r.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, (match, hits)
    return hits[0]


# --------------------------------------------------------------------------- R1
def test_r1_region_ytd_attainment(built):
    r = rows(built, "region-ytd")
    company = one(r, level="COMPANY")
    # YTD order targets Jan..Mar (PERSON rows; the REGION row 99999 is ignored):
    # E1 300 + 200 + 1000 + 500 (STO) + E2 400 + E3 100 (Feb) + 600 (Mar) = 3100
    assert company["order_target_cny"] == Dec("3100.00")
    # orders 2026-01-01..03-15: O4 150 + O9 50 + O3 250 + O1 300 + O2 100 + O7 50 = 900
    assert company["order_actual_cny"] == Dec("900.00")
    assert company["order_attainment_ratio"] == Dec("0.2903")  # 900 / 3100
    # last year 2025-01-01..2025-03-15: O10 80 + O5 200 = 280 (O6 on 03-20 is later)
    assert company["order_actual_ly_cny"] == Dec("280.00")
    assert company["order_yoy_growth_ratio"] == Dec("2.2143")  # 900 / 280 - 1

    east = one(r, level="REGION", region_code="EAST")
    # E3 was in T1 (EAST) until 1 March: his Feb target and Jan/Feb orders stay in EAST
    assert east["order_target_cny"] == Dec("2500.00")  # 2000 + 400 + 100
    assert east["order_actual_cny"] == Dec("850.00")  # 150 + 50 + 250 + 300 + 100
    assert east["order_attainment_ratio"] == Dec("0.3400")
    assert east["order_yoy_growth_ratio"] == Dec("2.0357")  # 850 / 280 - 1
    # collections K2 50 (Feb) + K1 100 (Mar) against E1's March collection target 800
    assert east["collection_actual_cny"] == Dec("150.00")
    assert east["collection_attainment_ratio"] == Dec("0.1875")

    west = one(r, level="REGION", region_code="WEST")
    assert (west["order_target_cny"], west["order_actual_cny"]) == (Dec("600.00"), Dec("50.00"))
    assert west["order_yoy_growth_ratio"] is None  # nothing last year
    assert west["collection_attainment_ratio"] is None
    assert west["collection_attainment_note"] == "no target"

    e3_east = one(r, level="PERSON", owner_id="E3", region_code="EAST")
    assert e3_east["order_actual_cny"] == Dec("300.00")  # O9 50 + O3 250
    assert e3_east["order_attainment_ratio"] == Dec("3.0000")  # 300 / 100
    assert e3_east["order_yoy_growth_ratio"] == Dec("2.7500")  # 300 / 80 - 1
    assert one(r, level="PERSON", owner_id="E3", region_code="WEST")["order_actual_cny"] == Dec(
        "50.00"
    )


# --------------------------------------------------------------------------- R2/R3
def test_r3_product_month_attainment_and_forecast(built):
    r = rows(built, "product-month")
    srv = one(r, level="COMPANY", product_line_code="SRV")
    assert srv["order_target_cny"] == Dec("2000.00")  # E1 1000 + E2 400 + E3 600
    assert srv["order_actual_mtd_cny"] == Dec("450.00")  # O1 300 + O2 100 + O7 50
    assert srv["order_attainment_ratio"] == Dec("0.2250")
    # PENDING_ORDER expecting order in March: L2 500
    assert srv["pending_order_cny"] == Dec("500.00")
    # weighted S3/S4 expecting order in March: L3 1000 x 0.5 + L4 200 x 0.7 + L8 100 x 0.7
    assert srv["weighted_s3_s4_cny"] == Dec("710.00")
    assert srv["order_forecast_cny"] == Dec("1660.00")  # 450 + 500 + 710
    assert srv["order_forecast_attainment_ratio"] == Dec("0.8300")  # 1660 / 2000
    # a week earlier (03-08): O1 300; L2 was S4 expecting April; L3 500 + L4 140 + L8 70
    assert srv["order_forecast_prev_cny"] == Dec("1010.00")
    assert srv["order_forecast_change_cny"] == Dec("650.00")
    # collection forecast: K1 100 + I1 balance 200 (due 03-20) + L2 400 + L4 200 expected
    assert srv["collection_actual_mtd_cny"] == Dec("100.00")
    assert srv["invoice_due_balance_cny"] == Dec("200.00")
    assert srv["lead_expected_collection_cny"] == Dec("600.00")
    assert srv["collection_forecast_cny"] == Dec("900.00")
    assert srv["collection_forecast_attainment_ratio"] == Dec("1.1250")  # 900 / 800
    # bid-win forecast: S4 with tender in March: L4 (03-20) and L8 (03-02)
    assert (srv["bid_win_s4_leads"], srv["bid_win_s4_cny"], srv["bid_win_s4_weighted_cny"]) == (
        2,
        Dec("300.00"),
        Dec("210.00"),
    )
    # March 2026 has 22 working days, 10 of them up to the 15th
    assert srv["time_progress_ratio"] == Dec("0.4545")

    east = one(r, level="REGION", region_code="EAST", product_line_code="SRV")
    assert east["order_attainment_ratio"] == Dec("0.2857")  # 400 / 1400
    assert east["order_forecast_cny"] == Dec("1470.00")  # 400 + 500 + 500 + 70
    assert east["order_forecast_change_cny"] == Dec("600.00")  # 1470 - (300 + 500 + 70)
    west = one(r, level="REGION", region_code="WEST", product_line_code="SRV")
    assert west["order_forecast_cny"] == Dec("190.00")  # O7 50 + L4 140
    assert west["order_forecast_change_cny"] == Dec("50.00")  # 190 - 140

    sto = one(r, level="COMPANY", product_line_code="STO")
    assert (sto["order_target_cny"], sto["order_attainment_ratio"]) == (Dec("500.00"), Dec("0"))


def test_r2_region_month_attainment(built):
    r = rows(built, "region-month")
    company = one(r, level="COMPANY")
    assert company["order_target_cny"] == Dec("2500.00")  # SRV 2000 + STO 500
    assert company["order_attainment_ratio"] == Dec("0.1800")  # 450 / 2500
    assert company["order_forecast_attainment_ratio"] == Dec("0.6640")  # 1660 / 2500
    assert company["order_forecast_change_cny"] == Dec("650.00")
    east = one(r, level="REGION", region_code="EAST")
    assert east["order_attainment_ratio"] == Dec("0.2105")  # 400 / 1900
    west = one(r, level="REGION", region_code="WEST")
    assert west["collection_attainment_ratio"] is None
    assert west["collection_attainment_note"] == "no target"


# --------------------------------------------------------------------------- TOP lists
def test_r3_top_lists_and_check_flags(built):
    r = rows(built, "top-leads")
    by_list: dict[str, list[tuple[Any, ...]]] = {}
    for x in r:
        by_list.setdefault(x["list_code"], []).append(
            (x["lead_id"], x["check_flag"], x["check_reasons"])
        )
    assert by_list == {
        # L1 ordered on 03-05, visited 03-10, updated 10 days ago
        "S5_ORDERED_IN_MONTH": [("L1", "GREEN", [])],
        # L2: no visit since creation on 02-01 (42 days >= 14)
        "S5_PENDING_ORDER": [("L2", "YELLOW", ["NO_VISIT"])],
        # L4 has an error finding (LQ12)
        "S4_COLLECTION_IN_MONTH": [("L4", "RED", ["ERROR_FINDING"])],
        # L2's expected collection moved from 15 April into March this week
        "NEW_COLLECTION_IN_MONTH": [("L2", "YELLOW", ["NO_VISIT"])],
        # L4 200 before L8 100; L8's tender (03-02) is past, no update for 33 days
        "S4_TENDER_IN_MONTH": [
            ("L4", "RED", ["ERROR_FINDING"]),
            ("L8", "RED", ["EVENT_OVERDUE", "NO_UPDATE", "NO_VISIT"]),
        ],
    }
    # TOP N is taken inside the scope: company TOP 1 is L4, EAST's TOP 1 is L8
    tender = [
        x["lead_id"]
        for x in rows(built, "top-leads", top_n=1)
        if x["list_code"] == "S4_TENDER_IN_MONTH"
    ]
    assert tender == ["L4"]
    # a region by its code or its name
    assert rows(built, "top-leads", "region:East") == rows(built, "top-leads", "region:EAST")
    east = rows(built, "top-leads", "region:EAST", top_n=1)
    assert [(x["lead_id"], x["rank"]) for x in east if x["list_code"] == "S4_TENDER_IN_MONTH"] == [
        ("L8", 1)
    ]


# --------------------------------------------------------------------------- R4
def test_r4_team_month_attainment(built):
    r = rows(built, "team-month")
    e1 = one(r, level="PERSON", owner_id="E1")
    assert e1["order_target_cny"] == Dec("1500.00")  # SRV 1000 + STO 500
    assert e1["order_attainment_ratio"] == Dec("0.2000")  # 300 / 1500
    assert e1["collection_attainment_ratio"] == Dec("0.1250")  # 100 / 800
    # open on D: L2 500 (x0.9), L5 800 (S2 x0.25), L6 600 (x0.5), L8 100 (x0.7)
    assert (e1["open_leads"], e1["open_pipeline_cny"], e1["weighted_pipeline_cny"]) == (
        4,
        Dec("2000.00"),
        Dec("1020.00"),
    )
    assert e1["order_plan_accuracy_ratio"] == Dec("0.2500")  # 1 - |300 - 1200| / 1200
    assert e1["authenticity_score"] == Dec("0.8750")  # 1 - 0.5 / 4
    assert e1["filed_on_time_ratio"] == Dec("0.5000")  # 1 of 2 (03-02, 03-03)
    assert e1["approved_on_time_ratio"] == Dec("0.0000")  # 0 of 1
    t1 = one(r, level="TEAM", team_id="T1")
    assert t1["order_plan_accuracy_ratio"] == Dec("0.3333")  # 1 - |400 - 1200| / 1200
    assert t1["authenticity_score"] == Dec("0.8000")  # 1 - (0.5 + 0.5) / (4 + 1)
    assert t1["filed_on_time_ratio"] == Dec("0.6667")  # (1 + 1) / (2 + 1)
    e3 = one(r, level="PERSON", owner_id="E3")
    assert (e3["authenticity_score"], e3["plan_note"]) == (Dec("0.0000"), "no plan")


# --------------------------------------------------------------------------- R5
def test_r5_reservoir_coverage(built):
    r = rows(built, "reservoir")
    april_srv = one(
        r, level="COMPANY", product_line_code="SRV", target_month=D.replace(month=4, day=1)
    )
    # no SRV pipeline for April against E1's April target 2000
    assert (april_srv["weighted_pipeline_cny"], april_srv["coverage_ratio"]) == (Dec("0"), Dec("0"))
    april_sto = one(
        r, level="COMPANY", product_line_code="STO", target_month=D.replace(month=4, day=1)
    )
    # L5 moved to S2 on 03-13: 800 x 0.25; no STO target in April
    assert (april_sto["s2_cny"], april_sto["weighted_pipeline_cny"]) == (
        Dec("800.00"),
        Dec("200.00"),
    )
    assert (april_sto["coverage_ratio"], april_sto["coverage_note"]) == (None, "no target")
    may = one(r, level="COMPANY", product_line_code="SRV", target_month=D.replace(month=5, day=1))
    assert (may["s3_cny"], may["weighted_pipeline_cny"], may["open_leads"]) == (
        Dec("600.00"),
        Dec("300.00"),
        1,
    )


# --------------------------------------------------------------------------- R6
def test_r6_lead_ledger_week_over_week(built):
    r = rows(built, "lead-ledger")
    got = {x["lead_id"]: (x["wow_change"], x["check_flag"]) for x in r}
    assert got == {
        "L2": ("WON", "YELLOW"),  # S4 -> S5 pending; never visited
        "L3": ("SLIPPED", "YELLOW"),  # expected order 03-20 -> 03-28 on 03-12
        "L4": ("UNCHANGED", "RED"),  # error finding
        "L5": ("ADVANCED", "YELLOW"),  # S1 -> S2; no visit for 23 days
        "L6": ("NEW", "GREEN"),  # created 03-12
        "L7": ("LOST", "YELLOW"),  # lost on 03-11 (open a week ago)
        "L8": ("UNCHANGED", "RED"),  # expected order 03-01 passed, no update for 33 days
    }  # L1 was already ordered a week ago: not in the ledger
    l3 = one(r, lead_id="L3")
    assert (l3["check_reasons"], l3["finding_rule_ids"]) == (["DATE_MOVED_LATER"], ["LQ05"])
    l4 = one(r, lead_id="L4")
    assert (l4["region_code"], l4["team_id"], l4["has_error_finding"]) == ("WEST", "T2", True)


# --------------------------------------------------------------------------- R7
def test_r7_receivables_and_aging(built):
    r = rows(built, "receivables")
    got = {
        x["invoice_id"]: (
            x["balance_cny"],
            x["days_overdue"],
            x["aging_bucket"],
            x["collected_in_month_cny"],
        )
        for x in r
    }
    assert got == {
        "I1": (Dec("200.00"), -5, "NOT_DUE", Dec("100.00")),  # 300 - 100, due 03-20
        "I2": (Dec("250.00"), 15, "1-30", Dec("0.00")),  # due 02-28
        "I3": (Dec("100.00"), 54, "31-90", Dec("0.00")),  # 150 - 50, due 01-20
    }
    aging = rows(built, "receivable-aging")
    company = one(aging, level="COMPANY")
    assert (
        company["not_due_cny"],
        company["overdue_1_30_cny"],
        company["overdue_31_90_cny"],
        company["balance_cny"],
        company["overdue_cny"],
        company["collected_mtd_cny"],
    ) == (Dec("200.00"), Dec("250.00"), Dec("100.00"), Dec("550.00"), Dec("350.00"), Dec("100.00"))
    # E3 owns I2 and sits in WEST on the review date
    assert one(aging, level="REGION", region_code="WEST")["overdue_1_30_cny"] == Dec("250.00")


# --------------------------------------------------------------------------- R8
def test_r8_plan_accuracy_and_volatility(built):
    r = [x for x in rows(built, "plan-accuracy") if x["measure"] == "ORDER"]
    e3 = one(r, level="PERSON", owner_id="E3", product_line_code="ALL")
    # the review date is not a month end: R8 reports February 2026
    assert e3["accuracy_month"] == D.replace(month=2, day=1)
    # plan 200, actual O3 250: 1 - 50 / 200
    assert (e3["plan_cny"], e3["actual_cny"], e3["accuracy_ratio"]) == (
        Dec("200.00"),
        Dec("250.00"),
        Dec("0.7500"),
    )
    # Dec 1.0 (100 vs 100), Jan 0.5 (100 vs 50), Feb 0.75: mean 0.75,
    # population variance (0.0625 + 0.0625 + 0) / 3 = 0.041667 -> sd 0.2041
    assert (e3["volatility_ratio"], e3["volatility_months"]) == (Dec("0.2041"), 3)
    # a year earlier: Feb 2025 plan 100, actual 80 -> 0.8; one month only -> no volatility
    assert (e3["accuracy_ly_ratio"], e3["volatility_ly_ratio"]) == (Dec("0.8000"), None)
    assert e3["accuracy_change_pts"] == Dec("-5.00")
    e1 = one(r, level="PERSON", owner_id="E1", product_line_code="ALL")
    # first statement 200 (the re-statement 300 is not the plan), no February order
    assert (e1["plan_cny"], e1["accuracy_ratio"]) == (Dec("200.00"), Dec("0.0000"))
    t1 = one(r, level="TEAM", team_id="T1", product_line_code="ALL")
    assert t1["accuracy_ratio"] == Dec("0.6250")  # 1 - |250 - 400| / 400
    # Dec 1.0, Jan max(0, 1 - |200 - 100| / 100) = 0, Feb 0.625: sd 0.4125
    assert t1["volatility_ratio"] == Dec("0.4125")
    assert t1["accuracy_change_pts"] == Dec("-17.50")  # (0.625 - 0.8) x 100
    collection = [x for x in rows(built, "plan-accuracy") if x["measure"] == "COLLECTION"]
    company = one(collection, level="COMPANY", product_line_code="ALL")
    # K2 50 collected in February, nothing planned
    assert (company["actual_cny"], company["accuracy_ratio"], company["accuracy_note"]) == (
        Dec("50.00"),
        None,
        "no plan",
    )


# --------------------------------------------------------------------------- R9
def test_r9_authenticity_scorecard(built):
    r = rows(built, "scorecard")
    company = one(r, level="COMPANY")
    assert (company["open_leads"], company["finding_weight"]) == (6, Dec("2.00"))
    assert company["authenticity_score"] == Dec("0.6667")  # 1 - 2 / 6
    assert company["findings_by_rule"] == {"LQ05": 2, "LQ12": 1}
    # the week 03-09..03-15 holds E2's report of 03-10 (on time)
    assert (company["reports_required"], company["filed_on_time_ratio"]) == (1, Dec("1.0000"))
    assert company["approved_on_time_ratio"] is None
    west = one(r, level="REGION", region_code="WEST")
    assert (west["authenticity_score"], west["findings_by_rule"]) == (Dec("0.0000"), {"LQ12": 1})
    e1 = one(r, level="PERSON", owner_id="E1")
    assert (e1["authenticity_score"], e1["filed_on_time_ratio"]) == (Dec("0.8750"), None)


# --------------------------------------------------------------------------- scopes
def test_manager_scope_is_everyone_under_them_and_nothing_else(built):
    # M1 on D: E1, E2 (E3 moved to M2 on 1 March). E3's Jan/Feb history sits in
    # T1/EAST, so T1's and EAST's YTD totals include someone outside M1's scope
    r1 = rows(built, "region-ytd", "manager:M1")
    assert {(x["level"], x["owner_id"]) for x in r1} == {("PERSON", "E1"), ("PERSON", "E2")}
    # in March T1 and EAST are E1 and E2 only: M1 gets their totals
    r2 = rows(built, "region-month", "manager:M1")
    assert {(x["level"], x["team_id"] or x["region_code"], x["owner_id"]) for x in r2} == {
        ("PERSON", "T1", "E1"),
        ("PERSON", "T1", "E2"),
        ("TEAM", "T1", None),
        ("REGION", "EAST", None),
    }
    ledger = rows(built, "lead-ledger", "manager:M2")
    assert {x["lead_id"] for x in ledger} == {"L4"}
    # the executive sees the whole company, totals included
    assert len(rows(built, "region-ytd", "manager:X")) == len(rows(built, "region-ytd"))


@pytest.mark.parametrize(
    "scope", ["region:NOPE", "team:", "person:", "manager:NOBODY", "bogus", "", "city:SH"]
)
def test_unknown_or_empty_scope_returns_nothing(built, scope):
    for report in ("region-ytd", "top-leads", "lead-ledger", "receivables", "plan-accuracy"):
        assert rows(built, report, scope) == []


def test_scope_none_object_is_denied(built):
    from review_pipeline.reports.scope import Scope, report_rows

    assert report_rows(built, "region-ytd", D, scope=Scope("team", None)) == []
    assert report_rows(built, "region-ytd", D, scope=Scope("planet", "X")) == []


# --------------------------------------------------------------------------- invariants
LEVEL_REPORTS = {
    "region-ytd": ("business_unit",),
    "region-month": ("business_unit",),
    "product-month": ("business_unit", "product_line_code"),
    "team-month": ("business_unit",),
    "reservoir": ("business_unit", "product_line_code", "target_month"),
    "receivable-aging": ("business_unit",),
    "plan-accuracy": ("business_unit", "measure", "product_line_code"),
    "scorecard": ("business_unit",),
}
COUNTS = {
    "open_leads",
    "invoices",
    "bid_win_s4_leads",
    "reports_required",
    "reports_on_time",
    "approvals_due",
    "approvals_on_time",
    "error_findings",
    "warn_findings",
    "scored_open_leads",
    "finding_weight",
}


def _additive(row: dict[str, Any]) -> list[str]:
    return [c for c in row if c.endswith("_cny") or c in COUNTS]


@pytest.mark.parametrize("report", sorted(LEVEL_REPORTS))
def test_levels_add_up_to_the_company(built, report):
    found = rows(built, report)
    assert found, report
    dims = LEVEL_REPORTS[report]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for x in found:
        groups.setdefault(tuple(x[d] for d in dims), []).append(x)
    for key, members in groups.items():
        company = one(members, level="COMPANY")
        for level in ("REGION", "TEAM", "PERSON"):
            part = [m for m in members if m["level"] == level]
            for column in _additive(company):
                total = sum((m[column] or 0) for m in part)
                assert total == (company[column] or 0), (report, key, level, column)


def test_ratios_follow_their_formulas(built):
    q = Decimal("0.0001")
    checked = 0
    for report, pairs in {
        "region-ytd": [("order", "order_actual_cny"), ("collection", "collection_actual_cny")],
        "region-month": [
            ("order", "order_actual_mtd_cny"),
            ("collection", "collection_actual_mtd_cny"),
        ],
        "product-month": [
            ("order", "order_actual_mtd_cny"),
            ("collection", "collection_actual_mtd_cny"),
        ],
        "team-month": [
            ("order", "order_actual_mtd_cny"),
            ("collection", "collection_actual_mtd_cny"),
        ],
    }.items():
        for x in rows(built, report):
            for measure, actual in pairs:
                target = x[f"{measure}_target_cny"]
                ratio = x[f"{measure}_attainment_ratio"]
                if not target:
                    # never 0 % and never infinite without a target
                    assert ratio is None and x[f"{measure}_attainment_note"] == "no target"
                    continue
                assert ratio == (x[actual] / target).quantize(q), (report, x)
                checked += 1
    for x in rows(built, "reservoir"):
        if x["order_target_cny"]:
            assert x["coverage_ratio"] == (
                x["weighted_pipeline_cny"] / x["order_target_cny"]
            ).quantize(q)
            checked += 1
        else:
            assert x["coverage_ratio"] is None
    for x in rows(built, "plan-accuracy"):
        if x["plan_cny"] > 0:
            expected = max(Decimal(0), 1 - abs(x["actual_cny"] - x["plan_cny"]) / x["plan_cny"])
            assert x["accuracy_ratio"] == expected.quantize(q)
            checked += 1
        else:
            assert x["accuracy_ratio"] is None
    assert checked > 40


def _keys(found: list[dict[str, Any]]) -> set[str]:
    import json

    return {
        json.dumps({k: v for k, v in x.items() if k != "rank"}, default=str, sort_keys=True)
        for x in found
    }


@pytest.mark.parametrize(
    "report",
    ["region-ytd", "region-month", "product-month", "top-leads", "team-month", "reservoir",
     "lead-ledger", "receivables", "receivable-aging", "plan-accuracy", "scorecard"],
)  # fmt: skip
def test_a_scope_is_a_subset_of_its_parent(built, report):
    company = _keys(rows(built, report, "company", top_n=1000))
    east = _keys(rows(built, report, "region:EAST", top_n=1000))
    t1 = _keys(rows(built, report, "team:T1", top_n=1000))
    e1 = _keys(rows(built, report, "person:E1", top_n=1000))
    m1 = _keys(rows(built, report, "manager:M1", top_n=1000))
    assert e1 <= t1 <= east <= company
    assert m1 <= company
    assert e1  # E1 appears in every report
