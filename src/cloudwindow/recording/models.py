"""Tables of recordings (全程录音录像): one row per recording, one per uploaded chunk, and
the short-lived playback grants that let a ``<video>`` element fetch a recording."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class RecordingState(StrEnum):
    RECORDING = "recording"  # chunks are arriving
    FINISHED = "finished"  # finished by the recorder with every chunk: complete
    INCOMPLETE = "incomplete"  # gaps at finish, or never finished (sweep): flagged
    PURGED = "purged"  # files deleted after the retention period; the row stays


class Recording(Base):
    """全程录音录像: the composited audio and video of one agent's part of a session.

    ``contiguous`` chunks (0 … contiguous-1) are all present and ``chain_head`` is the
    hash chain over them (see ``chain.py``). A blind transfer or a reloaded page starts a
    new recording for the same ticket, so a ticket can have several.
    """

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_client_key", "agent_id", "client_key", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    media_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), nullable=True)
    # Chosen by the recorder so a resent start after a lost answer makes no second row.
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), index=True)
    incomplete_reason: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_chunk_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)  # received, any order
    max_seq: Mapped[int] = mapped_column(Integer, default=-1)  # highest index received
    contiguous: Mapped[int] = mapped_column(Integer, default=0)  # 0 … contiguous-1 present
    declared_chunks: Mapped[int | None] = mapped_column(Integer, nullable=True)  # at finish
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    chain_head: Mapped[str] = mapped_column(String(64))  # hex; the genesis until chunk 0
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The assembled playback file (remuxed when ffmpeg is available) and its SHA-256.
    file_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remuxed: Mapped[bool] = mapped_column(Boolean, default=False)
    has_video: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    has_audio: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecordingChunk(Base):
    """One uploaded chunk: its size, its SHA-256 and, once every chunk before it is
    present, its link in the hash chain."""

    __tablename__ = "recording_chunks"
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordingGrant(Base):
    """A playback or download link handed to a supervisor: a ``<video>`` element cannot
    send the bearer token, so it fetches with this (only its SHA-256 is stored)."""

    __tablename__ = "recording_grants"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # play | download
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
