"""State machines of tickets and agents (house rule 4): the states and the allowed moves.

An illegal move raises ``IllegalTransition`` (a stable 409 error), so a late click — an
agent accepting an offer that already timed out, a kiosk cancelling a ticket that is
already being served — gets a clear answer and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from cloudwindow.errors import CloudWindowError


class TicketState(StrEnum):
    QUEUED = "queued"  # 排队中
    OFFERED = "offered"  # ringing at an agent
    IN_SESSION = "in_session"  # being served
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the citizen left the queue
    ABANDONED = "abandoned"  # the kiosk vanished and did not come back in time
    CALLBACK_REQUESTED = "callback_requested"  # left the queue asking to be called back
    EXPIRED = "expired"  # still waiting at closing time


class AgentState(StrEnum):
    OFFLINE = "offline"
    READY = "ready"
    NOT_READY = "not_ready"  # with a reason
    OFFERED = "offered"  # ringing
    IN_SESSION = "in_session"
    WRAP_UP = "wrap_up"  # after a session, timed


class NotReadyReason(StrEnum):
    BREAK = "break"  # 小休
    MEAL = "meal"  # 就餐
    TRAINING = "training"  # 培训
    ADMIN = "admin"  # 事务性工作
    MISSED_OFFER = "missed_offer"  # set by the system when an offer rang out
    DECLINED_OFFER = "declined_offer"


TICKET_FINAL = frozenset(
    {
        TicketState.COMPLETED,
        TicketState.CANCELLED,
        TicketState.ABANDONED,
        TicketState.CALLBACK_REQUESTED,
        TicketState.EXPIRED,
    }
)
TICKET_WAITING = frozenset({TicketState.QUEUED, TicketState.OFFERED})

TICKET_MOVES: dict[TicketState, frozenset[TicketState]] = {
    TicketState.QUEUED: frozenset(
        {
            TicketState.OFFERED,
            TicketState.CANCELLED,
            TicketState.ABANDONED,
            TicketState.CALLBACK_REQUESTED,
            TicketState.EXPIRED,
        }
    ),
    # An offer that is declined or rings out puts the ticket back in line at its place.
    TicketState.OFFERED: frozenset(
        {TicketState.IN_SESSION, TicketState.QUEUED, TicketState.CANCELLED, TicketState.ABANDONED}
    ),
    # A blind transfer puts the ticket back in line for another skill group.
    TicketState.IN_SESSION: frozenset(
        {TicketState.COMPLETED, TicketState.QUEUED, TicketState.ABANDONED}
    ),
    **{s: frozenset() for s in TICKET_FINAL},
}

AGENT_MOVES: dict[AgentState, frozenset[AgentState]] = {
    AgentState.OFFLINE: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY, AgentState.OFFERED, AgentState.OFFLINE}),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE}),
    AgentState.OFFERED: frozenset(
        {AgentState.IN_SESSION, AgentState.NOT_READY, AgentState.READY, AgentState.OFFLINE}
    ),
    AgentState.IN_SESSION: frozenset({AgentState.WRAP_UP, AgentState.OFFLINE}),
    AgentState.WRAP_UP: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE}),
}


class IllegalTransition(CloudWindowError):
    status_code = 409
    message_zh = "当前状态（{current}）下不能执行此操作（→ {target}）"
    message_en = "Not possible in the current state ({current} → {target})"

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__({"current": current, "target": target}, current=current, target=target)
        self.error_id = f"{kind}-state-conflict"


def check_ticket_move(current: str, target: TicketState) -> None:
    if target not in TICKET_MOVES[TicketState(current)]:
        raise IllegalTransition("ticket", current, target.value)


def check_agent_move(current: str, target: AgentState) -> None:
    if target not in AGENT_MOVES[AgentState(current)]:
        raise IllegalTransition("agent", current, target.value)
