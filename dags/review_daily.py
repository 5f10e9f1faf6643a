"""
### review_daily: yesterday's data, from the sources to the daily marts

Runs at **02:00 Asia/Shanghai** and processes the **business date** = the
Shanghai calendar day before the run (a manual run may name it with the
`date` param, `YYYY-MM-DD`).

`derive_business_date` -> `prepare_warehouse` (migrations) ->
`extract_sources` -> `run_checks` (checks, gates, quarantine) ->
`build_warehouse` -> `build_daily_marts`, which emits the
`review_daily_marts` Asset.

Each task calls one function of `review_pipeline.orchestration` (the CLI
calls the same ones) and records itself in `ops.step_run`. Tasks writing the
warehouse share the `review_warehouse` pool. A failed task e-mails the
address in the Variable `review_alert_email` (or env `REVIEW_ALERT_EMAIL`)
through the `review_smtp` connection.

Params for manual runs: `date` (business date), `scope` (`all`, a business
unit or a source), `dry_run` (check and report, write nothing).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, chain, dag, get_current_context, task
from review_pipeline.assets import DAILY_MARTS, WAREHOUSE_POOL, default_task_args


@dag(
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=6),
    doc_md=__doc__,
    tags=["review", "daily"],
    default_args=default_task_args(),
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Business date YYYY-MM-DD; empty = the Shanghai day before the run.",
        ),
        "scope": Param("all", type="string", description="all, a business unit or a source."),
        "dry_run": Param(False, type="boolean", description="Check and report; write nothing."),
    },
)
def review_daily():
    @task(execution_timeout=pendulum.duration(minutes=5))
    def derive_business_date():
        from review_pipeline.orchestration import run_window

        context = get_current_context()
        return run_window(
            context["dag_run"].run_after, context.get("logical_date"), context["params"]
        )

    @task(pool=WAREHOUSE_POOL, execution_timeout=pendulum.duration(minutes=15))
    def prepare_warehouse(window: dict):
        from review_pipeline import orchestration

        return orchestration.prepare_warehouse(**window)

    @task
    def extract_sources(window: dict):
        from review_pipeline import orchestration

        return orchestration.extract_sources(**window)

    @task
    def run_checks(window: dict):
        from review_pipeline import orchestration

        return orchestration.run_checks(**window)

    @task(pool=WAREHOUSE_POOL, execution_timeout=pendulum.duration(hours=2))
    def build_warehouse(window: dict):
        from review_pipeline import orchestration

        return orchestration.build_warehouse(**window)

    @task(pool=WAREHOUSE_POOL, outlets=[DAILY_MARTS])
    def build_daily_marts(window: dict):
        from review_pipeline import orchestration

        summary = orchestration.build_daily_marts(**window)
        get_current_context()["outlet_events"][DAILY_MARTS].extra = {
            "business_date": window["business_date"],
            "skipped": bool(summary.get("skipped", False)),
        }
        return summary

    window = derive_business_date()
    chain(
        prepare_warehouse(window),
        extract_sources(window),
        run_checks(window),
        build_warehouse(window),
        build_daily_marts(window),
    )


review_daily()
