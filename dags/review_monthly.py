"""
### review_monthly: month close, plan accuracy and the monthly packs

Runs on the **1st at 06:00 Asia/Shanghai** for the **business date** = the
last day of the month before (a manual run may name a date with the `date`
param; the month of that date is closed).

`derive_business_date` -> `wait_for_daily_build` (the last day's daily build
must exist in `ops.step_run`) -> `close_month` (final figures, plan accuracy
and volatility; emits `review_month_close`) -> `build_advice` (coaching
advice as of the month end) -> `build_monthly_packs` -> `send_packs` ->
`summarise_delivery` (judges the month's ledger rows; the weekly DAG judges
only its week, so a Sunday month end does not race the month's sending).

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
from review_pipeline.assets import MONTH_CLOSE, WAREHOUSE_POOL, default_task_args


@dag(
    schedule=CronTriggerTimetable("0 6 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=12),
    doc_md=__doc__,
    tags=["review", "monthly"],
    default_args=default_task_args(),
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="A day of the month to close, YYYY-MM-DD; empty = the day before the run.",
        ),
        "scope": Param("all", type="string", description="all, a business unit or a region."),
        "dry_run": Param(False, type="boolean", description="Build and report; send nothing."),
    },
)
def review_monthly():
    @task(execution_timeout=pendulum.duration(minutes=5))
    def derive_business_date():
        from review_pipeline.orchestration import run_window

        context = get_current_context()
        return run_window(
            context["dag_run"].run_after, context.get("logical_date"), context["params"]
        )

    @task.sensor(
        poke_interval=600,
        timeout=6 * 3600,
        mode="reschedule",
        soft_fail=True,
        retries=0,
        execution_timeout=None,
    )
    def wait_for_daily_build(window: dict):
        from review_pipeline.orchestration import daily_build_exists

        return PokeReturnValue(is_done=daily_build_exists(window["business_date"]))

    @task(pool=WAREHOUSE_POOL, outlets=[MONTH_CLOSE], execution_timeout=pendulum.duration(hours=2))
    def close_month(window: dict):
        from review_pipeline import orchestration

        return orchestration.close_month(**window)

    @task(pool=WAREHOUSE_POOL, execution_timeout=pendulum.duration(hours=1))
    def build_advice(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_advice(**window)

    @task(execution_timeout=pendulum.duration(hours=2))
    def build_monthly_packs(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_monthly_packs(**window)

    @task
    def send_packs(window: dict):
        from review_pipeline import orchestration

        return orchestration.send_packs(**window)

    @task
    def summarise_delivery(window: dict):
        from review_pipeline import orchestration

        return orchestration.summarise_monthly_delivery(**window)

    window = derive_business_date()
    chain(
        wait_for_daily_build(window),
        close_month(window),
        build_advice(window),
        build_monthly_packs(window),
        send_packs(window),
        summarise_delivery(window),
    )


review_monthly()
