"""raw's row hash and source columns compare under the "C" collation; joins heads 0011 and 0012.

Revision ID: 0013
Revises: 0011, 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = "0013"
down_revision = ("0011", "0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("0013")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
