"""The advice command prints the ranked list (table and json), builds, and refuses bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.advice.conftest import D2, engine_of
from tests.advice.test_rules import _r4_people, _r7

pytestmark = pytest.mark.integration


def _run(argv: list[str]) -> int:
    from review_pipeline.cli.app import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_advice_command(org: Any, monkeypatch, capsys):
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", org.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_ADVICE__TOP_N", "2")
    monkeypatch.setenv("COLUMNS", "200")
    with engine_of(org).begin() as conn:
        _r4_people(conn)
        _r7(conn, "I1", "E1", 3000, 200)
        _r7(conn, "I2", "E2", 2000, 100)
        _r7(conn, "I3", "E3", 1000, 100)

    # not built yet: a one-line error naming the fix
    assert _run(["advice", "--date", D2.isoformat()]) == 2
    assert "--build" in capsys.readouterr().err

    assert _run(["advice", "--date", D2.isoformat(), "--build", "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "advice for 2026-03-15: 3 items" in printed
    # top 2 of 3 by stake: E1 (3,000) then E2 (2,000); E3 only with --all
    assert printed.index("Name E1") < printed.index("Name E2") and "Name E3" not in printed
    assert "¥3,000" in printed and "1 more with --all" in printed

    assert _run(["advice", "--date", D2.isoformat(), "--all", "--lang", "en"]) == 0
    assert "Name E3" in capsys.readouterr().out

    # Chinese, and a manager's scope: M2 has E3 only
    assert (
        _run(["advice", "--date", D2.isoformat(), "--scope", "manager:M2", "--format", "json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [i["subject_id"] for i in data["items"]] == ["E3"]
    assert data["items"][0]["action"].startswith("Name E3 (E3)：超90天应收 ¥1,000")
    assert data["items"][0]["since"] == "2026-W11" and data["items"][0]["status"] == "new"

    assert _run(["advice", "--date", D2.isoformat(), "--scope", "galaxy:1"]) == 2
    assert "--scope" in capsys.readouterr().err
    assert _run(["advice", "--help"]) == 0
    assert "--scope" in capsys.readouterr().out
