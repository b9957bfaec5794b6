"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from cloudwindow.accounts.models import AgentSkill, AuthSession, LoginFailure, User
from cloudwindow.audit.models import AuditEvent
from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.fleet.models import EnrollmentCode, Seat, Site, Terminal
from cloudwindow.media.models import MediaSession
from cloudwindow.media.telemetry_models import QualityAlert, QualitySample
from cloudwindow.queueing.models import (
    AgentStateLog,
    AgentStatus,
    Appointment,
    AppointmentPolicy,
    Callback,
    Consult,
    Ticket,
    TicketLog,
)
from cloudwindow.realtime.models import OutboxEvent, Presence
from cloudwindow.recording.models import Recording, RecordingChunk, RecordingGrant

__all__ = [
    "AgentSkill",
    "AgentStateLog",
    "AgentStatus",
    "Appointment",
    "AppointmentPolicy",
    "AuditEvent",
    "AuthSession",
    "Callback",
    "Consult",
    "Department",
    "EnrollmentCode",
    "LoginFailure",
    "MediaSession",
    "OutboxEvent",
    "Presence",
    "QualityAlert",
    "QualitySample",
    "Recording",
    "RecordingChunk",
    "RecordingGrant",
    "Region",
    "Seat",
    "ServiceItem",
    "Site",
    "SkillGroup",
    "Terminal",
    "Ticket",
    "TicketLog",
    "User",
]
