"""``review-pipeline demo``: the whole pipeline on simulated data, its last days run by
Airflow (what `make demo` runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from review_pipeline.cli.app import console, out


def demo(
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Simulated world size (tiny, small, ...).")
    ] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Simulator seed.")] = 42,
    live_days: Annotated[
        int,
        typer.Option(
            "--live-days",
            min=1,
            max=7,
            help="Last days of the week run one by one through Airflow's review_daily DAG.",
        ),
    ] = 3,
) -> None:
    """Simulate sources, backfill the history, run the last days and the weekly review through
    the Airflow DAGs, and print where the packs, emails, Data Docs and Airflow UI are.

    Starts the embedded PostgreSQL unless REVIEW_WAREHOUSE_URL and REVIEW_CRM_URL are set.
    A second run finds the work done and only prints the summary.
    """
    import logging

    from rich.table import Table

    from review_pipeline.cli.app import _state
    from review_pipeline.demo import run_demo
    from review_pipeline.settings import load_settings

    if not _state["verbose"]:
        # the demo reports its progress itself; each step's INFO lines are for --verbose
        logging.getLogger("review_pipeline").setLevel(logging.WARNING)
    with console.status("running the demo...") as status:

        def say(message: str) -> None:
            status.update(message)
            console.log(message)

        summary = run_demo(
            load_settings(), profile=profile, seed=seed, live_days=live_days, say=say
        )
    if summary.history:
        out.print(
            f"history {summary.history[0]} .. {summary.history[1]} caught up in bulk (CLI backfill); "
            f"then Airflow ran the days after it and the weekly review of {summary.review_date}"
        )
    if summary.airflow_runs:
        runs = Table(title="Airflow runs (dag.test)")
        for column in ("DAG", "business date", "state", "seconds"):
            runs.add_column(column)
        for run in summary.airflow_runs:
            runs.add_row(run["dag_id"], run["business_date"], run["state"], str(run["seconds"]))
        out.print(runs)
    table = Table(title="Where everything is", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("where", overflow="fold")
    for key, value in summary.paths.items():
        table.add_row(key, value)
    for key, count in summary.counts.items():
        table.add_row(key, f"{count:,}")
    out.print(table)
    out.print("Airflow UI (the demo's runs, and the Sales Review page):")
    for line in summary.airflow_ui:
        out.print(f"  {line}", soft_wrap=True)
    timings = ", ".join(f"{k} {v:.0f} s" for k, v in summary.seconds.items())
    out.print(
        f"{len(summary.steps)} backfill step(s) and {len(summary.airflow_runs)} Airflow run(s)"
        f" this time ({timings}); every step is in ops.step_run (`review-pipeline db status`)"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
