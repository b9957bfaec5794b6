"""callbacks, appointments and consult transfer (queue)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_policies",
        sa.Column("skill_group_code", sa.String(length=40), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("days_ahead", sa.Integer(), nullable=False),
        sa.Column("updated_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_group_code"],
            ["skill_groups.code"],
            name=op.f("fk_appointment_policies_skill_group_code_skill_groups"),
        ),
        sa.PrimaryKeyConstraint("skill_group_code", name=op.f("pk_appointment_policies")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("skill_group_code", sa.String(length=40), nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("slot_start", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("slot_end", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("phone_cipher", sa.String(length=200), nullable=False),
        sa.Column("phone_index", sa.String(length=40), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_appointments_service_item_code_service_items"),
        ),
        sa.ForeignKeyConstraint(
            ["skill_group_code"],
            ["skill_groups.code"],
            name=op.f("fk_appointments_skill_group_code_skill_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_appointments_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_appointments_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_day_code", ["day", "code"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_appointments_phone_index"), ["phone_index"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_slot", ["skill_group_code", "slot_start", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_state"), ["state"], unique=False)

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("skill_group_code", sa.String(length=40), nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("phone_cipher", sa.String(length=200), nullable=False),
        sa.Column("phone_index", sa.String(length=40), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("preferred_start", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("preferred_end", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_callbacks_claimed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_callbacks_service_item_code_service_items"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_callbacks_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["skill_group_code"],
            ["skill_groups.code"],
            name=op.f("fk_callbacks_skill_group_code_skill_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_callbacks_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_callbacks_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callbacks_group_state", ["skill_group_code", "state", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_callbacks_phone_index"), ["phone_index"], unique=False)

    op.create_table(
        "consults",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_agent_id", sa.Integer(), nullable=False),
        sa.Column("to_agent_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_agent_id"], ["users.id"], name=op.f("fk_consults_from_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_consults_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"], ["users.id"], name=op.f("fk_consults_to_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consults")),
    )
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consults_from_agent_id"), ["from_agent_id"], unique=False
        )
        batch_op.create_index("ix_consults_state_expires", ["state", "expires_at"], unique=False)
        batch_op.create_index("ix_consults_ticket_state", ["ticket_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_consults_to_agent_id"), ["to_agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consults_to_agent_id"))
        batch_op.drop_index("ix_consults_ticket_state")
        batch_op.drop_index("ix_consults_state_expires")
        batch_op.drop_index(batch_op.f("ix_consults_from_agent_id"))

    op.drop_table("consults")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_phone_index"))
        batch_op.drop_index("ix_callbacks_group_state")

    op.drop_table("callbacks")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_state"))
        batch_op.drop_index("ix_appointments_slot")
        batch_op.drop_index(batch_op.f("ix_appointments_phone_index"))
        batch_op.drop_index("ix_appointments_day_code")

    op.drop_table("appointments")
    op.drop_table("appointment_policies")
