"""Alembic environment; the DDL itself lives in ``sql/migrations/*.sql``."""
