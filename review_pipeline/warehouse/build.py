"""Build the warehouse for a business day, or backfill a range of days.

:func:`build_day` and :func:`backfill` are what the CLI and the Airflow tasks
call. Every step of :data:`~review_pipeline.warehouse.steps.STEPS` runs in
its own transaction under an advisory lock (``db.step_lock``), so a crash
leaves the previous state of that step, and two builds never write the same
step at once. No step reads the clock: the business date is a parameter and
the incremental steps follow ``staging.*.loaded_at`` watermarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from review_pipeline.db import sql_clauses, step_lock, warehouse_engine
from review_pipeline.errors import ReviewError, UserError
from review_pipeline.ops import record_step
from review_pipeline.settings import Settings
from review_pipeline.warehouse import calendar
from review_pipeline.warehouse.steps import STEPS, Step

log = logging.getLogger(__name__)

# Rows committed to staging by a transaction that started before the previous
# build but committed after it carry an older loaded_at; re-reading this much
# before the watermark catches them (the upserts are idempotent).
WATERMARK_MARGIN = timedelta(hours=1)

#: Test hook: called after every statement as ``hook(step_name, statement_index, conn)``
#: inside the step's transaction (fault injection; ``None`` in production).
after_statement: Callable[[str, int, Connection], None] | None = None

_WRITES = ("insert", "update", "delete", "with")

# A step that wrote this many rows refreshes its tables' planner statistics.
ANALYZE_AFTER_ROWS = 50_000

# Session settings of a step's transaction. An incremental step joins a few
# thousand changed keys to tables of millions of rows: on SSD storage index
# probes beat full scans (random_page_cost), sorts should stay in memory, and
# JIT compilation costs seconds on these plans without paying back.
STEP_SETTINGS = (
    "set local work_mem = '64MB'",
    "set local random_page_cost = 1.1",
    "set local jit = off",
)

# "Everything": older than any loaded_at.
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)

ProgressCallback = Callable[[int, int, date], None]


class DimensionCheckFailed(ReviewError):
    """A fact names a key no dimension row carries (the SCD2 foreign-key check)."""


# ----------------------------------------------------------------------- helpers
def _statements(relative: str) -> tuple[sa.TextClause, ...]:
    return sql_clauses(relative)


def _params(settings: Settings, business_date: date, since: datetime, full: bool) -> dict[str, Any]:
    p = settings.stage_probabilities
    return {
        "business_date": business_date,
        "tz": settings.timezone,
        "since": since,
        "full_build": full,
        "p_s1": p.S1,
        "p_s2": p.S2,
        "p_s3": p.S3,
        "p_s4": p.S4,
        "p_s5_pending": p.S5_PENDING_ORDER,
        "p_s5_ordered": p.S5_ORDERED,
    }


def _run_files(conn: Connection, step: Step, params: dict[str, Any]) -> int:
    """Execute the step's statements in order; returns the rows they wrote."""
    for setting in STEP_SETTINGS:
        conn.execute(sa.text(setting))
    rows = 0
    index = 0
    for relative in step.files:
        for clause in _statements(relative):
            wanted = {k: v for k, v in params.items() if k in clause._bindparams}
            result = conn.execute(clause, wanted)
            if clause.text.lstrip().lower().startswith(_WRITES) and result.rowcount > 0:
                rows += result.rowcount
            index += 1
            if after_statement is not None:
                after_statement(step.name, index, conn)
    return rows


def _tables_of(step: Step) -> list[str]:
    """The dw tables a step writes: its files are named after them (fct_*, dim_*)."""
    stems = (relative.rsplit("/", 1)[-1].removesuffix(".sql") for relative in step.files)
    return [stem for stem in stems if stem.startswith(("dim_", "fct_"))]


def _lock(conn: Connection, settings: Settings, step: Step, business_date: date) -> Any:
    key = business_date.isoformat() if step.kind == "day" else ""
    return step_lock(
        conn, f"warehouse.{step.name}", key, wait_seconds=float(settings.lock_timeout_seconds)
    )


