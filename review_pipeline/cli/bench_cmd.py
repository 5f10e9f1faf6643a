"""``review-pipeline bench``: measure every stage on a profile (slow; not part of the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from review_pipeline.cli.app import out


def bench(
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="tiny, small, medium or large.")
    ] = "large",
    seed: Annotated[int, typer.Option("--seed", "-s", help="The world's random seed.")] = 7,
    output: Annotated[
        Path, typer.Option("--out", help="Folder for the JSON and Markdown reports.")
    ] = Path("bench-results"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Regenerate the world even if it exists.")
    ] = False,
    sample_rows: Annotated[
        int,
        typer.Option(
            "--sample-rows",
            help="Rows per entity the pandas to_sql comparison measures (the rest is extrapolated).",
        ),
    ] = 20_000,
    checks_days: Annotated[
        int | None,
        typer.Option(
            "--checks-days",
            help="Check only the last N history days (default: all; the large profile's two"
            " years take hours).",
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only these stages (repeatable; prepare always runs)."),
    ] = None,
) -> None:
    """Run every stage as a subprocess and report wall time, rows/s and peak RSS per stage.

    The stages: generate (or reuse the world of the profile and seed), a fresh
    benchmark warehouse (database <warehouse>_bench), the history extraction,
    the raw COPY floor and the pandas to_sql path for the same rows, checks over
    the history, the initial warehouse build, one incremental day end to end,
    the weekly reports, the packs, checks against one scan. Writes
    <out>/<profile>-<time>.json and .md and <out>/latest-<profile>.md.
    """
    from review_pipeline.bench import StageResult, run_benchmark
    from review_pipeline.errors import UserError
    from review_pipeline.simulator.profiles import PROFILES

    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")

    def show(result: StageResult) -> None:
        mark = "[green]ok[/]" if result.ok else "[red]failed[/]"
        rows = f"{result.rows:>12,} rows" if result.rows else " " * 17
        out.print(
            f"{result.stage:<20} {mark} {result.seconds:8.1f} s {rows}  peak {result.peak_rss_mb:7.0f} MB  {result.note}"
        )

    report = run_benchmark(
        profile,
        output,
        seed=seed,
        reuse=not fresh,
        sample_rows=sample_rows,
        checks_days=checks_days,
        only=only,
        on_stage=show,
    )
    out.print(report.as_markdown())
    if not all(s.ok for s in report.stages):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
