"""Reads of the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from cloudwindow.audit.models import AuditEvent


def audit_query(
    actor_id: str | None, action: str | None, entity_type: str | None, entity_id: str | None
) -> Select[Any]:
    """Newest first; every given filter must match exactly."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for column, value in (
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.action, action),
        (AuditEvent.entity_type, entity_type),
        (AuditEvent.entity_id, entity_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    return stmt
