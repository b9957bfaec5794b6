"""media quality telemetry and site bandwidth budget

Quality samples (one row per media.stats message) and quality alerts. The site budget
needs no table: sites already carry uplink/downlink capacity and the caps are computed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_quality_samples",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("peer_site_id", sa.Integer(), nullable=True),
        sa.Column("t", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dt_ms", sa.Integer(), nullable=False),
        sa.Column("in_fps", sa.SmallInteger(), nullable=True),
        sa.Column("in_width", sa.SmallInteger(), nullable=True),
        sa.Column("in_height", sa.SmallInteger(), nullable=True),
        sa.Column("in_kbps", sa.Integer(), nullable=True),
        sa.Column("frames_decoded", sa.Integer(), nullable=True),
        sa.Column("freeze_count", sa.SmallInteger(), nullable=False),
        sa.Column("freeze_ms", sa.Integer(), nullable=False),
        sa.Column("jitter_buffer_ms", sa.Float(), nullable=True),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("out_fps", sa.SmallInteger(), nullable=True),
        sa.Column("out_width", sa.SmallInteger(), nullable=True),
        sa.Column("out_height", sa.SmallInteger(), nullable=True),
        sa.Column("out_kbps", sa.Integer(), nullable=True),
        sa.Column("limitation", sa.String(length=10), nullable=True),
        sa.Column("rtt_ms", sa.Integer(), nullable=True),
        sa.Column("available_kbps", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["media_sessions.id"],
            name=op.f("fk_media_quality_samples_session_id_media_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_media_quality_samples_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_media_quality_samples_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["peer_site_id"],
            ["sites.id"],
            name=op.f("fk_media_quality_samples_peer_site_id_sites"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_quality_samples")),
    )
    with op.batch_alter_table("media_quality_samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_media_quality_samples_call", ["session_id", "side", "id"], unique=False
        )
        batch_op.create_index("ix_media_quality_samples_site", ["site_id", "t"], unique=False)
        batch_op.create_index(
            "ix_media_quality_samples_peer_site", ["peer_site_id", "t"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_media_quality_samples_t"), ["t"], unique=False)

    op.create_table(
        "media_quality_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raised_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["media_sessions.id"],
            name=op.f("fk_media_quality_alerts_session_id_media_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_media_quality_alerts_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_media_quality_alerts_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_quality_alerts")),
    )
    with op.batch_alter_table("media_quality_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_media_quality_alerts_call", ["session_id", "side"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_media_quality_alerts_raised_at"), ["raised_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_media_quality_alerts_cleared_at"), ["cleared_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("media_quality_alerts")
    op.drop_table("media_quality_samples")
