"""Reads of recordings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.fleet.models import Site
from cloudwindow.queueing.models import Ticket
from cloudwindow.recording.models import Recording, RecordingChunk, RecordingState
from cloudwindow.recording.schemas import RecordingDetail, RecordingOut

MISSING_SHOWN = 200


def recordings_query(
    state: RecordingState | None = None,
    flagged: bool | None = None,
    ticket_id: int | None = None,
    agent_id: int | None = None,
    site_id: int | None = None,
) -> Select[Any]:
    """Newest first; every given filter must match."""
    stmt = select(Recording).order_by(Recording.id.desc())
    if state is not None:
        stmt = stmt.where(Recording.state == state.value)
    if flagged is not None:
        is_flagged = Recording.state == RecordingState.INCOMPLETE.value
        stmt = stmt.where(is_flagged if flagged else ~is_flagged)
    for column, value in (
        (Recording.ticket_id, ticket_id),
        (Recording.agent_id, agent_id),
        (Recording.site_id, site_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def describe(session: AsyncSession, recs: list[Recording]) -> list[RecordingOut]:
    """The recordings with their ticket number, service item, agent and site names."""
    if not recs:
        return []
    names = {
        row[0]: tuple(row[1:])
        for row in await session.execute(
            select(
                Recording.id, Ticket.number, Ticket.service_item_code, User.display_name, Site.name
            )
            .join(Ticket, Ticket.id == Recording.ticket_id)
            .join(User, User.id == Recording.agent_id)
            .outerjoin(Site, Site.id == Recording.site_id)
            .where(Recording.id.in_([r.id for r in recs]))
        )
    }
    return [recording_out(r, *names.get(r.id, ())) for r in recs]


def recording_out(
    rec: Recording,
    ticket_number: str | None = None,
    item_code: str | None = None,
    agent_name: str | None = None,
    site_name: str | None = None,
) -> RecordingOut:
    expected = rec.declared_chunks if rec.declared_chunks is not None else rec.max_seq + 1
    return RecordingOut(
        id=rec.id,
        ticket_id=rec.ticket_id,
        ticket_number=ticket_number,
        service_item_code=item_code,
        media_session_id=rec.media_session_id,
        agent_id=rec.agent_id,
        agent_name=agent_name,
        site_id=rec.site_id,
        site_name=site_name,
        terminal_id=rec.terminal_id,
        mime_type=rec.mime_type,
        state=rec.state,
        complete=rec.state == RecordingState.FINISHED.value,
        incomplete_reason=rec.incomplete_reason,
        started_at=rec.started_at,
        last_chunk_at=rec.last_chunk_at,
        finished_at=rec.finished_at,
        duration_ms=rec.duration_ms,
        chunk_count=rec.chunk_count,
        contiguous=rec.contiguous,
        declared_chunks=rec.declared_chunks,
        missing_count=max(0, expected - rec.chunk_count),
        bytes_total=rec.bytes_total,
        chain_head=rec.chain_head,
        file_bytes=rec.file_bytes,
        file_sha256=rec.file_sha256,
        remuxed=rec.remuxed,
        has_video=rec.has_video,
        has_audio=rec.has_audio,
        verified_at=rec.verified_at,
        verified_ok=rec.verified_ok,
        purged_at=rec.purged_at,
    )


async def missing_chunks(
    session: AsyncSession, rec: Recording, limit: int = MISSING_SHOWN
) -> list[int]:
    """Indexes below the expected end (declared count, else the highest received) that
    have not arrived, at most ``limit``."""
    end = rec.declared_chunks if rec.declared_chunks is not None else rec.max_seq + 1
    if rec.contiguous >= end:
        return []
    have = set(
        await session.scalars(
            select(RecordingChunk.seq).where(
                RecordingChunk.recording_id == rec.id, RecordingChunk.seq >= rec.contiguous
            )
        )
    )
    out: list[int] = []
    for seq in range(rec.contiguous, end):
        if seq not in have:
            out.append(seq)
            if len(out) >= limit:
                break
    return out


async def get_recording_detail(session: AsyncSession, recording_id: int) -> RecordingDetail | None:
    rec = await session.get(Recording, recording_id)
    if rec is None:
        return None
    (base,) = await describe(session, [rec])
    return RecordingDetail(**base.model_dump(), missing=await missing_chunks(session, rec))


async def prefix_chunks(session: AsyncSession, rec: Recording) -> list[RecordingChunk]:
    """The chunks the hash chain covers (0 … contiguous-1), in order."""
    rows = await session.scalars(
        select(RecordingChunk)
        .where(RecordingChunk.recording_id == rec.id, RecordingChunk.seq < rec.contiguous)
        .order_by(RecordingChunk.seq)
    )
    return list(rows)
