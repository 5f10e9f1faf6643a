"""The adapter layer: business dates, stage look-up, recording in ops.step_run."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from review_pipeline import orchestration
from review_pipeline.orchestration import business_date_for_run, run_window

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("run_after", "logical_date", "params", "expected"),
    [
        # the 02:00 Shanghai daily run is 18:00 UTC the day before: it processes "yesterday"
        (datetime(2026, 11, 26, 18, 0, tzinfo=UTC), None, {}, date(2026, 11, 26)),
        (None, datetime(2026, 11, 27, 2, 0, tzinfo=SHANGHAI), None, date(2026, 11, 26)),
        # logical date wins over run_after when both exist
        (
            datetime(2026, 11, 30, 1, 0, tzinfo=UTC),
            datetime(2026, 11, 26, 18, 0, tzinfo=UTC),
            {},
            date(2026, 11, 26),
        ),
        # 15:59 UTC is still the same Shanghai day, 16:00 UTC is the next one
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), None, {}, date(2026, 2, 28)),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), None, {}, date(2026, 3, 1)),
        # Monday 07:00 Shanghai -> the Sunday before; the 1st -> the last day of the month
        (datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI), None, {}, date(2026, 11, 22)),
        (datetime(2027, 1, 1, 6, 0, tzinfo=SHANGHAI), None, {}, date(2026, 12, 31)),
        # the date param wins, string or date, surrounding blanks tolerated
        (
            datetime(2026, 11, 26, 18, 0, tzinfo=UTC),
            None,
            {"date": "2026-10-01"},
            date(2026, 10, 1),
        ),
        (None, None, {"date": " 2026-10-01 "}, date(2026, 10, 1)),
        (None, None, {"date": date(2025, 2, 3)}, date(2025, 2, 3)),
        # empty param falls back to the run
        (datetime(2026, 11, 26, 18, 0, tzinfo=UTC), None, {"date": ""}, date(2026, 11, 26)),
    ],
)
def test_business_date_for_run(run_after, logical_date, params, expected):
    assert business_date_for_run(run_after, logical_date, params) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("run_after", "params", "message"),
    [
        (None, {}, "neither a logical date nor run_after"),
        (datetime(2026, 11, 27, 2, 0), {}, "naive"),
        (None, {"date": "27/11/2026"}, "YYYY-MM-DD"),
    ],
)
def test_business_date_for_run_rejects(run_after, params, message):
    with pytest.raises(ValueError, match=message):
        business_date_for_run(run_after, None, params)


@pytest.mark.unit
def test_run_window_is_json_and_checks_the_weekday():
    monday = datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI)
    assert run_window(monday, None, {"scope": "INFO", "dry_run": True}, isoweekday=7) == {
        "business_date": "2026-11-22",
        "scope": "INFO",
        "dry_run": True,
    }
    assert run_window(monday, None, None) == {
        "business_date": "2026-11-22",
        "scope": "all",
        "dry_run": False,
    }
    with pytest.raises(ValueError, match="is a Wednesday; this DAG needs a Sunday"):
        run_window(monday, None, {"date": "2026-11-25"}, isoweekday=7)


@pytest.mark.unit
def test_every_task_function_is_registered():
    for step in orchestration.STAGES:
        assert callable(getattr(orchestration, step)), step


@pytest.mark.unit
def test_missing_stage_module_is_skipped_but_a_broken_one_raises(tmp_path, monkeypatch, caplog):
    (tmp_path / "rp_broken_stage.py").write_text("import rp_no_such_dependency\n")
    (tmp_path / "rp_thin_stage.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert orchestration.resolve_stage("rp_absent_pkg.pipeline:run") is None
    with caplog.at_level("WARNING", logger="review_pipeline.orchestration"):
        monkeypatch.setitem(orchestration.STAGES, "build_packs", "rp_absent_pkg.pipeline:run")
        assert orchestration.build_packs("2026-11-22") == {
            "step": "build_packs",
            "business_date": "2026-11-22",
            "skipped": True,
        }
    assert "stage build_packs not installed yet, skipped" in caplog.text

    with pytest.raises(ModuleNotFoundError, match="rp_no_such_dependency"):
        orchestration.resolve_stage("rp_broken_stage:run")
    with pytest.raises(ImportError, match="has no function 'run'"):
        orchestration.resolve_stage("rp_thin_stage:run")


@pytest.fixture
def db_settings(make_database, review_home, monkeypatch):
    """Settings on a fresh, empty warehouse database (no CRM needed here)."""
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", make_database("orchwh"))
    return load_settings()


@pytest.fixture
def warehouse(db_settings):
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import upgrade

    engine = warehouse_engine(db_settings)
    upgrade(engine)
    return engine


@pytest.fixture
def stage_module(tmp_path, monkeypatch):
    """A stand-in stage module on disk (the real stages are written in parallel)."""
    (tmp_path / "rp_demo_stage.py").write_text(
        textwrap.dedent(
            """
            def build(settings, business_date, *, scope, dry_run):
                return {"rows_in": 10, "rows_out": 8, "rows_quarantined": 2,
                        "tables": ["mart.demo"], "day": business_date.isoformat()}

            def explode(settings, business_date, *, scope, dry_run):
                raise RuntimeError("source unreachable")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "rp_demo_stage"


