"""cases: indexes for the case lists at 100,000 cases (issue 5 benchmark)

Every case list is newest first (``ORDER BY id DESC``) under one filter: state,
department, service item, the agent's own cases; the approver's list is the pending
steps of a department, oldest first. Each filter gets an index ending in ``id`` so a
page is read straight off the index instead of sorting every match. The case-number
prefix search (``q``) gets a ``varchar_pattern_ops`` index on PostgreSQL (a ``LIKE
'CW2026%'`` can use it whatever the database collation). The console's metrics count
today's accepted and concluded cases by range.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_cases_state_id", "cases", ["state", "id"]),
    ("ix_cases_department_id", "cases", ["department_code", "id"]),
    ("ix_cases_item_id", "cases", ["service_item_code", "id"]),
    ("ix_cases_agent_id_id", "cases", ["agent_id", "id"]),
    # the console's metrics: accepted / concluded today
    ("ix_cases_accepted_at", "cases", ["accepted_at"]),
    ("ix_cases_concluded_at", "cases", ["concluded_at"]),
    ("ix_case_approvals_dept_state_id", "case_approvals", ["department_code", "state", "id"]),
    ("ix_case_approvals_decided_by_at", "case_approvals", ["decided_by", "decided_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_cases_number_pattern",
            "cases",
            ["number"],
            postgresql_ops={"number": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_cases_number_pattern", table_name="cases")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
