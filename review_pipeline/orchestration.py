"""The adapter layer between Airflow tasks (or the CLI) and the pipeline stages.

One function per DAG task, named like the task. Each takes a business date,
runs ONE stage function inside :func:`review_pipeline.ops.record_step` and
returns a small JSON-able dict (what the task pushes to XCom). The CLI may
call the same functions, so a manual run and a scheduled run do the same work
and leave the same ``ops.step_run`` record.

Stage contract (for the engineers writing ``sources``, ``quality``, ...)::

    def extract_all(settings: Settings, business_date: date, *, scope: str,
                    dry_run: bool) -> Mapping[str, Any] | None

The keys ``rows_in``, ``rows_out`` and ``rows_quarantined`` of the returned
mapping fill the columns of the same name in ``ops.step_run``; every other
key goes to ``details`` and to the task's return value. A stage whose module
is not installed yet is skipped with a clear log line and ``{"skipped": True}``
(nothing is recorded: the step did not run). A module that exists but fails
to import, or lacks the named function, is an error.

A deployment may run its own implementation of a stage by naming it in the
environment variable ``REVIEW_STAGES``, a JSON object such as
``{"extract_sources": "acme_review.crm:extract_all"}`` (same contract); the
tests use it to drive whole DAGs with stand-in stages.

This module imports nothing heavy at import time: DAG files may reference it
and the dag-processor must stay fast.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

BUSINESS_TIMEZONE = "Asia/Shanghai"
DEFAULT_SCOPE = "all"
ALERT_VARIABLE = "review_alert_email"
ALERT_ENV = "REVIEW_ALERT_EMAIL"

# Task name -> "module:function" of the stage it runs. Filled in by the stages.
STAGES: dict[str, str] = {
    "extract_sources": "review_pipeline.sources.pipeline:extract_all",
    "run_checks": "review_pipeline.quality.pipeline:run_checks",
    "build_warehouse": "review_pipeline.warehouse.pipeline:build_warehouse",
    "build_daily_marts": "review_pipeline.reports.pipeline:build_daily_marts",
    "build_weekly_reports": "review_pipeline.reports.pipeline:build_weekly_reports",
    "build_advice": "review_pipeline.advice.pipeline:build_advice",
    "build_packs": "review_pipeline.packs.pipeline:build_packs",
    "send_packs": "review_pipeline.delivery.pipeline:send_packs",
    "summarise_delivery": "review_pipeline.delivery.pipeline:summarise_delivery",
    "summarise_monthly_delivery": "review_pipeline.delivery.pipeline:summarise_monthly_delivery",
    "close_month": "review_pipeline.reports.pipeline:close_month",
    "build_monthly_packs": "review_pipeline.packs.pipeline:build_monthly_packs",
}

STAGES_ENV = "REVIEW_STAGES"

# The step whose success for a Sunday lets the weekly run go ahead.
DAILY_BUILD_STEP = "build_daily_marts"

_COUNT_KEYS = ("rows_in", "rows_out", "rows_quarantined")


# ------------------------------------------------------------------ business date
def business_date_for_run(
    run_after: datetime | None,
    logical_date: datetime | None,
    params: Mapping[str, Any] | None,
    *,
    timezone: str = BUSINESS_TIMEZONE,
) -> date:
    """The business date a DAG run processes, derived explicitly.

    A ``date`` param (ISO ``YYYY-MM-DD``) wins: it is how a person re-runs a
    day. Otherwise the run's logical date (or, for runs triggered with no
    logical date, its ``run_after``) is turned into a calendar date in the
    business time zone, minus one day: the 02:00 daily run processes
    yesterday, the Monday run the Sunday before, the run on the 1st the last
    day of the month before.

    Raises:
        ValueError: no usable date, a naive datetime, or a malformed ``date`` param.
    """
    from zoneinfo import ZoneInfo

    requested = (params or {}).get("date")
    if requested not in (None, ""):
        if isinstance(requested, date) and not isinstance(requested, datetime):
            return requested
        try:
            return date.fromisoformat(str(requested).strip())
        except ValueError as exc:
            raise ValueError(f"param 'date' must be YYYY-MM-DD, got {requested!r}") from exc
    moment = logical_date if logical_date is not None else run_after
    if moment is None:
        raise ValueError("the run has neither a logical date nor run_after: pass param 'date'")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"refusing a naive datetime {moment!r}: its time zone is ambiguous")
    return moment.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def run_window(
    run_after: datetime | None,
    logical_date: datetime | None,
    params: Mapping[str, Any] | None,
    *,
    isoweekday: int | None = None,
) -> dict[str, Any]:
    """The business date, scope and dry-run flag of a run, as JSON for XCom.

    Args:
        isoweekday: when given, the business date must fall on this ISO weekday
            (7 = Sunday for the weekly run, whose business date ends the week).
    """
    params = params or {}
    day = business_date_for_run(run_after, logical_date, params)
    if isoweekday is not None and day.isoweekday() != isoweekday:
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        raise ValueError(
            f"business date {day} is a {names[day.isoweekday() - 1]}; "
            f"this DAG needs a {names[isoweekday - 1]}"
        )
    return {
        "business_date": day.isoformat(),
        "scope": str(params.get("scope") or DEFAULT_SCOPE),
        "dry_run": bool(params.get("dry_run", False)),
    }


# ----------------------------------------------------------------------- helpers
def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from review_pipeline.settings import load_settings

    return load_settings(from_airflow=True)


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        raise TypeError("a business date is a date, not a datetime")
    return value if isinstance(value, date) else date.fromisoformat(value)


def resolve_stage(target: str) -> Callable[..., Any] | None:
    """Import ``module:function``; None when the stage's module is not installed yet.

    Only the absence of the stage module itself (or its package) counts as
    "not installed"; a missing dependency inside an existing module is raised.
    """
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            return None
        raise
    try:
        func = getattr(module, attr)
    except AttributeError as exc:
        raise ImportError(f"stage module {module_name} has no function {attr!r}") from exc
    if not callable(func):
        raise TypeError(f"{target} is not callable")
    return func  # type: ignore[no-any-return]


def stage_target(step: str) -> str:
    """The ``module:function`` that runs ``step``: REVIEW_STAGES override, else STAGES."""
    if step not in STAGES:
        raise KeyError(f"unknown step {step!r}; known: {', '.join(sorted(STAGES))}")
    raw = os.environ.get(STAGES_ENV, "").strip()
    if raw:
        try:
            overrides = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{STAGES_ENV} is not valid JSON: {exc}") from exc
        if not isinstance(overrides, dict) or not all(
            isinstance(v, str) and ":" in v for v in overrides.values()
        ):
            raise ValueError(f'{STAGES_ENV} must map steps to "module:function" strings')
        unknown = set(overrides) - set(STAGES)
        if unknown:
            raise ValueError(f"{STAGES_ENV} names unknown steps: {', '.join(sorted(unknown))}")
        if step in overrides:
            log.info("stage %s runs %s (%s override)", step, overrides[step], STAGES_ENV)
            return str(overrides[step])
    return STAGES[step]


def run_stage(
    step: str,
    business_date: date | str,
    *,
    scope: str = DEFAULT_SCOPE,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run the stage registered for ``step`` for one business date, recorded in ops.step_run."""
    day = _as_date(business_date)
    target = stage_target(step)
    func = resolve_stage(target)
    if func is None:
        log.warning(
            "stage %s not installed yet, skipped (%s is missing; business date %s)",
            step,
            target.partition(":")[0],
            day,
        )
        return {"step": step, "business_date": day.isoformat(), "skipped": True}

    from review_pipeline.db import warehouse_engine
    from review_pipeline.ops import record_step

    resolved = _settings(settings)
    with record_step(warehouse_engine(resolved), step, day) as run:
        result = func(resolved, day, scope=scope, dry_run=dry_run) or {}
        if not isinstance(result, Mapping):
            raise TypeError(f"{target} returned {type(result).__name__}, expected a mapping")
        for key in _COUNT_KEYS:
            if result.get(key) is not None:
                setattr(run, key, int(result[key]))
        run.details.update({k: v for k, v in result.items() if k not in _COUNT_KEYS})
        run.details.setdefault("scope", scope)
        if dry_run:
            run.details["dry_run"] = True
    return run.summary()


