"""``review-pipeline run STEP``: run one DAG task's function by hand (same code, same ops record)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from review_pipeline.cli.app import out


def run(
    step: Annotated[
        str, typer.Argument(help="A task name, e.g. extract_sources, run_checks, build_packs.")
    ],
    business_date: Annotated[str, typer.Option("--date", "-d", help="Business date (YYYY-MM-DD).")],
    scope: Annotated[
        str, typer.Option("--scope", help="all, a business unit or a source.")
    ] = "all",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; write nothing.")
    ] = False,
) -> None:
    """Run the function an Airflow task runs, for one business date, recorded in ops.step_run."""
    from review_pipeline import orchestration
    from review_pipeline.errors import UserError
    from review_pipeline.settings import load_settings

    tasks = [*orchestration.STAGES, "prepare_warehouse"]
    if step not in tasks:
        raise UserError(f"unknown step {step!r}; steps: {', '.join(sorted(tasks))}")
    try:
        day = date.fromisoformat(business_date)
    except ValueError as exc:
        raise UserError(f"--date expects a date like 2026-03-31, got {business_date!r}") from exc
    result = getattr(orchestration, step)(
        day, scope=scope, dry_run=dry_run, settings=load_settings()
    )
    out.print_json(json.dumps(result, ensure_ascii=False, default=str))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
