"""好差评 ratings: the level and comment on tickets, follow-up items of negative ratings

Every earlier 1–5 rating keeps its score and gets its level (5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意:
the five levels in the order of the old stars; core/ratings.py).

Revision ID: 0004_haochaping_ratings
Revises: 0003_ticket_erased_at
Create Date: 2026-12-04 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_haochaping_ratings"
down_revision = "0003_ticket_erased_at"
branch_labels = None
depends_on = None

# the mapping as it was when this revision was written (core/ratings.py may change; this must not)
LEVEL_OF_SCORE = {5: "very_satisfied", 4: "satisfied", 3: "basic", 2: "dissatisfied", 1: "very_dissatisfied"}


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_level", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("rating_comment", sa.String(length=200), nullable=True))
    tickets = sa.table("handoff_tickets", sa.column("rating", sa.Integer), sa.column("rating_level", sa.String))
    for score, code in LEVEL_OF_SCORE.items():
        op.execute(tickets.update().where(tickets.c.rating == score).values(rating_level=code))
    op.create_table(
        "rating_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["handoff_tickets.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["console_officers.id"]),
        sa.ForeignKeyConstraint(["closed_by_id"], ["console_officers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("rating_followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_followups_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_followups_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("rating_followups")
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.drop_column("rating_comment")
        batch_op.drop_column("rating_level")
