"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from cloudwindow.accounts.models import AgentSkill, AuthSession, LoginFailure, User
from cloudwindow.audit.models import AuditEvent
from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.fleet.models import EnrollmentCode, Seat, Site, Terminal

__all__ = [
    "AgentSkill",
    "AuditEvent",
    "AuthSession",
    "Department",
    "EnrollmentCode",
    "LoginFailure",
    "Region",
    "Seat",
    "ServiceItem",
    "Site",
    "SkillGroup",
    "Terminal",
    "User",
]
