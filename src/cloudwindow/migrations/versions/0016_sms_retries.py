"""notifications: SMS retries (``next_attempt_at``)

A message the provider could not take is queued again with the time of its next
attempt; a claimed one (``sending``) carries the time its claim lapses. The retry job
reads (state, next_attempt_at). Messages still ``queued`` from before get a time now,
so the job sends them; ``failed`` ones stay as they are (cases/notify.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloudwindow.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", cloudwindow.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_notifications_state_next", ["state", "next_attempt_at"])
    op.execute("UPDATE notifications SET next_attempt_at = created_at WHERE state = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_index("ix_notifications_state_next")
        batch_op.drop_column("next_attempt_at")
