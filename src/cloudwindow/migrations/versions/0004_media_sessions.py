"""media sessions and signaling (video)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("caller", sa.String(length=40), nullable=False),
        sa.Column("callee", sa.String(length=40), nullable=False),
        sa.Column("started_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=24), nullable=False),
        sa.Column("ended_by", sa.String(length=40), nullable=False),
        sa.Column("caller_first_frame_ms", sa.Integer(), nullable=True),
        sa.Column("callee_first_frame_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_media_sessions_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_sessions")),
    )
    with op.batch_alter_table("media_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_media_sessions_state", ["state", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_sessions_ticket_id"), ["ticket_id"])
        batch_op.create_index(batch_op.f("ix_media_sessions_caller"), ["caller"])
        batch_op.create_index(batch_op.f("ix_media_sessions_callee"), ["callee"])


def downgrade() -> None:
    op.drop_table("media_sessions")
