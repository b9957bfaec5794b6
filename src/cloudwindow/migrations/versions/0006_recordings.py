"""recordings for audit (全程录音录像): recordings, their chunks, playback grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = cloudwindow.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("media_session_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("incomplete_reason", sa.String(length=32), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("last_chunk_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("max_seq", sa.Integer(), nullable=False),
        sa.Column("contiguous", sa.Integer(), nullable=False),
        sa.Column("declared_chunks", sa.Integer(), nullable=True),
        sa.Column("bytes_total", sa.BigInteger(), nullable=False),
        sa.Column("chain_head", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("remuxed", sa.Boolean(), nullable=False),
        sa.Column("has_video", sa.Boolean(), nullable=True),
        sa.Column("has_audio", sa.Boolean(), nullable=True),
        sa.Column("verified_at", UTC, nullable=True),
        sa.Column("verified_ok", sa.Boolean(), nullable=True),
        sa.Column("purged_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_recordings_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_recordings_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_recordings_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_recordings_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_client_key", ["agent_id", "client_key"], unique=True)
        batch_op.create_index(batch_op.f("ix_recordings_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "recording_chunks",
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_chunks_recording_id_recordings"),
        ),
        sa.PrimaryKeyConstraint("recording_id", "seq", name=op.f("pk_recording_chunks")),
    )
    op.create_table(
        "recording_grants",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_grants_recording_id_recordings"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recording_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_recording_grants")),
    )
    with op.batch_alter_table("recording_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_grants_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recording_grants_recording_id"), ["recording_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("recording_grants")
    op.drop_table("recording_chunks")
    op.drop_table("recordings")
