"""Alembic environment: runs each revision against the warehouse connection passed in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

config = context.config
connection = config.attributes["connection"]

# The version table lives in the operations schema, which must exist first.
connection.execute(text("create schema if not exists ops"))

context.configure(
    connection=connection,
    version_table="alembic_version",
    version_table_schema="ops",
    transaction_per_migration=True,
)

with context.begin_transaction():
    context.run_migrations()
