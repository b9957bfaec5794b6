"""WebSocket transport of the queue (docs/protocol.md §Queue): thin handlers that parse,
call one action or query, and return the reply's data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.queueing import actions, appointments, callbacks, consult, queries
from cloudwindow.queueing.schemas import SetAgentState, TakeTicket, TicketRef, Transfer
from cloudwindow.realtime.dispatch import Dispatcher, Handler
from cloudwindow.services import Services

messages = Dispatcher()


@messages.handles("ticket.take", Permission.DEVICE, reply="ticket.created")
async def take(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    view = await actions.do_take_ticket(services, who, TakeTicket.model_validate(data))
    return {"ticket": view.model_dump(mode="json")}


@messages.handles("ticket.cancel", Permission.DEVICE, reply="ticket.cancelled")
async def cancel(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    ref = TicketRef.model_validate(data)
    view = await actions.do_cancel_ticket(services, who, ref.ticket_id)
    return {"ticket": view.model_dump(mode="json")}


@messages.handles("ticket.callback", Permission.DEVICE, reply="ticket.callback_requested")
async def callback(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = callbacks.CallbackRequest.model_validate({**data, "service_item_code": None})
    view, ticket = await callbacks.do_request_callback(services, who, body)
    return {
        "ticket": ticket.model_dump(mode="json") if ticket else None,
        "callback": view.model_dump(mode="json"),
    }


@messages.handles("ticket.get", Permission.DEVICE, reply="ticket.current")
async def current(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    async with services.db.read() as session:
        ticket = await queries.active_ticket(session, who.ident)
        view = await queries.ticket_view(session, ticket) if ticket else None
    return {"ticket": view.model_dump(mode="json") if view else None}


@messages.handles("agent.state", Permission.AGENT_DESK, reply="agent.status")
async def set_state(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    view = await actions.do_set_agent_state(services, who, SetAgentState.model_validate(data))
    return view.model_dump(mode="json")


@messages.handles("agent.get", Permission.AGENT_DESK, reply="agent.status")
async def get_state(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    async with services.db.read() as session:
        view = await queries.agent_view_of(session, who.id)
    if view is None:  # never signed in to a seat yet
        return {"state": "offline", "reason": "", "since": None, "ticket": None}
    return view.model_dump(mode="json")


@messages.handles("offer.accept", Permission.AGENT_DESK, reply="agent.status")
async def accept(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    ref = TicketRef.model_validate(data)
    return (await actions.do_accept_offer(services, who, ref.ticket_id)).model_dump(mode="json")


@messages.handles("offer.decline", Permission.AGENT_DESK, reply="agent.status")
async def decline(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    ref = TicketRef.model_validate(data)
    return (await actions.do_decline_offer(services, who, ref.ticket_id)).model_dump(mode="json")


@messages.handles("session.end", Permission.AGENT_DESK, reply="agent.status")
async def end(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    ref = TicketRef.model_validate(data)
    return (await actions.do_end_session(services, who, ref.ticket_id)).model_dump(mode="json")


@messages.handles("session.transfer", Permission.AGENT_DESK, reply="agent.status")
async def transfer(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = Transfer.model_validate(data)
    return (await actions.do_transfer(services, who, body)).model_dump(mode="json")


@messages.handles("wrap_up.done", Permission.AGENT_DESK, reply="agent.status")
async def wrap_up_done(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    return (await actions.do_finish_wrap_up(services, who)).model_dump(mode="json")


# Callbacks, appointments (kiosk) and consult transfer (agents): docs/protocol.md
@messages.handles("callback.request", Permission.DEVICE, reply="callback.requested")
async def callback_request(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    body = callbacks.CallbackRequest.model_validate({**data, "ticket_id": None})
    view, _ = await callbacks.do_request_callback(services, who, body)
    return {"callback": view.model_dump(mode="json")}


@messages.handles("appointment.slots", Permission.DEVICE, reply="appointment.slots")
async def appointment_slots(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    query = appointments.SlotsQuery.model_validate(data)
    return (await appointments.get_slots(services, query.service_item_code)).model_dump(mode="json")


@messages.handles("appointment.book", Permission.DEVICE, reply="appointment.booked")
async def appointment_book(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    body = appointments.BookAppointment.model_validate(data)
    view = await appointments.do_book(services, who, body)
    return {"appointment": view.model_dump(mode="json")}


@messages.handles("appointment.lookup", Permission.DEVICE, reply="appointment.found")
async def appointment_lookup(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    ref = appointments.CodeRef.model_validate(data)
    view = await appointments.get_by_code(services, ref.code)
    return {"appointment": view.model_dump(mode="json")}


@messages.handles("appointment.cancel", Permission.DEVICE, reply="appointment.cancelled")
async def appointment_cancel(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    body = appointments.CancelByCode.model_validate(data)
    view = await appointments.do_cancel_by_code(services, who, body)
    return {"appointment": view.model_dump(mode="json")}


@messages.handles("consult.candidates", Permission.AGENT_DESK, reply="consult.candidates")
async def consult_candidates(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    agents = await consult.get_candidates(services, who)
    return {"agents": [a.model_dump(mode="json") for a in agents]}


@messages.handles("consult.get", Permission.AGENT_DESK, reply="consult.status")
async def consult_get(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    view = await consult.get_open_consult(services, who)
    return {"consult": view.model_dump(mode="json") if view else None}


@messages.handles("consult.start", Permission.AGENT_DESK, reply="consult.status")
async def consult_start(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = consult.ConsultStart.model_validate(data)
    return {
        "consult": (await consult.do_start_consult(services, who, body)).model_dump(mode="json")
    }


def _consult_step(
    step: Callable[[Services, Principal, int], Awaitable[consult.ConsultView]],
) -> Handler:
    """B accepts or declines, A cancels: the consult's id in, its new state out."""

    async def handle(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        ref = consult.ConsultRef.model_validate(data)
        return {"consult": (await step(services, who, ref.consult_id)).model_dump(mode="json")}

    return handle


for _type, _step in (
    ("consult.accept", consult.do_accept_consult),
    ("consult.decline", consult.do_decline_consult),
    ("consult.cancel", consult.do_cancel_consult),
):
    messages.handles(_type, Permission.AGENT_DESK, reply="consult.status")(_consult_step(_step))


@messages.handles("consult.complete", Permission.AGENT_DESK, reply="agent.status")
async def consult_complete(
    services: Services, who: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    ref = consult.ConsultRef.model_validate(data)
    return (await consult.do_complete_consult(services, who, ref.consult_id)).model_dump(
        mode="json"
    )


def _kiosks(who: list[Principal]) -> list[str]:
    return [p.ident for p in who if p.kind == "device"]


async def _kiosks_back(services: Services, session: AsyncSession, who: list[Principal]) -> None:
    await actions.mark_kiosks(session, _kiosks(who), connected=True)


async def _kiosks_gone(services: Services, session: AsyncSession, who: list[Principal]) -> None:
    await actions.mark_kiosks(session, _kiosks(who), connected=False)


messages.on_connect.append(_kiosks_back)
messages.on_disconnect.append(_kiosks_gone)
