"""``review-pipeline demo`` on the tiny profile: the real DAGs run through Airflow, twice.

The first run simulates, backfills the history by the CLI path and hands the
last days and the weekly review to Airflow (``dag.test()`` in a child process
on its own SQLite metadata DB under REVIEW_HOME); the packs are written and
e-mailed as ``.eml`` files. The second run finds everything recorded and
starts no Airflow at all.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import date
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_the_dags_writes_packs_and_emails_and_a_second_run_only_reports(
    make_database, review_home, monkeypatch
):
    from review_pipeline.db import normalise_url
    from review_pipeline.demo import DEMO_REVIEW_DATE, run_demo
    from review_pipeline.settings import load_settings

    # dag.test() earlier in this process leaves its run's AIRFLOW_CTX_* behind, and
    # ops.record_step would credit the demo's own backfill steps to that run
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CTX_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", make_database("demowh"))
    monkeypatch.setenv("REVIEW_CRM_URL", make_database("democrm"))
    # the demo writes .eml files whatever the shell says
    monkeypatch.setenv("REVIEW_SMTP__TRANSPORT", "smtp")
    settings = load_settings()
    said: list[str] = []

    first = run_demo(settings, profile="tiny", seed=5, live_days=2, say=said.append)

    assert [(r["dag_id"], r["business_date"], r["state"]) for r in first.airflow_runs] == [
        ("review_daily", "2026-11-21", "success"),
        ("review_daily", "2026-11-22", "success"),
        ("review_weekly", "2026-11-22", "success"),
    ]
    assert first.history == (date(2026, 10, 24), date(2026, 11, 20))
    assert [s["step"] for s in first.steps] == ["extract_sources", "run_checks", "build_warehouse"]
    assert any("Airflow: review_weekly" in m for m in said)

    engine = sa.create_engine(normalise_url(str(settings.warehouse_url.get_secret_value())))
    with engine.connect() as conn:
        packs = (
            conn.execute(
                sa.text("select path from ops.pack where kind = 'weekly' and review_date = :d"),
                {"d": DEMO_REVIEW_DATE},
            )
            .scalars()
            .all()
        )
        sent = conn.execute(
            sa.text("select count(*) from ops.outbox where kind = 'weekly' and status = 'sent'")
        ).scalar_one()
        runs = conn.execute(
            sa.text(
                "select count(distinct airflow_run_id) from ops.step_run"
                " where airflow_run_id is not null"
            )
        ).scalar_one()
    engine.dispose()
    assert packs and sent == len(packs)
    assert runs == 3  # every task of the three runs recorded its Airflow run id
    emails = sorted((review_home / "outbox").rglob("*.eml"))
    assert len(emails) == sent
    message = message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert message["To"] and any(
        p.get_filename() and p.get_filename().endswith(".xlsx") for p in message.iter_attachments()
    )
    assert first.counts["emails (.eml)"] == len(emails)
    assert first.counts["pack workbooks"] == len(packs)
    assert str(review_home / "outbox") in first.paths["outbox (.eml)"]
    assert str(review_home / "packs") in first.paths["packs (.xlsx)"]
    assert first.paths["Data Docs"].startswith("file://")
    cfg = review_home / "airflow" / "airflow.cfg"
    assert cfg.stat().st_mode & 0o077 == 0  # it holds the API secrets
    assert any("api-server" in line for line in first.airflow_ui)
    with sqlite3.connect(review_home / "airflow" / "airflow.db") as meta:
        pools = dict(meta.execute("select pool, slots from slot_pool").fetchall())
    assert pools.get("review_warehouse") == 1

    started = time.monotonic()
    second = run_demo(settings, profile="tiny", seed=5, live_days=2, say=said.append)
    assert second.airflow_runs == [] and second.steps == []
    assert time.monotonic() - started < 20
    assert sorted((review_home / "outbox").rglob("*.eml")) == emails