# ----------------------------------------------------------- one function per task
def prepare_warehouse(
    business_date: date | str,
    *,
    scope: str = DEFAULT_SCOPE,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Apply the warehouse migrations (idempotent) and return the revision.

    A dry run only reports the current and the head revision.
    """
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import current_revision, head_revision, upgrade
    from review_pipeline.ops import record_step

    day = _as_date(business_date)
    engine = warehouse_engine(_settings(settings))
    if dry_run:
        current, head = current_revision(engine), head_revision()
        log.info("dry run: warehouse at revision %s, head %s; nothing applied", current, head)
        return {
            "step": "prepare_warehouse",
            "business_date": day.isoformat(),
            "revision": current,
            "head": head,
            "dry_run": True,
        }
    # The record lives in ops.step_run, which the first migration creates.
    before, after = upgrade(engine)
    with record_step(engine, "prepare_warehouse", day) as run:
        run.details.update({"revision_before": before, "revision": after, "scope": scope})
    return run.summary()


def extract_sources(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Extract every source (CRM, finance files) for the business date into ``raw``."""
    return run_stage("extract_sources", business_date, **kwargs)


def run_checks(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Authenticity checks, gates and quarantine of the extracted rows."""
    return run_stage("run_checks", business_date, **kwargs)


def build_warehouse(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Load the star schema from the checked staging rows."""
    return run_stage("build_warehouse", business_date, **kwargs)


def build_daily_marts(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Refresh the daily review marts from the warehouse."""
    return run_stage("build_daily_marts", business_date, **kwargs)


def build_weekly_reports(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Build the weekly review reports for the week ending on the business date."""
    return run_stage("build_weekly_reports", business_date, **kwargs)


def build_advice(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Derive the coaching advice the packs show, for the review date."""
    return run_stage("build_advice", business_date, **kwargs)


def build_packs(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Write the per-manager review packs from the reports."""
    return run_stage("build_packs", business_date, **kwargs)


def send_packs(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Queue the packs in the outbox and send them."""
    return run_stage("send_packs", business_date, **kwargs)


def summarise_delivery(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Summarise what of the week's packs was delivered, bounced or is still waiting."""
    return run_stage("summarise_delivery", business_date, **kwargs)


def summarise_monthly_delivery(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Summarise what of the month's packs was delivered, bounced or is still waiting."""
    return run_stage("summarise_monthly_delivery", business_date, **kwargs)


def close_month(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Close the month of the business date: final figures, plan accuracy."""
    return run_stage("close_month", business_date, **kwargs)


def build_monthly_packs(business_date: date | str, **kwargs: Any) -> dict[str, Any]:
    """Write the monthly review packs for the closed month."""
    return run_stage("build_monthly_packs", business_date, **kwargs)


# ------------------------------------------------------------------- weekly gate
def daily_build_exists(business_date: date | str, *, settings: Settings | None = None) -> bool:
    """Whether a successful daily build (``build_daily_marts``) exists for the date."""
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine

    day = _as_date(business_date)
    engine = warehouse_engine(_settings(settings))
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass('ops.step_run')")).scalar() is None:
            return False
        found = conn.execute(
            sa.text(
                "select exists (select 1 from ops.step_run"
                " where step = :step and business_date = :d and status = 'success')"
            ),
            {"step": DAILY_BUILD_STEP, "d": day},
        ).scalar_one()
    log.info("daily build for %s %s", day, "found" if found else "not found yet")
    return bool(found)


# ---------------------------------------------------------------- failure e-mail
def alert_recipients() -> list[str]:
    """The data team's address(es), read now: Airflow Variable, else environment."""
    import os

    value: str | None = None
    try:
        from airflow.sdk import Variable

        value = Variable.get(ALERT_VARIABLE, default=None)
    except Exception:  # noqa: BLE001 - no Airflow, or no Variable: fall back to the environment
        value = None
    value = value or os.environ.get(ALERT_ENV, "")
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """Task-level ``on_failure_callback``: e-mail the data team through ``review_smtp``."""
    recipients = alert_recipients()
    if not recipients:
        log.warning(
            "no alert address (Variable %s or env %s); failure e-mail not sent",
            ALERT_VARIABLE,
            ALERT_ENV,
        )
        return
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from review_pipeline.settings import SMTP_CONN_ID

    notifier = SmtpNotifier(
        to=recipients,
        smtp_conn_id=SMTP_CONN_ID,
        subject="[review-pipeline] {{ ti.dag_id }}.{{ ti.task_id }} failed ({{ run_id }})",
        html_content=(
            "<p>Task <b>{{ ti.task_id }}</b> of DAG <b>{{ ti.dag_id }}</b> failed"
            " (run {{ run_id }}, try {{ ti.try_number }}).</p>"
            "<p>Exception: {{ exception }}</p>"
        ),
    )
    notifier(context)
