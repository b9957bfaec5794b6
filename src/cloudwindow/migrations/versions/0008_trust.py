"""trust: sealed result documents (受理回执, 办结通知书 / 决定书)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sealed_documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("file_key", sa.String(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("check_code", sa.String(length=16), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("cert_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_sealed_documents_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_sealed_documents_department_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_documents")),
    )
    with op.batch_alter_table("sealed_documents", schema=None) as batch_op:
        batch_op.create_index("ix_sealed_documents_case_kind", ["case_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_sealed_documents_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sealed_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sealed_documents_sha256"))
        batch_op.drop_index("ix_sealed_documents_case_kind")
    op.drop_table("sealed_documents")
