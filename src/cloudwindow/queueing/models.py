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


class Consult(Base):
    """咨询转接: agent A, serving a citizen, asks agent B; A may then hand the citizen to B.
    Moves: ``states.CONSULT_MOVES``; actions: ``queueing/consult.py``."""

    __tablename__ = "consults"
    __table_args__ = (
        Index("ix_consults_ticket_state", "ticket_id", "state"),
        Index("ix_consults_state_expires", "state", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    from_agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    to_agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")  # A's note to B
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # B's desk rings until then
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str] = mapped_column(String(40), default="")


class Callback(Base):
    """回拨: a citizen asked to be called back; agents of the skill group work the list.
    The phone number is stored encrypted (privacy.py), with a blind index and a mask."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_group_state", "skill_group_code", "state", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"))
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    owner: Mapped[str] = mapped_column(String(40))  # who asked: "device:3"
    client_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), nullable=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    phone_cipher: Mapped[str] = mapped_column(String(200))
    phone_index: Mapped[str] = mapped_column(String(40), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20))
    preferred_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    preferred_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")  # the agent's last outcome note
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Appointment(Base):
    """预约: a place in one slot of a skill group's day, redeemed with its code at a kiosk
    for a ticket of priority ``appointment``."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_day_code", "day", "code", unique=True),
        Index("ix_appointments_slot", "skill_group_code", "slot_start", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(8))  # shown big on the kiosk, typed in later
    day: Mapped[str] = mapped_column(String(10))  # the slot's date in China (YYYY-MM-DD)
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"))
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    slot_end: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(40))
    client_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), nullable=True)
    phone_cipher: Mapped[str] = mapped_column(String(200))
    phone_index: Mapped[str] = mapped_column(String(40), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AppointmentPolicy(Base):
    """Per skill group: slot length, places per slot, days bookable ahead (the settings'
    defaults apply to a group without a row)."""

    __tablename__ = "appointment_policies"
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    days_ahead: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
