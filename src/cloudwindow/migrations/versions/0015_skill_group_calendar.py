"""skill groups: their own calendar days on top of the official one

``open_days``: days a group serves although the State Council's calendar rests
(周末不打烊, extended service days); ``closed_days``: days it is closed although they
are working days. ISO dates in JSON lists; null = none (queueing/hours.py,
``group_workday``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("skill_groups") as batch_op:
        batch_op.add_column(sa.Column("open_days", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("closed_days", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("skill_groups") as batch_op:
        batch_op.drop_column("closed_days")
        batch_op.drop_column("open_days")
