"""erased_at on tickets: personal data erased by the retention job

Revision ID: 0003_ticket_erased_at
Revises: 0002_login_throttle
Create Date: 2026-12-04 01:25:23.133966
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ticket_erased_at"
down_revision = "0002_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
