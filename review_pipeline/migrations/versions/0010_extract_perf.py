"""Extraction speed: unique row hash per raw table, raw watermark column, batch phase timings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0010")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
