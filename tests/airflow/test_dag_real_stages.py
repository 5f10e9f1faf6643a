"""The real pipeline through Airflow: ``dag.test()`` with the real stages on the small profile.

No stand-ins here. A small-profile simulated world (CRM database and finance files)
is caught up in bulk to the Thursday, as an operator's CLI backfill would
(:func:`review_pipeline.demo.catch_up_history`); then ``review_daily`` runs
for Friday, Saturday and Sunday, the simulator moving the sources on one day
before each run, and ``review_weekly`` runs for the Sunday. The packs go by
email to a real SMTP server (aiosmtpd on 127.0.0.1) named by the Airflow
connection ``review_smtp``; the warehouse and the CRM are reached through
the connections ``review_warehouse`` and ``review_crm``, as in production.

Every message is checked against the ledger: one per accepted Message-ID
in ``ops.outbox``, to the pack's recipients, carrying exactly the workbook
recorded in ``ops.pack``; a second weekly run sends nothing again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from _testenv import load_dag, step_runs, task_states  # loaded by conftest.py

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SUNDAY = date(2026, 11, 22)
LIVE_DAYS = [SUNDAY - timedelta(days=n) for n in (2, 1, 0)]  # Friday, Saturday, Sunday
HISTORY_END = LIVE_DAYS[0] - timedelta(days=1)
PROFILE, SEED = "small", 7
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DAILY_STEPS = [
    "prepare_warehouse",
    "extract_sources",
    "run_checks",
    "build_warehouse",
    "build_daily_marts",
]
WEEKLY_STEPS = [
    "build_weekly_reports",
    "build_advice",
    "build_packs",
    "send_packs",
    "summarise_delivery",
]


def _conn_json(url: str) -> str:
    from _testenv import airflow_conn_json

    return airflow_conn_json(url)


@pytest.fixture(scope="module")
def world(make_database, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A small-profile world caught up to the Thursday; the environment the DAG tasks read."""
    from review_pipeline.db import normalise_url
    from review_pipeline.demo import catch_up_history
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator.profiles import get_profile
    from review_pipeline.simulator.world import WorldParams, generate

    home = tmp_path_factory.mktemp("rp-real-dag-home")
    wh_url, crm_url = make_database("realwh"), make_database("realcrm")
    settings = load_settings(home=home, warehouse_url=wh_url, crm_url=crm_url)
    engine = sa.create_engine(normalise_url(wh_url), poolclass=sa.pool.NullPool)
    upgrade(engine)
    start = SUNDAY - timedelta(days=get_profile(PROFILE).default_days - 1)
    generate(settings, WorldParams(PROFILE, SEED, start), (HISTORY_END - start).days + 1)
    history = catch_up_history(settings, start, HISTORY_END)
    assert [s["step"] for s in history] == ["extract_sources", "run_checks", "build_warehouse"]
    yield {"settings": settings, "engine": engine, "home": home, "wh": wh_url, "crm": crm_url}
    engine.dispose()


@pytest.fixture
def task_env(world, smtp_server, monkeypatch) -> dict[str, Any]:
    """What the tasks see: REVIEW_HOME and three Airflow connections, nothing else of ours."""
    controller, handler = smtp_server
    for key in list(os.environ):
        if key.startswith("REVIEW_") and key != "REVIEW_TEST_PG_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("REVIEW_HOME", str(world["home"]))
    monkeypatch.setenv("AIRFLOW_CONN_REVIEW_WAREHOUSE", _conn_json(world["wh"]))
    monkeypatch.setenv("AIRFLOW_CONN_REVIEW_CRM", _conn_json(world["crm"]))
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
                    "from_email": "review@pipeline.invalid",
                },
            }
        ),
    )
    return {**world, "smtp": handler}


