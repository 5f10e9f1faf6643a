"""
### review_weekly: the weekly review, reports to delivered packs

Runs **Monday 07:00 Asia/Shanghai** for the week ending on the **business
date** = the Sunday before (a manual run may name another Sunday with the
`date` param).

`derive_business_date` -> `wait_for_daily_build` -> `build_weekly_reports`
-> `build_advice` (coaching advice per lead and person) -> `build_packs`
(emits `review_weekly_packs`) -> `send_packs` (outbox, then e-mail) ->
`summarise_delivery`.

`wait_for_daily_build` lets the run go ahead only when `ops.step_run` holds a
successful `build_daily_marts` for that Sunday; it re-checks every 10 minutes
and, after 4 hours without one, skips the rest of the run instead of sending
packs built on a missing day.

Each task calls one function of `review_pipeline.orchestration` (the CLI
calls the same ones). A failed task e-mails the address in the Variable
`review_alert_email` (or env `REVIEW_ALERT_EMAIL`) through `review_smtp`.
Params: `date`, `scope`, `dry_run` (build and report; send nothing).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import (
    CronTriggerTimetable,
    Param,
    PokeReturnValue,
    chain,
    dag,
    get_current_context,
    task,
)
from review_pipeline.assets import WAREHOUSE_POOL, WEEKLY_PACKS, default_task_args

SUNDAY = 7


@dag(
    schedule=CronTriggerTimetable("0 7 * * 1", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=12),
    doc_md=__doc__,
    tags=["review", "weekly"],
    default_args=default_task_args(),
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Sunday ending the week, YYYY-MM-DD; empty = the Sunday before the run.",
        ),
        "scope": Param("all", type="string", description="all, a business unit or a region."),
        "dry_run": Param(False, type="boolean", description="Build and report; send nothing."),
    },
)
def review_weekly():
    @task(execution_timeout=pendulum.duration(minutes=5))
    def derive_business_date():
        from review_pipeline.orchestration import run_window

        context = get_current_context()
        return run_window(
            context["dag_run"].run_after,
            context.get("logical_date"),
            context["params"],
            isoweekday=SUNDAY,
        )

    @task.sensor(
        poke_interval=600,
        timeout=4 * 3600,
        mode="reschedule",
        soft_fail=True,
        retries=0,
        execution_timeout=None,
    )
    def wait_for_daily_build(window: dict):
        from review_pipeline.orchestration import daily_build_exists

        return PokeReturnValue(is_done=daily_build_exists(window["business_date"]))

    @task(pool=WAREHOUSE_POOL, execution_timeout=pendulum.duration(hours=2))
    def build_weekly_reports(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_weekly_reports(**window)

    @task(pool=WAREHOUSE_POOL, execution_timeout=pendulum.duration(hours=1))
    def build_advice(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_advice(**window)

    @task(outlets=[WEEKLY_PACKS], execution_timeout=pendulum.duration(hours=2))
    def build_packs(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_packs(**window)

    @task
    def send_packs(window: dict):
        from review_pipeline import orchestration

        return orchestration.send_packs(**window)

    @task
    def summarise_delivery(window: dict):
        from review_pipeline import orchestration

        return orchestration.summarise_delivery(**window)

    window = derive_business_date()
    chain(
        wait_for_daily_build(window),
        build_weekly_reports(window),
        build_advice(window),
        build_packs(window),
        send_packs(window),
        summarise_delivery(window),
    )


review_weekly()
