"""The sender: claim due outbox rows, send each message once, record what happened.

Safe to run twice at once (rows are claimed with ``for update skip locked``)
and safe to run again after it stopped (a sent row is never claimed again; a
row whose sender died becomes ``unknown``, see :func:`outbox.reap_stale`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from review_pipeline.delivery import outbox
from review_pipeline.delivery.message import PackUnavailable, build_message, recipients_of
from review_pipeline.delivery.transport import (
    NotAccepted,
    OutcomeUnknown,
    Refused,
    Transport,
    make_transport,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from review_pipeline.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What one sender run did."""

    transport: str
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    messages: int = 0
    reaped: int = 0
    message_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The counts as a JSON-able dict (the stage's details)."""
        return {
            "transport": self.transport,
            "claimed": self.claimed,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "unknown": self.unknown,
            "skipped": self.skipped,
            "messages": self.messages,
            "reaped": self.reaped,
        }


def worker_name() -> str:
    """``host:pid:random`` - who holds a claim, shown by ``outbox status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _retry(
    settings: Settings, engine: Engine, row: Mapping[str, Any], worker: str, error: str
) -> str:
    smtp = settings.smtp
    delay = outbox.backoff_seconds(
        int(row["attempts"]), smtp.retry_base_seconds, smtp.retry_max_seconds
    )
    status = outbox.record_retry(
        engine, row["outbox_id"], worker, error, attempts=int(row["attempts"]),
        max_attempts=smtp.max_attempts, delay_seconds=delay,
    )  # fmt: skip
    if status == "pending":
        log.warning("outbox %s (%s %s): not accepted, retry in %.0f s: %s",
                    row["outbox_id"], row["manager_id"], row["period"], delay, error)  # fmt: skip
    else:
        log.error("outbox %s (%s %s): failed after %s attempts: %s",
                  row["outbox_id"], row["manager_id"], row["period"], row["attempts"], error)  # fmt: skip
    return status


def _nothing_to_send(
    settings: Settings, engine: Engine, row: Mapping[str, Any], worker: str
) -> str | None:
    """Record and return the outcome of a row that must not be sent; None when it should be."""
    oid = row["outbox_id"]
    raw_summary = row.get("summary")
    summary: Mapping[str, Any] = raw_summary if isinstance(raw_summary, Mapping) else {}
    if row.get("superseded_at") is not None:
        outbox.record_outcome(engine, oid, worker, "skipped", "superseded by a newer pack")
        return "skipped"
    if settings.smtp.skip_empty and summary.get("empty"):
        outbox.record_outcome(engine, oid, worker, "skipped", "empty pack (smtp.skip_empty is on)")
        return "skipped"
    if not recipients_of(row.get("recipient")):
        outbox.record_outcome(
            engine, oid, worker, "failed", f"no e-mail address for manager {row['manager_id']}"
        )
        return "failed"
    return None


def deliver_row(
    settings: Settings,
    engine: Engine,
    transport: Transport,
    row: Mapping[str, Any],
    worker: str,
    report: SendReport,
) -> str:
    """Send one claimed row's message(s) and record the outcome; returns the row's new status."""
    oid = row["outbox_id"]
    settled = _nothing_to_send(settings, engine, row, worker)
    if settled is not None:
        return settled
    recipients = recipients_of(row.get("recipient"))
    try:
        messages = build_message(settings, row, recipient=", ".join(recipients))
    except PackUnavailable as exc:
        outbox.record_outcome(engine, oid, worker, "failed", str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - nothing was sent: a retry is safe
        return _retry(settings, engine, row, worker, f"building the message: {exc!r}")
    accepted = (row.get("message_id") or "").split()  # parts accepted on an earlier attempt
    done = len(accepted)
    if accepted and f"of{len(messages)}@" not in accepted[0]:
        # the split changed since those parts went out (smtp.max_attachment_bytes changed):
        # the remaining volumes would not fit the ones delivered
        outbox.record_outcome(
            engine, oid, worker, "unknown",
            f"{done} part(s) were delivered ({' '.join(accepted)}) but the pack now splits "
            f"into {len(messages)}; resend the whole pack with `review-pipeline outbox resend "
            f"--manager {row['manager_id']} --week {row['period']}`",
        )  # fmt: skip
        return "unknown"
    for index, msg in enumerate(messages):
        if index < done:
            continue
        stem = f"{row['manager_id']}-o{oid}-r{row['resend_no']}"
        if len(messages) > 1:
            stem += f"-p{index + 1}of{len(messages)}"
        if not outbox.touch_claim(engine, oid, worker):
            log.error("outbox %s: the claim was taken away (judged dead) before sending; "
                      "not sent by this run", oid)  # fmt: skip
            return "unknown"
        try:
            transport.send(msg, recipients, period=str(row["period"]), stem=stem)
        except NotAccepted as exc:
            return _retry(settings, engine, row, worker, str(exc))
        except Refused as exc:
            outbox.record_outcome(engine, oid, worker, "failed", str(exc))
            log.error("outbox %s (%s %s): refused: %s", oid, row["manager_id"], row["period"], exc)
            return "failed"
        except OutcomeUnknown as exc:
            outbox.record_outcome(
                engine, oid, worker, "unknown",
                f"{exc}; Message-ID {msg['Message-ID']}; not retried automatically: check with "
                f"the recipient, then `review-pipeline outbox resend --manager {row['manager_id']}"
                f" --week {row['period']}` if it did not arrive",
            )  # fmt: skip
            log.error("outbox %s: outcome unknown (%s)", oid, exc)
            return "unknown"
        except Exception as exc:  # noqa: BLE001 - an unexpected error mid-send: maybe sent
            outbox.record_outcome(
                engine, oid, worker, "unknown", f"unexpected error while sending: {exc!r}"
            )
            log.exception("outbox %s: unexpected error while sending", oid)
            return "unknown"
        final = index == len(messages) - 1
        outbox.record_accepted(engine, oid, worker, str(msg["Message-ID"]), final=final)
        report.messages += 1
        report.message_ids.append(str(msg["Message-ID"]))
        log.info(
            "outbox %s (%s %s) part %d/%d accepted by %s for %d recipient(s), Message-ID %s",
            oid, row["manager_id"], row["period"], index + 1, len(messages),
            transport.describe(), len(recipients), msg["Message-ID"],
        )  # fmt: skip
    return "sent"


def _release(engine: Engine, worker: str, ids: list[int]) -> None:
    try:
        outbox.release_unattempted(engine, worker, ids)
    except Exception:  # noqa: BLE001 - already failing; the reaper is the fallback
        log.exception("could not give back %d claimed rows", len(ids))


def send_due(
    settings: Settings,
    *,
    periods: list[str] | None = None,
    manager: str | None = None,
    wait_for_retries: float | None = None,
    worker: str | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """Send every due outbox row (of ``periods`` / ``manager`` when given).

    Rows not accepted go back to ``pending`` with back-off; retries falling
    due within ``wait_for_retries`` seconds (default
    ``settings.smtp.wait_for_retries_seconds``) are waited for and sent in
    this run, later ones are left for the next run.
    """
    from review_pipeline.db import warehouse_engine

    engine = warehouse_engine(settings)
    worker = worker or worker_name()
    budget = (
        settings.smtp.wait_for_retries_seconds if wait_for_retries is None else wait_for_retries
    )
    deadline = time.monotonic() + budget
    own_transport = transport is None
    transport = transport or make_transport(settings)
    report = SendReport(transport=transport.describe())
    for row in outbox.reap_stale(engine, settings.smtp.claim_timeout_seconds):
        report.reaped += 1
        log.error("outbox %s (%s %s): claimed by %s, never finished; marked unknown",
                  row["outbox_id"], row["manager_id"], row["period"], row["claimed_by"])  # fmt: skip
    log.info("sending due packs via %s as %s", transport.describe(), worker)
    outcomes: dict[int, str] = {}
    try:
        while True:
            # past the wait budget, rows this run already tried wait for the next run
            tried = [] if time.monotonic() < deadline else list(outcomes)
            rows = outbox.claim_due(
                engine, worker, periods=periods, manager=manager,
                batch=settings.smtp.batch_size, exclude=tried,
            )  # fmt: skip
            if not rows:
                wait = outbox.seconds_to_next_retry(engine, periods=periods, manager=manager)
                if wait is None or time.monotonic() + wait >= deadline:
                    break
                time.sleep(min(max(wait, 0.05), max(0.05, deadline - time.monotonic())))
                continue
            for index, row in enumerate(rows):
                try:
                    outcomes[int(row["outbox_id"])] = deliver_row(
                        settings, engine, transport, row, worker, report
                    )
                except BaseException:
                    # this row stays 'sending' (it may have gone out; the reaper marks it
                    # unknown); the rows after it were never tried: give them back
                    _release(engine, worker, [int(r["outbox_id"]) for r in rows[index + 1 :]])
                    raise
    finally:
        if own_transport:
            transport.close()
    # a row retried and then sent in this run counts once, by where it ended
    report.claimed = len(outcomes)
    for status in outcomes.values():
        name = "retrying" if status == "pending" else status
        setattr(report, name, getattr(report, name) + 1)
    log.info("delivery via %s: %s", report.transport, report.as_dict())
    return report