# ------------------------------------------------------------------------- steps
def _run_calendar(engine: Engine, settings: Settings, step: Step, business_date: date) -> int:
    """Make sure dim_date covers the span; recompute only when rows are missing or stale."""
    start, end = calendar.span_for(business_date)
    with engine.begin() as conn, _lock(conn, settings, step, business_date):
        have, stale_years = conn.execute(
            sa.text(
                "select count(*), array_agg(distinct year) filter (where not calendar_known)"
                " from dw.dim_date where date_key between :s and :e"
            ),
            {"s": start, "e": end},
        ).one()
        expected = (end - start).days + 1
        from review_pipeline import workdays

        newly_known = [y for y in (stale_years or []) if workdays.year_is_known(y)]
        if have == expected and not newly_known:
            return 0
        rows = calendar.date_rows(start, end)
        columns = calendar.COLUMNS
        conn.execute(
            sa.text(
                "create temporary table tmp_dim_date (like dw.dim_date including defaults)"
                " on commit drop"
            )
        )
        from review_pipeline.db import raw_psycopg

        with (
            raw_psycopg(conn)
            .cursor()
            .copy(f"copy tmp_dim_date ({', '.join(columns)}) from stdin") as copy
        ):
            for row in rows:
                copy.write_row(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "date_key")
        result = conn.execute(
            sa.text(
                f"insert into dw.dim_date ({', '.join(columns)})"
                f" select {', '.join(columns)} from tmp_dim_date"
                f" on conflict (date_key) do update set {updates}"
                " where (dim_date.*) is distinct from (excluded.*)"
            )
        )
        return int(result.rowcount or 0)


def _run_sync(
    engine: Engine, settings: Settings, step: Step, business_date: date, full: bool
) -> int:
    with engine.begin() as conn, _lock(conn, settings, step, business_date):
        since = EPOCH
        step_full = True
        if step.sources:
            mark = conn.execute(
                sa.text("select loaded_through from dw.build_watermark where step = :s"),
                {"s": step.name},
            ).scalar()
            if mark is not None and not full:
                since = mark - WATERMARK_MARGIN
                step_full = False
            newest = conn.execute(
                sa.text(
                    " union all ".join(
                        f"select max(loaded_at) as m from staging.{source}"
                        for source in step.sources
                    ).join(("select max(m) from (", ") as t"))
                )
            ).scalar()
        rows = _run_files(conn, step, _params(settings, business_date, since, step_full))
        _checks(conn, step, step.checks)  # a failure rolls the whole step back
        if step_full and rows >= ANALYZE_AFTER_ROWS:
            # fresh statistics after a (re)load, or the planner misjudges "open on D";
            # daily increments are left to autovacuum
            for table in _tables_of(step):
                conn.execute(sa.text(f"analyze dw.{table}"))
        if step.sources and newest is not None:
            conn.execute(
                sa.text(
                    "insert into dw.build_watermark (step, loaded_through) values (:s, :m)"
                    " on conflict (step) do update set loaded_through ="
                    " greatest(build_watermark.loaded_through, excluded.loaded_through)"
                ),
                {"s": step.name, "m": newest},
            )
        return rows


def _run_day(engine: Engine, settings: Settings, step: Step, business_date: date) -> int:
    with engine.begin() as conn, _lock(conn, settings, step, business_date):
        return _run_files(conn, step, _params(settings, business_date, EPOCH, False))


def _checks(conn: Connection, step: Step, files: tuple[str, ...]) -> None:
    """Run check queries (rows of check name, orphan count); raise when any count is not 0."""
    failures: list[str] = []
    for relative in files:
        for clause in _statements(relative):
            for name, orphans in conn.execute(clause):
                if orphans:
                    failures.append(f"{name}: {orphans} key(s) without a dimension row")
    if failures:
        raise DimensionCheckFailed(
            f"warehouse step {step.name} failed its key checks: " + "; ".join(failures)
        )


def _run_check(engine: Engine, settings: Settings, step: Step, business_date: date) -> int:
    with engine.connect() as conn:
        try:
            _checks(conn, step, step.files)
        finally:
            conn.rollback()
    return 0


