"""baseline: every table of the first version

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-04 00:59:00.227765
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_login_attempts_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_login_attempts_username"), ["username"], unique=False)

    op.create_table(
        "console_officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "curation_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "handoff_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "material_procedures",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("not_covered", sa.JSON(), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=True),
        sa.Column("address_check", sa.JSON(), nullable=True),
        sa.Column("seed_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("material_procedures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_procedures_kind"), ["kind"], unique=False)

    op.create_table(
        "topics",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("followups", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "console_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_api_tokens_officer_id"), ["officer_id"], unique=False)

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_officer_id"), ["officer_id"], unique=False)

    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=True),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("poll_token_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=24), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_officer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("pickup_at", sa.DateTime(), nullable=True),
        sa.Column("user_left_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_officer_id"],
            ["console_officers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_tickets_assigned_officer_id"), ["assigned_officer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoff_tickets_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoff_tickets_poll_token_hash"), ["poll_token_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoff_tickets_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoff_tickets_status"), ["status"], unique=False)

    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("paraphrases", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("to_confirm", sa.Text(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("rule_date", sa.String(length=10), nullable=False),
        sa.Column("reviewed", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("seed_hash", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("knowledge_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_entries_intent"), ["intent"], unique=False)
        batch_op.create_index(batch_op.f("ix_knowledge_entries_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_knowledge_entries_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "material_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("procedure_id", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["material_procedures.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "procedure_id", name="uq_checklist_sender_procedure"),
    )
    with op.batch_alter_table("material_checklists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_checklists_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_material_checklists_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "material_requirements",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("procedure_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("satisfied_by", sa.JSON(), nullable=False),
        sa.Column("requirement", sa.String(length=16), nullable=False),
        sa.Column("when", sa.JSON(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("where_to_get", sa.Text(), nullable=False),
        sa.Column("where_variants", sa.JSON(), nullable=False),
        sa.Column("deferrable", sa.Text(), nullable=True),
        sa.Column("deferrable_confirmed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("rule_date", sa.String(length=10), nullable=False),
        sa.Column("reviewed", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["material_procedures.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("material_requirements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_requirements_procedure_id"), ["procedure_id"], unique=False)

    op.create_table(
        "console_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("console_audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_audit_log_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "curation_entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "version", name="uq_curation_entry_version"),
    )
    with op.batch_alter_table("curation_entry_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_curation_entry_versions_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "curation_review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("curation_review_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_curation_review_requests_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_curation_review_requests_status"), ["status"], unique=False)

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_via", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_messages_delivered_at"), ["delivered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoff_messages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "handoff_staff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_staff_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_staff_notes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "handoff_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["console_officers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_status_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_status_changes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "material_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=64), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["material_checklists.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("checklist_id", "material", name="uq_checklist_material"),
    )
    with op.batch_alter_table("material_checklist_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_checklist_items_checklist_id"), ["checklist_id"], unique=False)

    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_entry_id", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["resolved_entry_id"],
            ["knowledge_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unanswered_questions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_unanswered_questions_reason"), ["reason"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_reason"))
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_created_at"))

    op.drop_table("unanswered_questions")
    with op.batch_alter_table("material_checklist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_checklist_items_checklist_id"))

    op.drop_table("material_checklist_items")
    with op.batch_alter_table("handoff_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_status_changes_ticket_id"))

    op.drop_table("handoff_status_changes")
    with op.batch_alter_table("handoff_staff_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_staff_notes_ticket_id"))

    op.drop_table("handoff_staff_notes")
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_messages_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_handoff_messages_delivered_at"))

    op.drop_table("handoff_messages")
    with op.batch_alter_table("curation_review_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curation_review_requests_status"))
        batch_op.drop_index(batch_op.f("ix_curation_review_requests_entry_id"))

    op.drop_table("curation_review_requests")
    with op.batch_alter_table("curation_entry_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curation_entry_versions_entry_id"))

    op.drop_table("curation_entry_versions")
    with op.batch_alter_table("console_audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_audit_log_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_console_audit_log_at"))

    op.drop_table("console_audit_log")
    with op.batch_alter_table("material_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_requirements_procedure_id"))

    op.drop_table("material_requirements")
    with op.batch_alter_table("material_checklists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_checklists_updated_at"))
        batch_op.drop_index(batch_op.f("ix_material_checklists_sender_id"))

    op.drop_table("material_checklists")
    with op.batch_alter_table("knowledge_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_entries_topic_id"))
        batch_op.drop_index(batch_op.f("ix_knowledge_entries_status"))
        batch_op.drop_index(batch_op.f("ix_knowledge_entries_intent"))

    op.drop_table("knowledge_entries")
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_handoff_tickets_sender_id"))
        batch_op.drop_index(batch_op.f("ix_handoff_tickets_poll_token_hash"))
        batch_op.drop_index(batch_op.f("ix_handoff_tickets_created_at"))
        batch_op.drop_index(batch_op.f("ix_handoff_tickets_assigned_officer_id"))

    op.drop_table("handoff_tickets")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_officer_id"))

    op.drop_table("console_sessions")
    with op.batch_alter_table("console_api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_api_tokens_officer_id"))

    op.drop_table("console_api_tokens")
    op.drop_table("topics")
    with op.batch_alter_table("material_procedures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_procedures_kind"))

    op.drop_table("material_procedures")
    op.drop_table("handoff_settings")
    op.drop_table("curation_settings")
    op.drop_table("console_officers")
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_login_attempts_username"))
        batch_op.drop_index(batch_op.f("ix_console_login_attempts_ip"))
        batch_op.drop_index(batch_op.f("ix_console_login_attempts_at"))

    op.drop_table("console_login_attempts")
