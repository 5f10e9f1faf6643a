"""``review-pipeline demo``: the whole pipeline on simulated data (what `make demo` runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from review_pipeline.cli.app import console, out


def demo(
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Simulated world size.")
    ] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Simulator seed.")] = 42,
) -> None:
    """Start the embedded PostgreSQL, simulate sources, run daily and weekly work, print where it all is."""
    from rich.table import Table

    from review_pipeline.demo import run_demo
    from review_pipeline.settings import load_settings

    with console.status("running the demo...") as status:
        summary = run_demo(
            load_settings(), profile=profile, seed=seed, say=lambda m: status.update(m)
        )
    if summary.history:
        out.print(
            f"history {summary.history[0]} .. {summary.history[1]} caught up in bulk; "
            f"review date {summary.review_date} run day by day"
        )
    table = Table(title="What the demo produced", show_header=False)
    for key, value in {**summary.paths, **{k: f"{v:,}" for k, v in summary.counts.items()}}.items():
        table.add_row(key, value)
    out.print(table)
    out.print(
        f"{len(summary.steps)} step(s) ran this time; see them with `review-pipeline db status` and ops.step_run"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
