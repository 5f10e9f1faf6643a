"""``review-pipeline report``: build the review reports and read them for a scope.

review-pipeline report list
review-pipeline report build --date D [--cadence daily|weekly|monthly] [--dry-run]
review-pipeline report NAME --date D [--bu INFO|SOFT]
    [--scope region:NAME|team:ID|person:ID|manager:ID] [--format table|csv|json]
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from review_pipeline.cli.app import out

_FORMATS = ("table", "csv", "json")


def _date(value: str | None, flag: str) -> date:
    from review_pipeline.errors import UserError

    if not value:
        raise UserError(f"{flag} is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"{flag} must be YYYY-MM-DD, got {value!r}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cell(column: str, value: Any, language: str) -> str:
    from review_pipeline.reports.labels import is_ratio, value_label

    if value is None:
        return "-"
    if is_ratio(column) and isinstance(value, Decimal):
        return f"{value * 100:.1f} %"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(value_label(column, str(v), language) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return value_label(column, str(value), language)


def _list_reports(language: str) -> None:
    from rich.table import Table

    from review_pipeline.reports.catalog import REPORTS
    from review_pipeline.reports.labels import title

    table = Table(title="review reports")
    for heading in ("name", "no.", "title", "table", "builds"):
        table.add_column(heading)
    for r in REPORTS:
        table.add_row(
            r.name, r.number, title(r.name, language), f"mart.{r.table}", ", ".join(r.cadences)
        )
    out.print(table)


def _build(settings: Any, day: date, cadence: str, dry_run: bool) -> None:
    from review_pipeline.errors import UserError
    from review_pipeline.reports.pipeline import build_cadence

    if cadence not in ("daily", "weekly", "monthly"):
        raise UserError(f"--cadence must be daily, weekly or monthly, got {cadence!r}")
    result = build_cadence(settings, day, cadence, dry_run=dry_run)  # type: ignore[arg-type]
    for table_name, count in result["tables"].items():
        out.print(
            f"  mart.{table_name:<32} {count:>8} rows  {result['milliseconds'][table_name]:>6} ms"
        )
    out.print(
        f"[bold]{cadence} reports for {day}[/]: {result['rows_out']} rows"
        + (" (dry run, rolled back)" if dry_run else "")
    )


def _show(
    rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, heading: str, language: str
) -> None:
    from review_pipeline.reports.labels import column_label

    if fmt == "json":
        out.print_json(json.dumps(rows, default=_json_default, ensure_ascii=False))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        fields = list(rows[0]) if rows else list(columns)
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _json_default(v) if v is not None else "" for k, v in row.items()})
        out.file.write(buffer.getvalue())
        return
    from rich.table import Table

    table = Table(title=heading)
    shown = [c for c in columns if not rows or c in rows[0]]
    for column in shown:
        numeric = column.endswith(("_cny", "_ratio", "_pts")) or column in ("rank", "open_leads")
        table.add_column(column_label(column, language), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(c, row.get(c), language) for c in shown))
    out.print(table)
    out.print(f"{len(rows)} rows")


def report(
    name: Annotated[
        str, typer.Argument(help="A report name (see `report list`), `list` or `build`.")
    ],
    day: Annotated[str | None, typer.Option("--date", help="Review date (YYYY-MM-DD).")] = None,
    bu: Annotated[str | None, typer.Option("--bu", help="Business unit: INFO or SOFT.")] = None,
    scope: Annotated[
        str,
        typer.Option(
            "--scope", help="company (default), region:NAME, team:ID, person:ID or manager:ID."
        ),
    ] = "company",
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    top: Annotated[
        int | None, typer.Option("--top", help="TOP list length (default settings.reports.top_n).")
    ] = None,
    cadence: Annotated[
        str, typer.Option("--cadence", help="For `build`: daily, weekly or monthly.")
    ] = "weekly",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="For `build`: build, count and roll back.")
    ] = False,
) -> None:
    """Build the review reports, or print one report for a review date and scope."""
    from review_pipeline.errors import UserError
    from review_pipeline.reports.catalog import get_report
    from review_pipeline.reports.labels import title
    from review_pipeline.reports.scope import Scope, report_rows
    from review_pipeline.settings import load_settings

    settings = load_settings()
    language = settings.language
    if name == "list":
        _list_reports(language)
        return
    review_date = _date(day, "--date")
    if name == "build":
        _build(settings, review_date, cadence, dry_run)
        return
    if fmt not in _FORMATS:
        raise UserError(f"--format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    if bu is not None and bu not in ("INFO", "SOFT"):
        raise UserError(f"--bu must be INFO or SOFT, got {bu!r}")
    try:
        chosen = get_report(name)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from exc
    parsed = Scope.parse(scope)
    if not parsed.is_valid:
        raise UserError(
            f"--scope {scope!r} is not company, region:NAME, team:ID, person:ID or manager:ID"
        )
    rows = report_rows(settings, chosen, review_date, bu=bu, scope=parsed, top_n=top)
    heading = f"{chosen.number} {title(chosen.name, language)} · {review_date} · {parsed}"
    if bu:
        heading += f" · {bu}"
    _show(rows, chosen.display, fmt, heading, language)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
