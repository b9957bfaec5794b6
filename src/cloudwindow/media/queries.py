"""Reads of media sessions: views for participants and supervisors."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow import refcache
from cloudwindow.media.models import MediaSession, MediaState, Role
from cloudwindow.media.schemas import FirstFrame, MediaSessionView, ParticipantView
from cloudwindow.pagination import PageParams, fetch_page
from cloudwindow.queueing.models import Ticket


async def participant(session: AsyncSession, key: str, role: Role) -> ParticipantView:
    """Who is behind a recipient key: a kiosk's name or a user's display name."""
    kind, _, raw_id = key.partition(":")
    ident = int(raw_id) if raw_id.isdigit() else 0
    name = ""
    if kind == "device":
        terminal = await refcache.terminal(session, ident)
        name = terminal.name if terminal else ""
    elif kind == "user":
        user = await refcache.agent(session, ident)
        name = user.display_name if user else ""
    return ParticipantView(role=role.value, key=key, kind=kind, id=ident, name=name)


async def session_view(session: AsyncSession, row: MediaSession) -> MediaSessionView:
    number = await session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
    return MediaSessionView(
        id=row.id,
        ticket_id=row.ticket_id,
        ticket_number=number or "",
        backend=row.backend,
        state=row.state,
        caller=await participant(session, row.caller, Role.CALLER),
        callee=await participant(session, row.callee, Role.CALLEE),
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        ended_by=row.ended_by,
        first_frame_ms=FirstFrame(
            caller=row.caller_first_frame_ms, callee=row.callee_first_frame_ms
        ),
    )


async def open_session_of(session: AsyncSession, key: str) -> MediaSession | None:
    """The open call a participant (recipient key) is in, if any (the newest)."""
    return await session.scalar(
        select(MediaSession)
        .where(
            MediaSession.state == MediaState.OPEN.value,
            or_(MediaSession.caller == key, MediaSession.callee == key),
        )
        .order_by(MediaSession.id.desc())
        .limit(1)
    )


async def open_sessions_of_ticket(session: AsyncSession, ticket_id: int) -> list[MediaSession]:
    return list(
        await session.scalars(
            select(MediaSession).where(
                MediaSession.ticket_id == ticket_id, MediaSession.state == MediaState.OPEN.value
            )
        )
    )


async def list_sessions(
    session: AsyncSession,
    params: PageParams,
    state: MediaState | None = None,
    ticket_id: int | None = None,
) -> tuple[list[MediaSessionView], int]:
    """Newest first; filtered by state and/or ticket."""
    stmt = select(MediaSession).order_by(MediaSession.id.desc())
    if state is not None:
        stmt = stmt.where(MediaSession.state == state.value)
    if ticket_id is not None:
        stmt = stmt.where(MediaSession.ticket_id == ticket_id)
    rows, total = await fetch_page(session, stmt, params)
    return [await session_view(session, r) for r in rows], total
