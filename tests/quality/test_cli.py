"""The CLI commands call run_checks / the report / the accuracy and print tables."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_check_report_and_accuracy_commands(world, dq_settings, monkeypatch, capsys):
    from review_pipeline.cli.app import _register, app

    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", dq_settings.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_HOME", str(dq_settings.home))
    world.region("R1", "East")
    world.team("T1", "R1")
    world.employee("E1", "T1")
    world.lead("L1", customer_id=None)  # LQ01
    world.lead("L2")
    _register()
    app(args=["check", "--date", "2026-03-10"], standalone_mode=False)
    out = capsys.readouterr().out
    assert "LQ01" in out and "1 quarantined" in out

    app(
        args=["dq", "report", "--date", "2026-03-10", "--scope", "region:East"],
        standalone_mode=False,
    )
    out = capsys.readouterr().out
    assert "LQ01" in out and "E1" in out and "Worst offenders" in out

    truth = dq_settings.simulator_dir / "ground_truth.csv"
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(
        "rule_id,entity_type,entity_id,day,detail\nLQ01,lead,L1,2026-03-10,\nLQ05,lead,L2,2026-03-10,\n",
        encoding="utf-8",
    )
    app(
        args=["dq", "accuracy", "--start", "2026-03-10", "--end", "2026-03-10"],
        standalone_mode=False,
    )
    out = capsys.readouterr().out
    assert "LQ01" in out and "100.0%" in out and "LQ05" in out
