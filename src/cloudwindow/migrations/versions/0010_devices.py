"""kiosk peripheral bridge: device health and device commands (issue 6)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_commands",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=24), nullable=False),
        sa.Column("command", sa.String(length=24), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error_id", sa.String(length=64), nullable=False),
        sa.Column("error_detail", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("result_cipher", sa.Text(), nullable=True),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_device_commands_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_device_commands_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_device_commands_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_commands")),
    )
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.create_index(
            "ix_device_commands_state_expires", ["state", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_device_commands_terminal_state", ["terminal_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_device_commands_ticket_id"), ["ticket_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_device_commands_agent_id"), ["agent_id"], unique=False)
    op.create_table(
        "device_health",
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=24), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("updated_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_device_health_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("terminal_id", "device", name=op.f("pk_device_health")),
    )


def downgrade() -> None:
    op.drop_table("device_health")
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_commands_agent_id"))
        batch_op.drop_index(batch_op.f("ix_device_commands_ticket_id"))
        batch_op.drop_index("ix_device_commands_terminal_state")
        batch_op.drop_index("ix_device_commands_state_expires")
    op.drop_table("device_commands")
