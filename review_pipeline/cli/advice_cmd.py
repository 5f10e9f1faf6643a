"""``review-pipeline advice``: the ranked action items of a review date for a scope.

review-pipeline advice --date D [--scope company|region:R|team:T|person:P|manager:M]
    [--lang zh-CN|en] [--all] [--build [--dry-run]] [--format table|json]
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from review_pipeline.cli.app import out

_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
_STATUS = {
    "zh-CN": {"new": "新", "open": "持续", "resolved": "已解决"},
    "en": {"new": "new", "open": "open", "resolved": "resolved"},
}
_HEADINGS = {
    "zh-CN": ("#", "规则", "级别", "对象", "建议", "涉及金额", "出处", "自", "状态"),
    "en": ("#", "rule", "severity", "subject", "action", "stake CNY", "sheet", "since", "status"),
}


def _date(value: str | None) -> date:
    from review_pipeline.errors import UserError

    if not value:
        raise UserError("--date is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"--date must be YYYY-MM-DD, got {value!r}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def advice(
    day: Annotated[str | None, typer.Option("--date", help="Review date (YYYY-MM-DD).")] = None,
    scope: Annotated[
        str,
        typer.Option(
            "--scope", help="company (default), region:CODE|NAME, team:ID, person:ID or manager:ID."
        ),
    ] = "company",
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="zh-CN or en (default settings.language)."),
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every item and the resolved ones (default: the top settings.advice.top_n).",
        ),
    ] = False,
    build: Annotated[
        bool, typer.Option("--build", help="(Re)build the date's advice from its marts first.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --build: build, count and roll back.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print the ranked action items (review advice) of a review date for a scope."""
    from review_pipeline.advice.api import advice_for, is_built
    from review_pipeline.errors import UserError
    from review_pipeline.reports.scope import Scope
    from review_pipeline.settings import load_settings

    settings = load_settings()
    language = lang or settings.language
    if language not in ("zh-CN", "en"):
        raise UserError(f"--lang must be zh-CN or en, got {language!r}")
    if fmt not in ("table", "json"):
        raise UserError(f"--format must be table or json, got {fmt!r}")
    review_date = _date(day)
    parsed = Scope.parse(scope)
    if not parsed.is_valid:
        raise UserError(
            f"--scope {scope!r} is not company, region:CODE, team:ID, person:ID or manager:ID"
        )
    if build:
        from review_pipeline.advice.pipeline import build_advice_date

        result = build_advice_date(settings, review_date, dry_run=dry_run)
        counts = ", ".join(f"{k} {v}" for k, v in result["rules"].items())
        out.print(
            f"advice for {review_date}: {result['rows_out']} items ({counts})"
            + (" (dry run, rolled back)" if dry_run else "")
        )
        if dry_run:
            return
    elif not is_built(settings, review_date):
        raise UserError(
            f"no advice built for {review_date}: run `review-pipeline advice --date "
            f"{review_date} --build` (or the build_advice stage)"
        )
    items = advice_for(settings, review_date, parsed, language=language)
    current = [i for i in items if i.status != "resolved"]
    resolved = [i for i in items if i.status == "resolved"]
    shown = current if show_all else current[: settings.advice.top_n]
    if fmt == "json":
        from dataclasses import asdict

        payload = {
            "review_date": review_date.isoformat(),
            "scope": str(parsed),
            "total": len(current),
            "items": [asdict(i) for i in shown],
            "resolved": [asdict(i) for i in resolved] if show_all else len(resolved),
        }
        out.print_json(json.dumps(payload, default=_json_default, ensure_ascii=False))
        return
    _table(shown + (resolved if show_all else []), language, f"{review_date} · {parsed}")
    more = len(current) - len(shown)
    tail = f"{len(current)} items" + (f" ({more} more with --all)" if more else "")
    out.print(f"{tail}; {len(resolved)} resolved since the previous review")


def _cited(item: Any) -> str:
    """The cited report and its row key, compactly (``R7 I-2031``, ``R5 EAST SRV 2026-04-01``)."""
    skip = ("business_unit", "level")
    values = [str(v) for k, v in item.row_key.items() if v and k not in skip]
    return " ".join([item.sheet, *values])


def _table(items: list[Any], language: str, heading: str) -> None:
    from rich.table import Table

    from review_pipeline.advice.actions import money

    title = ("行动建议 · " if language == "zh-CN" else "Action items · ") + heading
    table = Table(title=title, show_lines=False)
    for i, name in enumerate(_HEADINGS[language]):
        table.add_column(name, justify="right" if i in (0, 5) else "left", overflow="fold")
    status = _STATUS[language]
    for n, item in enumerate(items, start=1):
        table.add_row(
            str(n),
            item.rule_id,
            f"[{_SEVERITY_STYLE.get(item.severity, '')}]{item.severity}[/]",
            f"{item.subject_name} ({item.subject_id})",
            item.action,
            money(item.stake_cny, language),
            _cited(item),
            item.since,
            status.get(item.status, item.status),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("advice")(advice)
