"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from review_pipeline.migrations.runner import apply_sql

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql("${up_revision}")


def downgrade() -> None:
    raise NotImplementedError("the warehouse is rebuilt from sources, not downgraded")
