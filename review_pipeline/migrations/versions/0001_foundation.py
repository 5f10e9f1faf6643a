"""Schemas per layer and the operations tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0001")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
