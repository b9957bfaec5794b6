"""The case state machine (house rule 4) — docs/cases.md §States.

    draft ─accept─▶ accepted ─▶ under_approval ─▶ concluded (办结)
      │                              │  ├────────▶ rejected (不予许可)
      │                              │  └────────▶ returned (退回补正)
      ▼                              │                 │  ├─resubmit─▶ resubmitted ─▶ under_approval
    withdrawn ◀──────────────────────┴─────────────────┘  └─withdraw──▶ withdrawn

``accepted`` and ``resubmitted`` are recorded moves of their own (受理 and 补正后重新提交
are what the citizen's history shows), followed in the same transaction by the move
into ``under_approval`` when the approval round starts. An illegal move raises
``IllegalCaseMove`` (409 ``case-state-conflict``) and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from cloudwindow.queueing.states import IllegalTransition


class CaseState(StrEnum):
    DRAFT = "draft"  # 草稿: being filled in the session
    ACCEPTED = "accepted"  # 已受理
    UNDER_APPROVAL = "under_approval"  # 审批中
    CONCLUDED = "concluded"  # 办结 (approved)
    REJECTED = "rejected"  # 不予许可
    RETURNED = "returned"  # 退回补正: waiting for the listed corrections
    RESUBMITTED = "resubmitted"  # 补正后重新提交
    WITHDRAWN = "withdrawn"  # 撤回


CASE_FINAL = frozenset({CaseState.CONCLUDED, CaseState.REJECTED, CaseState.WITHDRAWN})
# States in which the form data and materials may change (the agent and the kiosk edit).
CASE_EDITABLE = frozenset({CaseState.DRAFT, CaseState.RETURNED})
# States whose working-day clock runs (overdue is flagged only here).
CASE_RUNNING = frozenset(
    {CaseState.ACCEPTED, CaseState.UNDER_APPROVAL, CaseState.RETURNED, CaseState.RESUBMITTED}
)

CASE_MOVES: dict[CaseState, frozenset[CaseState]] = {
    CaseState.DRAFT: frozenset({CaseState.ACCEPTED, CaseState.WITHDRAWN}),
    CaseState.ACCEPTED: frozenset({CaseState.UNDER_APPROVAL}),
    CaseState.UNDER_APPROVAL: frozenset(
        {CaseState.CONCLUDED, CaseState.REJECTED, CaseState.RETURNED}
    ),
    CaseState.RETURNED: frozenset({CaseState.RESUBMITTED, CaseState.WITHDRAWN}),
    CaseState.RESUBMITTED: frozenset({CaseState.UNDER_APPROVAL}),
    **{s: frozenset() for s in CASE_FINAL},
}

# Labels for the citizen (lookup, receipt, SMS) and the consoles.
STATE_LABELS: dict[CaseState, tuple[str, str]] = {
    CaseState.DRAFT: ("填写中", "Being filled in"),
    CaseState.ACCEPTED: ("已受理", "Accepted"),
    CaseState.UNDER_APPROVAL: ("审批中", "Under approval"),
    CaseState.CONCLUDED: ("已办结", "Concluded"),
    CaseState.REJECTED: ("不予许可", "Rejected"),
    CaseState.RETURNED: ("退回补正", "Returned for correction"),
    CaseState.RESUBMITTED: ("已补正重新提交", "Resubmitted"),
    CaseState.WITHDRAWN: ("已撤回", "Withdrawn"),
}


class Decision(StrEnum):
    """An approver's decision on one approval step."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class StepState(StrEnum):
    """A case's approval step (``case_approvals.state``)."""

    WAITING = "waiting"  # an earlier step of the round is still open
    PENDING = "pending"  # on the department's list now
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    CANCELLED = "cancelled"  # a later step of a round that ended early (rejected/returned)


DECISION_STEP_STATE = {
    Decision.APPROVE: StepState.APPROVED,
    Decision.REJECT: StepState.REJECTED,
    Decision.RETURN: StepState.RETURNED,
}


class MaterialStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def can_move(current: str, target: CaseState) -> bool:
    return target in CASE_MOVES[CaseState(current)]


def check_case_move(current: str, target: CaseState) -> None:
    """Raise ``case-state-conflict`` (409) unless ``current → target`` is allowed."""
    if not can_move(current, target):
        raise IllegalTransition("case", current, target.value)
