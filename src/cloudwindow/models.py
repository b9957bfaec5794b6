"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from cloudwindow.accounts.models import AgentSkill, AuthSession, LoginFailure, User
from cloudwindow.audit.models import AuditEvent
from cloudwindow.cases.models import (
    ApprovalStep,
    Case,
    CaseApproval,
    CaseEvent,
    CaseLookupAttempt,
    CaseMaterial,
    CaseNumberCounter,
    FormVersion,
    Notification,
)
from cloudwindow.catalog.models import (
    Department,
    HolidayCalendar,
    Region,
    ServiceItem,
    SkillGroup,
)
from cloudwindow.devices.models import DeviceCommand, DeviceHealth
from cloudwindow.fleet.models import EnrollmentCode, Seat, Site, Terminal
from cloudwindow.identity.models import Consent, FaceCheck, IdCardRead
from cloudwindow.licences.models import Licence, LicenceProduct
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
from cloudwindow.trust.models import SealedDocument

__all__ = [
    "AgentSkill",
    "AgentStateLog",
    "AgentStatus",
    "Appointment",
    "AppointmentPolicy",
    "ApprovalStep",
    "AuditEvent",
    "AuthSession",
    "Callback",
    "Case",
    "CaseApproval",
    "CaseEvent",
    "CaseLookupAttempt",
    "CaseMaterial",
    "CaseNumberCounter",
    "Consent",
    "Consult",
    "Department",
    "DeviceCommand",
    "DeviceHealth",
    "EnrollmentCode",
    "FaceCheck",
    "FormVersion",
    "HolidayCalendar",
    "IdCardRead",
    "Licence",
    "LicenceProduct",
    "LoginFailure",
    "MediaSession",
    "Notification",
    "OutboxEvent",
    "Presence",
    "QualityAlert",
    "QualitySample",
    "Recording",
    "RecordingChunk",
    "RecordingGrant",
    "Region",
    "SealedDocument",
    "Seat",
    "ServiceItem",
    "Site",
    "SkillGroup",
    "Terminal",
    "Ticket",
    "TicketLog",
    "User",
]
