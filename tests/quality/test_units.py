"""Pure functions: accuracy, calendar table rows, chunks, scope parsing, suites."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.unit


def test_precision_recall_per_rule_on_a_tiny_ground_truth(tmp_path):
    from review_pipeline.quality.accuracy import compare, read_ground_truth

    truth_file = tmp_path / "ground_truth.csv"
    truth_file.write_text(
        "rule_id,entity_type,entity_id,day,detail\n"
        "LQ05,lead,L1,2026-03-01,\n"
        "LQ05,lead,L2,2026-03-02,\n"
        "LQ05,lead,L3,2026-03-09,\n"  # outside the range below
        "LQ06,lead,L1,2026-03-02,\n"
        "DR01,employee,E1,2026-03-03,\n"
        "FILE,file,orders.csv,2026-03-03,7\n",  # not a check rule
        encoding="utf-8",
    )
    truth = read_ground_truth(truth_file, date(2026, 3, 1), date(2026, 3, 5))
    assert truth == {
        ("LQ05", "lead", "L1"),
        ("LQ05", "lead", "L2"),
        ("LQ06", "lead", "L1"),
        ("DR01", "employee", "E1"),
    }
    flagged = {
        ("LQ05", "lead", "L1"),  # TP
        ("LQ05", "lead", "L9"),  # FP
        ("LQ05", "lead", "L8"),  # FP
        ("LQ06", "lead", "L1"),  # TP
        ("LQ07", "lead", "L4"),  # FP, rule absent from the truth
    }
    result = compare(flagged, truth)
    # LQ05: 1 of 3 flagged is true -> precision 1/3; 1 of 2 true found -> recall 1/2
    assert result["LQ05"].precision == pytest.approx(1 / 3)
    assert result["LQ05"].recall == pytest.approx(0.5)
    assert (result["LQ05"].false_positives, result["LQ05"].false_negatives) == (2, 1)
    assert (result["LQ06"].precision, result["LQ06"].recall) == (1.0, 1.0)
    assert result["LQ07"].precision == 0.0 and result["LQ07"].recall is None
    assert result["DR01"].precision is None and result["DR01"].recall == 0.0


def test_calendar_rows_know_tiaoxiu_and_spring_festival():
    from review_pipeline.quality.calendar import calendar_rows

    rows = {r["day"]: r for r in calendar_rows(date(2026, 2, 12), date(2026, 3, 2))}
    assert rows[date(2026, 2, 14)]["w"] is True  # 调休 Saturday
    assert all(rows[date(2026, 2, d)]["w"] is False for d in range(16, 21))
    assert rows[date(2026, 2, 13)]["next"] == date(2026, 2, 14)
    assert rows[date(2026, 2, 14)]["next"] == date(2026, 2, 24)
    assert rows[date(2026, 2, 18)]["next"] == date(2026, 2, 24)
    assert rows[date(2026, 2, 27)]["next"] == date(2026, 2, 28)  # the next 调休 Saturday
    assert rows[date(2026, 3, 2)]["next"] == date(2026, 3, 3)


def test_chunks_cover_the_range_without_overlap():
    from review_pipeline.quality.run import chunks

    parts = chunks(date(2026, 1, 1), date(2026, 3, 5), 31)
    assert parts == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 3, 3)),
        (date(2026, 3, 4), date(2026, 3, 5)),
    ]
    assert chunks(date(2026, 1, 1), date(2026, 1, 1), 31) == [(date(2026, 1, 1), date(2026, 1, 1))]


def test_scope_parsing():
    from review_pipeline.errors import UserError
    from review_pipeline.quality.report import parse_scope

    assert parse_scope(None).type == "all"
    assert parse_scope("region:East").id == "East"
    assert parse_scope("person:E1").type == "person"
    with pytest.raises(UserError):
        parse_scope("company:x")


def test_every_rule_has_an_expectation_and_queries_use_the_batch():
    from review_pipeline.quality.suites import RULES, gx_query, load_suites

    suites = load_suites()
    covered = {e.rule_id for s in suites for e in s.expectations}
    assert covered == set(RULES)
    for suite in suites:
        for exp in suite.expectations:
            if exp.sql_file:
                text = gx_query(suite, exp)
                assert "{batch}" in text and suite.table not in text


def test_prune_keeps_the_newest_validation_runs(tmp_path):
    import os

    from review_pipeline.quality.gx import prune_results

    suite = tmp_path / "gx" / "uncommitted" / "validations" / "lead_rules"
    for i in range(5):
        run = suite / f"check-{i}" / "20261127T000000Z"
        run.mkdir(parents=True)
        (run / "x.json").write_text("{}")
        os.utime(suite / f"check-{i}", (1_000_000 + i, 1_000_000 + i))
    assert prune_results(tmp_path, 2) == 3
    assert sorted(p.name for p in suite.iterdir()) == ["check-3", "check-4"]
