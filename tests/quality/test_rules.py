"""Every rule on one hand-built staging world, with hits and near misses.

The world is checked once for the window 2026-02-13 .. 2026-03-10 (a range in
one pass); each test asserts one rule. Expected values are worked out by hand
in the comments next to each fixture row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.quality.conftest import INVALID_CODE, VALID_CODE, World

pytestmark = pytest.mark.integration

START, END = "2026-02-13", "2026-03-10"
D = END


def _build(w: World) -> None:
    w.region("R1", "East")
    w.team("T1", "R1")
    w.team("T2", "R1")
    w.employee("E1", "T1")
    w.employee("E3", "T1", left="2026-03-05", valid_to="2026-03-06")
    w.employee("EDR", "T2")
    w.employee("EDR2", "T2")
    w.employee("M1", "T1", role="TEAM_MANAGER")

    w.lead("L_clean")
    # LQ01: missing customer / expected order date
    w.lead("L01_cust", customer_id=None)
    w.lead("L01_exp", expected_order_date=None)
    # LQ02 error: amount <= 0; 0.01 is fine
    w.lead("L02_neg", amount_cny=Decimal("-5"))
    w.lead("L02_zero", amount_cny=Decimal("0"))
    w.lead("L02_pos", amount_cny=Decimal("0.01"))
    # LQ02 warn: product line AIS has 200 leads of 1000 plus the two below
    # (202 amounts: p99 = value at 0.99 * 201 = 198.99 -> 1000), limit 10 x 1000
    w.sql(
        "insert into staging.lead (lead_id, business_unit, product_line_code, customer_id, owner_id,"
        " created_at, updated_at, stage, status, amount_cny, expected_order_date, source)"
        " select 'AIS' || i, 'INFO', 'AIS', 'C-AIS' || i, 'E1', timestamptz '2026-01-05 10:00+08',"
        " timestamptz '2026-01-05 10:00+08', 'S1', 'OPEN', 1000, date '2026-12-31', 't'"
        " from generate_series(1, 200) as i"
    )
    w.lead("L02_big", product_line_code="AIS", amount_cny=Decimal("10000.01"))
    w.lead("L02_edge", product_line_code="AIS", amount_cny=Decimal("10000.00"))
    # LQ03: unmapped stage / status, inconsistent pair; S5 PENDING_ORDER is fine
    w.lead("L03_stage", stage=None, stage_raw="意向", history=[("2026-01-05 10:00", None, "OPEN")])
    w.lead(
        "L03_status",
        stage="S2",
        status=None,
        status_raw="冻结",
        history=[("2026-01-05 10:00", "S2", None)],
    )
    w.lead("L03_pair", stage="S2", status="ORDERED")
    w.lead("L03_ok", stage="S5", status="PENDING_ORDER")
    # LQ04: S1 -> S4 skips two (hit 03-03); S1 -> S3 skips one; S3 -> S2 goes back (hit 03-04)
    w.lead(
        "L04_skip",
        stage="S4",
        history=[("2026-01-05 10:00", "S1", "OPEN"), ("2026-03-03 11:00", "S4", "OPEN")],
    )
    w.lead(
        "L04_one",
        stage="S3",
        history=[("2026-01-05 10:00", "S1", "OPEN"), ("2026-03-03 11:00", "S3", "OPEN")],
    )
    w.lead(
        "L04_back",
        stage="S2",
        history=[("2026-01-05 10:00", "S3", "OPEN"), ("2026-03-04 11:00", "S2", "OPEN")],
    )
    # LQ05: expected 03-09 is past on 03-10; 03-10 is not; a lost lead is closed
    w.lead("L05_hit", expected_order_date=date(2026, 3, 9))
    w.lead("L05_today", expected_order_date=date(2026, 3, 10))
    w.lead(
        "L05_lost",
        stage="LOST",
        status="LOST",
        expected_order_date=date(2026, 3, 1),
    )
    # LQ06 on D = 03-10 (last 30 days = 02-09 .. 03-10): visit 29 days before D
    # is inside, 30 and 31 days before are not; an S2 lead needs no visit
    for lead_id, day in (
        ("L06_29", "2026-02-09"),
        ("L06_30", "2026-02-08"),
        ("L06_31", "2026-02-07"),
    ):
        w.lead(lead_id, stage="S3")
        w.visit(f"V-{lead_id}", lead_id, f"{day} 10:00")
    w.lead("L06_s2", stage="S2")
    w.visit("V-other", "L_clean", "2026-03-10 09:00")
    # LQ07: customer C7 SRV 100.00 vs 90.10 (9.9 % apart) -> both; C7b 100.00 vs 89.90
    # (10.1 %) -> neither; C7c same amounts but one lead lost -> neither
    w.lead("L07_a", customer_id="C7", amount_cny=Decimal("100.00"))
    w.lead("L07_b", customer_id="C7", amount_cny=Decimal("90.10"))
    w.lead("L07_c", customer_id="C7b", amount_cny=Decimal("100.00"))
    w.lead("L07_d", customer_id="C7b", amount_cny=Decimal("89.90"))
    w.lead("L07_e", customer_id="C7c", amount_cny=Decimal("100.00"))
    w.lead("L07_f", customer_id="C7c", amount_cny=Decimal("100.00"), stage="LOST", status="LOST")
    # LQ08: customers (valid from 01-01)
    w.customer("C08_ok")
    w.customer("C08_tier", tier=None)
    w.customer("C08_code", code=INVALID_CODE)
    w.customer("C08_city", city=None)
    w.customer("C08_nonnamed", tier="NON_NAMED", industry=None, code=None)
    w.customer("C08_fixed", tier=None)  # fixed by a version valid from 03-05 10:00
    w.customer("C08_fixed", valid_from="2026-03-05 10:00")
    # LQ09: open S4 without tender date / with blank competitors; complete; S3 not concerned
    w.lead("L09_tender", stage="S4", bid_price_cny=Decimal("1"), competitors="A")
    w.lead(
        "L09_blank",
        stage="S4",
        tender_date=date(2026, 2, 1),
        bid_price_cny=Decimal("1"),
        competitors="  ",
    )
    w.lead(
        "L09_ok",
        stage="S4",
        tender_date=date(2026, 2, 1),
        bid_price_cny=Decimal("1"),
        competitors="A、B",
    )
    w.lead("L09_s3", stage="S3")
    # LQ10: ordered 02-05 without order -> hit on 02-05 + 31 = 03-08; order 02-10 same
    # amount -> clean; ordered 02-20, order 02-25 at +21 % -> hit on 02-25; at +20 % ->
    # clean; ordered 02-05 with the only order 31 days later -> no match, hit 03-08
    ordered = [("2026-01-05 10:00", "S4", "OPEN")]
    for lead_id, day in (
        ("L10_none", "02-05"),
        ("L10_ok", "02-05"),
        ("L10_off", "02-20"),
        ("L10_edge", "02-20"),
        ("L10_late", "02-05"),
    ):
        w.lead(
            lead_id,
            stage="S5",
            status="ORDERED",
            history=[*ordered, (f"2026-{day} 10:00", "S5", "ORDERED")],
        )
    w.order("O-ok", "L10_ok", "2026-02-10", "100000")
    w.order("O-off", "L10_off", "2026-02-25", "121000")
    w.order("O-edge", "L10_edge", "2026-02-25", "120000")
    w.order("O-late", "L10_late", "2026-03-08", "100000")
    # LQ11: at S4 within 3 days of creation -> hit on the S4 day; 4 days -> clean;
    # created directly at S4 -> hit on creation day
    w.lead(
        "L11_3",
        stage="S4",
        created="2026-03-02 10:00",
        history=[("2026-03-02 10:00", "S1", "OPEN"), ("2026-03-05 09:00", "S4", "OPEN")],
    )
    w.lead(
        "L11_4",
        stage="S4",
        created="2026-03-01 10:00",
        history=[("2026-03-01 10:00", "S1", "OPEN"), ("2026-03-05 09:00", "S4", "OPEN")],
    )
    w.lead("L11_direct", stage="S4", created="2026-03-06 10:00")
    # LQ12: owner left on 03-05 (active that day) -> hits 03-06 .. 03-10; unknown owner;
    # a closed lead of the leaver is not concerned
    w.lead("L12_left", owner_id="E3")
    w.lead("L12_unknown", owner_id="E404")
    w.lead("L12_closed", owner_id="E3", stage="LOST", status="LOST")
    # LQ13: updated before created (every day); updated 03-12 00:30 (> end of D + 24 h,
    # hit on 03-10); updated 03-11 23:00 (hit up to 03-09, not on 03-10)
    w.lead("L13_back", updated="2026-01-04 10:00")
    w.lead("L13_future", updated="2026-03-12 00:30")
    w.lead("L13_soon", updated="2026-03-11 23:00")
    # DR01 / DR02 (2026-02-14 is a 调休 Saturday, 02-15 .. 02-23 the Spring Festival
    # break, 02-28 another 调休 Saturday). EDR: 02-13 on time, approved 02-14 (the next
    # working day) -> ok; 02-14 missing -> DR01; 02-24 filed 02-25 -> DR01 (late),
    # approved 02-25 = its deadline -> ok; 02-25 approved 02-27, deadline 02-26 -> DR02
    # on 02-26; 02-26, 02-27 fine; 02-28 missing -> DR01.
    w.report("EDR", "2026-02-13", "2026-02-13 18:00", "2026-02-14 10:00")
    w.report("EDR", "2026-02-24", "2026-02-25 09:00", "2026-02-25 12:00")
    w.report("EDR", "2026-02-25", "2026-02-25 18:00", "2026-02-27 09:00")
    w.report("EDR", "2026-02-26", "2026-02-26 18:00", "2026-02-26 19:00")
    w.report("EDR", "2026-02-27", "2026-02-27 18:00", "2026-02-27 19:00")
    # EDR2: 02-13 approved 02-16 (a holiday, after deadline 02-14) -> DR02 on 02-14;
    # 02-14 approved 02-20 (holiday, before deadline 02-24) -> ok; a second report
    # style: 02-24 approved 02-26 (deadline 02-25) -> DR02 on 02-25
    w.report("EDR2", "2026-02-13", "2026-02-13 18:00", "2026-02-16 10:00")
    w.report("EDR2", "2026-02-14", "2026-02-14 18:00", "2026-02-20 10:00")
    w.report("EDR2", "2026-02-24", "2026-02-24 18:00", "2026-02-26 10:00")


@pytest.fixture(scope="module")
def checked(dq_settings):
    from review_pipeline.db import warehouse_engine
    from review_pipeline.quality.run import run_checks
    from tests.quality.conftest import _TABLES

    engine = warehouse_engine(dq_settings)
    with engine.begin() as conn:
        conn.execute(sa.text("truncate " + ", ".join(_TABLES) + " restart identity"))
    w = World(engine)
    _build(w)
    summary = run_checks(dq_settings, date.fromisoformat(START), date.fromisoformat(END))
    return w, summary


def test_summary_counts_every_day_of_the_range(checked):
    w, summary = checked
    assert summary["days"] == 26
    assert summary["gx_sql_mismatches"] == []
    assert summary["all_rules_passed"] is False
    total = w.sql("select count(*) from dq.finding")[0][0]
    assert summary["findings"] == total


def test_lq01_required_fields(checked):
    w, _ = checked
    assert {"L01_cust", "L01_exp"} <= w.findings("LQ01", D)
    assert "L_clean" not in w.findings("LQ01", D)
    assert ("L01_cust", START) in w.findings("LQ01")


def test_lq02_amount_positive_and_not_outlier(checked):
    w, _ = checked
    rows = w.sql(
        "select entity_id, severity from dq.finding where rule_id = 'LQ02' and business_date = :d",
        d=date(2026, 3, 10),
    )
    assert dict(rows) == {"L02_neg": "error", "L02_zero": "error", "L02_big": "warn"}


def test_lq03_stage_and_status_valid(checked):
    w, _ = checked
    hits = w.findings("LQ03", D)
    assert {"L03_stage", "L03_status", "L03_pair"} <= hits
    assert not hits & {"L03_ok", "L_clean", "L05_lost", "L10_none"}


def test_lq04_skips_and_backwards_on_the_change_day(checked):
    w, _ = checked
    got = w.findings("LQ04")
    assert {f for f in got if f[0].startswith("L04")} == {
        ("L04_skip", "2026-03-03"),
        ("L04_back", "2026-03-04"),
    }
    # the LQ11 leads also jump S1 -> S4 in one change
    assert {("L11_3", "2026-03-05"), ("L11_4", "2026-03-05")} <= got


def test_lq05_stale_forecast(checked):
    w, _ = checked
    hits = w.findings("LQ05", D)
    assert "L05_hit" in hits and "L05_today" not in hits and "L05_lost" not in hits
    assert {d for e, d in w.findings("LQ05") if e == "L05_hit"} == {"2026-03-10"}


def test_lq06_visit_29_30_31_days_before(checked):
    w, _ = checked
    hits = w.findings("LQ06", D)
    assert "L06_29" not in hits
    assert {"L06_30", "L06_31"} <= hits
    assert "L06_s2" not in hits
    # the day before, the visit of 02-08 was still 29 days old
    assert "L06_30" not in w.findings("LQ06", "2026-03-09")


def test_lq07_duplicates_within_ten_percent(checked):
    w, _ = checked
    hits = w.findings("LQ07", D)
    assert {"L07_a", "L07_b"} <= hits
    assert not hits & {"L07_c", "L07_d", "L07_e", "L07_f"}


def test_lq08_customer_master_data(checked):
    w, _ = checked
    assert w.findings("LQ08", D) == {"C08_tier", "C08_code", "C08_city"}
    fixed_days = {d for e, d in w.findings("LQ08") if e == "C08_fixed"}
    assert max(fixed_days) == "2026-03-04" and min(fixed_days) == START


def test_lq09_bid_facts(checked):
    w, _ = checked
    hits = w.findings("LQ09", D)
    assert {"L09_tender", "L09_blank"} <= hits
    assert not hits & {"L09_ok", "L09_s3"}


def test_lq10_order_match(checked):
    w, _ = checked
    assert w.findings("LQ10") == {
        ("L10_none", "2026-03-08"),
        ("L10_off", "2026-02-25"),
        ("L10_late", "2026-03-08"),
    }


def test_lq11_backfilled(checked):
    w, _ = checked
    assert w.findings("LQ11") == {("L11_3", "2026-03-05"), ("L11_direct", "2026-03-06")}


def test_lq12_owner_not_active(checked):
    w, _ = checked
    left_days = {d for e, d in w.findings("LQ12") if e == "L12_left"}
    assert left_days == {"2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"}
    assert "L12_unknown" in w.findings("LQ12", D)
    assert "L12_closed" not in {e for e, _ in w.findings("LQ12")}


def test_lq13_impossible_timestamps(checked):
    w, _ = checked
    assert {"L13_back", "L13_future"} <= w.findings("LQ13", D)
    assert "L13_soon" not in w.findings("LQ13", D)
    assert "L13_soon" in w.findings("LQ13", "2026-03-09")
    assert "L_clean" not in w.findings("LQ13", D)


def test_dr01_working_days_with_tiaoxiu(checked):
    w, _ = checked
    edr = sorted(d for e, d in w.findings("DR01") if e == "EDR" and d <= "2026-02-28")
    assert edr == ["2026-02-14", "2026-02-24", "2026-02-28"]


def test_dr02_approval_within_one_working_day(checked):
    w, _ = checked
    got = {(e, d) for e, d in w.findings("DR02") if e in ("EDR", "EDR2")}
    assert got == {("EDR", "2026-02-26"), ("EDR2", "2026-02-14"), ("EDR2", "2026-02-25")}
    detail = w.sql(
        "select details->>'report_date' from dq.finding where rule_id = 'DR02' and entity_id = 'EDR2'"
        " and business_date = date '2026-02-14'"
    )
    assert detail[0][0] == "2026-02-13"


def test_error_leads_are_quarantined_per_day(checked):
    w, _ = checked
    rows = dict(
        w.sql(
            "select lead_id, rule_ids from dq.lead_quarantine where business_date = date '2026-03-10'"
        )
    )
    assert rows["L01_cust"] == ["LQ01"]
    assert rows["L02_neg"] == ["LQ02"]
    assert rows["L12_unknown"] == ["LQ12"]
    assert rows["L13_back"] == ["LQ13"]
    assert "L02_big" not in rows and "L_clean" not in rows and "L05_hit" not in rows
    l12 = w.sql("select business_date from dq.lead_quarantine where lead_id = 'L12_left'")
    assert min(r[0] for r in l12).isoformat() == "2026-03-06"


def test_report_compliance_on_tiaoxiu_saturday(checked):
    w, _ = checked
    row = w.sql(
        "select reports_required, reports_on_time, approvals_due, approvals_on_time"
        " from dq.report_compliance where scope_type = 'PERSON' and scope_id = 'EDR'"
        " and business_date = date '2026-02-14'"
    )
    # 02-14 is a working day: one report required, missing; the 02-13 report's
    # approval was due that day and came in time
    assert tuple(row[0]) == (1, 0, 1, 1)
    holiday = w.sql(
        "select count(*) from dq.report_compliance where scope_id = 'EDR'"
        " and business_date between date '2026-02-15' and date '2026-02-23'"
    )
    assert holiday[0][0] == 0


def test_validation_run_recorded(checked):
    w, summary = checked
    rows = w.sql("select start_date, end_date, findings, gx_success from dq.validation_run")
    assert len(rows) == 1
    assert rows[0][2] == summary["findings"] and rows[0][3] is False


def test_lead_findings_on_includes_customer_rules(checked):
    w, _ = checked
    w.sql("update staging.lead set customer_id = 'C08_tier' where lead_id = 'L_clean'")
    try:
        rows = w.sql("select lead_id, rule_ids from dq.lead_findings_on(date '2026-03-10')")
        found = dict(rows)
        assert found["L_clean"] == ["LQ08"]
        assert found["L01_cust"] == ["LQ01"]
    finally:
        w.sql("update staging.lead set customer_id = 'C-L_clean' where lead_id = 'L_clean'")


def test_credit_code_function_matches_an_independent_implementation(checked):
    import random

    from review_pipeline.simulator.credit_code import ALPHABET, check_char

    w, _ = checked
    rng = random.Random(7)
    codes = [VALID_CODE, INVALID_CODE, "short", "91350100M000100Y4I"]
    for _ in range(40):
        first = "".join(rng.choice(ALPHABET) for _ in range(17))
        codes.append(first + check_char(first))
        codes.append(first + rng.choice(ALPHABET))
    got = dict(
        w.sql(
            "select c, dq.credit_code_valid(c) from unnest(cast(:codes as text[])) as c",
            codes=codes,
        )
    )
    for code in codes:
        expected = (
            len(code) == 18
            and all(ch in ALPHABET for ch in code)
            and check_char(code[:17]) == code[17]
        )
        assert got[code] is expected, code