@pytest.mark.integration
def test_run_stage_records_counts_and_failures(warehouse, db_settings, stage_module, monkeypatch):
    monkeypatch.setitem(orchestration.STAGES, "build_daily_marts", f"{stage_module}:build")
    summary = orchestration.build_daily_marts(
        "2026-11-26", scope="INFO", dry_run=False, settings=db_settings
    )
    assert summary["rows_in"] == 10 and summary["rows_quarantined"] == 2
    assert summary["tables"] == ["mart.demo"] and summary["scope"] == "INFO"

    monkeypatch.setitem(orchestration.STAGES, "extract_sources", f"{stage_module}:explode")
    with pytest.raises(RuntimeError, match="source unreachable"):
        orchestration.extract_sources(date(2026, 11, 26), settings=db_settings)

    with warehouse.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select step, business_date, status, rows_in, rows_out, rows_quarantined,"
                " details, error_text from ops.step_run order by run_id"
            )
        ).all()
    assert [(r.step, r.status) for r in rows] == [
        ("build_daily_marts", "success"),
        ("extract_sources", "failed"),
    ]
    assert (rows[0].rows_in, rows[0].rows_out, rows[0].rows_quarantined) == (10, 8, 2)
    assert rows[0].details["day"] == "2026-11-26" and rows[0].business_date == date(2026, 11, 26)
    assert "source unreachable" in rows[1].error_text

    # the weekly gate sees a successful daily build for that day only
    assert orchestration.daily_build_exists("2026-11-26", settings=db_settings)
    assert not orchestration.daily_build_exists("2026-11-25", settings=db_settings)


@pytest.mark.integration
def test_prepare_warehouse_migrates_and_dry_run_applies_nothing(db_settings):
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import current_revision, head_revision

    dry = orchestration.prepare_warehouse("2026-11-26", dry_run=True, settings=db_settings)
    assert dry["revision"] is None and dry["head"] == head_revision()
    assert current_revision(warehouse_engine(db_settings)) is None
    assert not orchestration.daily_build_exists("2026-11-26", settings=db_settings)

    done = orchestration.prepare_warehouse("2026-11-26", settings=db_settings)
    assert done["revision"] == head_revision() and done["revision_before"] is None
    again = orchestration.prepare_warehouse("2026-11-26", settings=db_settings)
    assert again["revision_before"] == again["revision"] == head_revision()


@pytest.mark.unit
def test_review_stages_override(monkeypatch):
    monkeypatch.delenv("REVIEW_STAGES", raising=False)
    assert orchestration.stage_target("run_checks") == orchestration.STAGES["run_checks"]
    monkeypatch.setenv("REVIEW_STAGES", '{"run_checks": "acme.checks:run"}')
    assert orchestration.stage_target("run_checks") == "acme.checks:run"
    assert orchestration.stage_target("build_packs") == orchestration.STAGES["build_packs"]
    for bad, message in [
        ("{not json", "not valid JSON"),
        ('{"run_checks": "no_colon"}', "module:function"),
        ('{"run_check": "a:b"}', "unknown steps: run_check"),
    ]:
        monkeypatch.setenv("REVIEW_STAGES", bad)
        with pytest.raises(ValueError, match=message):
            orchestration.stage_target("run_checks")
    with pytest.raises(KeyError, match="unknown step"):
        orchestration.stage_target("make_coffee")
