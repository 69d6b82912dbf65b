"""One settings table: console_settings replaces handoff_settings (office hours) and curation_settings (review
required, how far the unanswered-questions report has read); every row is kept.

Revision ID: 0005_one_settings_table
Revises: 0004_haochaping_ratings
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_one_settings_table"
down_revision = "0004_haochaping_ratings"
branch_labels = None
depends_on = None

OLD_TABLES = {"handoff_settings": ("office_hours",), "curation_settings": ("review_required", "handoffs_upto")}
COLUMNS = "key, value, updated_at, updated_by"


def _settings_table(name: str, updated_by_length: int) -> None:
    op.create_table(
        name,
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=updated_by_length), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def upgrade() -> None:
    _settings_table("console_settings", 80)
    for table in OLD_TABLES:
        op.execute(f"INSERT INTO console_settings ({COLUMNS}) SELECT {COLUMNS} FROM {table}")  # keys never overlap
        op.drop_table(table)


def downgrade() -> None:
    for table, keys in OLD_TABLES.items():
        _settings_table(table, 40 if table == "handoff_settings" else 80)
        listed = ", ".join(f"'{key}'" for key in keys)
        op.execute(f"INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM console_settings WHERE key IN ({listed})")
    op.drop_table("console_settings")
