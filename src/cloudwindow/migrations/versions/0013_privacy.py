"""personal-data protection: the audit log becomes append-only (issue 6, PIPL)

A trigger on ``audit_events`` rejects every UPDATE and DELETE, on PostgreSQL (a
``BEFORE UPDATE OR DELETE`` row trigger and a ``BEFORE TRUNCATE`` statement trigger
raising ``cloudwindow: audit_events is append-only``) and on SQLite (two ``BEFORE``
triggers calling ``RAISE(ABORT, …)``). Rows can only be added (audit/actions.py
``record``). Removing old rows under a retention policy means a database owner dropping
the trigger on purpose (docs/trust.md §Personal data), never the application.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "cloudwindow: audit_events is append-only"

PG_UP = [
    f"""
    CREATE OR REPLACE FUNCTION cw_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION cw_audit_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION cw_audit_append_only()
    """,
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS cw_audit_append_only()",
]
SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS audit_events_no_update",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for sql in PG_UP if postgres else SQLITE_UP:
        op.execute(sql)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for sql in PG_DOWN if postgres else SQLITE_DOWN:
        op.execute(sql)
