"""Writing the audit log. Callers pass their open session, so the audit row commits
(or rolls back) with the change it records."""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.models import AuditEvent


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor_type=actor.kind if actor else "system",
            actor_id=actor.ident if actor else "system",
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            # Diffs may hold Decimals, datetimes, enums: store their JSON forms.
            details=jsonable_encoder(details or {}),
            client_ip=actor.client_ip if actor else "",
        )
    )
