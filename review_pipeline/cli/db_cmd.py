"""``review-pipeline db``: the embedded server and warehouse migrations."""

from __future__ import annotations

import typer

from review_pipeline.cli.app import out

db_app = typer.Typer(
    help="The warehouse database: embedded server and migrations.", no_args_is_help=True
)


@db_app.command("status")
def status() -> None:
    """Show where the warehouse and CRM live and whether they answer (starts nothing)."""
    from review_pipeline.db import server_status
    from review_pipeline.settings import load_settings

    settings = load_settings()
    for name, st in server_status(settings):
        mark = "[green]up[/]" if st.running else "[red]down[/]"
        out.print(f"{name:<10} {st.kind:<9} {mark}  {st.detail}")
    _print_revision(settings)


def _print_revision(settings: object) -> None:
    from review_pipeline.db import embedded_status, warehouse_engine
    from review_pipeline.migrations.runner import current_revision, head_revision
    from review_pipeline.settings import Settings

    assert isinstance(settings, Settings)
    if settings.warehouse_url is None and not embedded_status(settings).running:
        return
    try:
        current = current_revision(warehouse_engine(settings))
    except Exception as exc:  # noqa: BLE001 - status must not crash on a down server
        out.print(f"migration  [red]unknown[/]  {exc}")
        return
    head = head_revision()
    state = "[green]up to date[/]" if current == head else f"[yellow]behind (head {head})[/]"
    out.print(f"migration  {current or 'none'}  {state}")


@db_app.command("start")
def start() -> None:
    """Start the embedded PostgreSQL server under REVIEW_HOME (no-op when it runs)."""
    from review_pipeline.db import embedded_status, redacted, start_embedded
    from review_pipeline.settings import load_settings

    settings = load_settings()
    if settings.warehouse_url is not None and settings.crm_url is not None:
        out.print("warehouse and CRM URLs are configured; no embedded server is needed")
        return
    url = start_embedded(settings)
    out.print(f"[green]embedded PostgreSQL running[/]: {embedded_status(settings).detail}")
    out.print(f"admin URL: {redacted(url)}")


@db_app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from review_pipeline.db import stop_embedded
    from review_pipeline.settings import load_settings

    stopped = stop_embedded(load_settings())
    out.print("[green]stopped[/]" if stopped else "not running")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply the warehouse migrations (idempotent; a no-op when up to date)."""
    from review_pipeline.db import redacted, warehouse_engine, warehouse_url
    from review_pipeline.migrations.runner import upgrade as run_upgrade
    from review_pipeline.settings import load_settings

    settings = load_settings()
    before, after = run_upgrade(warehouse_engine(settings))
    where = redacted(warehouse_url(settings))
    if before == after:
        out.print(f"warehouse at {where} already at revision {after}")
    else:
        out.print(f"[green]warehouse at {where} upgraded[/] from {before or 'empty'} to {after}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
