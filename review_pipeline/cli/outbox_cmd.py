"""``review-pipeline outbox``: the pack delivery ledger.

review-pipeline outbox status [--week 2026-W47] [--manager M]
review-pipeline outbox send   [--week 2026-W47] [--manager M]
review-pipeline outbox resend --manager M --week 2026-W47 [--reason TEXT]
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from review_pipeline.cli.app import out

outbox_app = typer.Typer(
    help="Pack e-mails: what was sent, send what is due, resend on purpose.",
    no_args_is_help=True,
)

_WEEK_HELP = "A period: ISO week 2026-W47, month 2026-11 (monthly packs), or a date (its week)."

_EXPLAIN = {
    "pending": "waiting to be sent (after a back-off when the server did not accept it)",
    "sending": "claimed by a sender right now (or one that stopped: it turns 'unknown' after "
    "smtp.claim_timeout_seconds)",
    "sent": "accepted by the server (Message-ID recorded)",
    "failed": "refused for good or out of attempts: fix the cause (address, server), then "
    "`outbox resend`",
    "unknown": "the message was transmitted but the server never confirmed it (connection "
    "dropped, or the sender stopped mid-send): it MAY have arrived, so it is never re-sent "
    "automatically. Ask the recipient; if it did not arrive, `outbox resend` sends it once more",
    "skipped": "nothing to send (empty pack with smtp.skip_empty, or superseded by a newer pack)",
}


def _period_list(week: str | None) -> list[str] | None:
    from review_pipeline.delivery.outbox import parse_period

    return [parse_period(week).text] if week else None


def _fmt_time(value: Any) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value is not None else "-"


@outbox_app.command("status")
def status(
    week: Annotated[str | None, typer.Option("--week", "-w", help=_WEEK_HELP)] = None,
    manager: Annotated[str | None, typer.Option("--manager", "-m", help="A manager id.")] = None,
) -> None:
    """Show the outbox rows (every period, or one week / manager) and explain their status."""
    from rich.table import Table

    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox
    from review_pipeline.settings import load_settings

    settings = load_settings()
    engine = warehouse_engine(settings)
    rows = outbox.status_rows(engine, periods=_period_list(week), manager=manager)
    if not rows:
        out.print("no outbox rows" + (f" for {week}" if week else "") +
                  (f", manager {manager}" if manager else ""))  # fmt: skip
        return
    table = Table(title=f"ops.outbox (times in {settings.timezone})")
    for heading in ("id", "period", "manager", "recipient", "status", "tries", "next try",
                    "sent at", "resend", "message id / last error"):  # fmt: skip
        table.add_column(heading, overflow="fold")
    colours = {"sent": "green", "failed": "red", "unknown": "bold red", "pending": "yellow"}
    for r in rows:
        colour = colours.get(r["status"], "white")
        note = r["message_id"] or ""
        if r["last_error"]:
            note = (note + " " if note else "") + r["last_error"]
        if r["status"] in ("failed", "unknown") and r["resolved_by_later"]:
            note += " (resolved: a later row was sent)"
        table.add_row(
            str(r["outbox_id"]), f"{r['period']}", f"{r['manager_id']}", r["recipient"] or "-",
            f"[{colour}]{r['status']}[/]", str(r["attempts"]),
            _fmt_time(r["next_attempt_at"]) if r["status"] == "pending" else "-",
            _fmt_time(r["sent_at"]), str(r["resend_no"]), note,
        )  # fmt: skip
    out.print(table)
    counts = outbox.status_counts(rows)
    out.print(", ".join(f"{k} {v}" for k, v in counts.items() if v))
    for name in ("failed", "unknown", "pending", "sending"):
        if counts.get(name):
            out.print(f"[bold]{name}[/]: {_EXPLAIN[name]}")


@outbox_app.command("send")
def send(
    week: Annotated[str | None, typer.Option("--week", "-w", help=_WEEK_HELP)] = None,
    manager: Annotated[str | None, typer.Option("--manager", "-m", help="A manager id.")] = None,
    wait: Annotated[
        float | None,
        typer.Option("--wait", help="Seconds to wait for retries falling due (default: setting)."),
    ] = None,
) -> None:
    """Send every due pack e-mail now (each once; safe to run again or in parallel)."""
    from review_pipeline.delivery.sender import send_due
    from review_pipeline.settings import load_settings

    report = send_due(
        load_settings(), periods=_period_list(week), manager=manager, wait_for_retries=wait
    )
    out.print(
        f"[bold]{report.transport}[/]: {report.claimed} claimed, [green]{report.sent} sent[/] "
        f"({report.messages} messages), {report.retrying} waiting for a retry, "
        f"{report.failed} failed, {report.unknown} unknown, {report.skipped} skipped"
        + (f", {report.reaped} stale claims marked unknown" if report.reaped else "")
    )
    if report.failed or report.unknown or report.retrying:
        out.print("see `review-pipeline outbox status` for the reasons")
        raise typer.Exit(5)


@outbox_app.command("resend")
def resend(
    manager: Annotated[str, typer.Option("--manager", "-m", help="The manager id.")],
    week: Annotated[str, typer.Option("--week", "-w", help=_WEEK_HELP)],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in ops.step_run for the audit).")
    ] = None,
    queue_only: Annotated[
        bool, typer.Option("--queue-only", help="Queue the resend; let the next send send it.")
    ] = False,
) -> None:
    """Deliberately send a manager's latest pack of a period again (a new ledger row)."""
    from review_pipeline.db import warehouse_engine
    from review_pipeline.delivery import outbox
    from review_pipeline.delivery.sender import send_due
    from review_pipeline.ops import record_step
    from review_pipeline.settings import load_settings

    settings = load_settings()
    period = outbox.parse_period(week)
    engine = warehouse_engine(settings)
    with record_step(engine, "outbox_resend") as run:
        row = outbox.queue_resend(engine, manager, period)
        run.details.update({**row, "reason": reason or ""})
        run.rows_in = 1
    out.print(
        f"queued outbox {row['outbox_id']}: {period.kind} pack {period.text} for {manager} "
        f"<{row['recipient'] or '-'}>, resend no. {row['resend_no']}"
    )
    if queue_only:
        return
    report = send_due(settings, periods=[period.text], manager=manager, wait_for_retries=0)
    rows = outbox.status_rows(engine, periods=[period.text], manager=manager)
    mine = next(r for r in rows if r["outbox_id"] == row["outbox_id"])
    out.print(f"outbox {mine['outbox_id']}: {mine['status']}  {mine['message_id'] or ''}"
              f"{mine['last_error'] or ''}  (via {report.transport})")  # fmt: skip
    if mine["status"] != "sent":
        raise typer.Exit(5)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
