"""Shapes of signaling messages and media-session views (docs/protocol.md §Media)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.schemas import InputModel

SessionId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class SessionRef(InputModel):
    session_id: SessionId


class Description(InputModel):
    """An SDP offer or answer. Its size is checked by the action (a clear
    ``media-sdp-too-large`` rather than a generic validation error)."""

    session_id: SessionId
    sdp: str = Field(min_length=1)
    # An offer made to restart ICE (network change, failed connection): informational.
    ice_restart: bool = False


class CandidateInit(InputModel):
    """RTCIceCandidateInit as the browser gives it."""

    candidate: str = Field(max_length=1024)
    # camelCase: the browser's own field names, passed through unchanged
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


class Candidate(InputModel):
    session_id: SessionId
    candidate: CandidateInit | None = None  # null: end of candidates


class Ready(InputModel):
    """A participant's peer connection exists (again): ``epoch`` names it, so the other
    side can tell a reloaded page (new epoch: start over) from a repeated hello."""

    session_id: SessionId
    epoch: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{4,64}$")]


class Control(InputModel):
    """In-call control between the two ends: the agent switches the kiosk's camera
    (``switch_camera``); an end reports its own state (``state``: camera in use, muted,
    video off) so the other can show it."""

    session_id: SessionId
    action: Literal["switch_camera", "state"]
    camera: Literal["primary", "document"] | None = None
    label: str = Field(default="", max_length=200)
    muted: bool | None = None
    video_off: bool | None = None


class ParticipantView(BaseModel):
    role: str
    key: str  # recipient key: user:<id> | device:<id>
    kind: str
    id: int
    name: str


class FirstFrame(BaseModel):
    """Time to first frame in ms, from the agent's accept to the first decoded frame."""

    caller: int | None
    callee: int | None


class MediaSessionView(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str
    backend: str
    state: str
    caller: ParticipantView
    callee: ParticipantView
    started_at: datetime
    ended_at: datetime | None
    end_reason: str
    ended_by: str
    first_frame_ms: FirstFrame
