"""WebSocket transport of the queue (docs/protocol.md §Queue): thin handlers that parse,
call one action or query, and return the reply's data."""

from __future__ import annotations

from typing import Any

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.queueing import actions, queries
from cloudwindow.queueing.schemas import SetAgentState, TakeTicket, TicketRef, Transfer
from cloudwindow.realtime.dispatch import Dispatcher
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
    ref = TicketRef.model_validate(data)
    view = await actions.do_request_callback(services, who, ref.ticket_id)
    return {"ticket": view.model_dump(mode="json")}


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


async def _kiosk_connected(services: Services, who: Principal) -> None:
    if who.kind == "device":
        await actions.do_mark_disconnected(services, who, connected=True)


async def _kiosk_gone(services: Services, who: Principal) -> None:
    if who.kind == "device":
        await actions.do_mark_disconnected(services, who, connected=False)


messages.on_connect.append(_kiosk_connected)
messages.on_disconnect.append(_kiosk_gone)
