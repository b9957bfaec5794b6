"""case_signatures: the applicant's signature (申请人签名) attached to a case

The agent attaches the signature the citizen gave on the kiosk's signature pad (a device
command's result) to the case open in the session; the PNG is kept encrypted, one per
case (cases/signature.py).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=32), nullable=False),
        sa.Column("image_cipher", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("attached_by", sa.Integer(), nullable=False),
        sa.Column("attached_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_signatures_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["attached_by"], ["users.id"], name=op.f("fk_case_signatures_attached_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_signatures")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_signatures_case_id")),
    )


def downgrade() -> None:
    op.drop_table("case_signatures")
