"""holiday_calendars: years of 节假日安排 entered from the State Council's notice

The holiday package knows the years up to its release; next year's notice comes out
in the autumn. An administrator enters it here (catalog/calendar.py) and deadlines,
service hours and appointment slots follow it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_calendars",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=False),
        sa.Column("updated_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_holiday_calendars")),
    )


def downgrade() -> None:
    op.drop_table("holiday_calendars")
