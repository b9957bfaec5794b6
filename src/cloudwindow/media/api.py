"""HTTP transport of media sessions: the supervisors' read of calls (state,
participants, start and end, time to first frame at both ends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.media import queries
from cloudwindow.media.errors import MediaSessionNotFound
from cloudwindow.media.models import MediaSession, MediaState
from cloudwindow.media.schemas import MediaSessionView
from cloudwindow.pagination import IdPath, Page, PageParams, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api/media", tags=["media"])


@router.get("/sessions", response_model=Page[MediaSessionView], operation_id="media_sessions_list")
async def list_media_sessions(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
    params: Annotated[PageParams, Depends(page_params)],
    state: MediaState | None = None,
    ticket_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Page[MediaSessionView]:
    """Video calls, newest first: state, participants, start/end, time to first frame."""
    async with services.db.read() as session:
        items, total = await queries.list_sessions(session, params, state, ticket_id)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.get(
    "/sessions/{session_id}", response_model=MediaSessionView, operation_id="media_session_get"
)
async def get_media_session(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
    session_id: IdPath,
) -> MediaSessionView:
    """One video call."""
    async with services.db.read() as session:
        row = await session.get(MediaSession, session_id)
        if row is None:
            raise MediaSessionNotFound({"session_id": session_id})
        return await queries.session_view(session, row)
