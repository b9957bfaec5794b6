"""HTTP transport of recordings: the agent's recorder uploads; supervisors list, verify
and play back. Thin: parse, authorise, call one action or query, serialise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse

from cloudwindow.accounts.deps import client_ip, require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.pagination import IdPath, Page, PageParams, fetch_page, page_params
from cloudwindow.recording import actions
from cloudwindow.recording.errors import ChunkTooLarge, RecordingNotFound, RecordingNotPlayable
from cloudwindow.recording.models import RecordingState
from cloudwindow.recording.queries import describe, get_recording_detail, recordings_query
from cloudwindow.recording.schemas import (
    ChunkAck,
    PlaybackGrant,
    PlaybackRequest,
    RecordingDetail,
    RecordingFinish,
    RecordingOut,
    RecordingStart,
    UploadStatus,
    VerifyReport,
)
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["recordings"])
Svc = Annotated[Services, Depends(get_services)]
Uploader = Annotated[Principal, Depends(require(Permission.RECORDING_UPLOAD))]
Reader = Annotated[Principal, Depends(require(Permission.RECORDING_READ))]
Player = Annotated[Principal, Depends(require(Permission.RECORDING_PLAYBACK))]
SmallId = Annotated[int, Query(ge=1, le=2_147_483_647)]
_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ChunkTooLarge(limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ChunkTooLarge(limit)
    return bytes(body)


@router.post(
    "/recordings",
    response_model=RecordingOut,
    status_code=201,
    operation_id="start_recording",
    responses={200: {"description": "Already started with this client_key"}},
)
async def start_recording(
    services: Svc, principal: Uploader, body: RecordingStart, response: Response
) -> RecordingOut:
    """Open a recording of the session the signed-in agent is serving (the ticket must be
    in session with them). Then PUT chunks 0, 1, 2 … and finish."""
    view, created = await actions.do_start_recording(services, principal, body)
    if not created:
        response.status_code = 200
    return view


@router.put(
    "/recordings/{recording_id}/chunks/{seq}",
    response_model=ChunkAck,
    operation_id="put_recording_chunk",
    openapi_extra=_BINARY_BODY,
)
async def put_recording_chunk(
    request: Request,
    services: Svc,
    principal: Uploader,
    recording_id: IdPath,
    seq: Annotated[int, Path(ge=0, le=1_000_000)],
) -> ChunkAck:
    """Upload chunk ``seq`` (the raw bytes of one MediaRecorder blob). Idempotent: the
    same bytes again answer OK; different bytes for a stored chunk are a 409. Chunk 0
    must be WebM (EBML header)."""
    data = await _read_body(request, services.settings.recording_max_chunk_bytes)
    return await actions.do_put_chunk(services, principal, recording_id, seq, data)


@router.get(
    "/recordings/{recording_id}/upload-status",
    response_model=UploadStatus,
    operation_id="recording_upload_status",
)
async def recording_upload_status(
    services: Svc, principal: Uploader, recording_id: IdPath
) -> UploadStatus:
    """Which chunks the server holds: a recorder resuming after a network error or a page
    reload continues from ``contiguous`` and resends ``missing``."""
    return await actions.get_upload_status(services, principal, recording_id)


@router.post(
    "/recordings/{recording_id}/finish",
    response_model=RecordingOut,
    operation_id="finish_recording",
)
async def finish_recording(
    services: Svc, principal: Uploader, recording_id: IdPath, body: RecordingFinish
) -> RecordingOut:
    """The recorder stopped after ``chunk_count`` chunks: assemble. With gaps the
    recording is flagged incomplete (its contiguous part is kept and playable)."""
    return await actions.do_finish_recording(services, principal, recording_id, body)


@router.get("/recordings", response_model=Page[RecordingOut], operation_id="list_recordings")
async def list_recordings(
    services: Svc,
    _: Reader,
    params: Annotated[PageParams, Depends(page_params)],
    state: RecordingState | None = None,
    flagged: Annotated[bool | None, Query(description="Only incomplete (true) or not")] = None,
    ticket_id: SmallId | None = None,
    agent_id: SmallId | None = None,
    site_id: SmallId | None = None,
) -> Page[RecordingOut]:
    """Newest first, with ticket number, agent and site names, and the flags supervisors
    watch: complete or incomplete, and whether the hash chain last verified."""
    stmt = recordings_query(state, flagged, ticket_id, agent_id, site_id)
    async with services.db.read() as session:
        rows, total = await fetch_page(session, stmt, params)
        items = await describe(session, rows)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.get(
    "/recordings/{recording_id}", response_model=RecordingDetail, operation_id="get_recording"
)
async def get_recording(services: Svc, _: Reader, recording_id: IdPath) -> RecordingDetail:
    async with services.db.read() as session:
        detail = await get_recording_detail(session, recording_id)
    if detail is None:
        raise RecordingNotFound({"recording_id": recording_id})
    return detail


@router.post(
    "/recordings/{recording_id}/verify",
    response_model=VerifyReport,
    operation_id="verify_recording",
)
async def verify_recording(services: Svc, principal: Reader, recording_id: IdPath) -> VerifyReport:
    """Recompute the SHA-256 hash chain from the stored bytes and compare it with the
    head recorded at upload time (and the playback file with its recorded hash)."""
    return await actions.do_verify_recording(services, principal, recording_id)


@router.post(
    "/recordings/{recording_id}/playback",
    response_model=PlaybackGrant,
    operation_id="grant_recording_playback",
)
async def grant_recording_playback(
    services: Svc,
    principal: Player,
    recording_id: IdPath,
    body: Annotated[PlaybackRequest | None, Body()] = None,
) -> PlaybackGrant:
    """A link to play (``<video src>``, with range requests) or download the recording,
    valid for a few hours. Every grant is written to the audit log."""
    purpose = body.purpose if body else "play"
    return await actions.do_grant_playback(services, principal, recording_id, purpose)


@router.get(
    "/recordings/{recording_id}/media",
    operation_id="recording_media",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/webm": {}}, "description": "The recording"},
        206: {"content": {"video/webm": {}}, "description": "A byte range of it"},
        403: {"description": "Invalid or expired grant"},
        410: {"description": "Purged"},
    },
)
async def recording_media(
    services: Svc,
    request: Request,
    recording_id: IdPath,
    grant: Annotated[str, Query(min_length=20, max_length=100, description="From /playback")],
) -> FileResponse:
    """The recording's bytes, for the holder of a playback grant (no bearer header: a
    ``<video>`` element cannot send one). Range requests are answered with 206."""
    rec, purpose = await actions.check_grant(services, recording_id, grant)
    path = actions.files_of(services).playback_file(rec.id, rec.remuxed)
    if not path.is_file():
        raise RecordingNotPlayable({"missing_file": True})
    # Each fetch from the start is audited (a player's later range requests are not).
    if request.headers.get("range", "bytes=0-").replace(" ", "").startswith("bytes=0-"):
        await actions.record_media_fetch(services, rec, grant, purpose, client_ip(request))
    return FileResponse(
        path,
        media_type="video/webm",
        filename=f"recording-{rec.id}-ticket-{rec.ticket_id}.webm",
        content_disposition_type="attachment" if purpose == "download" else "inline",
        headers={"Cache-Control": "private, no-store"},
    )