def _run_step(
    engine: Engine, settings: Settings, step: Step, business_date: date, full: bool
) -> int:
    if step.kind == "calendar":
        return _run_calendar(engine, settings, step, business_date)
    if step.kind == "sync":
        return _run_sync(engine, settings, step, business_date, full)
    if step.kind == "day":
        return _run_day(engine, settings, step, business_date)
    return _run_check(engine, settings, step, business_date)


def _timed(
    engine: Engine,
    settings: Settings,
    steps: Iterable[Step],
    business_date: date,
    full: bool,
    out: dict[str, dict[str, int]],
) -> None:
    for step in steps:
        started = time.perf_counter()
        rows = _run_step(engine, settings, step, business_date, full)
        ms = int((time.perf_counter() - started) * 1000)
        entry = out.setdefault(step.name, {"rows": 0, "ms": 0})
        entry["rows"] += rows
        entry["ms"] += ms
        log.debug("warehouse step %s for %s: %s rows in %s ms", step.name, business_date, rows, ms)


# ---------------------------------------------------------------------- public
def build_day(settings: Settings, business_date: date, *, full: bool = False) -> dict[str, Any]:
    """Build the warehouse for ``business_date``; returns a small JSON-able summary.

    Runs every step in the declared order: the dimensions and the incremental
    facts (independent of the date), then the day's own rows (gate exclusions,
    month-end receivables), then the key checks. Rerunning a day, or building
    days out of order, gives the same tables.

    Args:
        full: reprocess every staging row instead of those loaded since the
            last build (use after restoring or editing staging by hand).
    """
    engine = warehouse_engine(settings)
    started = time.perf_counter()
    steps: dict[str, dict[str, int]] = {}
    with record_step(engine, "warehouse.build", business_date) as run:
        # whole-table key checks only on full builds: a daily build checks the
        # lead versions it rebuilt inside their step
        chosen = [s for s in STEPS if full or s.kind != "check"]
        _timed(engine, settings, chosen, business_date, full, steps)
        run.rows_out = sum(s["rows"] for s in steps.values())
        run.details = {"full": full, "steps": steps}
    return {
        "business_date": business_date.isoformat(),
        "run_id": run.run_id,
        "rows_written": run.rows_out,
        "full": full,
        "duration_ms": int((time.perf_counter() - started) * 1000),
        "steps": steps,
    }


def backfill(
    settings: Settings,
    start: date,
    end: date,
    progress: ProgressCallback | None = None,
    *,
    full: bool = False,
) -> dict[str, Any]:
    """Build every day from ``start`` to ``end`` inclusive.

    Equivalent to calling :func:`build_day` for each day (the date-independent
    steps give the same result every time, so they run once), but far faster.
    ``progress(done, total, day)`` is called after each day.
    """
    if end < start:
        raise UserError(f"backfill end {end} is before its start {start}")
    engine = warehouse_engine(settings)
    started = time.perf_counter()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    steps: dict[str, dict[str, int]] = {}
    window = (
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end, datetime.max.time()),
    )
    with record_step(engine, "warehouse.backfill", end, window=window) as run:
        head = [s for s in STEPS if s.kind in ("calendar", "sync")]
        # The calendar must cover both ends of the range.
        _timed(engine, settings, head[:1], start, full, steps)
        _timed(engine, settings, head, end, full, steps)
        day_steps = [s for s in STEPS if s.kind == "day"]
        for done, day in enumerate(days, start=1):
            _timed(engine, settings, day_steps, day, full, steps)
            if progress is not None:
                progress(done, len(days), day)
        _timed(engine, settings, [s for s in STEPS if s.kind == "check"], end, full, steps)
        run.rows_out = sum(s["rows"] for s in steps.values())
        run.details = {"start": start, "end": end, "days": len(days), "full": full, "steps": steps}
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": len(days),
        "run_id": run.run_id,
        "rows_written": run.rows_out,
        "full": full,
        "duration_ms": int((time.perf_counter() - started) * 1000),
        "steps": steps,
    }
