"""Shapes of queue messages and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from cloudwindow.queueing.policy import Priority
from cloudwindow.queueing.states import NotReadyReason
from cloudwindow.schemas import InputModel

ItemCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{3,39}$")]
TicketId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class TakeTicket(InputModel):
    service_item_code: ItemCode
    priority: Priority = Priority.NORMAL
    # Idempotency key chosen by the kiosk: resending a take whose reply was lost (the
    # node died) returns the ticket it already made instead of making a second one.
    request_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")] | None = None
    # 预约码 (queueing/appointments.py): verified against today's slot, never trusted as is.
    appointment_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None

    @model_validator(mode="after")
    def _appointment_priority(self) -> TakeTicket:
        if self.appointment_code is not None and self.priority == Priority.NORMAL:
            self.priority = Priority.APPOINTMENT
        return self


class TicketRef(InputModel):
    ticket_id: TicketId


class Transfer(InputModel):
    """Blind transfer of a ticket in session: to a skill group's queue, or to one agent."""

    ticket_id: TicketId
    skill_group_code: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")] | None
    ) = None
    agent_id: int | None = Field(default=None, ge=1, le=2_147_483_647)

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.skill_group_code is None) == (self.agent_id is None):
            raise ValueError("give exactly one of skill_group_code or agent_id")
        return self


class SetAgentState(InputModel):
    state: Annotated[str, StringConstraints(pattern=r"^(ready|not_ready|offline)$")]
    reason: NotReadyReason | None = None
    seat_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class AgentRef(BaseModel):
    id: int
    display_name: str


class TicketView(BaseModel):
    id: int
    number: str
    state: str
    service_item_code: str
    service_item_name: str
    skill_group_code: str
    priority: str
    enqueued_at: datetime
    position: int | None = None
    expected_wait_seconds: float | None = None
    agent: AgentRef | None = None
    offer_expires_at: datetime | None = None


class AgentStateView(BaseModel):
    state: str
    reason: str
    since: datetime
    ticket: TicketView | None = None
    wrap_up_until: datetime | None = None
    seat_id: int | None = None


class GroupBoard(BaseModel):
    skill_group_code: str
    name: str
    waiting: int
    longest_wait_seconds: float
    agents: dict[str, int]


class AgentBoard(BaseModel):
    user_id: int
    display_name: str
    state: str
    reason: str
    since: datetime
    ticket_number: str | None = None


class TicketBoard(BaseModel):
    id: int
    number: str
    state: str
    skill_group_code: str
    service_item_name: str
    priority: str
    enqueued_at: datetime
    agent_name: str | None = None


class QueueOverview(BaseModel):
    groups: list[GroupBoard]
    agents: list[AgentBoard]
    tickets: list[TicketBoard]


class StaffingRow(BaseModel):
    agents: int
    service_level: float
    asa_seconds: float | None
    p_wait: float
    p_abandon: float | None = None
    service_level_with_abandonment: float | None = None


class StaffingPlan(BaseModel):
    traffic_erlangs: float
    agents_needed: int
    agents_needed_with_abandonment: int | None = None
    rows: list[StaffingRow]


class QueueMetrics(BaseModel):
    """Live figures of one skill group or site over one window."""

    key: str
    name: str
    waiting: int
    longest_wait_seconds: float
    agents: dict[str, int]
    offered: int  # tickets that entered the queue in the window
    answered: int
    answered_within_target: int
    service_level: float | None  # answered within target / (answered + abandoned)
    average_speed_of_answer_seconds: float | None
    abandoned: int
    abandonment_rate: float | None
    average_handle_seconds: float | None


class MetricsReport(BaseModel):
    window: str
    since: datetime
    target_answer_seconds: int
    skill_groups: list[QueueMetrics]
    sites: list[QueueMetrics]
