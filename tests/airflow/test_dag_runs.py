"""Whole DAGs through ``dag.test()`` against a real warehouse database.

The tasks reach the warehouse through the Airflow connection
``review_warehouse`` (``AIRFLOW_CONN_REVIEW_WAREHOUSE``), as in production;
every stage is a stand-in (``REVIEW_STAGES``, see ``rp_stand_in_stages.py``):
these tests are about the orchestration, the stages have their own.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
from _testenv import load_dag, step_runs, task_states  # loaded by conftest.py

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


STEPS_DAILY = [
    "prepare_warehouse",
    "extract_sources",
    "run_checks",
    "build_warehouse",
    "build_daily_marts",
]


@pytest.fixture(scope="module")
def warehouse_url(make_database) -> str:
    """One warehouse database for the module (each test looks at its own runs' rows)."""
    return make_database("dagwh")


@pytest.fixture
def warehouse_conn(warehouse_url, review_home, monkeypatch):
    """The warehouse, reachable from the tasks through the Airflow connection (see warehouse_env)."""
    import rp_stand_in_stages
    from _testenv import warehouse_env

    from review_pipeline.db import normalise_url

    for key, value in warehouse_env(warehouse_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REVIEW_STAGES", rp_stand_in_stages.stages_env())
    engine = sa.create_engine(normalise_url(warehouse_url), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_review_daily_end_to_end(airflow_db, warehouse_conn):
    dag = load_dag("review_daily")
    # 02:00 Shanghai on the 27th processes the 26th
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 27, 2, tz="Asia/Shanghai"))

    assert run.state == "success"
    states = task_states("review_daily", run.run_id)
    assert set(states) == {t.task_id for t in dag.tasks}
    assert set(states.values()) == {"success"}, states

    rows = step_runs(warehouse_conn, run.run_id)
    assert [r.step for r in rows] == STEPS_DAILY
    assert all(r.status == "success" for r in rows)
    assert {r.business_date for r in rows} == {date(2026, 11, 26)}
    assert rows[0].details["revision"]
    assert all(r.details.get("stand_in") for r in rows[1:])


def test_review_daily_date_param_wins_and_dry_run_migrates_nothing(airflow_db, warehouse_conn):
    from review_pipeline.migrations.runner import current_revision, upgrade

    _, revision = upgrade(warehouse_conn)
    dag = load_dag("review_daily")
    run = dag.test(
        logical_date=pendulum.datetime(2026, 11, 27, 2, tz="Asia/Shanghai"),
        run_conf={"date": "2026-10-08", "scope": "INFO", "dry_run": True},
    )
    assert run.state == "success"
    assert set(task_states("review_daily", run.run_id).values()) == {"success"}
    assert current_revision(warehouse_conn) == revision
    rows = step_runs(warehouse_conn, run.run_id)
    # prepare_warehouse records nothing in a dry run; each stage records its dry run
    assert [r.step for r in rows] == STEPS_DAILY[1:]
    assert {r.business_date for r in rows} == {date(2026, 10, 8)}
    assert all(r.details["dry_run"] and r.details["scope"] == "INFO" for r in rows)


@pytest.mark.parametrize(
    ("dag_id", "daily_at", "run_at", "business_date", "steps"),
    [
        # the daily run of Monday 02:00 builds Sunday; the weekly run at 07:00 reports on it
        (
            "review_weekly",
            pendulum.datetime(2026, 11, 23, 2, tz="Asia/Shanghai"),
            pendulum.datetime(2026, 11, 23, 7, tz="Asia/Shanghai"),
            date(2026, 11, 22),
            [
                "build_weekly_reports",
                "build_advice",
                "build_packs",
                "send_packs",
                "summarise_delivery",
            ],
        ),
        # the daily run of the 1st builds the month's last day; the month close follows
        (
            "review_monthly",
            pendulum.datetime(2026, 11, 1, 2, tz="Asia/Shanghai"),
            pendulum.datetime(2026, 11, 1, 6, tz="Asia/Shanghai"),
            date(2026, 10, 31),
            [
                "close_month",
                "build_advice",
                "build_monthly_packs",
                "send_packs",
                "summarise_monthly_delivery",
            ],
        ),
    ],
)
def test_gated_dags_run_after_the_daily_build(
    airflow_db, warehouse_conn, dag_id, daily_at, run_at, business_date, steps
):
    daily = load_dag("review_daily").test(logical_date=daily_at)
    assert daily.state == "success"

    dag = load_dag(dag_id)
    run = dag.test(logical_date=run_at)
    assert run.state == "success"
    states = task_states(dag_id, run.run_id)
    assert set(states) == {t.task_id for t in dag.tasks}
    assert set(states.values()) == {"success"}, states
    rows = step_runs(warehouse_conn, run.run_id)
    assert [r.step for r in rows] == steps
    assert {r.business_date for r in rows} == {business_date}


FAILING_DAG = '''
"""Test-only DAG: one task that fails once, with the project's failure e-mail."""
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


def _email_data_team(context):
    from review_pipeline.orchestration import notify_task_failure

    notify_task_failure(context)


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def rp_failing():
    @task(retries=0, on_failure_callback=[_email_data_team])
    def load_nothing():
        raise RuntimeError("warehouse unreachable")

    load_nothing()


rp_failing()
'''


def test_failed_task_emails_the_data_team(airflow_db, smtp_server, tmp_path, monkeypatch):
    import json

    controller, handler = smtp_server
    monkeypatch.setenv(
        "AIRFLOW_CONN_REVIEW_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": controller.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "airflow@review.invalid",
                    "retry_limit": 0,
                },
            }
        ),
    )
    # read when the task fails, not when the DAG is parsed
    monkeypatch.setenv("AIRFLOW_VAR_REVIEW_ALERT_EMAIL", "data-team@review.invalid")
    (tmp_path / "rp_failing.py").write_text(textwrap.dedent(FAILING_DAG))
    # dag.test() serialises DAGs from the configured bundles: add one for tmp_path
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps(
            [
                {"name": "dags-folder", "classpath": local, "kwargs": {}},
                {"name": "rp-test-failing", "classpath": local, "kwargs": {"path": str(tmp_path)}},
            ]
        ),
    )
    run = load_dag("rp_failing", tmp_path).test()

    assert run.state == "failed"
    assert len(handler.messages) == 1
    sender, recipients, content = handler.messages[0]
    assert sender == "airflow@review.invalid"
    assert recipients == ["data-team@review.invalid"]
    text = content.decode("utf-8", "replace")
    assert "rp_failing.load_nothing failed" in text
