"""One benchmark stage per process: ``python -m review_pipeline.bench.stages STAGE ...``.

Every stage calls the package's own stage functions (the orchestration
adapters the DAG tasks call, or the bulk entry points ``make demo`` uses for
history: one extraction, one range of checks, one warehouse backfill); none is
re-implemented here. A stage writes ``{"rows", "parts", "details", "note"}``
as JSON to ``--result``. Pipeline stages run under cProfile and a statement
timing log (see :mod:`review_pipeline.bench.profiling`), kept in
``--work-dir`` for the report to quote where a target is missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

PACKS_TARGET = "review_pipeline.packs.pipeline:build_packs"
CHECKS_BENCH_TARGET = "review_pipeline.quality.bench:measure_checks"


class Parts:
    """Seconds per named part of a stage, measured inside the stage process."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return fn()
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def _small(summary: Any) -> Any:
    """A JSON-able copy of a stage summary without bulky members."""
    if not isinstance(summary, dict):
        return summary
    return {
        k: v
        for k, v in summary.items()
        if k not in ("gx_sql_mismatches", "data_docs", "steps", "backfill_steps")
    }


# ------------------------------------------------------------------------- stages
def stage_generate(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """Build the simulated world for the profile, ending on the benchmark's as-of day."""
    from datetime import timedelta

    from review_pipeline.bench.core import BENCH_END
    from review_pipeline.simulator.profiles import get_profile
    from review_pipeline.simulator.world import WorldParams, generate

    days = get_profile(a.profile).default_days
    start = BENCH_END - timedelta(days=days - 1)
    summary = generate(settings, WorldParams(a.profile, a.seed, start), days)
    return {
        "rows": sum(summary.counts.values()),
        "details": {"counts": summary.counts, "files": summary.files, "as_of": str(summary.as_of)},
    }


def stage_prepare(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """A fresh benchmark warehouse (drop, create, migrate) and the world's files back in landing."""
    import psycopg
    from psycopg import sql

    from review_pipeline.bench.landing import restore_landing
    from review_pipeline.db import dispose_engines, libpq_dsn, warehouse_engine, warehouse_url
    from review_pipeline.migrations.runner import upgrade

    url = warehouse_url(settings)
    name = url.database or ""
    if not name.endswith("_bench"):
        raise SystemExit(f"refusing to reset {url.database!r}: not a benchmark database")
    parts = Parts()
    admin = libpq_dsn(url.set(database="postgres"))

    def reset() -> str:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            row = conn.execute("show server_version").fetchone()
        return str(row[0]).split()[0] if row else "?"

    version = parts.run("reset database", reset)
    dispose_engines()
    parts.run("migrate", lambda: upgrade(warehouse_engine(settings)))
    restored = parts.run("restore landing", lambda: restore_landing(settings))
    return {
        "parts": parts.seconds,
        "details": {"postgres": version, "files_restored": restored, "database": url.database},
    }


def stage_extract(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """The history in one extraction (every source, watermark from nothing to the as-of day)."""
    from review_pipeline import orchestration

    end = date.fromisoformat(a.end)
    summary = orchestration.extract_sources(end, settings=settings)
    per_source = _batches(settings, end)
    return {"rows": summary.get("rows_in"), "details": {"sources": per_source}}


PHASES = ("landing", "delete_detection", "staging", "batch_record")


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of (start, end) intervals: the time at least one of them ran."""
    total = 0.0
    current: tuple[float, float] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += current[1] - current[0]
    return total


"""Per-batch phases an SQL source records in ``ops.extract_batch.details`` (``<phase>_s``)."""


def _batches(settings: Settings, day: date) -> dict[str, Any]:
    """Rows and seconds per source and entity from ``ops.extract_batch`` of one business date.

    Per source, ``seconds`` is the wall span of its batches (first start to
    last end; entities run side by side, see ``extract_workers``) and
    ``busy_s`` the sum of their durations; ``phases`` sums the per-phase
    seconds the SQL source records in ``details`` (landing: source rows into
    raw exactly once; delete detection; typed staging; the batch record), and
    ``landing_wall_s`` is the wall-clock time during which at least one batch
    was landing (the union of the landing intervals), which the bulk-load
    ratios use.
    """
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine

    phase_sums = ", ".join(
        f"sum((details ->> '{p}_s')::float8) as {p}_s" for p in PHASES
    )  # constant names, no input
    with warehouse_engine(settings).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select source, entity, count(*) as batches, sum(rows_read) as rows_read,"
                " sum(rows_in) as rows_in,"
                " extract(epoch from sum(finished_at - started_at)) as busy_s,"
                " min(started_at) as first_start, max(finished_at) as last_end,"
                " array_agg(details ->> 'landing_at') as landing_at,"
                " array_agg((details ->> 'landing_s')::float8) as landing_s_each,"
                " string_agg(distinct details ->> 'landing_path', ',') as landing_path, "
                + phase_sums
                + " from ops.extract_batch where business_date = :d and status = 'success'"
                " group by source, entity order by source, entity"
            ),
            {"d": day},
        ).mappings()
        out: dict[str, Any] = {}
        spans: dict[str, list[tuple[datetime, datetime]]] = {}
        landings: dict[str, list[tuple[float, float]]] = {}
        for r in rows:
            src = out.setdefault(
                r["source"],
                {
                    "entities": {},
                    "rows_in": 0,
                    "rows_read": 0,
                    "busy_s": 0.0,
                    "phases": dict.fromkeys(PHASES, 0.0),
                },
            )
            phases = {p: round(float(r[f"{p}_s"] or 0), 3) for p in PHASES}
            src["entities"][r["entity"]] = {
                "batches": int(r["batches"]),
                "rows_read": int(r["rows_read"]),
                "rows_in": int(r["rows_in"]),
                "seconds": round(float(r["busy_s"] or 0), 3),
                "phases": phases,
                "landing_path": r["landing_path"],
            }
            src["rows_in"] += int(r["rows_in"])
            src["rows_read"] += int(r["rows_read"])
            src["busy_s"] = round(src["busy_s"] + float(r["busy_s"] or 0), 3)
            for p in PHASES:
                src["phases"][p] = round(src["phases"][p] + phases[p], 3)
            if r["first_start"] is not None and r["last_end"] is not None:
                spans.setdefault(r["source"], []).append((r["first_start"], r["last_end"]))
            for at, seconds in zip(r["landing_at"], r["landing_s_each"], strict=True):
                if at and seconds is not None:
                    start = datetime.fromisoformat(at).timestamp()
                    landings.setdefault(r["source"], []).append((start, start + seconds))
        for name, src in out.items():
            if spans.get(name):
                first = min(a for a, _b in spans[name])
                last = max(b for _a, b in spans[name])
                src["seconds"] = round((last - first).total_seconds(), 3)
            else:
                src["seconds"] = src["busy_s"]
            if landings.get(name):
                src["landing_wall_s"] = round(union_seconds(landings[name]), 3)
    return out


def stage_checks(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """Every rule over the history range in one pass (how the demo catches up)."""
    from review_pipeline.quality.run import run_checks

    summary = run_checks(
        settings, date.fromisoformat(a.checks_start or a.start), date.fromisoformat(a.end)
    )
    return {"rows": summary["lead_days"], "details": _small(summary)}


def stage_warehouse_backfill(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """The initial warehouse build: a backfill of every history day."""
    from review_pipeline.warehouse.build import backfill

    summary = backfill(settings, date.fromisoformat(a.start), date.fromisoformat(a.end))
    return {"rows": summary.get("rows_written"), "details": _small(summary)}


def stage_incremental_day(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """One new day end to end: the source moves on a day, then extract, checks, build, marts."""
    from datetime import timedelta

    from review_pipeline import orchestration
    from review_pipeline.errors import GateFailed
    from review_pipeline.simulator.world import extend, world_state
    from review_pipeline.warehouse import build as warehouse_build

    day = date.fromisoformat(a.day)
    parts = Parts()
    details: dict[str, Any] = {}
    # The warehouse re-reads staging rows loaded up to WATERMARK_MARGIN (an hour) before
    # its watermark, to catch late commits. In production the previous load is yesterday's
    # increment; here it is the whole history, loaded minutes ago, so the margin would
    # rebuild everything. Without it the build reads only the day's rows (it skips the
    # re-read of the previous increment production does: a slight underestimate). The
    # history rows share one loaded_at (one transaction) equal to the watermark, so the
    # margin must be just below zero, as in tests/warehouse/bench_large.py.
    warehouse_build.WATERMARK_MARGIN = timedelta(microseconds=-1)
    state = world_state(settings)
    if state is not None and state[1] < day:
        parts.run(
            "simulate the day (source system)", lambda: extend(settings, (day - state[1]).days)
        )
    extracted = parts.run("extract", lambda: orchestration.extract_sources(day, settings=settings))
    details["extract"] = {k: extracted.get(k) for k in ("rows_in", "rows_out", "rows_quarantined")}
    note = ""
    try:
        checked = parts.run("checks", lambda: orchestration.run_checks(day, settings=settings))
        details["checks"] = {
            k: checked.get(k) for k in ("rows_in", "rows_out", "rows_quarantined", "gates")
        }
    except GateFailed as exc:  # the DAG would stop here; the benchmark measures on and says so
        note = f"gate failed (the DAG would stop): {exc}"
        details["checks"] = {"gate_failed": str(exc)}
    built = parts.run("build", lambda: orchestration.build_warehouse(day, settings=settings))
    details["build"] = {
        "rows_written": built.get("rows_written"),
        "steps_ms": {k: v.get("ms") for k, v in (built.get("steps") or {}).items()},
    }
    marts = parts.run("marts", lambda: orchestration.build_daily_marts(day, settings=settings))
    details["marts"] = {
        "rows_out": marts.get("rows_out"),
        "milliseconds": marts.get("milliseconds"),
    }
    pipeline = sum(v for k, v in parts.seconds.items() if not k.startswith("simulate"))
    parts.seconds["pipeline (extract -> checks -> build -> marts)"] = pipeline
    return {
        "rows": extracted.get("rows_in"),
        "parts": parts.seconds,
        "details": details,
        "note": note,
    }


def stage_reports(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """The weekly reports (R1-R9) for the review date."""
    from review_pipeline import orchestration

    summary = orchestration.build_weekly_reports(
        date.fromisoformat(a.review_date), settings=settings
    )
    return {
        "rows": summary.get("rows_out"),
        "details": {"tables": summary.get("tables"), "milliseconds": summary.get("milliseconds")},
    }


def stage_packs(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """Every manager's weekly pack built and queued (when the packs stage exists)."""
    from review_pipeline import orchestration
    from review_pipeline.orchestration import resolve_stage

    if resolve_stage(PACKS_TARGET) is None:
        return {"note": "not available (review_pipeline.packs is not installed yet)",
                "details": {"available": False}}  # fmt: skip
    summary = orchestration.build_packs(date.fromisoformat(a.review_date), settings=settings)
    rows = summary.get("rows_out")
    return {"rows": rows, "details": {"available": True, **_small(summary)}}


def stage_checks_vs_scan(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """All checks for a day against one single-pass scan of the same tables (quality's measure)."""
    from review_pipeline.orchestration import resolve_stage

    measure_checks = resolve_stage(CHECKS_BENCH_TARGET)
    if measure_checks is None:
        return {"note": "not available (review_pipeline.quality.bench is not installed yet)",
                "details": {"available": False}}  # fmt: skip
    result = dict(measure_checks(settings, date.fromisoformat(a.day)))
    return {"details": {"available": True, **result}}


def stage_copy_floor(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """The raw COPY floor of the SQL source's bytes (see :mod:`review_pipeline.bench.compare`)."""
    from review_pipeline.bench.compare import copy_floor

    result = copy_floor(settings, date.fromisoformat(a.end), Path(a.work_dir))
    return {"rows": result["rows"], "parts": result.pop("parts"), "details": result}


def stage_pandas_to_sql(settings: Settings, a: argparse.Namespace) -> dict[str, Any]:
    """The pandas ``read_sql`` + ``to_sql`` path for the same rows, on a sample."""
    from review_pipeline.bench.compare import pandas_path

    result = pandas_path(settings, date.fromisoformat(a.end), a.sample_rows)
    return {"rows": result["sample_rows"], "details": result}


STAGES: dict[str, Callable[[Settings, argparse.Namespace], dict[str, Any]]] = {
    "generate": stage_generate,
    "prepare": stage_prepare,
    "extract": stage_extract,
    "copy-floor": stage_copy_floor,
    "pandas-to-sql": stage_pandas_to_sql,
    "checks": stage_checks,
    "warehouse-backfill": stage_warehouse_backfill,
    "incremental-day": stage_incremental_day,
    "reports": stage_reports,
    "packs": stage_packs,
    "checks-vs-scan": stage_checks_vs_scan,
}

# Stages measured for pipeline targets: statement log, and sampled (py-spy from outside,
# or pyinstrument inside when run without --no-sampler).
PROFILED = {"extract", "checks", "warehouse-backfill", "incremental-day", "reports", "packs"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m review_pipeline.bench.stages",
        description="Run one benchmark stage (used by `review-pipeline bench`).",
    )
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--profile", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", help="first history day")
    parser.add_argument("--end", help="last history day (the as-of day)")
    parser.add_argument("--checks-start", help="first day the history checks cover")
    parser.add_argument("--day", help="the incremental day")
    parser.add_argument("--review-date", help="the weekly review date (a Sunday)")
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--work-dir", default=".")
    parser.add_argument("--result", help="write the stage's JSON result here")
    parser.add_argument("--no-profile", action="store_true", help="no profiler, no statement log")
    parser.add_argument(
        "--no-sampler",
        action="store_true",
        help="statement log only: the stage is sampled from outside (py-spy)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from review_pipeline.bench.profiling import profiled
    from review_pipeline.settings import load_settings

    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # long history stages must not hit the daily statement timeout
    settings = load_settings(statement_timeout_seconds=6 * 3600)
    fn = STAGES[a.stage]
    if a.stage in PROFILED and not a.no_profile:
        with profiled(Path(a.work_dir), a.stage, sampler=not a.no_sampler):
            result = fn(settings, a)
    else:
        result = fn(settings, a)
    if a.result:
        Path(a.result).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