def test_daily_runs_then_the_weekly_run_deliver_the_packs_by_email(airflow_db, task_env):
    import pendulum

    from review_pipeline.simulator.world import extend, world_state

    env = task_env
    engine: sa.Engine = env["engine"]
    settings = env["settings"]
    daily = load_dag("review_daily")

    for day in LIVE_DAYS:
        # the CRM and the finance export move on by one day, then the 02:00 run picks it up
        as_of = world_state(settings)[1]  # type: ignore[index]
        if as_of < day:
            extend(settings, (day - as_of).days)
        nxt = day + timedelta(days=1)
        run = daily.test(
            logical_date=pendulum.datetime(nxt.year, nxt.month, nxt.day, 2, tz="Asia/Shanghai")
        )
        states = task_states("review_daily", run.run_id)
        assert run.state == "success", states
        assert set(states.values()) == {"success"}, states
        # one record per task, plus the records of the steps inside them (check, gates, ...)
        rows = {r.step: r for r in step_runs(engine, run.run_id)}
        assert set(DAILY_STEPS) <= set(rows), sorted(rows)
        assert {r.business_date for r in rows.values()} == {day}
        assert all(r.status == "success" and not r.details.get("skipped") for r in rows.values())
        # a real increment was read, checked and built
        assert rows["extract_sources"].rows_in > 0, rows["extract_sources"].details
        assert rows["run_checks"].rows_in > 0
        assert rows["run_checks"].details["gates"]
        assert rows["build_daily_marts"].rows_out > 0

    monday = SUNDAY + timedelta(days=1)
    weekly = load_dag("review_weekly").test(
        logical_date=pendulum.datetime(monday.year, monday.month, monday.day, 7, tz="Asia/Shanghai")
    )
    states = task_states("review_weekly", weekly.run_id)
    assert weekly.state == "success", states
    assert set(states.values()) == {"success"}, states
    rows = [r for r in step_runs(engine, weekly.run_id) if r.step in WEEKLY_STEPS]
    assert [r.step for r in rows] == WEEKLY_STEPS
    assert {r.business_date for r in rows} == {SUNDAY}
    by_step = {r.step: r for r in rows}
    assert by_step["build_weekly_reports"].rows_out > 0
    # every weekly stage really ran (none skipped as "not installed")
    assert not [r.step for r in rows if r.details.get("skipped")], rows
    assert by_step["send_packs"].rows_out > 0, by_step["send_packs"].details

    messages = list(env["smtp"].messages)
    _assert_packs_delivered(engine, messages, "weekly", SUNDAY)

    # the weekly run again (a retry, a re-run by hand): the same packs, no second email
    again = load_dag("review_weekly").test(
        logical_date=pendulum.datetime(monday.year, monday.month, monday.day, 7, tz="Asia/Shanghai")
    )
    assert again.state == "success", task_states("review_weekly", again.run_id)
    assert len(env["smtp"].messages) == len(messages)


def test_monthly_run_closes_the_month_and_emails_the_monthly_packs(airflow_db, task_env):
    """review_monthly on the 1st: month close, advice, monthly packs, sent to the SMTP server."""
    import pendulum

    from review_pipeline import orchestration

    env = task_env
    engine: sa.Engine = env["engine"]
    month_end = date(2026, 10, 31)  # inside the backfilled history
    # the gate wants the month end's daily build: built here through the CLI's path
    orchestration.build_daily_marts(month_end, settings=env["settings"])

    run = load_dag("review_monthly").test(
        logical_date=pendulum.datetime(2026, 11, 1, 6, tz="Asia/Shanghai")
    )
    states = task_states("review_monthly", run.run_id)
    assert run.state == "success", states
    assert set(states.values()) == {"success"}, states
    steps = [
        "close_month",
        "build_advice",
        "build_monthly_packs",
        "send_packs",
        "summarise_monthly_delivery",
    ]
    rows = [r for r in step_runs(engine, run.run_id) if r.step in steps]
    assert [r.step for r in rows] == steps
    assert {r.business_date for r in rows} == {month_end}
    assert not [r.step for r in rows if r.details.get("skipped")], rows
    _assert_packs_delivered(engine, list(env["smtp"].messages), "monthly", month_end)


def _assert_packs_delivered(
    engine: sa.Engine, messages: list[Any], kind: str, review_date: date
) -> None:
    """Every pack of the kind and date went out once, to its manager, with its workbook."""
    with engine.connect() as conn:
        packs = {
            r.pack_id: r
            for r in conn.execute(
                sa.text(
                    "select pack_id, manager_id, recipient, sha256, file_name from ops.pack"
                    " where kind = :k and review_date = :d and superseded_at is null"
                ),
                {"k": kind, "d": review_date},
            )
        }
        outbox = conn.execute(
            sa.text(
                "select pack_id, recipient, status, message_id, attempts from ops.outbox"
                " where kind = :k and pack_id = any(:ids)"
            ),
            {"k": kind, "ids": list(packs)},
        ).all()
    assert packs, f"the {kind} run built no pack"
    sent = [o for o in outbox if o.status == "sent"]
    assert sent, [(o.status, o.recipient) for o in outbox]
    # summarise_delivery fails the run on anything else; a pack without an address is skipped
    assert {o.status for o in outbox} <= {"sent", "skipped"}, outbox
    # a large pack may go in parts: one Message-ID per accepted part
    expected_ids = {mid: o for o in sent for mid in o.message_id.split()}
    assert len(messages) == len(expected_ids)

    from review_pipeline.delivery.message import recipients_of

    for sender, rcpts, content in messages:
        msg = message_from_bytes(content, policy=policy.default)
        assert sender == "review@pipeline.invalid"
        row = expected_ids[str(msg["Message-ID"]).strip()]
        pack = packs[row.pack_id]
        assert sorted(rcpts) == sorted(recipients_of(row.recipient))
        assert msg["Subject"]
        attachments = [
            part.get_content() for part in msg.iter_attachments() if part.get_content_type() == XLSX
        ]
        assert len(attachments) == 1, msg
        if len(row.message_id.split()) == 1:
            # the attachment is exactly the workbook the pack recorded
            assert hashlib.sha256(attachments[0]).hexdigest() == pack.sha256
