"""``review-pipeline generate``: the source simulator (a stand-in CRM database and ERP files)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from review_pipeline.cli.app import console, out
from review_pipeline.errors import UserError

if TYPE_CHECKING:
    from review_pipeline.simulator.world import Summary

DEFAULT_END = date(2026, 11, 22)  # a Sunday inside the calendar's last known year


def _parse_rates(values: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in values:
        rule, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--rate takes RULE=VALUE (e.g. LQ05=0.05), got {item!r}")
        try:
            rates[rule.strip().upper()] = float(value)
        except ValueError:
            raise UserError(f"--rate {item!r}: {value!r} is not a number") from None
    return rates


def _check_calendar(last_day: date, allow_unknown: bool) -> None:
    from review_pipeline.workdays import known_years

    first_year, last_year = known_years()
    if last_day.year > last_year and not allow_unknown:
        raise UserError(
            f"the data would run to {last_day}, past {last_year}, the last year the holiday calendar"
            f" (chinese-calendar) knows; choose an earlier --end/--start or pass --allow-unknown-calendar"
        )


def generate(
    profile: Annotated[
        str,
        typer.Option(
            "--profile", "-p", help="World size: small, medium, large (or tiny for tests)."
        ),
    ] = "small",
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Random seed; same seed, same bytes.")
    ] = 42,
    start: Annotated[
        str | None, typer.Option("--start", help="First day (YYYY-MM-DD); default: end - days + 1.")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="As-of day when --start is not given (default 2026-11-22)."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            "-d",
            help="Days to build (default: the profile's), or with --continue days to add.",
        ),
    ] = None,
    cont: Annotated[
        bool,
        typer.Option(
            "--continue", help="Extend the existing world by --days more days (default 1)."
        ),
    ] = False,
    rate_scale: Annotated[
        float, typer.Option("--rate-scale", help="Multiply every defect injection rate by this.")
    ] = 1.0,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate", help="Set one rule's injection rate, e.g. --rate LQ05=0.05 (repeatable)."
        ),
    ] = None,
    allow_unknown_calendar: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-calendar",
            help="Allow days past the last year chinese-calendar knows (weekdays are used there).",
        ),
    ] = False,
) -> None:
    """Build the simulated CRM database and daily finance files, day by day.

    Writes the CRM (schema [bold]crm[/], database review_crm or REVIEW_CRM_URL), the
    ERP exports under $REVIEW_HOME/landing/finance and the ground truth of every
    rule violation in $REVIEW_HOME/simulator/ground_truth.csv. [bold]--continue --days K[/]
    adds K days to an existing world; N days then K more equal N + K at once.
    """
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator import world
    from review_pipeline.simulator.profiles import get_profile

    settings = load_settings()
    if cont:
        if start or end or rate or rate_scale != 1.0:
            raise UserError(
                "--continue takes only --days; the world keeps its profile, seed and rates"
            )
        state = world.world_state(settings)
        if state is None:
            raise UserError("no simulated world to continue; run `review-pipeline generate` first")
        add = days or 1
        if add < 1:
            raise UserError("--days must be at least 1")
        _check_calendar(state[1] + timedelta(days=add), allow_unknown_calendar)
        summary = _with_progress(lambda p: world.extend(settings, add, p))
    else:
        prof = get_profile(profile)
        n = days or prof.default_days
        if n < 1:
            raise UserError("--days must be at least 1")
        try:
            if start:
                first = date.fromisoformat(start)
            else:
                last = date.fromisoformat(end) if end else DEFAULT_END
                first = last - timedelta(days=n - 1)
        except ValueError as exc:
            raise UserError(f"bad date: {exc}") from None
        _check_calendar(first + timedelta(days=n - 1), allow_unknown_calendar)
        params = world.WorldParams(profile, seed, first, rate_scale, _parse_rates(rate or []))
        params.resolved_profile()  # validates the rates before anything is dropped
        summary = _with_progress(lambda p: world.generate(settings, params, n, p))
    _print_summary(summary)


def _with_progress(work: object) -> Summary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, object] = {}
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        assert callable(work)
        result: Summary = work(report)
    return result


def _print_summary(summary: Summary) -> None:
    from rich.table import Table

    p = summary.params
    head = (
        f"extended {summary.previous_as_of} -> {summary.as_of}"
        if summary.previous_as_of
        else f"built {summary.start} .. {summary.as_of}"
    )
    table = Table(title=f"simulated world ({p.profile}, seed {p.seed}): {head}")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_column("where")
    for name, count in summary.counts.items():
        table.add_row(
            name, f"{count:,}", summary.crm_url if name.startswith("crm.") else "simulator state"
        )
    table.add_row("finance files", f"{summary.files:,}", str(summary.finance_dir))
    table.add_row("ground truth", f"{summary.truth_rows:,}", str(summary.truth_path))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("generate", no_args_is_help=False)(generate)
