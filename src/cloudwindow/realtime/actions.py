"""Writes of the gateway: presence on connect/disconnect, node heartbeats, outbox purge."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from cloudwindow.accounts.principal import Principal
from cloudwindow.db import utcnow
from cloudwindow.realtime.models import OutboxEvent, Presence
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services

SUPERVISORS = "role:supervisor"


def _presence(principal: Principal, online: bool) -> dict[str, object]:
    return {
        "principal": principal.ident,
        "kind": principal.kind,
        "name": principal.name,
        "online": online,
    }


async def do_connect(services: Services, principal: Principal) -> None:
    node = services.settings.node_name
    async with unit_of_work(services) as (session, out):
        row = await session.get(Presence, (principal.ident, node))
        if row is None:
            session.add(
                Presence(principal=principal.ident, node=node, kind=principal.kind, connections=1)
            )
        else:
            row.connections += 1
            row.last_seen = utcnow()
        out.emit(
            SUPERVISORS,
            "presence",
            _presence(principal, True),
            durable=False,
        )


async def do_disconnect(services: Services, principal: Principal) -> bool:
    """Returns True when that was the principal's last connection anywhere."""
    node = services.settings.node_name
    async with unit_of_work(services) as (session, out):
        row = await session.get(Presence, (principal.ident, node))
        if row is not None:
            row.connections -= 1
            if row.connections <= 0:
                await session.delete(row)
        await session.flush()
        cutoff = utcnow() - timedelta(seconds=services.settings.presence_timeout_seconds)
        elsewhere = await session.scalar(
            select(Presence.node)
            .where(Presence.principal == principal.ident, Presence.last_seen >= cutoff)
            .limit(1)
        )
        gone = elsewhere is None
        if gone:
            out.emit(
                SUPERVISORS,
                "presence",
                _presence(principal, False),
                durable=False,
            )
    return gone


async def do_node_start(services: Services) -> None:
    """A node (re)starting under its name: its previous life's sockets are gone. Forget
    their presence, and start the abandonment grace period for the kiosks that held
    waiting tickets on it (they get it back by reconnecting anywhere)."""
    from cloudwindow.queueing.models import Ticket
    from cloudwindow.queueing.states import TICKET_WAITING

    node = services.settings.node_name
    async with services.db.transaction() as session:
        stale = list(
            await session.scalars(
                select(Presence.principal).where(Presence.node == node, Presence.kind == "device")
            )
        )
        await session.execute(delete(Presence).where(Presence.node == node))
        if stale:
            await session.execute(
                update(Ticket)
                .where(
                    Ticket.owner.in_(stale),
                    Ticket.state.in_([s.value for s in TICKET_WAITING]),
                    Ticket.disconnected_at.is_(None),
                )
                .values(disconnected_at=utcnow())
            )


async def do_node_stop(services: Services) -> None:
    """Graceful shutdown: one statement instead of one transaction per socket."""
    async with services.db.transaction() as session:
        await session.execute(delete(Presence).where(Presence.node == services.settings.node_name))


async def do_node_heartbeat(services: Services) -> None:
    """Mark this node's presence rows fresh; drop rows of nodes that stopped beating."""
    now = utcnow()
    cutoff = now - timedelta(seconds=services.settings.presence_timeout_seconds)
    async with services.db.transaction() as session:
        await session.execute(
            update(Presence)
            .where(Presence.node == services.settings.node_name)
            .values(last_seen=now)
        )
        await session.execute(delete(Presence).where(Presence.last_seen < cutoff))


async def do_purge_events(services: Services) -> None:
    cutoff = utcnow() - timedelta(seconds=services.settings.event_retention_seconds)
    async with services.db.transaction() as session:
        await session.execute(delete(OutboxEvent).where(OutboxEvent.created_at < cutoff))
