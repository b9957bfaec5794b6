"""cases: covering indexes for the approver's lists (issue 5 list latency)

The approver's lists read a department's pending steps in id order with their cases,
and the overdue count joins those steps with the running cases past their due date.
(department, state, id, case_id) on the steps replaces (department, state, id) of 0009,
and (state, due_date, id) on the cases lets both sides of the join come from the indexes
alone (the overdue count went from ~110 ms to ~7 ms at 100,000 cases).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_case_approvals_dept_state_id_case",
        "case_approvals",
        ["department_code", "state", "id", "case_id"],
    )
    op.drop_index("ix_case_approvals_dept_state_id", table_name="case_approvals")
    op.create_index("ix_cases_state_due_id", "cases", ["state", "due_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_state_due_id", table_name="cases")
    op.create_index(
        "ix_case_approvals_dept_state_id", "case_approvals", ["department_code", "state", "id"]
    )
    op.drop_index("ix_case_approvals_dept_state_id_case", table_name="case_approvals")
