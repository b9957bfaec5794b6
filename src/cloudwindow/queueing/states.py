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
    CONSULT_OFFERED = "consult_offered"  # a colleague's consult request rings (咨询振铃)
    CONSULTING = "consulting"  # in a colleague's consult; may then take the citizen over


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
    # A blind transfer puts the ticket back in line for another skill group; a completed
    # consult transfer hands it to the consulted agent and it stays in session.
    TicketState.IN_SESSION: frozenset(
        {TicketState.COMPLETED, TicketState.QUEUED, TicketState.ABANDONED, TicketState.IN_SESSION}
    ),
    **{s: frozenset() for s in TICKET_FINAL},
}

AGENT_MOVES: dict[AgentState, frozenset[AgentState]] = {
    AgentState.OFFLINE: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset(
        {AgentState.NOT_READY, AgentState.OFFERED, AgentState.OFFLINE, AgentState.CONSULT_OFFERED}
    ),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE}),
    AgentState.OFFERED: frozenset(
        {AgentState.IN_SESSION, AgentState.NOT_READY, AgentState.READY, AgentState.OFFLINE}
    ),
    AgentState.IN_SESSION: frozenset({AgentState.WRAP_UP, AgentState.OFFLINE}),
    AgentState.WRAP_UP: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE}),
    # Consult (queueing/consult.py): accepted → consulting; declined or cancelled → ready
    # (no fault of the agent); rang out → not ready (missed), as with a missed offer.
    AgentState.CONSULT_OFFERED: frozenset(
        {AgentState.CONSULTING, AgentState.READY, AgentState.NOT_READY}
    ),
    # Cancelled (or the session ended) → ready; completed → serving the citizen.
    AgentState.CONSULTING: frozenset({AgentState.READY, AgentState.IN_SESSION}),
}

# Agents a consult is holding: they leave only through the consult's own moves.
AGENT_IN_CONSULT = frozenset({AgentState.CONSULT_OFFERED, AgentState.CONSULTING})


class ConsultState(StrEnum):
    """A consult (咨询转接): agent A asks agent B while A keeps serving the citizen."""

    RINGING = "ringing"
    ACCEPTED = "accepted"  # both agents in the consult
    DECLINED = "declined"
    RANG_OUT = "rang_out"
    CANCELLED = "cancelled"  # by either agent, or because the session ended
    COMPLETED = "completed"  # the citizen was handed to B


CONSULT_OPEN = frozenset({ConsultState.RINGING, ConsultState.ACCEPTED})
CONSULT_MOVES: dict[ConsultState, frozenset[ConsultState]] = {
    ConsultState.RINGING: frozenset(
        {
            ConsultState.ACCEPTED,
            ConsultState.DECLINED,
            ConsultState.RANG_OUT,
            ConsultState.CANCELLED,
        }
    ),
    ConsultState.ACCEPTED: frozenset({ConsultState.COMPLETED, ConsultState.CANCELLED}),
    **{s: frozenset() for s in ConsultState if s not in CONSULT_OPEN},
}


class CallbackState(StrEnum):
    """A callback request (回拨): the citizen left a phone number to be called back."""

    REQUESTED = "requested"
    CLAIMED = "claimed"  # one agent is calling
    DONE = "done"
    NO_ANSWER = "no_answer"  # may be tried again
    UNREACHABLE = "unreachable"  # no answer after the last attempt allowed
    CANCELLED = "cancelled"


CALLBACK_MOVES: dict[CallbackState, frozenset[CallbackState]] = {
    CallbackState.REQUESTED: frozenset({CallbackState.CLAIMED, CallbackState.CANCELLED}),
    CallbackState.CLAIMED: frozenset(
        {
            CallbackState.DONE,
            CallbackState.NO_ANSWER,
            CallbackState.UNREACHABLE,
            CallbackState.REQUESTED,  # released unanswered: back on the list
            CallbackState.CANCELLED,
        }
    ),
    CallbackState.NO_ANSWER: frozenset({CallbackState.CLAIMED, CallbackState.CANCELLED}),
    CallbackState.DONE: frozenset(),
    CallbackState.UNREACHABLE: frozenset(),
    CallbackState.CANCELLED: frozenset(),
}


class AppointmentState(StrEnum):
    """A booked appointment (预约): redeemed for a ticket at the kiosk, or not."""

    BOOKED = "booked"
    REDEEMED = "redeemed"  # a ticket was taken with its code
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # the slot (plus grace) passed unredeemed


APPOINTMENT_MOVES: dict[AppointmentState, frozenset[AppointmentState]] = {
    AppointmentState.BOOKED: frozenset(
        {AppointmentState.REDEEMED, AppointmentState.CANCELLED, AppointmentState.NO_SHOW}
    ),
    AppointmentState.REDEEMED: frozenset(),
    AppointmentState.CANCELLED: frozenset(),
    AppointmentState.NO_SHOW: frozenset(),
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


def check_consult_move(current: str, target: ConsultState) -> None:
    if target not in CONSULT_MOVES[ConsultState(current)]:
        raise IllegalTransition("consult", current, target.value)


def check_callback_move(current: str, target: CallbackState) -> None:
    if target not in CALLBACK_MOVES[CallbackState(current)]:
        raise IllegalTransition("callback", current, target.value)


def check_appointment_move(current: str, target: AppointmentState) -> None:
    if target not in APPOINTMENT_MOVES[AppointmentState(current)]:
        raise IllegalTransition("appointment", current, target.value)
