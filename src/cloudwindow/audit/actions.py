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
    *,
    public_client: str | None = None,
) -> None:
    """``actor`` None is the platform itself (``system``), or, with ``public_client``
    (the client address), an anonymous member of the public (a citizen's download)."""
    public = actor is None and public_client is not None
    anonymous = "public" if public else "system"
    session.add(
        AuditEvent(
            actor_type=actor.kind if actor else anonymous,
            actor_id=actor.ident if actor else anonymous,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            # Diffs may hold Decimals, datetimes, enums: store their JSON forms.
            details=jsonable_encoder(details or {}),
            client_ip=actor.client_ip if actor else (public_client or "")[:64],
        )
    )
