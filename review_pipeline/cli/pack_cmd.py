"""``review-pipeline pack``: build, preview and list the managers' review packs.

review-pipeline pack build --date D [--manager M] [--monthly] [--dry-run]
review-pipeline pack preview --manager M (--week 2026-W47 | --month 2026-11) [--out DIR]
review-pipeline pack list [--week 2026-W47 | --month 2026-11] [--manager M]
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from review_pipeline.cli.app import out

pack_app = typer.Typer(
    help="Per-manager review workbooks: build them, preview one, list what was built.",
    no_args_is_help=True,
)


def _date(value: str, flag: str) -> date:
    from review_pipeline.errors import UserError

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"{flag} must be YYYY-MM-DD, got {value!r}") from exc


@pack_app.command("build")
def build(
    day: Annotated[
        str, typer.Option("--date", "-d", help="Review date: the Sunday, or the month end.")
    ],
    manager: Annotated[
        str | None, typer.Option("--manager", "-m", help="Only this manager (employee id).")
    ] = None,
    monthly: Annotated[
        bool, typer.Option("--monthly", help="The month-end pack instead of the weekly one.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build into a scratch folder; record nothing.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", min=1, help="Processes writing workbooks (one snapshot, same packs)."
        ),
    ] = 1,
) -> None:
    """Build the packs of the week (or month) of --date and queue them for sending."""
    from review_pipeline.packs.pipeline import build_period
    from review_pipeline.settings import load_settings

    review_date = _date(day, "--date")
    result = build_period(
        load_settings(),
        "monthly" if monthly else "weekly",
        review_date,
        manager_id=manager,
        dry_run=dry_run,
        workers=workers,
    )
    for pack in result.packs:
        state = "new" if pack["new"] else ("dry run" if dry_run else "unchanged")
        out.print(
            f"  {pack['manager_id']:<12} {pack['rows']:>8} rows  {state:<9} {pack['display_name']}"
            + _capped_note(pack["summary"])
        )
    for manager_id, reason in sorted(result.skipped.items()):
        out.print(f"  [yellow]{manager_id:<12} skipped[/]: {reason}")
    summary = result.as_dict()
    largest = max((pack.get("bytes", 0) for pack in result.packs), default=0)
    out.print(
        f"[bold]{result.kind} packs {result.period}[/]: {summary['packs_built']} built "
        f"({summary['packs_new']} new, {summary['packs_unchanged']} unchanged), "
        f"{len(result.skipped)} skipped, {result.rows_in:,} rows, {result.seconds:.1f} s"
        + (f", largest {_size(largest)}" if largest else "")
        + (" (dry run, nothing recorded)" if dry_run else "")
    )


def _size(count: int) -> str:
    """``1.6 MB`` / ``45 KB``."""
    return f"{count / 1e6:.1f} MB" if count >= 1_000_000 else f"{max(1, round(count / 1e3))} KB"


def _capped_note(summary: dict[str, Any]) -> str:
    """`` · capped: R6 5,000/83,412`` for the sheets that show only their most important rows."""
    capped = [
        f"{name.split()[0]} {record['shown']:,}/{record['total']:,}"
        for name, record in (summary.get("sheets") or {}).items()
        if record.get("capped")
    ]
    return f"  [dim]capped: {', '.join(capped)}[/]" if capped else ""


@pack_app.command("preview")
def preview(
    manager: Annotated[str, typer.Option("--manager", "-m", help="The manager (employee id).")],
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week, e.g. 2026-W47 (review date: its Sunday)."),
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Month, e.g. 2026-11 (the month-end pack).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the files (default $REVIEW_HOME/out/preview)."),
    ] = None,
) -> None:
    """Write one manager's workbook and e-mail body locally; nothing is recorded or sent."""
    from review_pipeline.errors import UserError
    from review_pipeline.packs import naming
    from review_pipeline.packs.pipeline import preview_pack
    from review_pipeline.settings import load_settings

    if (week is None) == (month is None):
        raise UserError("give exactly one of --week 2026-W47 or --month 2026-11")
    settings = load_settings()
    if week is not None:
        kind, review_date = "weekly", naming.week_end(week)
    else:
        kind, review_date = "monthly", naming.month_end(str(month))
    folder = out_dir or settings.output_dir / "preview"
    result = preview_pack(settings, manager, kind, review_date, folder)
    out.print(f"workbook  {result.workbook}")
    out.print(f"          (sent as {result.display_name})")
    if result.html is not None:
        out.print(f"html body {result.html}")
    if result.text is not None:
        out.print(f"text body {result.text}")
    if result.note:
        out.print(f"[yellow]{result.note}[/]")


@pack_app.command("list")
def list_packs(
    week: Annotated[str | None, typer.Option("--week", help="ISO week, e.g. 2026-W47.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="Month, e.g. 2026-11.")] = None,
    manager: Annotated[
        str | None, typer.Option("--manager", "-m", help="Only this manager.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many packs.")] = 200,
) -> None:
    """List built packs (newest period first) with their delivery status, and the skips."""
    import sqlalchemy as sa
    from rich.table import Table

    from review_pipeline.db import warehouse_engine
    from review_pipeline.errors import UserError
    from review_pipeline.settings import load_settings

    if week is not None and month is not None:
        raise UserError("give at most one of --week and --month")
    period = week or month
    params = {"period": period, "manager": manager, "limit": limit}
    engine = warehouse_engine(load_settings())
    with engine.connect() as conn:
        packs = conn.execute(
            sa.text(
                "select p.pack_id, p.kind, p.period, p.manager_id, p.manager_name, p.display_name,"
                " p.file_name, p.bytes, p.built_at, p.superseded_at,"
                " (select string_agg(o.status || case when o.resend_no > 0"
                "   then ' #' || o.resend_no else '' end, ', ' order by o.resend_no)"
                "  from ops.outbox as o where o.pack_id = p.pack_id) as delivery"
                " from ops.pack as p"
                " where (cast(:period as text) is null or p.period = :period)"
                " and (cast(:manager as text) is null or p.manager_id = :manager)"
                " order by p.period desc, p.kind, p.manager_id, p.built_at desc limit :limit"
            ),
            params,
        ).all()
        skips = conn.execute(
            sa.text(
                "select kind, period, manager_id, reason from ops.pack_skip"
                " where (cast(:period as text) is null or period = :period)"
                " and (cast(:manager as text) is null or manager_id = :manager)"
                " order by period desc, kind, manager_id limit :limit"
            ),
            params,
        ).all()
    table = Table(title="review packs")
    for heading in ("id", "kind", "period", "manager", "display name", "KB", "built", "delivery"):
        table.add_column(heading)
    for p in packs:
        current = "" if p.superseded_at is None else " (superseded)"
        table.add_row(
            str(p.pack_id),
            p.kind,
            p.period,
            f"{p.manager_id} {p.manager_name or ''}",
            p.display_name + current,
            f"{p.bytes / 1024:,.0f}",
            f"{p.built_at:%Y-%m-%d %H:%M}",
            p.delivery or "-",
        )
    out.print(table)
    for s in skips:
        out.print(f"[yellow]skipped[/] {s.kind} {s.period} {s.manager_id}: {s.reason}")
    out.print(f"{len(packs)} packs, {len(skips)} skipped managers")


def register(app: typer.Typer) -> None:
    app.add_typer(pack_app, name="pack")
