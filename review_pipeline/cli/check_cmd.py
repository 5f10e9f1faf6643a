"""``review-pipeline check`` and ``review-pipeline dq``: rules, reports, accuracy."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from review_pipeline.cli.app import out

dq_app = typer.Typer(
    help="Data-quality results: findings report and rule accuracy.", no_args_is_help=True
)


def _date(value: str, flag: str) -> date:
    from review_pipeline.errors import UserError

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"{flag} must be YYYY-MM-DD, got {value!r}") from exc


def check(
    day: Annotated[str, typer.Option("--date", help="Business day to check (YYYY-MM-DD).")],
    end: Annotated[
        str | None, typer.Option("--end", help="Check the range --date .. --end in one pass.")
    ] = None,
    gates: Annotated[
        bool,
        typer.Option("--gates/--no-gates", help="Run the publication gates for --date afterwards."),
    ] = False,
) -> None:
    """Run every authenticity and daily-report rule for a day or a range."""
    from review_pipeline.quality.gates import run_gates
    from review_pipeline.quality.run import run_checks
    from review_pipeline.settings import load_settings

    settings = load_settings()
    start = _date(day, "--date")
    last = _date(end, "--end") if end else None
    summary = run_checks(settings, start, last)
    out.print(
        f"[bold]checked[/] {summary['start']}..{summary['end']}: {summary['lead_days']} lead-days, "
        f"{summary['findings']} findings, {summary['quarantined']} quarantined lead-days "
        f"({summary['duration_s']} s)"
    )
    for rule, counts in summary["findings_by_rule"].items():
        out.print(f"  {rule}  error {counts.get('error', 0):>7}  warn {counts.get('warn', 0):>7}")
    if summary["data_docs"]:
        out.print(f"Data Docs: {summary['data_docs']}")
    if gates:
        result = run_gates(settings, last or start)
        out.print("gates: " + json.dumps(result["gates"]))


@dq_app.command("report")
def report(
    day: Annotated[str, typer.Option("--date", help="Business day (YYYY-MM-DD).")],
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="region:NAME, team:ID or person:ID (default: all)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="How many worst offenders to list.")] = 10,
) -> None:
    """Findings of a day per rule, and the worst offenders, as tables."""
    from rich.table import Table

    from review_pipeline.quality.report import day_report, parse_scope
    from review_pipeline.quality.suites import RULES
    from review_pipeline.settings import load_settings

    settings = load_settings()
    business_date = _date(day, "--date")
    where = parse_scope(scope)
    data = day_report(settings, business_date, where, top)
    if data["checked_run_id"] is None:
        out.print(
            f"[yellow]{business_date} has not been checked yet[/]: run `review-pipeline check --date {business_date}`"
        )
        return
    rules = Table(title=f"Findings on {business_date} - {where.label}")
    for col in ("rule", "severity", "entity", "hits", "owners", "rule text"):
        rules.add_column(col, justify="right" if col in ("hits", "owners") else "left")
    for r in data["rules"]:
        rules.add_row(
            r["rule_id"],
            r["severity"],
            r["entity_type"],
            str(r["hits"]),
            str(r["owners"]),
            RULES[r["rule_id"]][1],
        )
    if not data["rules"]:
        rules.add_row("-", "-", "-", "0", "0", "no findings")
    out.print(rules)
    worst = Table(title="Worst offenders (weighted findings)")
    for col in ("owner", "name", "errors", "warns", "rules", "open leads", "score"):
        worst.add_column(col)
    for o in data["offenders"]:
        score = "-" if o["score"] is None else f"{float(o['score']):.2f}"
        worst.add_row(
            o["owner_id"],
            o["name"] or "",
            str(o["errors"]),
            str(o["warns"]),
            o["rules"],
            "-" if o["open_leads"] is None else str(o["open_leads"]),
            score,
        )
    out.print(worst)


@dq_app.command("accuracy")
def accuracy_cmd(
    start: Annotated[
        str | None, typer.Option("--start", help="First day (default: ground truth's first).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day (default: ground truth's last).")
    ] = None,
) -> None:
    """Precision and recall per rule against the simulator's ground truth (entity level)."""
    from rich.table import Table

    from review_pipeline.quality.accuracy import accuracy
    from review_pipeline.settings import load_settings

    settings = load_settings()
    result = accuracy(
        settings, _date(start, "--start") if start else None, _date(end, "--end") if end else None
    )
    table = Table(
        title="Rule accuracy: (rule, entity) flagged on any day of the range vs ground truth"
    )
    for col in ("rule", "flagged", "truth", "TP", "FP", "FN", "precision", "recall"):
        table.add_column(col, justify="left" if col == "rule" else "right")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    for acc in result.values():
        table.add_row(
            acc.rule_id,
            str(acc.flagged),
            str(acc.truth),
            str(acc.true_positives),
            str(acc.false_positives),
            str(acc.false_negatives),
            pct(acc.precision),
            pct(acc.recall),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.add_typer(dq_app, name="dq")
