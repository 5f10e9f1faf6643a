"""Sending through a real SMTP server (aiosmtpd on 127.0.0.1) with the real ledger.

Every test counts the copies the server received: the promise is at most one
copy per outbox row, and exactly one once the row says ``sent``.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from typing import Any

import pytest

from tests.delivery.conftest import (
    WEEK,
    SmtpServer,
    free_port,
    ledger,
    queue_pack,
)

pytestmark = pytest.mark.integration


def outbox_ids(server: SmtpServer) -> Counter[int]:
    """How many copies of each outbox row the server has received."""
    return Counter(int(r.message["X-Review-Outbox"].split()[0]) for r in server.handler.received)


def test_packs_arrive_once_and_rerun_sends_nothing(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    import openpyxl
    import pandas as pd

    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, sender="评审 <review@example.com>")
    packs = [
        queue_pack(
            settings, m, rows=[(f"{m} 销售 {i}", f"客户 {i}", float(i * 10)) for i in range(n)]
        )
        for m, n in (("M1", 3), ("M2", 1), ("M3", 5))
    ]
    report = send_due(settings)
    assert (report.claimed, report.sent, report.messages) == (3, 3, 3)
    assert outbox_ids(smtp_server) == Counter({p.outbox_id: 1 for p in packs})

    rows = ledger(settings)
    by_manager = {r.message["X-Review-Outbox"].split()[0]: r for r in smtp_server.handler.received}
    for pack in packs:
        row = rows[pack.outbox_id]
        assert row["status"] == "sent" and row["sent_at"] is not None and row["attempts"] == 1
        received = by_manager[str(pack.outbox_id)]
        assert received.mail_from == "review@example.com"
        assert received.rcpt_tos == [f"{pack.manager_id.lower()}@example.com"]
        msg = received.message
        assert msg["Message-ID"].strip() == row["message_id"]
        [att] = list(msg.iter_attachments())
        assert att.get_filename() == f"销售评审周报 {WEEK} 华东区 {pack.manager_id}.xlsx"
        data = att.get_content()
        assert data == pack.data
        ws = openpyxl.load_workbook(io.BytesIO(data))["R1 预测"]
        assert [tuple(c.value for c in r) for r in ws.iter_rows(min_row=2)] == pack.rows
        frame = pd.read_excel(io.BytesIO(data), sheet_name="R1 预测")
        assert frame.to_dict("records") == [
            {"负责人": a, "客户": b, "金额": c} for a, b, c in pack.rows
        ]

    again = send_due(settings)
    assert (again.claimed, again.messages) == (0, 0)
    assert len(smtp_server.handler.received) == 3


def test_drop_after_data_is_unknown_never_retried_and_resend_fixes_it(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox
    from review_pipeline.delivery.pipeline import DeliveryIncomplete, summarise_delivery
    from review_pipeline.delivery.sender import send_due
    from tests.delivery.conftest import D

    settings = smtp_server.settings(settings_factory)
    pack = queue_pack(settings, "M1")
    smtp_server.handler.mode = "drop_after_data"
    report = send_due(settings)
    assert report.unknown == 1 and report.sent == 0
    assert len(smtp_server.handler.received) == 1  # the server has it
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "unknown"
    assert "transmitted but no reply" in row["last_error"]
    assert "outbox resend --manager M1 --week 2026-W47" in row["last_error"]

    smtp_server.handler.mode = "accept"
    send_due(settings)
    send_due(settings)
    assert len(smtp_server.handler.received) == 1, "an unknown row is never re-sent by itself"
    with pytest.raises(DeliveryIncomplete, match=r"UNKNOWN \(may have arrived\)"):
        summarise_delivery(settings, D)

    queued = outbox.queue_resend(warehouse_engine(settings), "M1", outbox.parse_period(WEEK))
    assert queued["resend_no"] == 1
    send_due(settings)
    assert len(smtp_server.handler.received) == 2
    rows = ledger(settings)
    assert rows[queued["outbox_id"]]["status"] == "sent"
    assert rows[pack.outbox_id]["status"] == "unknown"  # history kept
    result = summarise_delivery(settings, D)
    assert result["rows_out"] == 1 and result["status"]["unknown"] == 1


def test_451_before_data_backs_off_then_sends_once(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, retry_base_seconds=60)
    pack = queue_pack(settings, "M1")
    smtp_server.handler.mode = "rcpt451"
    report = send_due(settings)
    assert report.retrying == 1 and not smtp_server.handler.received
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "451" in row["last_error"] and "RCPT TO" in row["last_error"]
    assert (row["next_attempt_at"] - row["claimed_at"]).total_seconds() >= 59

    smtp_server.handler.mode = "accept"
    assert send_due(settings).claimed == 0, "not due before its back-off ends"
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine

    with warehouse_engine(settings).begin() as conn:  # time passes
        conn.execute(sa.text("update ops.outbox set next_attempt_at = now() - interval '1 s'"))
    assert send_due(settings).sent == 1
    assert outbox_ids(smtp_server) == Counter({pack.outbox_id: 1})
    assert ledger(settings)[pack.outbox_id]["attempts"] == 2


def test_451_after_data_and_in_run_retry(settings_factory: Any, smtp_server: SmtpServer) -> None:
    """A 4xx to the data is 'not accepted': retried within the run's wait budget."""
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(
        settings_factory, retry_base_seconds=0.2, wait_for_retries_seconds=10
    )
    pack = queue_pack(settings, "M1")
    smtp_server.handler.fail_data_calls = {1}
    started = time.monotonic()
    report = send_due(settings)
    assert report.sent == 1 and report.claimed == 1
    assert time.monotonic() - started >= 0.2
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "sent" and row["attempts"] == 2
    assert len(smtp_server.handler.received) == 1  # the refused copy was not kept


