"""API shapes of cases — docs/cases.md §Shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.cases.states import Decision
from cloudwindow.schemas import InputModel

Text500 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
MissingItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ItemCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]


# Inputs ------------------------------------------------------------------------------------
class CaseOpen(InputModel):
    ticket_id: Id
    service_item_code: ItemCode | None = None


class CaseDataPatch(InputModel):
    values: dict[FieldName, Any] = Field(min_length=1, max_length=100)
    base_revs: dict[FieldName, Annotated[int, Field(ge=0)]] | None = None


class CaseWithdraw(InputModel):
    reason: Reason


class CaseResubmit(InputModel):
    note: Text500 = ""


class CaseAttach(InputModel):
    """Bring a case (returned for correction, or a draft whose session ended) into the
    session the agent serves now. ``phone``: the applicant's number, as the citizen says
    it — needed unless the caller is the agent who had the case."""

    ticket_id: Id
    phone: Annotated[str, StringConstraints(max_length=24)] | None = None


class CaseAccept(InputModel):
    pass


class ApprovalDecision(InputModel):
    approval_id: Id
    decision: Decision
    reason: Text500 = ""
    missing: list[MissingItem] = Field(default_factory=list, max_length=50)


class ChainStepIn(InputModel):
    department_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ChainIn(InputModel):
    steps: list[ChainStepIn] = Field(max_length=10)


class LookupRequest(InputModel):
    number: Annotated[str, StringConstraints(max_length=40)]
    phone: Annotated[str, StringConstraints(max_length=24)]


# Views ---------------------------------------------------------------------------------------
class ItemRef(BaseModel):
    code: str
    name: str
    department_code: str
    department_name: str


class UserRef(BaseModel):
    id: int
    display_name: str


class StepRef(BaseModel):
    step: int
    name: str
    department_code: str
    department_name: str


class RequiredMaterial(BaseModel):
    code: str
    name: str
    required: bool
    note: str = ""
    status: str  # missing | pending | accepted | rejected


class MaterialLicence(BaseModel):
    """The electronic licence a material came from (source ``licence``, docs/licences.md)."""

    id: str
    type_code: str
    type_name: str
    number_masked: str
    holder_name_masked: str
    issuer: str
    issued_on: date
    valid_until: date | None
    provider: str  # local | http


class MaterialView(BaseModel):
    id: int
    material_code: str
    name: str
    source: str
    content_type: str
    size: int
    sha256: str
    status: str
    reason: str
    added_by: str
    decided_at: datetime | None
    created_at: datetime
    licence: MaterialLicence | None = None  # source ``licence`` only


class ApprovalView(BaseModel):
    id: int
    round: int
    step: int
    name: str
    department_code: str
    state: str
    decided_by: UserRef | None
    decided_at: datetime | None
    reason: str
    missing: list[str]


class EventView(BaseModel):
    id: int
    kind: str
    from_state: str
    to_state: str
    actor: str
    actor_name: str
    reason: str
    details: dict[str, Any]
    at: datetime


class NotificationView(BaseModel):
    id: int
    kind: str
    channel: str
    phone_masked: str
    text: str
    state: str
    sent_at: datetime | None
    attempts: int = 0
    error: str = ""
    next_attempt_at: datetime | None = None


class RecordingRef(BaseModel):
    id: int
    state: str
    started_at: datetime


class FormRef(BaseModel):
    id: int
    version: int
    schema_: dict[str, Any] = Field(serialization_alias="schema")
    layout: dict[str, Any]


class FieldProblem(BaseModel):
    field: str
    error_id: str
    message: dict[str, str]


class Correction(BaseModel):
    reason: str
    missing: list[str]
    at: datetime | None = None


class Receipt(BaseModel):
    title: str
    lines: list[str]
    text: str


class Deadline(BaseModel):
    """The working-day clock of a case, as of today (China time)."""

    promised_days: int
    accepted_at: datetime | None = None
    due_date: date | None = None
    working_days_left: int | None = None
    overdue: bool = False
    due_soon: bool = False


class CaseRow(Deadline):
    id: int
    number: str
    state: str
    state_label: dict[str, str]
    service_item: ItemRef
    applicant_masked: str
    phone_masked: str
    agent: UserRef | None
    round: int
    current_step: StepRef | None
    approval_id: int | None = None  # approver lists: the step to decide
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    """A page of a case list. ``total`` counts matches up to ``queries.TOTAL_CAP``;
    ``total_exact`` is false when there are more (show "10000+")."""

    items: list[CaseRow]
    total: int
    total_exact: bool = True
    page: int
    page_size: int


class CaseView(CaseRow):
    form_version_id: int
    form: FormRef | None = None
    data: dict[str, Any]
    data_clear: bool
    rev: int
    field_revs: dict[str, int]
    confirmed_rev: int | None
    confirmed_at: datetime | None
    confirmed: bool
    validation: list[FieldProblem]
    ticket_id: int | None
    ticket_number: str | None
    required_materials: list[RequiredMaterial]
    materials: list[MaterialView] = Field(default_factory=list)
    can_accept: bool
    accept_blockers: list[str]
    approvals: list[ApprovalView] = Field(default_factory=list)
    correction: Correction | None
    outcome_reason: str
    concluded_at: datetime | None
    events: list[EventView] = Field(default_factory=list)
    notifications: list[NotificationView] = Field(default_factory=list)
    recordings: list[RecordingRef] = Field(default_factory=list)
    receipt: Receipt | None = None
    version: int


class KioskCases(BaseModel):
    cases: list[CaseView]


class CaseMetrics(BaseModel):
    by_state: dict[str, int]
    running: int
    overdue: int
    due_soon: int
    accepted_today: int
    concluded_today: int
    returned_open: int


class ChainStepView(BaseModel):
    position: int
    department_code: str
    department_name: str
    name: str


class ChainView(BaseModel):
    service_item_code: str
    default: bool
    steps: list[ChainStepView]


class LookupHistory(BaseModel):
    state: str
    state_label: dict[str, str]
    at: datetime


class LookupView(BaseModel):
    number: str
    state: str
    state_label: dict[str, str]
    service_item_name: str
    department_name: str
    accepted_at: datetime | None
    due_date: date | None
    working_days_left: int | None
    overdue: bool
    concluded_at: datetime | None
    correction: Correction | None
    outcome_reason: str
    history: list[LookupHistory]
