"""Great Expectations validates the findings the SQL wrote; the speed measure times both sides."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.quality.conftest import World

pytestmark = pytest.mark.integration

D = date(2026, 3, 10)


def _build(w: World) -> None:
    w.region("R1")
    w.team("T1", "R1")
    w.employee("E1", "T1")
    w.lead("V1", customer_id=None)  # LQ01 error
    w.lead("V2", expected_order_date=date(2026, 3, 1))  # LQ05 warn
    w.lead("V3", expected_order_date=date(2026, 3, 2))  # LQ05 warn
    w.lead("V4")  # clean


def test_gx_counts_every_rule_and_the_integrity_checks_pass(world, dq_settings):
    from review_pipeline.quality.run import run_checks

    _build(world)
    summary = run_checks(dq_settings, D)
    assert summary["findings_by_rule"]["LQ01"] == {"error": 1, "warn": 0}
    assert summary["findings_by_rule"]["LQ05"] == {"error": 0, "warn": 2}
    assert summary["gx_sql_mismatches"] == [] and summary["integrity_failures"] == []
    stats = world.sql(
        "select success, gx_success, statistics from dq.validation_run where run_id = :r",
        r=summary["run_id"],
    )[0]
    assert stats[0] is True and stats[1] is False  # rules hit; the findings are sound
    seen = {
        (e["rule_id"], e["severity"]): (e["success"], e["unexpected_count"])
        for e in stats[2]["expectations"]
    }
    assert seen[("LQ01", "error")] == (False, 1)
    assert seen[("LQ05", "warn")] == (False, 2)
    assert seen[("LQ07", "warn")] == (True, 0)
    integrity = [e for e in stats[2]["expectations"] if e["rule_id"] is None]
    assert len(integrity) >= 4 and all(e["success"] for e in integrity)


def test_a_finding_the_suite_does_not_expect_fails_the_run(
    world, dq_settings, tmp_path, monkeypatch
):
    """The suite says LQ05 is an error rule; the SQL writes warnings: GX must notice."""
    from review_pipeline.quality.run import run_checks
    from review_pipeline.quality.suites import expectations_dir

    suite = json.loads((expectations_dir() / "rule_findings.json").read_text(encoding="utf-8"))
    for exp in suite["expectations"]:
        if exp["meta"].get("rule_id") == "LQ05":
            exp["meta"]["severity"] = "error"
    (tmp_path / "rule_findings.json").write_text(json.dumps(suite), encoding="utf-8")
    monkeypatch.setenv("REVIEW_EXPECTATIONS_DIR", str(tmp_path))
    _build(world)
    summary = run_checks(dq_settings, D)
    assert {"rule_id": "LQ05", "gx": 0, "sql": 0} not in summary["gx_sql_mismatches"]
    assert any(
        m["rule_id"] == "LQ05" and m["sql"] == 2 and m["gx"] is None
        for m in summary["gx_sql_mismatches"]
    )
    failed = summary["integrity_failures"]
    assert len(failed) == 1 and failed[0]["unexpected_count"] == 2
    success = world.sql(
        "select success from dq.validation_run where run_id = :r", r=summary["run_id"]
    )
    assert success[0][0] is False


def test_measure_checks_times_checks_and_the_reference_scan(world, dq_settings):
    from review_pipeline.quality.bench import measure_checks

    _build(world)
    result = measure_checks(dq_settings, D, scan_runs=2)
    assert result["checks_seconds"] > 0 and result["scan_seconds"] > 0
    assert result["ratio"] == pytest.approx(
        result["checks_seconds"] / result["scan_seconds"], rel=0.05
    )
    assert result["met"] is (result["ratio"] <= result["target_ratio"])
    assert set(result["checks_split_seconds"]) == {"prepare", "rules", "validate"}
    # the scan reads the same world: 4 leads, one without customer, two stale forecasts
    counts = result["scan_counts"]
    assert (counts["leads"], counts["lq01"], counts["lq05"]) == (4, 1, 2)
    assert result["findings"] == 3