def test_550_fails_for_good(settings_factory: Any, smtp_server: SmtpServer) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory)
    pack = queue_pack(settings, "M1")
    smtp_server.handler.mode = "rcpt550"
    assert send_due(settings).failed == 1
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "failed" and "550" in row["last_error"]
    smtp_server.handler.mode = "accept"
    assert send_due(settings).claimed == 0
    assert not smtp_server.handler.received


def test_attempts_run_out(settings_factory: Any, smtp_server: SmtpServer) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(
        settings_factory, max_attempts=3, retry_base_seconds=0.05, wait_for_retries_seconds=10
    )
    pack = queue_pack(settings, "M1")
    smtp_server.handler.mode = "data451"
    assert send_due(settings).failed == 1
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "failed" and row["attempts"] == 3
    assert row["last_error"].startswith("gave up after 3 attempts")


def test_connection_refused_and_timeout_are_retried_later(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.sender import send_due

    nobody = settings_factory(transport="smtp", host="127.0.0.1", port=free_port())
    pack = queue_pack(nobody, "M1")
    assert send_due(nobody).retrying == 1
    row = ledger(nobody)[pack.outbox_id]
    assert row["status"] == "pending" and "cannot connect" in row["last_error"]

    slow = smtp_server.settings(settings_factory, timeout_seconds=0.5)
    smtp_server.handler.mode, smtp_server.handler.delay = "stall_rcpt", 2.0
    assert send_due(slow).retrying == 1
    row = ledger(slow)[pack.outbox_id]
    assert row["status"] == "pending" and row["attempts"] == 2
    assert not smtp_server.handler.received


def test_two_senders_at_once_never_send_a_row_twice(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, batch_size=1)
    packs = [queue_pack(settings, f"M{i}") for i in range(10)]
    smtp_server.handler.delay = 0.05
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            reports.append(send_due(settings, worker=name))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"sender-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert outbox_ids(smtp_server) == Counter({p.outbox_id: 1 for p in packs})
    assert sum(r.sent for r in reports) == 10
    rows = ledger(settings).values()
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["claimed_by"] for r in rows} == {"sender-0", "sender-1"}, "both senders worked"


def test_stale_claim_of_a_dead_sender_becomes_unknown(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, claim_timeout_seconds=60)
    dead, fresh, waiting = (queue_pack(settings, m) for m in ("M1", "M2", "M3"))
    with warehouse_engine(settings).begin() as conn:
        conn.execute(
            sa.text(
                "update ops.outbox set status = 'sending', claimed_by = 'host:1:dead',"
                " claimed_at = now() - make_interval(secs => :age) where outbox_id = :id"
            ),
            [{"id": dead.outbox_id, "age": 600}, {"id": fresh.outbox_id, "age": 5}],
        )
    report = send_due(settings)
    assert report.reaped == 1 and report.sent == 1
    rows = ledger(settings)
    assert rows[dead.outbox_id]["status"] == "unknown"
    assert "host:1:dead" in rows[dead.outbox_id]["last_error"]
    assert rows[fresh.outbox_id]["status"] == "sending"  # its sender may still be at work
    assert rows[waiting.outbox_id]["status"] == "sent"
    assert outbox_ids(smtp_server) == Counter({waiting.outbox_id: 1})


