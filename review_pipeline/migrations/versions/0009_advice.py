"""Review advice items (mart.advice_item) and their builds (mart.advice_run).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0009")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
