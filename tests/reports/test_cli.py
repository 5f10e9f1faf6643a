"""The report command: list, build, and a scoped report as json / csv / table."""

from __future__ import annotations

import json

import pytest

from tests.reports.conftest import D

pytestmark = pytest.mark.integration


def _run(argv: list[str]) -> None:
    from review_pipeline.cli.app import main

    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code


def test_report_commands(world, monkeypatch, capsys):
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", world.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_LANGUAGE", "en")
    _run(["report", "list"])
    assert "region-ytd" in capsys.readouterr().out

    _run(["report", "build", "--date", D.isoformat()])
    assert "mart.rpt_region_ytd_attainment" in capsys.readouterr().out

    _run(
        [
            "report",
            "region-ytd",
            "--date",
            D.isoformat(),
            "--scope",
            "region:WEST",
            "--format",
            "json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    # WEST: the region row, team T2 and E3 (his March target 600, order O7 50)
    assert {(r["level"], r["owner_id"]) for r in data} == {
        ("REGION", None),
        ("TEAM", None),
        ("PERSON", "E3"),
    }
    assert {r["order_target_cny"] for r in data} == {"600.00"}

    _run(["report", "receivables", "--date", D.isoformat(), "--bu", "INFO", "--format", "csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("review_date,invoice_id") and len(lines) == 4

    # E1's TOP lists: L1 ordered, L2 pending and newly expecting collection, L8 tender
    _run(["report", "top-leads", "--date", D.isoformat(), "--scope", "person:E1"])
    assert capsys.readouterr().out.rstrip().endswith("4 rows")
    _run(
        ["report", "top-leads", "--date", D.isoformat(), "--scope", "person:E1", "--format", "json"]
    )
    assert sorted(r["lead_id"] for r in json.loads(capsys.readouterr().out)) == [
        "L1",
        "L2",
        "L2",
        "L8",
    ]
