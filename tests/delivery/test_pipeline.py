"""The stage functions, the file transport (the embedded default) and the outbox CLI."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.delivery.conftest import WEEK, D, SmtpServer, base_summary, ledger, queue_pack

pytestmark = pytest.mark.integration


def emls(settings: Any) -> list[Path]:
    return sorted((settings.home / "outbox").rglob("*.eml"))


def parse(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_file_transport_writes_each_message_once(settings_factory: Any) -> None:
    import openpyxl

    from review_pipeline.delivery.pipeline import send_packs, summarise_delivery

    settings = settings_factory()  # transport "file" is the default
    assert settings.smtp.transport == "file"
    packs = [queue_pack(settings, m) for m in ("M1", "M2")]
    monthly = queue_pack(settings, "M1", period="2026-11", kind="monthly")
    other_week = queue_pack(settings, "M1", period="2026-W46")

    result = send_packs(settings, D)
    assert result["rows_in"] == 3 and result["rows_out"] == 3
    assert result["periods"] == [WEEK, "2026-11"]
    files = emls(settings)
    assert [f.relative_to(settings.home / "outbox").as_posix() for f in files] == [
        f"2026-11/M1-o{monthly.outbox_id}-r0.eml",
        f"{WEEK}/M1-o{packs[0].outbox_id}-r0.eml",
        f"{WEEK}/M2-o{packs[1].outbox_id}-r0.eml",
    ]
    assert not list((settings.home / "outbox").rglob(".tmp-*")), "no temporary files left"
    rows = ledger(settings)
    for pack, path in zip(packs, files[1:], strict=True):
        msg = parse(path)
        assert msg["Message-ID"] == rows[pack.outbox_id]["message_id"]
        [att] = list(msg.iter_attachments())
        assert att.get_content() == pack.data
        import io

        assert openpyxl.load_workbook(io.BytesIO(att.get_content()))["R1 预测"]["A2"].value
    assert rows[other_week.outbox_id]["status"] == "pending", "another week is not this run's"

    stamps = [f.stat().st_mtime_ns for f in files]
    again = send_packs(settings, D)
    assert again["rows_in"] == 0 and again["rows_out"] == 0
    assert [f.stat().st_mtime_ns for f in emls(settings)] == stamps

    summary = summarise_delivery(settings, D)  # the weekly judge: the week's rows only
    assert summary["rows_in"] == 2 and summary["rows_out"] == 2
    assert summary["periods"] == [WEEK]
    from review_pipeline.delivery.pipeline import summarise_monthly_delivery

    monthly_summary = summarise_monthly_delivery(settings, D)
    assert monthly_summary["periods"] == ["2026-11"] and monthly_summary["rows_out"] == 1


def test_dry_run_and_manager_scope(settings_factory: Any) -> None:
    from review_pipeline.delivery.pipeline import send_packs
    from review_pipeline.errors import UserError

    settings = settings_factory()
    one, two = queue_pack(settings, "M1"), queue_pack(settings, "M2")
    dry = send_packs(settings, D, dry_run=True)
    assert dry["due"] == 2 and dry["rows_out"] == 0
    assert not emls(settings)
    assert {r["status"] for r in ledger(settings).values()} == {"pending"}

    result = send_packs(settings, D, scope="manager:M2")
    assert result["rows_out"] == 1
    rows = ledger(settings)
    assert rows[one.outbox_id]["status"] == "pending" and rows[two.outbox_id]["status"] == "sent"
    with pytest.raises(UserError, match="manager:ID"):
        send_packs(settings, D, scope="region:EAST")


def test_skip_if_empty_and_superseded(settings_factory: Any) -> None:
    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery.pipeline import send_packs, summarise_delivery

    settings = settings_factory()
    empty = queue_pack(settings, "M1", summary=base_summary(empty=True, red_projects=[]))
    old = queue_pack(settings, "M2")
    with warehouse_engine(settings).begin() as conn:
        conn.execute(
            sa.text("update ops.pack set superseded_at = now() where pack_id = :p"),
            {"p": old.pack_id},
        )
    result = send_packs(settings, D)
    assert result["skipped"] == 2 and result["rows_out"] == 0
    rows = ledger(settings)
    assert "skip_empty" in rows[empty.outbox_id]["last_error"]
    assert "superseded" in rows[old.outbox_id]["last_error"]
    assert not emls(settings)
    assert summarise_delivery(settings, D)["status"]["skipped"] == 2  # nothing to alarm about

    sends_empty = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"skip_empty": False})}
    )
    again = queue_pack(sends_empty, "M3", summary=base_summary(empty=True))
    send_packs(sends_empty, D)
    assert ledger(settings)[again.outbox_id]["status"] == "sent"
    [path] = emls(settings)
    body = parse(path).get_body(preferencelist=("plain",))
    assert body is not None and "本期您的范围内没有数据" in body.get_content()


def test_send_packs_fails_the_task_while_rows_wait_for_a_retry(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.pipeline import (
        DeliveryIncomplete,
        send_packs,
        summarise_delivery,
    )

    settings = smtp_server.settings(settings_factory, retry_base_seconds=300)
    pack = queue_pack(settings, "M1")
    smtp_server.handler.mode = "rcpt451"
    with pytest.raises(DeliveryIncomplete, match="not accepted .* yet"):
        send_packs(settings, D)
    with pytest.raises(DeliveryIncomplete, match="still queued"):
        summarise_delivery(settings, D)
    assert ledger(settings)[pack.outbox_id]["status"] == "pending"


def test_summarise_fails_on_failed_rows_and_names_the_fix(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.pipeline import (
        DeliveryIncomplete,
        send_packs,
        summarise_delivery,
    )

    settings = smtp_server.settings(settings_factory)
    queue_pack(settings, "M1")
    queue_pack(settings, "M2", recipient="nobody@nowhere.example")
    smtp_server.handler.mode = "rcpt550"
    send_packs(settings, D, scope="manager:M2")
    smtp_server.handler.mode = "accept"
    send_packs(settings, D)
    with pytest.raises(DeliveryIncomplete) as caught:
        summarise_delivery(settings, D)
    text = str(caught.value)
    assert "1 of 2 pack deliveries" in text and "FAILED" in text and "550" in text
    assert "outbox resend --manager M2 --week 2026-W47" in text
    assert summarise_delivery(settings, D, dry_run=True)["status"]["failed"] == 1


def test_stage_runs_through_orchestration_and_is_recorded(settings_factory: Any) -> None:
    from review_pipeline.db import warehouse_engine
    from review_pipeline.orchestration import run_stage

    settings = settings_factory()
    queue_pack(settings, "M1")
    summary = run_stage("send_packs", D, settings=settings)
    assert summary["rows_out"] == 1 and summary["step"] == "send_packs"
    summary = run_stage("summarise_delivery", D, settings=settings)
    assert summary["rows_out"] == 1
    with warehouse_engine(settings).connect() as conn:
        recorded = conn.execute(
            sa.text(
                "select step, status, rows_out from ops.step_run"
                " where step in ('send_packs', 'summarise_delivery') order by run_id desc limit 2"
            )
        ).all()
    assert sorted(tuple(r) for r in recorded) == [
        ("send_packs", "success", 1),
        ("summarise_delivery", "success", 1),
    ]


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from review_pipeline.cli.app import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_outbox_cli_status_send_resend(
    settings_factory: Any,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    delivery_url: str,
) -> None:
    settings = smtp_server.settings(settings_factory)
    for key, value in {
        "REVIEW_WAREHOUSE_URL": delivery_url,
        "REVIEW_SMTP__TRANSPORT": "smtp",
        "REVIEW_SMTP__HOST": "127.0.0.1",
        "REVIEW_SMTP__PORT": str(smtp_server.port),
        "REVIEW_SMTP__WAIT_FOR_RETRIES_SECONDS": "0",
        "COLUMNS": "250",
    }.items():
        monkeypatch.setenv(key, value)
    pack = queue_pack(settings, "M1")

    code, text = _cli(["outbox", "--help"], capsys)
    assert code == 0 and "status" in text and "resend" in text

    smtp_server.handler.mode = "drop_after_data"
    code, text = _cli(["outbox", "send", "--week", WEEK], capsys)
    assert code == 5 and "1 unknown" in text

    code, text = _cli(["outbox", "status", "--week", WEEK, "--manager", "M1"], capsys)
    assert code == 0 and "unknown" in text and "MAY have arrived" in text

    smtp_server.handler.mode = "accept"
    code, text = _cli(
        ["outbox", "resend", "--manager", "M1", "--week", WEEK, "--reason", "did not arrive"],
        capsys,
    )
    assert code == 0, text
    assert "resend no. 1" in text and ": sent" in text
    assert len(smtp_server.handler.received) == 2
    rows = ledger(settings)
    assert [r["resend_no"] for r in rows.values()] == [0, 1]
    assert rows[pack.outbox_id]["status"] == "unknown"

    code, text = _cli(["outbox", "resend", "--manager", "M9", "--week", WEEK], capsys)
    assert code == 2 and "no weekly pack for manager 'M9'" in text
    code, text = _cli(["outbox", "status", "--week", "not-a-week"], capsys)
    assert code == 2 and "ISO week" in text

    from review_pipeline.db import warehouse_engine

    with warehouse_engine(settings).connect() as conn:
        audit = conn.execute(
            sa.text(
                "select details from ops.step_run where step = 'outbox_resend'"
                " and status = 'success' order by run_id desc limit 1"
            )
        ).scalar_one()
    assert audit["reason"] == "did not arrive" and audit["manager_id"] == "M1"


@pytest.mark.slow
def test_two_cli_senders_in_separate_processes_never_duplicate(
    settings_factory: Any, smtp_server: SmtpServer, delivery_url: str
) -> None:
    """Two `review-pipeline outbox send` processes at once (two workers, one outbox)."""
    import os
    import subprocess
    import sys
    from collections import Counter

    settings = smtp_server.settings(settings_factory)
    packs = [queue_pack(settings, f"M{i}") for i in range(10)]
    smtp_server.handler.delay = 0.5
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REVIEW_")},
        "REVIEW_HOME": str(settings.home),
        "REVIEW_WAREHOUSE_URL": delivery_url,
        "REVIEW_SMTP__TRANSPORT": "smtp",
        "REVIEW_SMTP__HOST": "127.0.0.1",
        "REVIEW_SMTP__PORT": str(smtp_server.port),
        "REVIEW_SMTP__BATCH_SIZE": "1",
        "REVIEW_SMTP__WAIT_FOR_RETRIES_SECONDS": "0",
    }
    command = [sys.executable, "-m", "review_pipeline", "outbox", "send", "--week", WEEK]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    copies = Counter(
        int(r.message["X-Review-Outbox"].split()[0]) for r in smtp_server.handler.received
    )
    assert copies == Counter({p.outbox_id: 1 for p in packs})
    rows = ledger(settings).values()
    assert {r["status"] for r in rows} == {"sent"}
    workers = Counter(r["claimed_by"].split(":")[1] for r in rows)  # host:pid:random
    assert len(workers) == 2, f"both processes should have sent some: {workers}"


def test_a_sunday_month_end_judges_each_period_in_its_own_run(settings_factory: Any) -> None:
    """2026-05-31 is a Sunday and a month end. While the monthly run is still queueing
    the month's packs, the weekly run's summary judges its week and passes; the
    monthly summary is the one that waits for the month."""
    from datetime import date

    from review_pipeline.delivery.pipeline import (
        DeliveryIncomplete,
        send_packs,
        summarise_delivery,
        summarise_monthly_delivery,
    )

    settings = settings_factory()
    sunday = date(2026, 5, 31)
    queue_pack(settings, "M1", period="2026-W22")
    send_packs(settings, sunday)
    queue_pack(settings, "M1", period="2026-05", kind="monthly")  # the monthly run, later
    assert summarise_delivery(settings, sunday)["status"]["sent"] == 1
    with pytest.raises(DeliveryIncomplete, match="2026-05"):
        summarise_monthly_delivery(settings, sunday)
    send_packs(settings, sunday)
    assert summarise_monthly_delivery(settings, sunday)["rows_out"] == 1
