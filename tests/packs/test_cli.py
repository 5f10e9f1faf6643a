"""The pack command: build, list, preview (workbook + the delivery stage's e-mail body)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.reports.conftest import D, engine_of

pytestmark = pytest.mark.integration


def _run(argv: list[str]) -> int:
    from review_pipeline.cli.app import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_pack_commands(pack_world, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", pack_world.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_HOME", str(pack_world.home))

    assert _run(["pack", "build", "--date", D.isoformat(), "--manager", "M1"]) == 0
    out = capsys.readouterr().out
    assert (
        "1 built (1 new, 0 unchanged)" in out and "销售评审周报_2026-W11_华东销售一部.xlsx" in out
    )

    assert _run(["pack", "build", "--date", D.isoformat()]) == 0
    assert "3 built (2 new, 1 unchanged)" in capsys.readouterr().out

    assert _run(["pack", "list", "--week", "2026-W11"]) == 0
    listed = capsys.readouterr().out
    assert "3 packs, 0 skipped managers" in listed and "pending" in listed

    # the preview writes files only: nothing recorded, nothing queued
    with engine_of(pack_world).connect() as conn:
        before = conn.execute(sa.text("select count(*) from ops.outbox")).scalar_one()
    folder = tmp_path / "preview"
    assert (
        _run(["pack", "preview", "--manager", "M2", "--week", "2026-W11", "--out", str(folder)])
        == 0
    )
    shown = capsys.readouterr().out
    workbooks = list(folder.glob("review-2026-W11-M2-*.xlsx"))
    assert len(workbooks) == 1 and "销售评审周报_2026-W11_华西销售一部.xlsx" in shown
    html = list(folder.glob("*.html"))
    assert len(html) == 1 and "华西销售一部" in html[0].read_text(encoding="utf-8")
    with engine_of(pack_world).connect() as conn:
        assert conn.execute(sa.text("select count(*) from ops.outbox")).scalar_one() == before
        # the preview is the very workbook the build queued for M2
        queued = conn.execute(
            sa.text("select sha256 from ops.pack where manager_id = 'M2' and superseded_at is null")
        ).scalar_one()
    assert workbooks[0].name.endswith(f"-{queued[:8]}.xlsx")

    # friendly errors: a salesperson has no pack, a malformed week is named
    assert _run(["pack", "preview", "--manager", "E1", "--week", "2026-W11"]) == 2
    assert "nobody is under E1" in capsys.readouterr().err
    assert _run(["pack", "preview", "--manager", "M1", "--week", "2026-11"]) == 2
    assert "2026-W47" in capsys.readouterr().err
    for command in (["pack", "--help"], ["pack", "build", "--help"], ["pack", "preview", "--help"]):
        assert _run(command) == 0
    assert "--monthly" in capsys.readouterr().out
