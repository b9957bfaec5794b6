"""Writes of the gateway: node start/stop and heartbeats, outbox purge (presence of single
sockets is written in batches by ``realtime/presence.py``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from cloudwindow.db import utcnow
from cloudwindow.realtime.models import OutboxEvent, Presence
from cloudwindow.services import Services


async def do_node_start(services: Services) -> None:
    """A node (re)starting, or stopping, under its name: its sockets are gone. Forget
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
    """Graceful shutdown, after the presence writer wrote what was pending: the same as a
    restart under this name (a few statements, not one transaction per socket)."""
    await do_node_start(services)


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
