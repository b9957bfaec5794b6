"""Reads of the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, select

from cloudwindow.audit.models import AuditEvent
from cloudwindow.pagination import like_pattern


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor searches by; every given field must match.

    ``action`` matches exactly, or every action under a prefix when it ends with ``.*``
    (``document.*``: issued, download, revoked); ``since`` is inclusive, ``until``
    exclusive; ``q`` is found anywhere in the details (a case number, a via), ignoring
    case."""

    actor_type: str | None = None
    actor_id: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


def audit_query(f: AuditFilter) -> Select[Any]:
    """Newest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for column, value in (
        (AuditEvent.actor_type, f.actor_type),
        (AuditEvent.actor_id, f.actor_id),
        (AuditEvent.entity_type, f.entity_type),
        (AuditEvent.entity_id, f.entity_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    if f.action and f.action.endswith(".*"):
        prefix = f.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(prefix + "%", escape="\\"))
    elif f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEvent.at < f.until)
    if f.q and f.q.strip():
        details = func.lower(cast(AuditEvent.details, String))
        stmt = stmt.where(details.like(like_pattern(f.q.strip()), escape="\\"))
    return stmt
