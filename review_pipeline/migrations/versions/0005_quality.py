"""Data-quality findings, quarantine inputs, validation runs, gates and scores.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0005")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
