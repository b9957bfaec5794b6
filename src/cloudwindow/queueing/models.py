"""Tables of the live queue: tickets, agents' live states, and their histories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class Ticket(Base):
    """取号: one citizen's request for one service item, from a kiosk or the web."""

    __tablename__ = "tickets"
    __table_args__ = (
        # The queue in order, per group (positions, matching candidates).
        Index("ix_tickets_queue", "skill_group_code", "state", "rank", "enqueued_at"),
        # Recent finished sessions per group (handle-time estimate, metrics).
        Index("ix_tickets_finished", "skill_group_code", "state", "ended_at"),
        Index("ix_tickets_request", "owner", "client_request_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(8))  # shown to the citizen: A023, P007
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"), index=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)  # "device:3", recipient key
    client_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # kiosk | web
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), nullable=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    rank: Mapped[int] = mapped_column(Integer)  # 0 elderly/disabled, 1 appointment, 2 normal
    priority: Mapped[str] = mapped_column(String(16))  # normal | elderly | disabled | appointment
    state: Mapped[str] = mapped_column(String(24), index=True)
    # The ticket's place in line. Never changes: a missed offer returns it to this place.
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bullseye rings: [[after_seconds, [centre site ids] | null], ...]
    rings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded_agents: Mapped[list[int]] = mapped_column(JSON, default=list)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketLog(Base):
    """Every state change of a ticket: who, when, from what, to what, why."""

    __tablename__ = "ticket_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentStatus(Base):
    """An agent's live state (坐席状态). One row per agent who ever signed in to a seat."""

    __tablename__ = "agent_status"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(24), default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the agent last became free: the longest-idle agent gets the next ticket.
    idle_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgentStateLog(Base):
    """Time spent in each state, for reports (login, logout, breaks, handling)."""

    __tablename__ = "agent_state_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
