"""Review report marts R1-R9 (merges the stages' branches).

Revision ID: 0007
Revises: 0002, 0004, 0005, 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0007"
down_revision = ("0002", "0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0007")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
