"""API shapes of recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloudwindow.schemas import InputModel

WEBM_TYPE = r"^(video|audio)/webm(;\s*codecs=[A-Za-z0-9.,\s]{1,60})?$"


class RecordingStart(InputModel):
    ticket_id: int = Field(ge=1, le=2_147_483_647)
    media_session_id: str | None = Field(default=None, max_length=64)
    mime_type: str = Field(
        default="video/webm",
        max_length=100,
        pattern=WEBM_TYPE,
        examples=["video/webm;codecs=vp8,opus"],
    )
    client_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="Chosen by the recorder: a resent start with the same key returns the "
        "same recording instead of making a second one.",
    )


class RecordingFinish(InputModel):
    chunk_count: int = Field(ge=0, le=1_000_000, description="Chunks 0 … chunk_count-1 were sent")
    duration_ms: int | None = Field(default=None, ge=0, le=7 * 24 * 3600 * 1000)


class PlaybackRequest(InputModel):
    purpose: Literal["play", "download"] = "play"


class ChunkAck(BaseModel):
    recording_id: int
    seq: int
    duplicate: bool  # the same bytes were already stored: nothing changed
    contiguous: int  # chunks 0 … contiguous-1 are all stored
    chain_head: str


class UploadStatus(BaseModel):
    """What the server holds, for a recorder resuming after a network error or reload."""

    recording_id: int
    state: str
    contiguous: int  # the next chunk the recorder should send, if it has it
    received: int
    max_seq: int
    missing: list[int]  # below max_seq, at most 200
    bytes_total: int
    chain_head: str


class RecordingOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None = None
    service_item_code: str | None = None
    media_session_id: str | None
    agent_id: int
    agent_name: str | None = None
    site_id: int | None
    site_name: str | None = None
    terminal_id: int | None
    mime_type: str
    state: str
    complete: bool
    incomplete_reason: str
    started_at: datetime
    last_chunk_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    chunk_count: int
    contiguous: int
    declared_chunks: int | None
    missing_count: int
    bytes_total: int
    chain_head: str
    file_bytes: int | None
    file_sha256: str | None
    remuxed: bool
    has_video: bool | None
    has_audio: bool | None
    verified_at: datetime | None
    verified_ok: bool | None
    purged_at: datetime | None


class RecordingDetail(RecordingOut):
    missing: list[int]  # at most 200


class VerifyReport(BaseModel):
    recording_id: int
    ok: bool
    checked_chunks: int
    first_bad_chunk: int | None
    reason: str  # "" | chunk-hash | chain-link | chain-head | missing-file | file-hash
    chain_head: str
    computed_head: str
    file_ok: bool | None  # the playback file still has the SHA-256 recorded at assembly
    verified_at: datetime


class PlaybackGrant(BaseModel):
    url: str  # relative; usable as <video src> or a download link until expires_at
    expires_at: datetime
