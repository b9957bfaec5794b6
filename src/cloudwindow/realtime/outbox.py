"""Events after commit (ARCHITECTURE §4): an action emits events into an ``Outbox`` bound
to its transaction; durable ones are rows of ``realtime_events`` written in that same
transaction; all are published to the recipients' nodes only after the commit.

    async with unit_of_work(services) as (session, out):
        ...change rows...
        out.emit(f"user:{agent_id}", "offer", {...})
    # committed here, then published

A failed transaction publishes nothing, so no client ever sees a change that did not
happen. See docs/protocol.md for the envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from fastapi.encoders import jsonable_encoder
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.db import DEFERRED, DeferredWrites, utcnow
from cloudwindow.realtime.models import OutboxEvent

EVENTS = cast(Table, OutboxEvent.__table__)

if TYPE_CHECKING:
    from cloudwindow.services import Services


@dataclass
class Event:
    recipient: str
    type: str
    data: dict[str, Any]
    row: OutboxEvent | None = None  # durable events: id known after flush
    at: str = field(default_factory=lambda: utcnow().isoformat())

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.row.id if self.row is not None else None,
            "type": self.type,
            "data": self.data,
            "at": self.at,
        }


def _plain(value: Any) -> bool:
    """Already JSON as it is (what ``model_dump(mode="json")`` returns)? A quick walk,
    so only payloads with datetimes, decimals and the like go through the (much slower)
    ``jsonable_encoder``."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.events: list[Event] = []

    def emit(
        self, recipient: str, type: str, data: dict[str, Any], *, durable: bool = True
    ) -> None:
        """Queue an event for ``recipient`` ("user:5", "device:3", "role:supervisor").
        Durable events can be replayed on resume; ephemeral ones (positions, presence,
        metrics) are superseded by the next and are not stored."""
        payload = data if _plain(data) else jsonable_encoder(data)
        row = OutboxEvent(recipient=recipient, type=type, data=payload) if durable else None
        self.events.append(Event(recipient, type, payload, row))

    async def write(self) -> None:
        """Insert the durable events, in order, in one batch (ids assigned)."""
        rows = [e.row for e in self.events if e.row is not None]
        deferred: DeferredWrites | None = self.session.info.get(DEFERRED)
        if deferred is None:
            if rows:
                self.session.add_all(rows)
            await self.session.flush()
            return
        # With deferred writes, the events go in the same statement as the rest.
        now = utcnow()
        ids = await deferred.execute(
            self.session,
            EVENTS,
            [dict(recipient=r.recipient, type=r.type, data=r.data, created_at=now) for r in rows],
        )
        for row, event_id in zip(rows, ids, strict=True):
            row.id = event_id


@asynccontextmanager
async def unit_of_work(
    services: Services, *, deferred: tuple[frozenset[str], frozenset[str]] | None = None
) -> AsyncIterator[tuple[AsyncSession, Outbox]]:
    """A transaction plus its outbox; events are published after a successful commit.

    ``deferred``: (tables whose row UPDATEs, tables whose INSERTs) are collected and
    written with the events in one batch at the end (``db.DeferredWrites``)."""
    async with services.db.transaction() as session:
        if deferred is not None:
            session.info[DEFERRED] = DeferredWrites(*deferred)
        outbox = Outbox(session)
        try:
            yield session, outbox
            await outbox.write()  # assigns event ids before the commit
        finally:
            session.info.pop(DEFERRED, None)
    if outbox.events:
        await services.hub.publish(outbox.events)
