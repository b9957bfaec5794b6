"""Reads of the gateway: events to replay on resume, who is online."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.realtime.models import OutboxEvent


async def events_after(
    session: AsyncSession, keys: tuple[str, ...], last_id: int, limit: int
) -> list[OutboxEvent]:
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.recipient.in_(keys), OutboxEvent.id > last_id)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return list(rows)


async def oldest_event_id(session: AsyncSession) -> int | None:
    value = await session.scalar(select(func.min(OutboxEvent.id)))
    return int(value) if value is not None else None


async def latest_event_ids(session: AsyncSession, keys: list[str]) -> dict[str, int]:
    """The newest event id of each recipient that has any (one grouped statement per
    thousand recipients)."""
    out: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        rows = await session.execute(
            select(OutboxEvent.recipient, func.max(OutboxEvent.id))
            .where(OutboxEvent.recipient.in_(keys[start : start + 1000]))
            .group_by(OutboxEvent.recipient)
        )
        out.update({recipient: int(newest) for recipient, newest in rows})
    return out
