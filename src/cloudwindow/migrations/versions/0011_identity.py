"""identity verification: ID card reads, face checks, consent (issue 6)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_id_card_reads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("read_by", sa.String(length=40), nullable=False),
        sa.Column("card_enc", sa.Text(), nullable=False),
        sa.Column("id_number_enc", sa.String(length=200), nullable=False),
        sa.Column("id_number_index", sa.String(length=40), nullable=False),
        sa.Column("name_masked", sa.String(length=40), nullable=False),
        sa.Column("id_number_masked", sa.String(length=24), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("photo_key", sa.String(length=300), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_identity_id_card_reads_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_id_card_reads")),
    )
    with op.batch_alter_table("identity_id_card_reads", schema=None) as batch_op:
        batch_op.create_index("ix_identity_id_card_reads_ticket", ["ticket_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_identity_id_card_reads_id_number_index"),
            ["id_number_index"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_identity_id_card_reads_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "identity_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("given_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_identity_consents_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_consents")),
    )
    with op.batch_alter_table("identity_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_consents_ticket", ["ticket_id", "purpose", "id"], unique=False
        )

    op.create_table(
        "identity_face_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("id_card_read_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=False),
        sa.Column("card_expired", sa.Boolean(), nullable=False),
        sa.Column("live_key", sa.String(length=300), nullable=True),
        sa.Column("live_sha256", sa.String(length=64), nullable=True),
        sa.Column("checked_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("override_by", sa.Integer(), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("overridden_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_identity_face_checks_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["id_card_read_id"],
            ["identity_id_card_reads.id"],
            name=op.f("fk_identity_face_checks_id_card_read_id_identity_id_card_reads"),
        ),
        sa.ForeignKeyConstraint(
            ["override_by"], ["users.id"], name=op.f("fk_identity_face_checks_override_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_identity_face_checks_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_face_checks")),
    )
    with op.batch_alter_table("identity_face_checks", schema=None) as batch_op:
        batch_op.create_index("ix_identity_face_checks_ticket", ["ticket_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_identity_face_checks_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identity_face_checks_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_face_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_face_checks_created_at"))
        batch_op.drop_index(batch_op.f("ix_identity_face_checks_case_id"))
        batch_op.drop_index("ix_identity_face_checks_ticket")
    op.drop_table("identity_face_checks")
    with op.batch_alter_table("identity_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_consents_ticket")
    op.drop_table("identity_consents")
    with op.batch_alter_table("identity_id_card_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_id_card_reads_created_at"))
        batch_op.drop_index(batch_op.f("ix_identity_id_card_reads_id_number_index"))
        batch_op.drop_index("ix_identity_id_card_reads_ticket")
    op.drop_table("identity_id_card_reads")
