"""Tables of media quality telemetry: one row per ``media.stats`` sample, and alerts.

A sample is what one end of a call measured over the last ~2 s (docs/protocol.md §Media
quality): the video it received (``in_*``), the video it sent (``out_*``) and the
connection. Rows are kept compact (small integers, no JSON) because every live call
writes one per end every two seconds; old rows are purged after the retention period.

A call is a media session (media/models.py); its ticket is kept too, for joins with the
queue (skill group, site). ``side`` is the end that measured: ``agent`` (the caller) or
``citizen`` (the callee: a kiosk, or a citizen's browser).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow

SampleId = BigInteger().with_variant(Integer(), "sqlite")


class QualitySample(Base):
    """One end's view of a call over one sampling interval (``dt_ms``)."""

    __tablename__ = "media_quality_samples"
    __table_args__ = (
        Index("ix_media_quality_samples_call", "session_id", "side", "id"),
        Index("ix_media_quality_samples_site", "site_id", "t"),
        Index("ix_media_quality_samples_peer_site", "peer_site_id", "t"),
    )
    id: Mapped[int] = mapped_column(SampleId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("media_sessions.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    side: Mapped[str] = mapped_column(String(8))  # agent | citizen: the end that measured
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    peer_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    t: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # received
    dt_ms: Mapped[int] = mapped_column(Integer)  # the interval this sample covers
    # Received video. fps is whole frames per second (floor): "under 15" stays exact.
    in_fps: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    in_width: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    in_height: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    in_kbps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames_decoded: Mapped[int | None] = mapped_column(Integer, nullable=True)  # in interval
    freeze_count: Mapped[int] = mapped_column(SmallInteger, default=0)  # in interval
    freeze_ms: Mapped[int] = mapped_column(Integer, default=0)  # in interval
    jitter_buffer_ms: Mapped[float | None] = mapped_column(Float, nullable=True)  # mean
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0..1, in interval
    # Sent video
    out_fps: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    out_width: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    out_height: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    out_kbps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    limitation: Mapped[str | None] = mapped_column(String(10), nullable=True)  # cpu|bandwidth|…
    # Connection (selected candidate pair)
    rtt_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    available_kbps: Mapped[int | None] = mapped_column(Integer, nullable=True)


class QualityAlert(Base):
    """A live call's video fell below the thresholds (raised) until it recovered
    (cleared). One open row per call and side at most."""

    __tablename__ = "media_quality_alerts"
    __table_args__ = (Index("ix_media_quality_alerts_call", "session_id", "side"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("media_sessions.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    side: Mapped[str] = mapped_column(String(8))  # the end whose received video degraded
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # low_fps, freezes, …
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
