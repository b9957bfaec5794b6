"""The explicit state machines: consult transfer, callbacks, appointments, and the agent
moves a consult adds (tables of allowed and refused moves)."""

from __future__ import annotations

import pytest

from cloudwindow.queueing.states import (
    AGENT_MOVES,
    AgentState,
    AppointmentState,
    CallbackState,
    ConsultState,
    IllegalTransition,
    TicketState,
    check_agent_move,
    check_appointment_move,
    check_callback_move,
    check_consult_move,
    check_ticket_move,
)

A, C, K, P = AgentState, ConsultState, CallbackState, AppointmentState


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (A.READY, A.CONSULT_OFFERED, True),  # only a ready agent's desk rings
        (A.NOT_READY, A.CONSULT_OFFERED, False),
        (A.IN_SESSION, A.CONSULT_OFFERED, False),
        (A.OFFERED, A.CONSULT_OFFERED, False),
        (A.CONSULT_OFFERED, A.CONSULTING, True),  # accepted
        (A.CONSULT_OFFERED, A.READY, True),  # declined / cancelled
        (A.CONSULT_OFFERED, A.NOT_READY, True),  # rang out
        (A.CONSULT_OFFERED, A.IN_SESSION, False),  # must accept first
        (A.CONSULT_OFFERED, A.OFFERED, False),  # the router never rings it
        (A.CONSULTING, A.IN_SESSION, True),  # completed: takes the citizen
        (A.CONSULTING, A.READY, True),  # cancelled
        (A.CONSULTING, A.OFFERED, False),
        (A.CONSULTING, A.WRAP_UP, False),
        (A.CONSULTING, A.OFFLINE, False),
    ],
)
def test_agent_consult_moves(current: AgentState, target: AgentState, allowed: bool) -> None:
    if allowed:
        check_agent_move(current, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_agent_move(current, target)
        assert err.value.error_id == "agent-state-conflict"


def test_every_agent_state_has_a_row() -> None:
    assert set(AGENT_MOVES) == set(AgentState)


def test_a_consult_transfer_keeps_the_ticket_in_session() -> None:
    check_ticket_move(TicketState.IN_SESSION, TicketState.IN_SESSION)
    with pytest.raises(IllegalTransition):
        check_ticket_move(TicketState.COMPLETED, TicketState.IN_SESSION)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (C.RINGING, C.ACCEPTED, True),
        (C.RINGING, C.DECLINED, True),
        (C.RINGING, C.RANG_OUT, True),
        (C.RINGING, C.CANCELLED, True),
        (C.RINGING, C.COMPLETED, False),  # B never accepted
        (C.ACCEPTED, C.COMPLETED, True),
        (C.ACCEPTED, C.CANCELLED, True),
        (C.ACCEPTED, C.DECLINED, False),
        (C.ACCEPTED, C.RANG_OUT, False),
        (C.COMPLETED, C.CANCELLED, False),
        (C.DECLINED, C.ACCEPTED, False),  # a late accept after a decline
        (C.RANG_OUT, C.ACCEPTED, False),  # a late accept after ring-out
        (C.CANCELLED, C.ACCEPTED, False),
    ],
)
def test_consult_moves(current: ConsultState, target: ConsultState, allowed: bool) -> None:
    if allowed:
        check_consult_move(current, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_consult_move(current, target)
        assert err.value.error_id == "consult-state-conflict"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (K.REQUESTED, K.CLAIMED, True),
        (K.REQUESTED, K.CANCELLED, True),
        (K.REQUESTED, K.DONE, False),  # claim first: one caller at a time
        (K.CLAIMED, K.CLAIMED, False),  # a second claimer
        (K.CLAIMED, K.DONE, True),
        (K.CLAIMED, K.NO_ANSWER, True),
        (K.CLAIMED, K.UNREACHABLE, True),
        (K.CLAIMED, K.REQUESTED, True),  # released
        (K.NO_ANSWER, K.CLAIMED, True),  # retry
        (K.NO_ANSWER, K.DONE, False),
        (K.DONE, K.CLAIMED, False),
        (K.UNREACHABLE, K.CLAIMED, False),
        (K.CANCELLED, K.CLAIMED, False),
    ],
)
def test_callback_moves(current: CallbackState, target: CallbackState, allowed: bool) -> None:
    if allowed:
        check_callback_move(current, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_callback_move(current, target)
        assert err.value.error_id == "callback-state-conflict"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (P.BOOKED, P.REDEEMED, True),
        (P.BOOKED, P.CANCELLED, True),
        (P.BOOKED, P.NO_SHOW, True),
        (P.REDEEMED, P.REDEEMED, False),  # a code works once
        (P.REDEEMED, P.CANCELLED, False),
        (P.CANCELLED, P.REDEEMED, False),
        (P.NO_SHOW, P.REDEEMED, False),
    ],
)
def test_appointment_moves(
    current: AppointmentState, target: AppointmentState, allowed: bool
) -> None:
    if allowed:
        check_appointment_move(current, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_appointment_move(current, target)
        assert err.value.error_id == "appointment-state-conflict"
