"""``review-pipeline bench``: measure every stage on a profile (slow; not part of the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from review_pipeline.cli.app import out


def bench(
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="small, medium or large.")
    ] = "large",
    output: Annotated[
        Path, typer.Option("--out", help="Folder for the JSON and Markdown reports.")
    ] = Path("bench-results"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Regenerate the world even if it exists.")
    ] = False,
) -> None:
    """Run every stage as a subprocess and report wall time, rows/s and peak RSS per stage."""
    from review_pipeline.bench import StageResult, run_benchmark

    def show(result: StageResult) -> None:
        mark = "[green]ok[/]" if result.ok else "[red]failed[/]"
        out.print(
            f"{result.stage:<24} {mark} {result.seconds:8.1f} s  peak {result.peak_rss_mb:7.0f} MB  {result.note}"
        )

    report = run_benchmark(profile, output, reuse=not fresh, on_stage=show)
    out.print(report.as_markdown())
    if not all(s.ok for s in report.stages):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
