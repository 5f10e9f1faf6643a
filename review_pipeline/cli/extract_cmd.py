"""``review-pipeline extract`` and ``review-pipeline sources``: the extraction stage."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from review_pipeline.cli.app import console, out

sources_app = typer.Typer(
    help="The configured sources and their mapping files.", no_args_is_help=True
)


def _parse_day(value: str) -> date:
    from review_pipeline.errors import UserError

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"--date expects a date like 2026-03-31, got {value!r}") from exc


def extract(
    business_date: Annotated[str, typer.Option("--date", "-d", help="Business date (YYYY-MM-DD).")],
    source: Annotated[
        str | None,
        typer.Option("--source", "-s", help="Only this source (default: every configured one)."),
    ] = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Compare the keys with the source today (hard deletes) for every entity with"
            " delete_detection full_compare, whatever the mapping's every_days / on_weekdays say.",
        ),
    ] = False,
) -> None:
    """Extract every configured source incrementally into raw and staging for one business date."""
    from rich.table import Table

    from review_pipeline.settings import load_settings
    from review_pipeline.sources.pipeline import extract_all

    day = _parse_day(business_date)
    with console.status("extracting...") as status:
        summary = extract_all(
            load_settings(),
            day,
            source=source,
            progress=lambda s: status.update(f"extracting {s}..."),
            reconcile=reconcile,
        )
    table = Table(title=f"Extraction for {day}")
    for col in ("source", "kind", "batches", "rows read", "staged", "quarantined", "deleted"):
        table.add_column(col, justify="right" if col not in ("source", "kind") else "left")
    for name, s in summary["sources"].items():
        table.add_row(
            name,
            s["kind"],
            str(s.get("batches", 0)),
            f"{s.get('rows_in', 0):,}",
            f"{s.get('rows_staged', 0):,}",
            f"{s.get('rows_quarantined', 0):,}",
            f"{s.get('rows_deleted', 0):,}",
        )
    out.print(table)


@sources_app.command("list")
def list_sources() -> None:
    """List the configured sources, where each mapping comes from and what it maps."""
    from rich.table import Table

    from review_pipeline.settings import load_settings
    from review_pipeline.sources.pipeline import configured_mappings, user_mapping_dir

    settings = load_settings()
    table = Table(title="Configured sources")
    for col in ("source", "kind", "mapping file", "entities"):
        table.add_column(col)
    for m in configured_mappings(settings):
        own = (user_mapping_dir(settings) / f"{m.source}.yaml").is_file()
        table.add_row(
            m.source, m.kind, f"{m.path}{' (yours)' if own else ''}", ", ".join(m.entities)
        )
    out.print(table)


@sources_app.command("check")
def check_sources(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Validate the mapping files and reach every source; exit 1 when anything is wrong."""
    from review_pipeline.settings import load_settings
    from review_pipeline.sources.check import check_source

    settings = load_settings()
    from review_pipeline.sources.pipeline import configured_mappings

    reports = [check_source(settings, m) for m in configured_mappings(settings, source)]
    failed = False
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in reports], ensure_ascii=False))
    for r in reports:
        failed |= not r.ok
        if as_json:
            continue
        mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
        out.print(f"{r.source} ({r.kind}) {mark}")
        for line in r.lines:
            out.print(f"  {line}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
    app.add_typer(sources_app, name="sources")
