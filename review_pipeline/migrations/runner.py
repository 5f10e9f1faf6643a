"""Apply the versioned DDL under ``sql/migrations`` with Alembic.

Alembic keeps the version table, ordering and idempotence; each revision is a
tiny Python file that executes ``sql/migrations/<revision>_*.sql`` so the DDL
stays reviewable SQL, linted by sqlfluff like every other transform.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from review_pipeline.db import split_statements, sql_dir

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent


def apply_sql(revision: str) -> None:
    """Execute the SQL file of ``revision`` inside the running migration."""
    matches = sorted((sql_dir() / "migrations").glob(f"{revision}_*.sql"))
    if len(matches) != 1:
        raise RuntimeError(f"expected one sql/migrations/{revision}_*.sql, found {len(matches)}")
    for statement in split_statements(matches[0].read_text(encoding="utf-8")):
        op.execute(text(statement))


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def _label(revisions: tuple[str, ...] | list[str]) -> str | None:
    # Stages may add migrations on parallel branches; the state is the sorted set of heads.
    return "+".join(sorted(revisions)) or None


def head_revision() -> str:
    """The newest revision(s), joined with '+' when stages' branches have not been merged."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    label = _label(list(heads))
    assert label is not None
    return label


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        exists = conn.execute(text("select to_regclass('ops.alembic_version')")).scalar()
        if exists is None:
            return None
        ctx = MigrationContext.configure(conn, opts={"version_table_schema": "ops"})
        return _label(ctx.get_current_heads())


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the warehouse to the newest revision. Returns (before, after).

    Concurrent upgrades are serialised by an advisory lock, so two processes
    starting at once apply each revision once.
    """
    before = current_revision(engine)
    with engine.begin() as conn:
        conn.execute(
            text("select pg_advisory_xact_lock(hashtextextended('review-pipeline:migrate', 0))")
        )
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    after = current_revision(engine)
    assert after is not None
    if before != after:
        log.info("warehouse migrated from %s to %s", before or "empty", after)
    return before, after