def test_split_pack_resumes_after_the_parts_already_accepted(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, max_attachment_bytes=25_000)
    pack = queue_pack(settings, "M1", filler_bytes=120_000)
    smtp_server.handler.fail_data_calls = {2}
    first = send_due(settings)
    assert first.retrying == 1 and first.messages == 1
    row = ledger(settings)[pack.outbox_id]
    assert row["status"] == "pending" and len(row["message_id"].split()) == 1
    second = send_due(settings)
    assert second.sent == 1
    row = ledger(settings)[pack.outbox_id]
    ids = row["message_id"].split()
    parts = [r.message for r in smtp_server.handler.received]
    count = len(parts)
    assert count >= 3 and len(ids) == count
    assert [m["Message-ID"].strip() for m in parts] == ids
    assert sorted(m["Subject"][-5:] for m in parts) == sorted(
        f"({i}/{count})" for i in range(1, count + 1)
    )
    volumes = [list(m.iter_attachments())[0].get_content() for m in parts]
    import zipfile

    with zipfile.ZipFile(io.BytesIO(b"".join(volumes))) as archive:
        assert archive.read(archive.namelist()[0]) == pack.data


def _self_signed(tmp_path: Any) -> tuple[Any, Any]:
    """A certificate for 127.0.0.1 and its key, made with cryptography."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_login_and_no_password_in_logs(
    security: str,
    settings_factory: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from review_pipeline.delivery.sender import send_due
    from tests.delivery.conftest import Handler

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = auth_data.login == b"reviewer" and auth_data.password == b"s3cret-Pa55"
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd replies 535 itself

    handler = Handler()
    port = free_port()
    # aiosmtpd 1.4 counts only STARTTLS as TLS: on an implicit-TLS port it hides AUTH
    # unless auth_require_tls is off (the connection is encrypted all the same)
    extra: dict[str, Any] = (
        {"tls_context": server_ctx, "require_starttls": True, "auth_require_tls": True}
        if security == "starttls"
        else {"ssl_context": server_ctx, "auth_require_tls": False}
    )
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_required=True, **extra,
    )  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        settings = settings_factory(
            transport="smtp", host="127.0.0.1", port=port, security=security,
            user="reviewer", password="s3cret-Pa55",
        )  # fmt: skip
        pack = queue_pack(settings, "M1")
        caplog.set_level(logging.DEBUG)
        report = send_due(settings)
        assert report.sent == 1, ledger(settings)[pack.outbox_id]["last_error"]
        assert logins == [("reviewer", "s3cret-Pa55")]
        assert len(handler.received) == 1
        assert "s3cret-Pa55" not in caplog.text
        assert f"127.0.0.1:{port}" in caplog.text and "1 recipient(s)" in caplog.text

        wrong = settings_factory(
            transport="smtp", host="127.0.0.1", port=port, security=security,
            user="reviewer", password="wrong-one",
        )  # fmt: skip
        other = queue_pack(wrong, "M2")
        assert send_due(wrong).failed == 1
        error = ledger(wrong)[other.outbox_id]["last_error"]
        assert "login as 'reviewer' refused" in error and "wrong-one" not in error
    finally:
        controller.stop()


def test_untrusted_certificate_is_a_clear_failure(settings_factory: Any, tmp_path: Any) -> None:
    import ssl

    from aiosmtpd.controller import Controller

    from review_pipeline.delivery.sender import send_due
    from tests.delivery.conftest import Handler

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    controller.start()
    try:
        settings = settings_factory(transport="smtp", host="127.0.0.1", port=port,
                                    security="starttls")  # fmt: skip
        pack = queue_pack(settings, "M1")
        assert send_due(settings).failed == 1
        assert "TLS certificate not trusted" in ledger(settings)[pack.outbox_id]["last_error"]
    finally:
        controller.stop()


def test_timeout_waiting_for_the_final_reply_is_unknown(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, timeout_seconds=0.5)
    pack = queue_pack(settings, "M1")
    smtp_server.handler.delay = 2.0  # handle_DATA answers after the client gave up
    assert send_due(settings).unknown == 1
    assert ledger(settings)[pack.outbox_id]["status"] == "unknown"
    smtp_server.handler.delay = 0
    assert send_due(settings).claimed == 0
    # aiosmtpd dropped it when the client hung up; the client could not know that
    assert len(smtp_server.handler.received) == 0


def test_interrupted_sender_gives_back_the_rows_it_never_tried(settings_factory: Any) -> None:
    """Ctrl-C during the second message: the first is sent, the second may be (it stays
    'sending' for the reaper), the rest go back to pending untouched."""
    from review_pipeline.delivery.sender import send_due
    from review_pipeline.delivery.transport import FileTransport

    settings = settings_factory()
    packs = [queue_pack(settings, f"M{i}") for i in range(4)]

    class Interrupted(FileTransport):
        calls = 0

        def send(self, msg: Any, recipients: list[str], *, period: str, stem: str) -> str:
            Interrupted.calls += 1
            if Interrupted.calls == 2:
                raise KeyboardInterrupt
            return super().send(msg, recipients, period=period, stem=stem)

    with pytest.raises(KeyboardInterrupt):
        send_due(settings, transport=Interrupted(settings))
    rows = ledger(settings)
    states = [(rows[p.outbox_id]["status"], rows[p.outbox_id]["attempts"]) for p in packs]
    assert states == [("sent", 1), ("sending", 1), ("pending", 0), ("pending", 0)]
    report = send_due(settings)
    assert report.sent == 2
    assert ledger(settings)[packs[1].outbox_id]["status"] == "sending"


def test_a_row_whose_claim_was_judged_dead_is_not_sent_late(settings_factory: Any) -> None:
    """Rows wait in a claimed batch; each claim is renewed just before its send. A row a
    reaper marked unknown meanwhile (and an operator may have resent) is left alone."""
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox
    from review_pipeline.delivery.sender import send_due
    from review_pipeline.delivery.transport import FileTransport

    settings = settings_factory(batch_size=5)
    first, second = queue_pack(settings, "M1"), queue_pack(settings, "M2")
    engine = warehouse_engine(settings)

    class SlowFirst(FileTransport):
        def send(self, msg: Any, recipients: list[str], *, period: str, stem: str) -> str:
            if "M1" in stem:  # meanwhile another sender's reaper judges M2's claim dead
                with engine.begin() as conn:
                    conn.execute(
                        sa.text(
                            "update ops.outbox set claimed_at = now() - interval '1 hour'"
                            " where outbox_id = :id"
                        ),
                        {"id": second.outbox_id},
                    )
                assert [r["outbox_id"] for r in outbox.reap_stale(engine, 60)] == [second.outbox_id]
            return super().send(msg, recipients, period=period, stem=stem)

    report = send_due(settings, transport=SlowFirst(settings))
    assert report.sent == 1 and report.unknown == 1
    rows = ledger(settings)
    assert rows[first.outbox_id]["status"] == "sent"
    assert rows[second.outbox_id]["status"] == "unknown"
    assert "never finished" in rows[second.outbox_id]["last_error"]
    assert [p.name for p in (settings.home / "outbox").rglob("*.eml")] == [
        f"M1-o{first.outbox_id}-r0.eml"
    ]


def test_a_split_that_changed_between_attempts_is_not_resumed(
    settings_factory: Any, smtp_server: SmtpServer
) -> None:
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery.sender import send_due

    settings = smtp_server.settings(settings_factory, max_attachment_bytes=25_000)
    pack = queue_pack(settings, "M1", filler_bytes=120_000)
    smtp_server.handler.fail_data_calls = {2}
    assert send_due(settings).retrying == 1
    delivered = len(smtp_server.handler.received)
    assert delivered == 1
    bigger = smtp_server.settings(settings_factory, max_attachment_bytes=40_000)
    with warehouse_engine(bigger).begin() as conn:
        conn.execute(sa.text("update ops.outbox set next_attempt_at = now()"))
    assert send_due(bigger).unknown == 1
    row = ledger(bigger)[pack.outbox_id]
    assert row["status"] == "unknown" and "now splits into" in row["last_error"]
    assert len(smtp_server.handler.received) == delivered, "no mismatched volume went out"
