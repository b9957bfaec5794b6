"""Tables of the device relay: commands (one request of the agent to a kiosk device) and
the last reported health of each kiosk's devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class DeviceCommand(Base):
    """外设指令: the agent serving a session asks the session's kiosk to use a device.
    States: ``devices.rules.CommandState``. The result's data is kept encrypted
    (``result_cipher``); ``summary`` holds only what is not personal."""

    __tablename__ = "device_commands"
    __table_args__ = (
        Index("ix_device_commands_state_expires", "state", "expires_at"),
        Index("ix_device_commands_terminal_state", "terminal_id", "state"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device: Mapped[str] = mapped_column(String(24))
    command: Mapped[str] = mapped_column(String(24))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    error_id: Mapped[str] = mapped_column(String(64), default="")
    error_detail: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_cipher: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeviceHealth(Base):
    """The last reported state of one device of one kiosk (``bridge`` for the bridge
    itself): present or not, ok / out_of_paper / error / absent / offline."""

    __tablename__ = "device_health"
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True)
    device: Mapped[str] = mapped_column(String(24), primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
