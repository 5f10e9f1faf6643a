"""``make demo``: the whole pipeline on the embedded default, with simulated sources.

1. start the embedded PostgreSQL (unless URLs are configured) and migrate;
2. simulate the CRM and finance files up to a week before the demo's review
   date (skipped when that world already exists);
3. catch the history up in bulk: one extraction, the checks over the whole
   range in one pass, one warehouse backfill;
4. run the last week day by day as the daily DAG would (the simulator adds
   each day's changes first, so each run sees a real increment);
5. run the weekly review for the Sunday (reports, packs, emails) and print
   where everything is.

Every step is idempotent and recorded in ``ops.step_run``: a second run finds
the work done and only prints the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

DEMO_REVIEW_DATE = date(2026, 11, 22)  # a Sunday; the weekly review runs for it
LIVE_DAYS = 7

DAILY_STEPS = ("extract_sources", "run_checks", "build_warehouse", "build_daily_marts")
WEEKLY_STEPS = ("build_weekly_reports", "build_packs", "send_packs", "summarise_delivery")


@dataclass
class DemoSummary:
    review_date: date
    history: tuple[date, date] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _step_done(engine: sa.Engine, step: str, day: date) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "select exists (select 1 from ops.step_run where step = :s and business_date = :d"
                    " and status = 'success' and not coalesce((details ->> 'skipped')::boolean, false))"
                ),
                {"s": step, "d": day},
            ).scalar()
        )


def _ensure_world(
    settings: Settings, profile: str, seed: int, history_end: date, say: Callable[[str], None]
) -> date:
    from review_pipeline.simulator.profiles import get_profile
    from review_pipeline.simulator.world import WorldParams, generate, world_state

    days = get_profile(profile).default_days
    start = DEMO_REVIEW_DATE - timedelta(days=days - 1)
    state = world_state(settings)
    if (
        state is not None
        and state[0].profile == profile
        and state[0].seed == seed
        and state[0].start == start
    ):
        return state[1]
    say(f"simulating the {profile} profile from {start} to {history_end} (seed {seed})")
    summary = generate(settings, WorldParams(profile, seed, start), (history_end - start).days + 1)
    return summary.as_of


def run_demo(
    settings: Settings,
    *,
    profile: str = "small",
    seed: int = 42,
    say: Callable[[str], None] = log.info,
) -> DemoSummary:
    """Run the demo end to end (see the module docstring); returns what was done and where."""
    from review_pipeline import orchestration
    from review_pipeline.db import start_embedded, warehouse_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.simulator.world import extend

    if settings.warehouse_url is None or settings.crm_url is None:
        start_embedded(settings)
    engine = warehouse_engine(settings)
    upgrade(engine)
    history_end = DEMO_REVIEW_DATE - timedelta(days=LIVE_DAYS)
    as_of = _ensure_world(settings, profile, seed, history_end, say)
    summary = DemoSummary(DEMO_REVIEW_DATE)

    from review_pipeline.simulator.profiles import get_profile

    history_start = DEMO_REVIEW_DATE - timedelta(days=get_profile(profile).default_days - 1)
    summary.history = (history_start, history_end)
    _catch_up(settings, engine, history_start, history_end, summary, say)

    day = history_end + timedelta(days=1)
    while day <= DEMO_REVIEW_DATE:
        if as_of < day:
            as_of = extend(settings, (day - as_of).days).as_of
        for step in DAILY_STEPS:
            if not _step_done(engine, step, day):
                say(f"{day}: {step}")
                summary.steps.append(getattr(orchestration, step)(day, settings=settings))
        day += timedelta(days=1)
    for step in WEEKLY_STEPS:
        if not _step_done(engine, step, DEMO_REVIEW_DATE):
            say(f"weekly review {DEMO_REVIEW_DATE}: {step}")
            summary.steps.append(getattr(orchestration, step)(DEMO_REVIEW_DATE, settings=settings))
    _describe(settings, engine, summary)
    return summary


def _catch_up(
    settings: Settings,
    engine: sa.Engine,
    start: date,
    end: date,
    summary: DemoSummary,
    say: Callable[[str], None],
) -> None:
    """History in bulk: one extraction, one range of checks, one warehouse backfill."""
    from review_pipeline import orchestration
    from review_pipeline.ops import record_step

    if not _step_done(engine, "extract_sources", end):
        say(f"history {start} .. {end}: extracting every source")
        summary.steps.append(orchestration.extract_sources(end, settings=settings))
    if not _step_done(engine, "run_checks", end):
        say(f"history {start} .. {end}: checks over the whole range")
        from review_pipeline.quality.run import run_checks

        with record_step(engine, "run_checks", end) as run:
            run.details.update(run_checks(settings, start, end))
        summary.steps.append(run.summary())
    if not _step_done(engine, "build_warehouse", end):
        say(f"history {start} .. {end}: warehouse backfill")
        from review_pipeline.warehouse.build import backfill

        with record_step(engine, "build_warehouse", end) as run:
            result = backfill(settings, start, end)
            run.details.update(
                result if isinstance(result, dict) else {"days": (end - start).days + 1}
            )
        summary.steps.append(run.summary())


def _describe(settings: Settings, engine: sa.Engine, summary: DemoSummary) -> None:
    from review_pipeline.db import redacted, warehouse_url

    summary.paths = {
        "REVIEW_HOME": str(settings.home),
        "warehouse": redacted(warehouse_url(settings)),
        "finance landing": str(settings.landing_dir / "finance"),
        "archive": str(settings.archive_dir),
        "ground truth": str(settings.simulator_dir / "ground_truth.csv"),
        "outputs (packs, emails)": str(settings.output_dir),
    }
    with engine.connect() as conn:
        for label, query in (
            ("staged leads", "select count(*) from staging.lead"),
            ("quarantined staging rows", "select count(*) from quarantine.staging_row"),
            ("quarantined file rows", "select count(*) from quarantine.file_row"),
            ("successful step runs", "select count(*) from ops.step_run where status = 'success'"),
        ):
            try:
                summary.counts[label] = int(conn.execute(sa.text(query)).scalar_one())
            except sa.exc.ProgrammingError:
                conn.rollback()
    for path in Path(settings.output_dir).rglob("*") if settings.output_dir.exists() else []:
        if path.suffix in (".xlsx", ".eml"):
            summary.counts[f"{path.suffix} files"] = (
                summary.counts.get(f"{path.suffix} files", 0) + 1
            )
