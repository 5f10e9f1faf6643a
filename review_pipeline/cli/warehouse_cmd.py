"""``review-pipeline build`` and ``review-pipeline backfill``: the warehouse stage."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from review_pipeline.cli.app import console, out


def _parse_day(value: str, flag: str) -> date:
    from review_pipeline.errors import UserError

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"{flag} expects a date like 2026-03-31, got {value!r}") from exc


def build(
    business_date: Annotated[
        str, typer.Option("--date", "-d", help="Business date to build (YYYY-MM-DD).")
    ],
    full: Annotated[
        bool,
        typer.Option("--full", help="Reprocess every staging row, not only those loaded since."),
    ] = False,
) -> None:
    """Build the warehouse for one business day (dimensions, facts, the day's snapshot)."""
    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse.build import build_day

    day = _parse_day(business_date, "--date")
    summary = build_day(load_settings(), day, full=full)
    out.print(
        f"[green]warehouse built[/] for {day}: {summary['rows_written']} rows written, "
        f"{summary['duration_ms'] / 1000:.1f} s"
    )
    out.print_json(json.dumps(summary))


def backfill(
    start: Annotated[str, typer.Option("--start", help="First business date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last business date, inclusive.")],
    full: Annotated[
        bool,
        typer.Option("--full", help="Reprocess every staging row, not only those loaded since."),
    ] = False,
) -> None:
    """Build every business day from --start to --end (any order-independent range)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse.build import backfill as run_backfill

    first = _parse_day(start, "--start")
    last = _parse_day(end, "--end")
    with Progress(
        TextColumn("[bold]warehouse[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("dimensions and facts", total=(last - first).days + 1)

        def progress(done: int, total: int, day: date) -> None:
            bar.update(task, completed=done, total=total, description=str(day))

        summary = run_backfill(load_settings(), first, last, progress, full=full)
    out.print(
        f"[green]warehouse backfilled[/] {summary['days']} days ({first} to {last}): "
        f"{summary['rows_written']} rows written, {summary['duration_ms'] / 1000:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("backfill")(backfill)
