"""licences: the electronic licence registry (电子证照) and the items that issue licences

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "licences",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("holder_name_masked", sa.String(length=40), nullable=False),
        sa.Column("holder_id_cipher", sa.String(length=200), nullable=False),
        sa.Column("holder_index", sa.String(length=40), nullable=False),
        sa.Column("holder_id_masked", sa.String(length=24), nullable=False),
        sa.Column("number_cipher", sa.String(length=300), nullable=False),
        sa.Column("number_masked", sa.String(length=80), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("file_key", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("sealed_document_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_licences_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licences")),
        sa.UniqueConstraint("case_id", name=op.f("uq_licences_case_id")),
    )
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.create_index(
            "ix_licences_holder_type", ["holder_index", "type_code"], unique=False
        )
    op.create_table(
        "licence_products",
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("valid_years", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_item_code"],
            ["service_items.code"],
            name=op.f("fk_licence_products_service_item_code_service_items"),
        ),
        sa.PrimaryKeyConstraint("service_item_code", name=op.f("pk_licence_products")),
    )


def downgrade() -> None:
    op.drop_table("licence_products")
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.drop_index("ix_licences_holder_type")
    op.drop_table("licences")
