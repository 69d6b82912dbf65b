"""login throttle counters

Revision ID: 0002_login_throttle
Revises: 0001_baseline
Create Date: 2026-12-04 01:14:25.317948
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_login_throttle"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_throttle",
        sa.Column("key", sa.String(length=220), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("console_throttle")
