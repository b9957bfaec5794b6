"""Tables of the realtime gateway: the event outbox (for resume) and presence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow

# BIGINT on PostgreSQL, INTEGER (the rowid alias that autoincrements) on SQLite.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """One event addressed to one recipient, written in the transaction of the change it
    reports; published after commit, and replayed to a client that resumes with
    ``last_event_id``."""

    __tablename__ = "realtime_events"
    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Presence(Base):
    """Who is connected, on which node. A node refreshes ``last_seen`` for its own rows;
    rows of a node that died go stale and are ignored after the presence timeout."""

    __tablename__ = "presence"
    principal: Mapped[str] = mapped_column(String(40), primary_key=True)
    node: Mapped[str] = mapped_column(String(60), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    connections: Mapped[int] = mapped_column(Integer, default=1)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
