"""cases (办件): form versions, cases, case events, materials, approval chains and steps,
notifications, case-number counters, lookup attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:24:12.916254
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_lookup_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_lookup_attempts")),
    )
    with op.batch_alter_table("case_lookup_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_case_lookup_attempts_key_at", ["key", "at"], unique=False)

    op.create_table(
        "case_number_counters",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_number_counters")),
    )
    op.create_table(
        "approval_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_approval_steps_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_approval_steps_service_item_code_service_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_steps")),
    )
    with op.batch_alter_table("approval_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_approval_steps_item_position", ["service_item_code", "position"], unique=True
        )

    op.create_table(
        "form_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_form_versions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_form_versions_service_item_code_service_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_versions")),
    )
    with op.batch_alter_table("form_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_form_versions_item_version", ["service_item_code", "version"], unique=True
        )

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("form_version_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("pii", sa.JSON(), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("field_revs", sa.JSON(), nullable=False),
        sa.Column("confirmed_rev", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=40), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("applicant_masked", sa.String(length=60), nullable=False),
        sa.Column("phone_cipher", sa.String(length=200), nullable=True),
        sa.Column("phone_index", sa.String(length=40), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("required_materials", sa.JSON(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("accepted_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("concluded_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], name=op.f("fk_cases_agent_id_users")),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_cases_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["form_versions.id"],
            name=op.f("fk_cases_form_version_id_form_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_cases_service_item_code_service_items"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_cases_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_agent_created", ["agent_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_cases_department_state", ["department_code", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_service_item_code"), ["service_item_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)
        batch_op.create_index("ix_cases_state_due", ["state", "due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "case_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_approvals_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_case_approvals_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_case_approvals_department_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_approvals")),
    )
    with op.batch_alter_table("case_approvals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_approvals_case_round_step", ["case_id", "round", "step"], unique=True
        )
        batch_op.create_index(
            "ix_case_approvals_department_state", ["department_code", "state"], unique=False
        )

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("actor_name", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_case_at", ["case_id", "id"], unique=False)

    op.create_table(
        "case_materials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("material_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("added_by", sa.String(length=40), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_materials_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_case_materials_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_materials")),
    )
    with op.batch_alter_table("case_materials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_materials_case_code", ["case_id", "material_code"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_state_created", ["state", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_state_created")
        batch_op.drop_index(batch_op.f("ix_notifications_case_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("case_materials", schema=None) as batch_op:
        batch_op.drop_index("ix_case_materials_case_code")

    op.drop_table("case_materials")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_case_at")

    op.drop_table("case_events")
    with op.batch_alter_table("case_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_case_approvals_department_state")
        batch_op.drop_index("ix_case_approvals_case_round_step")

    op.drop_table("case_approvals")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_ticket_id"))
        batch_op.drop_index("ix_cases_state_due")
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index(batch_op.f("ix_cases_service_item_code"))
        batch_op.drop_index("ix_cases_department_state")
        batch_op.drop_index("ix_cases_agent_created")

    op.drop_table("cases")
    with op.batch_alter_table("form_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_form_versions_item_version")

    op.drop_table("form_versions")
    with op.batch_alter_table("approval_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_steps_item_position")

    op.drop_table("approval_steps")
    op.drop_table("case_number_counters")
    with op.batch_alter_table("case_lookup_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_case_lookup_attempts_key_at")

    op.drop_table("case_lookup_attempts")
