"""Tables of media sessions: one row per call of a served ticket."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class MediaState(StrEnum):
    """A call's two states: open (signaling relayed) → closed (final, nothing relayed)."""

    OPEN = "open"
    CLOSED = "closed"


class Role(StrEnum):
    CALLER = "caller"  # the agent: accepted the offer, sends the first SDP offer
    CALLEE = "callee"  # the citizen's kiosk (or browser)


class MediaSession(Base):
    """音视频会话: the video call between the agent who accepted a ticket and its citizen.

    Opened in the transaction that accepts the offer; closed when either side hangs up or
    the ticket leaves the session (end, transfer, cancel, abandon). A transferred ticket
    gets a new row for the next agent. ``caller`` and ``callee`` are the recipient keys
    of the gateway (``user:<id>``, ``device:<id>``), so relaying is addressing."""

    __tablename__ = "media_sessions"
    __table_args__ = (Index("ix_media_sessions_state", "state", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    backend: Mapped[str] = mapped_column(String(16))  # p2p (sfu later)
    state: Mapped[str] = mapped_column(String(16), default=MediaState.OPEN.value)
    caller: Mapped[str] = mapped_column(String(40), index=True)
    callee: Mapped[str] = mapped_column(String(40), index=True)
    # The agent's accept: the zero of the time-to-first-frame measurements.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str] = mapped_column(String(24), default="")
    ended_by: Mapped[str] = mapped_column(String(40), default="")
    # Time to first frame: accept → first decoded video frame at each end, in ms.
    caller_first_frame_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    callee_first_frame_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
